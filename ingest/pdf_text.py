"""Pages' lines and tables assembled into one text of paragraphs that continue across page and column breaks."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from ingest.pdf_layout import (
    _LIST_START,
    _NUMERIC,
    _SENTENCE_END,
    Line,
    PageContent,
    Table,
    _headers,
    join_text,
    write_rows,
)
from ingest.text_norm import normalize_chars


@dataclass
class Assembled:
    """The document text, its (start, end, page) spans, and what the assembly found (for metadata and reports)."""

    text: str
    pages: list[tuple[int, int, int]]
    table_rows: int = 0
    paragraphs: int = 0
    stats: dict[str, int] = field(default_factory=dict)


_YEARISH = re.compile(r"^\s*(?:19|20)\d{2}\s*$")


def _data_row(row: list[str]) -> bool:
    """A row of values, not of column names: a number (other than a bare year) beyond the row-label column."""
    return any(_NUMERIC.match(v) and not _YEARISH.match(v) for v in row[1:] if v)


def _squash(value: str) -> str:
    return re.sub(r"\s+", "", value)


def _repeats(rows: list[list[str]]) -> bool:
    """The first row's value recurs down its column (`指` in a glossary): the first row is data, not a header."""
    return len(rows) >= 3 and any(v and sum(1 for r in rows[1:] if j < len(r) and r[j] == v) >= (len(rows) - 1) / 2
                                  for j, v in enumerate(rows[0]))


def _typical_gap(pages: list[PageContent]) -> dict[float, float]:
    """Median gap between consecutive lines of the same font size: the normal leading, per size."""
    gaps: dict[float, list[float]] = {}
    for p in pages:
        for a, b in zip(p.lines, p.lines[1:], strict=False):
            if a.column == b.column and abs(a.size - b.size) < 0.5:
                g = b.top - a.bottom
                if -0.2 * a.size <= g <= 2 * a.size:
                    gaps.setdefault(round(a.size), []).append(g)
    return {s: statistics.median(v) for s, v in gaps.items() if v}


def _body_size(pages: list[PageContent]) -> float:
    sizes: dict[float, int] = {}
    for p in pages:
        for ln in p.lines:
            sizes[ln.size] = sizes.get(ln.size, 0) + len(ln.text)
    return max(sizes, key=lambda s: sizes[s]) if sizes else 10.0


def _continues(prev: Line, cur: Line, gaps: dict[float, float], body: float) -> bool:
    """Whether `cur` goes on with the paragraph `prev` ends (no real paragraph or list break between them)."""
    size = max(prev.size, cur.size)
    if abs(prev.size - cur.size) > 0.8 or _LIST_START.match(cur.text):
        return False
    same_flow = prev.page == cur.page and prev.column == cur.column
    if same_flow:
        gap = cur.top - prev.bottom
        normal = gaps.get(round(prev.size), 0.4 * size)
        if gap < -0.5 * size or gap > normal + 0.6 * size:
            return False
    elif _SENTENCE_END.search(prev.text) or abs(prev.size - body) > 0.6:
        return False  # across a page or column break only an unfinished body sentence continues
    full = prev.x1 >= prev.col_right - 1.5 * prev.size
    if not full and not (cur.text[:1].islower() and not _SENTENCE_END.search(prev.text)):
        return False  # a line that stops short ends its paragraph (unless Latin text runs on in lower case)
    hanging = _LIST_START.match(prev.text) and cur.x0 > prev.x0  # a list item's wrapped lines are indented
    indent = cur.x0 - cur.col_left
    if 1.2 * cur.size < indent <= 4.5 * cur.size and prev.x0 - prev.col_left < 0.6 * prev.size and not hanging:
        return False  # first-line indent
    if indent > 4.5 * cur.size and _SENTENCE_END.search(prev.text):
        return False  # a centred line after a finished sentence (a centred line after an unfinished one goes on)
    return True


def _blocks(page: PageContent, skip: set[int]) -> list[Line | Table]:
    """The page's kept lines in reading order with each table placed before the first line below its top."""
    lines = [ln for i, ln in enumerate(page.lines) if i not in skip]
    out: list[Line | Table] = []
    tables = sorted(page.tables, key=lambda t: t.top)
    for ln in lines:
        while tables and tables[0].top <= ln.top and ln.column in (0, 1):
            out.append(tables.pop(0))
        out.append(ln)
    out.extend(tables)
    return out


