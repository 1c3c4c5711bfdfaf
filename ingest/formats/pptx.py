"""PowerPoint (.pptx) via python-pptx: titles, text frames, tables (rows with their header), charts, notes.

Each slide is a page of the document (its number is the citation's page); pictures are OCR'd in `always` mode.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Iterator
from typing import Any

from ingest.common import PagedText, clean_text, content_id
from ingest.errors import CorruptFileError, EmptyFileError
from ingest.formats.images_in import ocr_blob
from ingest.formats.tables import cell_text, table_lines
from ingest.formats.zipcheck import check_zip
from ingest.options import ReadOptions
from rag.types import Document

log = logging.getLogger(__name__)


def _shapes(shapes: Any) -> Iterator[Any]:
    """Shapes in reading order (top to bottom, then left to right), groups opened."""
    def key(s: Any) -> tuple[int, int]:
        return (s.top or 0, s.left or 0)

    for shape in sorted(shapes, key=key):
        if getattr(shape, "shape_type", None) == 6 or hasattr(shape, "shapes") and not shape.has_text_frame:
            yield from _shapes(shape.shapes)  # MSO_SHAPE_TYPE.GROUP
        else:
            yield shape


def _frame_text(frame: Any) -> str:
    lines = [" ".join(p.text.split()) for p in frame.paragraphs]
    return "\n".join(ln for ln in lines if ln)


def _chart_lines(chart: Any) -> list[str]:
    """A chart's title and its data, one `类别 | 系列: 值` row per category."""
    out = []
    if chart.has_title and chart.chart_title.has_text_frame:
        title = _frame_text(chart.chart_title.text_frame)
        if title:
            out.append(title)
    for plot in chart.plots:
        cats = [cell_text(c) for c in plot.categories]
        series = [(s.name or "", list(s.values)) for s in plot.series]
        grid = [["类别", *[name for name, _ in series]]]
        for i, cat in enumerate(cats):
            grid.append([cat, *[cell_text(vals[i]) if i < len(vals) else "" for _, vals in series]])
        out += table_lines(grid)
    return out


def _table_grid(table: Any) -> tuple[list[list[str]], int]:
    """(cell texts, header rows); a merged cell's text fills every cell it spans, so each row keeps its header and
    its category; a first row with cells merged across columns is a group header over a second header row."""
    rows = list(table.rows)
    grid = [[" ".join(c.text.split()) for c in row.cells] for row in rows]
    for i, row in enumerate(rows):
        for j, cell in enumerate(row.cells):
            if cell.is_merge_origin:
                for di in range(cell.span_height):
                    for dj in range(cell.span_width):
                        if i + di < len(grid) and j + dj < len(grid[i + di]) and not grid[i + di][j + dj]:
                            grid[i + di][j + dj] = grid[i][j]
    grouped = len(rows) > 2 and any(c.is_merge_origin and c.span_width > 1 for c in rows[0].cells)
    return grid, 2 if grouped else 1


def _slide_text(slide: Any, options: ReadOptions, source: str, number: int) -> tuple[str, int, int]:
    """(text, pictures OCR'd, pictures that failed) of one slide."""
    title_shape = slide.shapes.title
    lines: list[str] = []
    if title_shape is not None and title_shape.has_text_frame and title_shape.text_frame.text.strip():
        lines.append(_frame_text(title_shape.text_frame))
    ocr_done = ocr_failed = 0
    for shape in _shapes(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        try:
            if shape.has_text_frame:
                text = _frame_text(shape.text_frame)
                if text:
                    lines.append(text)
            elif getattr(shape, "has_table", False) and shape.has_table:
                grid, header_rows = _table_grid(shape.table)
                lines += table_lines(grid, header_rows=header_rows)
            elif getattr(shape, "has_chart", False) and shape.has_chart:
                lines += _chart_lines(shape.chart)
            elif options.ocr == "always" and hasattr(shape, "image"):
                text, failed = ocr_blob(shape.image.blob, f"{source} slide {number}")
                ocr_failed += failed
                if text:
                    ocr_done += 1
                    lines.append(text)
        except Exception as exc:  # noqa: BLE001 - one odd shape (a scatter chart, a broken picture), not the deck
            log.info("%s slide %d: skipped a shape (%s)", source, number, exc)
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        notes = _frame_text(slide.notes_slide.notes_text_frame)
        if notes:
            lines.append("备注：" + notes)
    return "\n".join(lines), ocr_done, ocr_failed


def read_pptx(data: bytes, source: str, options: ReadOptions | None = None) -> list[Document]:
    from pptx import Presentation

    options = options or ReadOptions()
    try:
        check_zip(zipfile.ZipFile(io.BytesIO(data)), source, "PPTX")
        prs = Presentation(io.BytesIO(data))
        slides = list(prs.slides)
    except CorruptFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - python-pptx raises KeyError, ValueError, lxml errors on broken files
        raise CorruptFileError(f"{source}: not a readable PPTX file ({type(exc).__name__}: {exc})") from None
    paged = PagedText()
    ocr_done = ocr_failed = 0
    first_title = ""
    for number, slide in enumerate(slides, start=1):
        text, done, failed = _slide_text(slide, options, source, number)
        ocr_done += done
        ocr_failed += failed
        if options.progress:
            options.progress(number, len(slides))
        text = clean_text(text).strip()
        if not text:
            continue
        if not first_title:
            first_title = text.splitlines()[0][:60]
        paged.add(text, number)
    if not paged.parts:
        raise EmptyFileError(f"{source}: the PPTX file has no text")
    text = paged.text
    title = (prs.core_properties.title or "").strip() or first_title
    meta: dict[str, Any] = {"kind": "pptx", "pages": len(slides)}
    if ocr_done or ocr_failed:
        meta.update(ocr_images=ocr_done, ocr_failed_images=ocr_failed)
    return [Document(doc_id=content_id(text), text=text, title=title, source=source, metadata=meta, pages=paged.pages)]
