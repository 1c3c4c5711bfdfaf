"""Plain text and Markdown: news records (`标题:` … lines), one-article-per-line news, and free text."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.common import clean_text, first_line_title, make_doc
from ingest.encoding import decode_bytes
from ingest.errors import EmptyFileError
from ingest.options import ReadOptions
from rag.types import Document

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
# Dates the pattern above misses or cuts to month/day: `2023年08月09日`, `[2023/08/03  17:28]`, `202308/13 14:15`,
# `来源：新华网 | 2023年08月13日 10:12`; written as `2023-08-09` (with the time when there is one).
_FULL_DATE_RE = re.compile(r"(\d{4})\s*(?:[年/.]\s*|(?=\d{2}/))(\d{1,2})\s*[月/.]\s*(\d{1,2})\s*日?"
                           r"(?:\s*(\d{1,2}):(\d{2}))?")


def _line_date(head: str) -> str:
    """The date (and time) in the part of a line before `正文：`, or ""."""
    head = head.replace("：", ":")
    found = _DATE_RE.search(head)
    if found and re.match(r"\d{4}-", found.group(0)):
        return re.sub(r"\s+", " ", found.group(0))
    full = _FULL_DATE_RE.search(head)
    if full and 1 <= int(full.group(2)) <= 12 and 1 <= int(full.group(3)) <= 31:
        y, mo, d, hh, mm = full.groups()
        return f"{y}-{int(mo):02d}-{int(d):02d}" + (f" {int(hh):02d}:{mm}" if hh else "")
    return re.sub(r"\s+", " ", found.group(0)) if found else ""


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
        date = _line_date(m.group(1))
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


def read_text(data: bytes, source: str, options: ReadOptions | None = None) -> list[Document]:
    text, enc = _decode_clean(data, source)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _is_news_record(text):
        return parse_news_records(text, source)
    if _is_crud(text):
        return parse_crud_lines(text, source)
    return [make_doc(text, first_line_title(text) or Path(source).stem, source, encoding=enc, kind="text")]


def read_markdown(data: bytes, source: str, options: ReadOptions | None = None) -> list[Document]:
    text, enc = _decode_clean(data, source)
    heading = re.search(r"^#{1,3}\s+(.+)$", text, re.M)
    title = heading.group(1).strip() if heading else first_line_title(text)
    return [make_doc(text, title, source, encoding=enc, kind="markdown")]