def assemble(pages: list[PageContent], skip: dict[int, set[int]]) -> Assembled:
    """Paragraph text with page spans; `skip` names the (page -> line indices) left out (headers, TOC)."""
    gaps, body = _typical_gap(pages), _body_size(pages)
    paragraphs: list[list[tuple[str, int]]] = []  # fragments (text, page) per paragraph
    joined: list[str] = []  # paragraph text so far, parallel to `paragraphs`
    frag_starts: list[list[int]] = []
    prev: Line | None = None
    last_table: Table | None = None
    table_rows = 0
    since_table = 0  # text lines since the last table (a continued table may follow a short line or two)

    def new_par() -> None:
        paragraphs.append([])
        joined.append("")
        frag_starts.append([])

    def add(text: str, page: int, join: bool) -> None:
        if not paragraphs:
            new_par()
        if join:
            acc = join_text(joined[-1], text)
            sep_len = len(acc) - len(joined[-1]) - len(text)
            start = len(joined[-1]) + sep_len
        else:
            acc = joined[-1] + ("\n" if joined[-1] else "") + text
            start = len(acc) - len(text)
        joined[-1] = acc
        paragraphs[-1].append((text, page))
        frag_starts[-1].append(start)

    for page in pages:
        first_on_page = first_table_on_page = True
        for block in _blocks(page, skip.get(page.number, set())):
            if isinstance(block, Table):
                rows = block.rows
                caption = ""
                same = last_table is not None and len(last_table.header) == len(rows[0])
                cont = (same and first_table_on_page and since_table <= 2 and last_table is not None
                        and last_table.page == page.number - 1)
                if not cont and len(rows) > 2 and len(rows[0]) >= 3 and sum(1 for v in rows[0] if v) == 1:
                    caption, rows = next(v for v in rows[0] if v), rows[1:]  # a title row spanning the table
                if caption:
                    new_par()
                    add(normalize_chars(caption), page.number, join=False)
                if cont and last_table is not None:  # a table continued from the last page
                    n = len(last_table.header_rows)
                    if [_squash(v) for r in rows[:n] for v in r] == [_squash(v) for r in last_table.header_rows
                                                                     for v in r]:
                        rows = rows[n:] or rows  # the header printed again on this page
                    header, body_rows = last_table.header, rows
                    block.header_rows = last_table.header_rows
                elif _data_row(rows[0]) or _repeats(rows):  # no header row: a table without column names
                    same = last_table is not None and len(last_table.header) == len(rows[0])
                    header = last_table.header if same and last_table is not None else [""] * len(rows[0])
                    body_rows = rows
                    if not (same and first_on_page) and not caption:
                        new_par()
                elif len(rows[0]) == 2 and rows[0][0] == "" and rows[0][1] and len(rows) > 2:
                    # labels under one column name: `姓名 | 董事会秘书: 饶伟`
                    header, body_rows = ["", rows[0][1]], rows[1:]
                    block.header_rows = rows[:1]
                    if not caption:
                        new_par()
                elif len(rows[0]) == 2:
                    header, body_rows = ["", ""], rows  # a two-column table is label: value
                    if not caption:
                        new_par()
                else:
                    header, n = _headers(rows)
                    body_rows = rows[n:]
                    block.header_rows = rows[:n]
                    if not caption:
                        new_par()
                block.header = header
                if len(rows[0]) == 2 and not any(header):
                    block.written = [normalize_chars(": ".join(v for v in r if v)) for r in body_rows if any(r)]
                else:
                    block.written = [normalize_chars(r) for r in write_rows(header, body_rows)]
                # Each row ends as a sentence (。), so the answerer quotes whole rows and a row's line break is
                # a record end, not a line break inside a sentence.
                block.written = [r if re.search(r"[。；;.!?！？:：]$", r) else r + "。" for r in block.written]
                for row_text in block.written:
                    add(row_text, page.number, join=False)
                table_rows += len(block.written)
                last_table, prev = block, None
                first_on_page = first_table_on_page = False
                since_table = 0
                continue
            text = normalize_chars(block.text)
            if not text:
                continue
            if prev is not None and paragraphs and _continues(prev, block, gaps, body):
                add(text, page.number, join=True)
            else:
                new_par()
                add(text, page.number, join=True)
            prev = block
            first_on_page = False
            since_table += 1
    text_parts: list[str] = []
    spans: dict[int, list[int]] = {}
    pos = 0
    kept = 0
    for frags, acc, starts in zip(paragraphs, joined, frag_starts, strict=True):
        if not acc.strip():
            continue
        if text_parts:
            pos += 2
        for (frag, page), start in zip(frags, starts, strict=True):
            a, b = pos + start, pos + start + len(frag)
            span = spans.setdefault(page, [a, b])
            span[0], span[1] = min(span[0], a), max(span[1], b)
        text_parts.append(acc)
        pos += len(acc)
        kept += 1
    text = "\n\n".join(text_parts)
    ordered = sorted((s[0], s[1], p) for p, s in spans.items())
    fixed: list[tuple[int, int, int]] = []
    for start, end, p in ordered:  # spans never overlap (a column read after a later page cannot happen, but guard)
        if fixed and start < fixed[-1][1]:
            start = fixed[-1][1]
        if end > start:
            fixed.append((start, end, p))
    return Assembled(text=text, pages=fixed, table_rows=table_rows, paragraphs=kept)
