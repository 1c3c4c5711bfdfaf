"""E-mail (.eml, stdlib `email`): subject, sender, date and body; each attached file becomes its own document,
read through the registry like any upload (a failed attachment is noted on the mail, never fails it)."""

from __future__ import annotations

import contextvars
import email
import logging
from email import policy
from email.header import decode_header
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from ingest.common import clean_text, content_id
from ingest.encoding import decode_bytes
from ingest.errors import EmptyFileError, IngestError
from ingest.formats.html import html_to_text
from ingest.options import ReadOptions
from rag.types import Document

log = logging.getLogger(__name__)
MAX_DEPTH = 3  # mails attached to mails attached to mails
_depth = contextvars.ContextVar("eml_depth", default=0)


_GB_ALIASES = {"gb2312", "gbk", "gb_2312-80", "x-gbk", "cp936", "euc-cn", "x-euc-cn", "gb18030"}


def _charset(name: str | None) -> str | None:
    """Mail charsets as Python should read them: GB2312/GBK labels as GB18030 (mailers label GBK text GB2312)."""
    if not name:
        return None
    name = name.strip().strip('"').lower()
    return "gb18030" if name in _GB_ALIASES else name


def _decode_part(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(payload or "")
    charset = _charset(part.get_content_charset())
    if charset:
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return decode_bytes(payload, "mail body")[0]  # no or a wrong label: the detection text files get
    except IngestError:
        return payload.decode("utf-8", errors="replace")


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = _decode_part(part)
    if part.get_content_subtype() == "html":
        content = html_to_text(content)[1]
    return content.replace("\r\n", "\n").strip()


def _header(raw: object) -> str:
    """A header decoded from its RFC 2047 words, GB2312/GBK words read as GB18030."""
    if raw is None:
        return ""
    out = []
    for chunk, charset in decode_header(str(raw)):
        if isinstance(chunk, bytes):
            try:
                chunk = chunk.decode(_charset(charset) or "utf-8")
            except (LookupError, UnicodeDecodeError):
                chunk = chunk.decode("gb18030", errors="replace")
        out.append(chunk)
    return " ".join("".join(out).split())


def _date(msg: EmailMessage) -> str | None:
    raw = msg.get("Date")
    if not raw:
        return None
    try:
        return parsedate_to_datetime(str(raw)).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError, IndexError):
        return str(raw)


def read_eml(data: bytes, source: str, options: ReadOptions | None = None) -> list[Document]:
    from ingest.registry import read_bytes

    msg = email.message_from_bytes(data, policy=policy.default)
    raw = email.message_from_bytes(data, policy=policy.compat32)  # headers as sent, decoded below
    subject = _header(raw.get("Subject"))
    sender = _header(raw.get("From"))
    date = _date(msg)
    if not (subject or sender or msg.get("Date") or msg.get("To")):
        raise EmptyFileError(f"{source}: not an e-mail (no Subject, From, To or Date header)")
    body = clean_text(_body(msg))
    head = [f"主题：{subject}" if subject else "", f"发件人：{sender}" if sender else "",
            f"日期：{date}" if date else ""]
    docs: list[Document] = []
    skipped: list[str] = []
    names: list[str] = []
    depth = _depth.get()
    for i, part in enumerate(msg.iter_attachments(), start=1):
        name = Path(str(part.get_filename() or f"attachment-{i}")).name
        names.append(name)
        if depth >= MAX_DEPTH:
            skipped.append(f"{name}: nested deeper than {MAX_DEPTH} mails")
            continue
        payload = part.get_payload(decode=True)
        if not payload and part.get_content_type() == "message/rfc822":
            inner = part.get_content()
            payload = inner.as_bytes() if hasattr(inner, "as_bytes") else b""
            name = name if "." in name else name + ".eml"
        token = _depth.set(depth + 1)
        try:
            docs += read_bytes(payload or b"", name, source=f"{source}#{name}", options=options)
        except IngestError as exc:  # an unreadable attachment is reported on the mail and the mail goes on
            skipped.append(str(exc))
            log.info("%s: attachment not ingested (%s)", source, exc)
        finally:
            _depth.reset(token)
    if names:
        head.append("附件：" + "、".join(names))
    text = "\n".join(h for h in head if h) + ("\n\n" + body if body else "")
    if not body and not docs:
        raise EmptyFileError(f"{source}: the e-mail has no body and no readable attachment")
    meta = {"kind": "email", "date": date, "from": sender or None, "attachments": len(names) or None,
            "attachments_skipped": "; ".join(skipped) or None}
    mail = Document(doc_id=content_id(text), text=text, title=subject or body[:40] or Path(source).stem,
                    source=source, metadata={k: v for k, v in meta.items() if v})
    return [mail, *docs]
