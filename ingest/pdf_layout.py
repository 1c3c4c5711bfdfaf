"""Lines of a PDF page rebuilt from character positions and fonts (pdfplumber), then paragraphs across pages.

pdfplumber gives characters with positions, sizes and font names, and a table finder, but no paragraphs: its text
output ends every printed line with a newline (`促\\n进勤工助学活动`). The grouping into lines, columns and paragraphs
here is written by hand because no permissive library rebuilds paragraphs across page breaks.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from ingest.text_norm import map_char

_CJK_CHAR = r"\u2e80-\u2fdf\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_PUNCT = r"\u3000-\u303f\uff00-\uffef“”‘’—…·"
_NO_SPACE_END = re.compile(f"[{_CJK_CHAR}{_CJK_PUNCT}]$")
_NO_SPACE_START = re.compile(f"^[{_CJK_CHAR}{_CJK_PUNCT}]")
_SENTENCE_END = re.compile(r"[。！？；：.!?;:」』”）)]\s*$")
_LIST_START = re.compile(
    r"^\s*(?:[•●○◆◇■□▪➢✓❖\-–—*]\s*|\(?\d{1,2}[)）.、]\s*(?!\d)|[（(][一二三四五六七八九十\d]{1,3}[)）]|"
    r"[一二三四五六七八九十]{1,3}[、.．]|第[一二三四五六七八九十百零\d]{1,4}[章节条款部分篇]|[①-⑳]|[A-Za-z][.)]\s)")
#: page numbers as they are printed: `5`, `- 5 -`, `— 2 —`, `5 / 195`, `第 5 页`, `Page 5 of 9`, `iv`
_PAGE_NUMBER = re.compile(
    r"^\s*(?:[-—–~·•]?\s*\d{1,4}\s*[-—–~·•]?|\d{1,4}\s*/\s*\d{1,4}|第\s*\d{1,4}\s*页(?:\s*[,，/共]\s*共?\s*\d+\s*页)?|"
    r"(?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?|[ivxlcdm]{1,6}|[IVXLCDM]{1,6})\s*$", re.I)
#: a line that is only a number (a page number off the margins, a chart's axis tick): never content on its own
BARE_NUMBER = re.compile(r"^\s*[-—–~·•]?\s*\d{1,4}\s*[-—–~·•]?\s*$")
_TOC_LEADER = re.compile(r"(?:\.{4,}|…{2,}|·{4,}|⋯{2,}|-{5,}|_{5,}|(?:\. ){4,})\s*\d{1,4}\s*$")
_TOC_HEADING = re.compile(r"^\s*(?:目\s*录|目\s*次|contents|table of contents)\s*$", re.I)
_ENDS_WITH_NUMBER = re.compile(r"\s\d{1,4}\s*$|[^\d\s.,，%]\s*\d{1,4}\s*$")
_NUMERIC = re.compile(r"^[\s\-+−(（]*[\d,.，%％]+[)）]?\s*$|^[-—–]+$")


@dataclass
class Line:
    """One printed line (or a column's part of it): text, box, font size, page."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    page: int
    column: int = 0  # 0 full width, 1 left, 2 right
    col_left: float = 0.0
    col_right: float = 0.0


@dataclass
class Table:
    """Rows of a table found on a page, already written with their headers."""

    top: float
    page: int
    rows: list[list[str]]
    header: list[str] = field(default_factory=list)
    header_rows: list[list[str]] = field(default_factory=list)
    written: list[str] = field(default_factory=list)


@dataclass
class PageContent:
    """What one page gives the paragraph builder: lines (reading order) and tables, each with a vertical position."""

    number: int
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    chars: int = 0  # characters in the text layer
    image_share: float = 0.0  # share of the page area covered by images


def join_text(left: str, right: str) -> str:
    """Join two lines of a paragraph: no space between CJK, hyphenation undone, one space between Latin words."""
    if not left:
        return right
    if not right:
        return left
    if left.endswith("-") and len(left) > 1 and left[-2].isalpha() and right[:1].islower():
        return left[:-1] + right
    if _NO_SPACE_END.search(left) or _NO_SPACE_START.search(right) or left.endswith((" ", "/")):
        return left + right
    return left + " " + right


def _line_text(chars: list[dict]) -> str:
    out: list[str] = []
    prev = None
    for c in chars:
        ch = c["text"]
        if ch.startswith("(cid:"):
            continue  # a glyph without a Unicode mapping: pdfminer's placeholder means nothing to a reader
        if prev is not None and ch != " " and (not out or out[-1] != " "):
            gap = c["x0"] - prev["x1"]
            if gap > 0.15 * max(c["size"], 1.0):
                out.append(" ")
        if ch == " " and (not out or out[-1] == " "):
            prev = c
            continue
        out.append(map_char(ch, c.get("fontname", "")) if len(ch) == 1 else ch)
        prev = c
    return "".join(out).strip()


def _cluster_lines(chars: list[dict]) -> list[list[dict]]:
    """Characters grouped into printed lines by vertical overlap, each sorted left to right."""
    rows: list[list[dict]] = []
    for c in sorted(chars, key=lambda c: (round(c["top"], 1), c["x0"])):
        if rows:
            last = rows[-1]
            ref = last[0]
            tol = 0.5 * min(ref["size"], c["size"])
            if abs(c["top"] - ref["top"]) <= tol or abs(c["bottom"] - ref["bottom"]) <= tol:
                last.append(c)
                continue
        rows.append([c])
    out = []
    for r in rows:
        r.sort(key=lambda c: c["x0"])
        kept = [r[0]]
        for c in r[1:]:  # fake bold: the same glyph drawn twice a fraction of a point apart
            p = kept[-1]
            close = abs(c["x0"] - p["x0"]) < 0.25 * (p["x1"] - p["x0"]) + 0.01 and abs(c["top"] - p["top"]) < 1
            if c["text"] == p["text"] and close:
                continue
            kept.append(c)
        out.append(kept)
    return out


def _gutter(rows: list[list[dict]], width: float) -> float | None:
    """x of a two-column gutter: a vertical strip mid-page that (almost) no printed line has a character across.

    Word gaps wander from line to line, a gutter does not. Both sides must hold real text lines (≥ 0.3 of the page
    wide), so label/value layouts are not read as two columns.
    """
    if len(rows) < 8:
        return None
    step = 2.0
    lo, hi = int(width * 0.35 / step), int(width * 0.65 / step)
    cover = [0] * (hi - lo + 1)
    for row in rows:
        spans: list[list[float]] = []  # the row's inked intervals (characters merged into words)
        for c in row:
            if spans and c["x0"] <= spans[-1][1] + 0.5:
                spans[-1][1] = max(spans[-1][1], c["x1"])
            else:
                spans.append([c["x0"], c["x1"]])
        seen: set[int] = set()
        for x0, x1 in spans:
            seen.update(range(max(lo, int(x0 / step) + 1), min(hi, int(x1 / step)) + 1))
        for bucket in seen:
            cover[bucket - lo] += 1
    best_i = min(range(len(cover)), key=lambda i: (cover[i], abs(i - len(cover) / 2)))
    if len(rows) - cover[best_i] < max(8, 0.4 * len(rows)):
        return None  # rows crossing the strip are full-width lines (titles, abstracts); most rows must not
    x = (best_i + lo) * step
    left = right = 0
    for row in rows:
        lx = [c for c in row if c["x1"] <= x]
        rx = [c for c in row if c["x0"] >= x]
        left += bool(lx) and lx[-1]["x1"] - lx[0]["x0"] >= 0.3 * width
        right += bool(rx) and rx[-1]["x1"] - rx[0]["x0"] >= 0.3 * width
    return x if left >= 3 and right >= 3 else None


def _make_line(seg: list[dict], number: int) -> Line | None:
    text = _line_text(seg)
    if not text:
        return None
    sizes = [c["size"] for c in seg if c["text"].strip()]
    return Line(text=text, x0=min(c["x0"] for c in seg), x1=max(c["x1"] for c in seg),
                top=min(c["top"] for c in seg), bottom=max(c["bottom"] for c in seg),
                size=round(statistics.median(sizes) if sizes else 10.0, 1), page=number)


def _in_box(c: dict, boxes: list[tuple[float, float, float, float]]) -> bool:
    cx, cy = (c["x0"] + c["x1"]) / 2, (c["top"] + c["bottom"]) / 2
    return any(x0 - 1 <= cx <= x1 + 1 and t - 1 <= cy <= b + 1 for x0, t, x1, b in boxes)


def _cell(text: str | None) -> str:
    if not text:
        return ""
    parts = [p.strip() for p in text.split("\n") if p.strip()]
    out = ""
    for p in parts:
        out = join_text(out, p)
    return out


def _is_numeric(value: str) -> bool:
    return bool(_NUMERIC.match(value))


def _headers(rows: list[list[str]]) -> tuple[list[str], int]:
    """Column names from the leading header rows (merged cells filled from the left) and how many rows they take."""
    ncols = len(rows[0])
    if sum(1 for v in rows[0] if v) < 2:
        return [""] * ncols, 0  # a label row, not column names
    n = 1
    while n < min(3, len(rows) - 1):
        row = rows[n]
        if (any(_is_numeric(v) for v in row[1:] if v) or not any(v == "" for v in rows[n - 1])
                or sum(1 for v in row if v) < 2):
            break
        n += 1
    names = []
    for j in range(ncols):
        bits: list[str] = []
        for i in range(n):
            v = rows[i][j]
            if not v and j > 0 and i < n - 1:  # a merged header cell spans to the right
                k = j - 1
                while k >= 0 and not rows[i][k]:
                    k -= 1
                v = rows[i][k] if k >= 0 else ""
            if v and v not in bits:
                bits.append(v)
        names.append(" ".join(bits))
    return names, n


def write_rows(header: list[str], rows: list[list[str]]) -> list[str]:
    """Each row as `列名: 值 | 列名: 值`, so a row read alone still says what each value is."""
    out = []
    for row in rows:
        filled = [(h, v) for h, v in zip(header, row, strict=False) if v]
        if not filled:
            continue
        if len(filled) == 1 and row and row[0]:
            out.append(row[0])  # a label row (section heading inside the table)
            continue
        out.append(" | ".join(f"{h}: {v}" if h and h != v else v for h, v in filled))
    return out


def _table_rows(raw: list[list[str | None]]) -> list[list[str]] | None:
    rows = [[_cell(c) for c in r] for r in raw]
    rows = [r for r in rows if any(r)]
    if not rows:
        return None
    keep = [j for j in range(len(rows[0])) if any(j < len(r) and r[j] for r in rows)]
    rows = [[r[j] if j < len(r) else "" for j in keep] for r in rows]
    if len(keep) < 2 or len(rows) < 2:
        return None
    if max(len(v) for r in rows for v in r) > 300:
        return None  # a frame around running text, not a table
    return rows


def read_page(page, number: int) -> PageContent:  # noqa: ANN001 - pdfplumber.Page
    """Lines (outside tables) and tables of one page; raises on anything the layout analysis cannot handle."""
    width, height = float(page.width), float(page.height)
    content = PageContent(number=number, width=width, height=height)
    area = max(width * height, 1.0)
    content.image_share = min(1.0, sum(max(0.0, (i["x1"] - i["x0"]) * (i["bottom"] - i["top"]))
                                       for i in page.images) / area)
    chars = [c for c in page.chars if c["text"] and c["text"].strip() or c["text"] == " "]
    upright = [c for c in chars if c.get("upright", True)]
    chars = upright if len(upright) >= 0.5 * len(chars) else chars
    content.chars = sum(1 for c in chars if c["text"].strip())
    if not content.chars:
        return content
    boxes: list[tuple[float, float, float, float]] = []
    if page.rects or page.lines or page.curves:  # the table finder needs ruling lines; skip it on pages without
        for t in page.find_tables():
            rows = _table_rows(t.extract())
            if rows is None:
                continue
            boxes.append(tuple(t.bbox))
            content.tables.append(Table(top=float(t.bbox[1]), page=number, rows=rows))
    if boxes:
        chars = [c for c in chars if not _in_box(c, boxes)]
    rows = _cluster_lines(chars)
    gutter = _gutter(rows, width)
    content.lines = [ln for ln in _reading_order(rows, gutter, number) if not BARE_NUMBER.match(ln.text)]
    return content


def _reading_order(rows: list[list[dict]], gutter: float | None, number: int) -> list[Line]:
    """Full-width lines top to bottom; in two-column stretches the left column, then the right one."""
    if gutter is None:
        lines = [ln for ln in (_make_line(r, number) for r in rows) if ln]
        _set_columns(lines, 0)
        return lines
    out: list[Line] = []
    region: list[dict] = []

    def flush() -> None:
        for column, part in ((1, [c for c in region if c["x1"] <= gutter]),
                             (2, [c for c in region if c["x0"] >= gutter])):
            lines = [ln for ln in (_make_line(r, number) for r in _cluster_lines(part)) if ln]
            _set_columns(lines, column)
            out.extend(lines)
        region.clear()

    for row in rows:
        if any(c["x0"] < gutter < c["x1"] for c in row):
            flush()
            line = _make_line(row, number)
            if line:
                _set_columns([line], 0)
                out.append(line)
        else:
            region.extend(row)
    flush()
    return out


def _set_columns(lines: list[Line], column: int) -> None:
    if not lines:
        return
    xs0 = sorted(s.x0 for s in lines)
    xs1 = sorted(s.x1 for s in lines)
    left, right = xs0[len(xs0) // 10], xs1[(len(xs1) * 9) // 10]
    for s in lines:
        s.column, s.col_left, s.col_right = column, left, right


# ----- running headers, footers, page numbers, tables of contents ----------------------------------------------------


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def find_running(pages: list[PageContent]) -> tuple[set[tuple[int, int]], str]:
    """(page, line index) of running headers/footers/page numbers, and the running title (most repeated header)."""
    counts: dict[tuple[str, str], set[int]] = {}
    cands: list[tuple[int, int, str, str]] = []
    for p in pages:
        if not p.lines:
            continue
        order = sorted(range(len(p.lines)), key=lambda i: p.lines[i].top)
        top_ids, bottom_ids = order[:3], order[-3:]
        for zone, ids in (("top", top_ids), ("bottom", bottom_ids)):
            for i in ids:
                ln = p.lines[i]
                in_zone = ln.top < 0.14 * p.height if zone == "top" else ln.bottom > 0.86 * p.height
                if not in_zone or len(ln.text) > 80:
                    continue
                k = _key(ln.text)
                cands.append((p.number, i, zone, k))
                counts.setdefault((zone, k), set()).add(p.number)
    n = sum(1 for p in pages if p.lines)
    need = min(6, max(3, round(0.1 * n)))
    drop: set[tuple[int, int]] = set()
    header_counts: dict[str, int] = {}
    for number, i, zone, k in cands:
        line = next(p for p in pages if p.number == number).lines[i]
        if _PAGE_NUMBER.match(line.text):
            drop.add((number, i))
        elif n >= 3 and len(counts[(zone, k)]) >= need:
            drop.add((number, i))
            if zone == "top":
                header_counts[line.text] = header_counts.get(line.text, 0) + 1
    title = ""
    if header_counts:
        best = max(header_counts, key=lambda t: header_counts[t])
        title = re.sub(r"\s*(?:\d{1,4}\s*/\s*\d{1,4}|第\s*\d+\s*页|[-—–]\s*\d+\s*[-—–]|\d{1,4})\s*$", "", best).strip()
    return drop, title


def toc_lines(page: PageContent) -> set[int]:
    """Indices of table-of-contents lines on a page: dot leaders anywhere, and number-ended lines on a TOC page."""
    out = {i for i, ln in enumerate(page.lines) if _TOC_LEADER.search(ln.text)}
    heading = [i for i, ln in enumerate(page.lines[:6]) if _TOC_HEADING.match(ln.text)]
    numbered = [i for i, ln in enumerate(page.lines) if _ENDS_WITH_NUMBER.search(ln.text)]
    if (heading and len(numbered) >= 3) or (len(out) >= 3 and len(out) >= 0.3 * len(page.lines)):
        out.update(numbered)
        out.update(heading)
    return out
