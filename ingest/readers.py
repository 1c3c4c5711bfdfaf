"""Turn one file into documents: news records, one-article-per-line news, text, Markdown, HTML, PDF, DOCX."""

from __future__ import annotations

import io
import re
from pathlib import Path

from ingest.common import clean_text, content_id, first_line_title, make_doc  # noqa: F401 - content_id re-exported
from ingest.encoding import decode_bytes
from ingest.errors import CorruptFileError, EmptyFileError, UnsupportedFormatError
from ingest.options import ReadOptions
from ingest.pdf import read_pdf
from rag.types import Document

TEXT_EXTS = {".txt", ".text", ".csv", ".log", ""}
MARKDOWN_EXTS = {".md", ".markdown"}
HTML_EXTS = {".html", ".htm", ".xhtml"}
SUPPORTED_EXTS = TEXT_EXTS | MARKDOWN_EXTS | HTML_EXTS | {".pdf", ".docx"}

# News record fields, in the seed's order; both half- and full-width colons occur in the wild.
NEWS_FIELDS = {
    "标题": "title",
    "链接": "url",
    "总结": "body",
    "关键词": "keywords",
    "AI技术": "ai_tech",
    "行业": "industry",
    "重大事件摘要": "summary",
}
_FIELD_RE = re.compile(r"^\s*(" + "|".join(map(re.escape, NEWS_FIELDS)) + r")\s*[:：]\s*(.*)$")
# `<date time>，正文：<body>`; dates are sometimes wrapped as `[ 2023-07-28 16：40 ]`.
# The part before `正文：` varies (`2023-08-11 15:10`, `[ 2023-07-28 16：40 ]`, `08/16  13:50`,
# `发布时间：…`, a site breadcrumb, or nothing); the date is pulled out of it.
_CRUD_RE = re.compile(r"^(.{0,200}?)[，,]?\s*正文[:：](.*)$")
_DATE_RE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?|\d{1,2}[-/]\d{1,2}(?:\s+\d{1,2}:\d{2})?")


def parse_news_records(text: str, source: str) -> list[Document]:
    """The seed format: `标题:` … `重大事件摘要:` lines; several records may share a file."""
    records: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    last_key: str | None = None
    for line in text.splitlines():
        m = _FIELD_RE.match(line)
        if m:
            key = NEWS_FIELDS[m.group(1)]
            if key == "title" or current is None:
                current = {}
                records.append(current)
            current[key] = m.group(2).strip()
            last_key = key
        elif current is not None and last_key and line.strip():
            current[last_key] += "\n" + line.strip()  # a field that continues on the next lines
    docs = []
    for rec in records:
        body = rec.get("body", "")
        parts = [rec.get("title", ""), body]
        if rec.get("summary") and rec["summary"] not in body:
            parts.append(rec["summary"])
        text_all = "\n\n".join(p for p in parts if p)
        if not body and not rec.get("summary"):
            continue
        docs.append(make_doc(text_all, rec.get("title", "") or first_line_title(body), rec.get("url") or source,
                         url=rec.get("url"), keywords=rec.get("keywords"), ai_tech=rec.get("ai_tech"),
                         industry=rec.get("industry"), summary=rec.get("summary"), path=source, kind="news"))
    return docs


def parse_crud_lines(text: str, source: str) -> list[Document]:
    """One article per line: `<date>，正文：<body>`; the date is kept, full-width colons normalised."""
    docs = []
    for i, line in enumerate(text.splitlines(), start=1):
        m = _CRUD_RE.match(line)
        if not m or not m.group(2).strip():
            continue
        found = _DATE_RE.search(m.group(1).replace("：", ":"))
        date = re.sub(r"\s+", " ", found.group(0)) if found else ""
        body = m.group(2).strip()
        docs.append(make_doc(body, first_line_title(re.split(r"[。！？]", body, maxsplit=1)[0]),
                         source, date=date or None, line=i, kind="news"))
    return docs


def _is_news_record(text: str) -> bool:
    head = text[:2000]
    has_title = re.search(r"^\s*标题\s*[:：]", head, re.M)
    return bool(has_title) and bool(re.search(r"^\s*(总结|重大事件摘要)\s*[:：]", text, re.M))


