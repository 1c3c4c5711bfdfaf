"""Word (.docx): paragraphs and tables in document order via python-docx, table rows with their header;
pictures OCR'd when `ingest.ocr` is `always`."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from ingest.common import first_line_title, make_doc
from ingest.errors import CorruptFileError, EmptyFileError
from ingest.formats.images_in import ocr_blobs
from ingest.formats.tables import table_lines
from ingest.formats.zipcheck import check_zip
from ingest.options import ReadOptions
from rag.types import Document


def _table_lines(table: Any) -> list[str]:
    """A regular table of three or more columns as `header: value` rows; other tables (label/value pairs, forms
    with merged cells, where the first row is no header) row by row as `a | b`. A merged cell counts once."""
    grid: list[list[str]] = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        grid.append(cells)
    widths = {len(r) for r in grid}
    if len(grid) >= 2 and len(widths) == 1 and widths.pop() >= 3:
        return table_lines(grid)
    return [" | ".join(c for c in r if c) for r in grid if any(r)]


def read_docx(data: bytes, source: str, options: ReadOptions | None = None) -> list[Document]:
    from docx import Document as DocxDocument
    from docx.table import Table

    options = options or ReadOptions()
    try:
        check_zip(zipfile.ZipFile(io.BytesIO(data)), source, "DOCX")
        d = DocxDocument(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise CorruptFileError(f"{source}: not a readable DOCX file ({exc})") from None
    paras: list[str] = []
    for block in d.iter_inner_content():  # paragraphs and tables in document order (a table stays by its caption)
        if isinstance(block, Table):
            lines = _table_lines(block)
            if lines:
                paras.append("\n".join(lines))
        elif block.text.strip():
            paras.append(block.text.strip())
    meta: dict[str, object] = {}
    if options.ocr == "always":
        blobs = [part.blob for part in d.part.package.iter_parts() if part.content_type.startswith("image/")]
        texts, failed = ocr_blobs(blobs, source)
        paras += texts
        meta = {"ocr_images": len(texts), "ocr_failed_images": failed or None}
    if not paras:
        raise EmptyFileError(f"{source}: the DOCX file has no text")
    text = "\n\n".join(paras)
    title = d.core_properties.title or first_line_title(text)
    return [make_doc(text, title, source, kind="docx", **meta)]
