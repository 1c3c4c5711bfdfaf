"""Reading quality per file (`rag eval documents`): what the readers and the chunker make of real documents.

The running-header check does not trust the reader under test: for a PDF it finds the lines that repeat at the top or
bottom of the raw pypdf page texts (digits ignored) and the bare page numbers, then counts chunks that still hold one
as a line of their own. So the same measure applies to any reader, old or new.
"""

from __future__ import annotations

import io
import re
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ingest.chunking import ChineseChunker
from ingest.errors import IngestError
from ingest.options import ReadOptions
from ingest.text_norm import leftover_artefacts
from rag.types import Chunk

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_CJK_NEWLINE = re.compile(f"(?<=[{_CJK}])\n(?=[{_CJK}])")
_PAGE_NUMBER_LINE = re.compile(
    r"^\s*(?:[-—–·•]?\s*\d{1,4}\s*[-—–·•]?|\d{1,4}\s*/\s*\d{1,4}|第\s*\d{1,4}\s*页(?:\s*共\s*\d+\s*页)?|"
    r"page\s*\d{1,4}(?:\s*of\s*\d{1,4})?)\s*$", re.I)
#: a table row written with its header: at least two `name: value` cells joined by ` | `
_HEADED_ROW = re.compile(r"^[^|\n]{1,80}?[:：] ?[^|\n]+(?: \| [^|\n]{1,80}?[:：] ?[^|\n]*)+$", re.M)


@dataclass
class FileReport:
    """One file's reading-quality numbers."""

    file: str
    title: str = ""
    documents: int = 0
    pages: int = 0
    chunks: int = 0
    newlines: int = 0
    cjk_newlines: int = 0
    cjk_newline_share: float = 0.0
    header_chunks: int = 0  # chunks holding a detected running header/footer or a bare page number
    headed_table_rows: int = 0
    ocr_pages: int = 0
    leftover_artefacts: int = 0  # Kangxi radicals and private-use characters left in chunk text
    parse_seconds: float = 0.0
    seconds_per_page: float = 0.0
    error: str = ""
    running_lines: list[str] = field(default_factory=list)


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line))


def running_lines(data: bytes) -> set[str]:
    """Keys of lines repeated in a PDF's top or bottom tenth (pdfplumber's plain line grouping, ≥ 3 and ≥ 20% of
    the pages), found without the reader under test."""
    import pdfplumber

    counts: dict[str, int] = {}
    n = 0
    try:
        with pdfplumber.open(io.BytesIO(data), password="") as pdf:
            for page in pdf.pages:
                n += 1
                h = float(page.height)
                keys = {_key(ln["text"]) for ln in page.extract_text_lines(return_chars=False)
                        if (ln["top"] < 0.1 * h or ln["bottom"] > 0.9 * h) and len(ln["text"]) <= 60}
                for k in keys:
                    counts[k] = counts.get(k, 0) + 1
                page.close()
    except Exception:  # noqa: BLE001 - the report still measures everything else
        return set()
    need = max(3, round(0.2 * n))
    # a repeated line needs two letters of its own: `#,#,#.#` (a figure) or `·#·` (a page number, matched apart)
    return {k for k, c in counts.items() if c >= need and len(re.sub(r"[\W#_]", "", k)) >= 2} if n >= 3 else set()


def _has_running(chunk: Chunk, keys: set[str]) -> bool:
    """A line of the chunk is a bare page number, or a running line past the first page (a cover repeats it)."""
    pos = 0
    for line in chunk.text.split("\n"):
        s = line.strip()
        at, pos = pos, pos + len(line) + 1
        if not s:
            continue
        if _PAGE_NUMBER_LINE.match(s):
            return True
        if _key(s) in keys and (chunk.page_at(at) or 0) > 1:
            return True
    return False