def _is_crud(text: str) -> bool:
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    return bool(lines) and sum(1 for ln in lines if _CRUD_RE.match(ln)) >= max(1, len(lines) // 2)


def _decode_clean(data: bytes, source: str) -> tuple[str, str]:
    text, enc = decode_bytes(data, source)
    text = clean_text(text)
    if not text.strip():
        raise EmptyFileError(f"{source}: no text (only whitespace or control characters)")
    return text, enc


def read_text(data: bytes, source: str) -> list[Document]:
    text, enc = _decode_clean(data, source)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _is_news_record(text):
        return parse_news_records(text, source)
    if _is_crud(text):
        return parse_crud_lines(text, source)
    return [make_doc(text, first_line_title(text) or Path(source).stem, source, encoding=enc, kind="text")]


def read_markdown(data: bytes, source: str) -> list[Document]:
    text, enc = _decode_clean(data, source)
    heading = re.search(r"^#{1,3}\s+(.+)$", text, re.M)
    title = heading.group(1).strip() if heading else first_line_title(text)
    return [make_doc(text, title, source, encoding=enc, kind="markdown")]


def read_html(data: bytes, source: str) -> list[Document]:
    from bs4 import BeautifulSoup

    text, _ = decode_bytes(data, source)
    soup = BeautifulSoup(text, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "svg"]):
        tag.decompose()
    if soup.head:
        soup.head.decompose()
    blocks = [b.strip() for b in soup.get_text("\n").split("\n")]
    body = "\n".join(b for b in blocks if b)
    if not body:
        raise EmptyFileError(f"{source}: the HTML page has no visible text")
    return [make_doc(body, title or first_line_title(body), source, kind="html")]


DOCX_MAX_UNPACKED = 256 * 2**20  # bytes a DOCX may unpack to
DOCX_MAX_RATIO = 200  # compression ratio above which a large part is a bomb, not a document


def _check_zip(z, source: str) -> None:
    """Refuse zip bombs and XML entity declarations before python-docx unpacks anything."""
    total = 0
    for info in z.infolist():
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if total > DOCX_MAX_UNPACKED or (info.file_size > 10 * 2**20 and ratio > DOCX_MAX_RATIO):
            raise CorruptFileError(f"{source}: the DOCX unpacks to over {total / 2**20:.0f} MB "
                                   f"({info.filename} is {ratio:.0f}x compressed); refused as a zip bomb")
        if info.filename.endswith((".xml", ".rels")):
            with z.open(info) as part:
                head = part.read(4096)
            if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                raise CorruptFileError(f"{source}: {info.filename} declares XML entities (DOCX never does); "
                                       "refused as a possible entity bomb")


def read_docx(data: bytes, source: str) -> list[Document]:
    import zipfile

    from docx import Document as DocxDocument

    try:
        _check_zip(zipfile.ZipFile(io.BytesIO(data)), source)
        d = DocxDocument(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise CorruptFileError(f"{source}: not a readable DOCX file ({exc})") from None
    paras = [p.text.strip() for p in d.paragraphs if p.text.strip()]
    for table in d.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                paras.append(" | ".join(cells))
    if not paras:
        raise EmptyFileError(f"{source}: the DOCX file has no text")
    text = "\n\n".join(paras)
    title = d.core_properties.title or first_line_title(text)
    return [make_doc(text, title, source, kind="docx")]


def read_bytes(data: bytes, name: str, source: str | None = None,
               options: ReadOptions | None = None) -> list[Document]:
    """Dispatch on the file extension; raise an IngestError subclass with a specific message."""
    source = source or name
    ext = Path(name).suffix.lower()
    if not data:
        raise EmptyFileError(f"{source}: the file is empty")
    if ext == ".pdf" or data[:5] == b"%PDF-":
        return read_pdf(data, source, options)
    if ext == ".docx":
        return read_docx(data, source)
    if ext in HTML_EXTS:
        return read_html(data, source)
    if ext in MARKDOWN_EXTS:
        return read_markdown(data, source)
    if ext in TEXT_EXTS:
        return read_text(data, source)
    raise UnsupportedFormatError(
        f"{source}: unsupported file type {ext!r}; supported: {', '.join(sorted(e for e in SUPPORTED_EXTS if e))}"
    )