def report_file(path: Path, chunker: ChineseChunker, ocr: str = "auto") -> FileReport:
    """Read one file as ingest would and measure its chunks."""
    from ingest.readers import read_bytes

    rep = FileReport(file=str(path))
    data = path.read_bytes()
    started = time.perf_counter()
    try:
        docs = read_bytes(data, path.name, source=str(path), options=ReadOptions(ocr=ocr))  # type: ignore[arg-type]
    except IngestError as exc:
        rep.error = str(exc)
        return rep
    rep.parse_seconds = round(time.perf_counter() - started, 3)
    keys = running_lines(data) if path.suffix.lower() == ".pdf" else set()
    rep.running_lines = sorted(keys)[:10]
    rep.documents = len(docs)
    rep.title = docs[0].title if docs else ""
    for doc in docs:
        pages = doc.metadata.get("pages")
        rep.pages += int(pages) if isinstance(pages, int) and pages > 0 else 1
        ocr_pages = doc.metadata.get("ocr_pages")
        rep.ocr_pages += len(ocr_pages) if isinstance(ocr_pages, list) else int(ocr_pages or 0)
        rep.headed_table_rows += len(_HEADED_ROW.findall(doc.text))
        for chunk in chunker.chunk(doc):
            rep.chunks += 1
            rep.newlines += chunk.text.count("\n")
            rep.cjk_newlines += len(_CJK_NEWLINE.findall(chunk.text))
            rep.header_chunks += _has_running(chunk, keys)
            rep.leftover_artefacts += leftover_artefacts(chunk.text)
    rep.cjk_newline_share = round(rep.cjk_newlines / rep.newlines, 4) if rep.newlines else 0.0
    rep.seconds_per_page = round(rep.parse_seconds / max(rep.pages, 1), 4)
    return rep


def expand(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p])
    return out


def documents_report(paths: list[str], chunk_size: int = 600, chunk_overlap: int = 80,
                     ocr: str = "auto") -> dict:
    """Per-file reports and totals (newline share over all chunks, median seconds per page)."""
    chunker = ChineseChunker(chunk_size, chunk_overlap)
    files = [report_file(p, chunker, ocr) for p in expand(paths)]
    ok = [f for f in files if not f.error]
    newlines = sum(f.newlines for f in ok)
    text_pdf = [f.seconds_per_page for f in ok if f.file.lower().endswith(".pdf") and not f.ocr_pages]
    totals = {
        "files": len(files), "errors": len(files) - len(ok), "pages": sum(f.pages for f in ok),
        "chunks": sum(f.chunks for f in ok), "cjk_newline_share": round(sum(f.cjk_newlines for f in ok) / newlines, 4)
        if newlines else 0.0, "header_chunks": sum(f.header_chunks for f in ok),
        "headed_table_rows": sum(f.headed_table_rows for f in ok), "ocr_pages": sum(f.ocr_pages for f in ok),
        "leftover_artefacts": sum(f.leftover_artefacts for f in ok),
        "median_seconds_per_page_text_pdf": round(statistics.median(text_pdf), 4) if text_pdf else None,
    }
    return {"files": [asdict(f) for f in files], "totals": totals}


COLUMNS = ["pages", "chunks", "cjk_newline_share", "header_chunks", "headed_table_rows", "ocr_pages",
           "leftover_artefacts", "seconds_per_page"]


def format_report(report: dict) -> str:
    """A plain-text table, one row per file, then the totals."""
    head = f"{'file':<36} " + " ".join(f"{c[:12]:>12}" for c in COLUMNS) + "  title"
    rows = [head]
    for f in report["files"]:
        name = Path(f["file"]).name[:36]
        if f["error"]:
            rows.append(f"{name:<36} error: {f['error'][:100]}")
            continue
        rows.append(f"{name:<36} " + " ".join(f"{f[c]!s:>12}" for c in COLUMNS) + f"  {f['title'][:40]}")
    rows.append("totals: " + ", ".join(f"{k}={v}" for k, v in report["totals"].items()))
    return "\n".join(rows)
