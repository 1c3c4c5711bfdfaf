"""Excel (.xlsx): every sheet, each row as `列名: 值` pairs with its header; the sheet is the document's page."""

from __future__ import annotations

import io
import re
import zipfile

from ingest.common import PagedText, content_id
from ingest.errors import CorruptFileError, EmptyFileError, FileTooLargeError
from ingest.formats.tables import fill_merged, formatted_cell, grid_lines
from ingest.formats.zipcheck import check_zip
from ingest.options import ReadOptions
from rag.types import Document

MAX_CELLS = 5_000_000  # non-empty and empty cells kept in memory across all sheets
_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]{1,3})(\d+):([A-Z]{1,3})(\d+)"')


def _col(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


def _merged_ranges(z: zipfile.ZipFile, part: str | None) -> list[tuple[int, int, int, int]]:
    """The sheet's merged ranges, read from its XML (openpyxl's read-only mode skips them)."""
    if not part:
        return []
    try:
        xml = z.read(part.lstrip("/"))
    except KeyError:
        return []
    tail = xml[xml.rfind(b"</sheetData>"):] if b"</sheetData>" in xml else xml
    return [(int(r0) - 1, _col(c0), int(r1) - 1, _col(c1)) for c0, r0, c1, r1 in _MERGE_RE.findall(tail)]


def read_xlsx(data: bytes, source: str, options: ReadOptions | None = None) -> list[Document]:
    import openpyxl

    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        check_zip(z, source, "XLSX")
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except CorruptFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises KeyError, TypeError, lxml errors... on broken files
        raise CorruptFileError(f"{source}: not a readable XLSX file ({type(exc).__name__}: {exc})") from None
    paged = PagedText()
    sheets: list[str] = []
    cells = 0
    try:
        for number, ws in enumerate(wb.worksheets, start=1):
            if not hasattr(ws, "iter_rows"):
                continue  # a chart sheet
            ws.reset_dimensions()  # a bogus `A1:XFD1048576` dimension would pad every row to 16k cells
            grid = []
            for row in ws.iter_rows():
                cells += len(row)
                if cells > MAX_CELLS:
                    raise FileTooLargeError(f"{source}: over {MAX_CELLS:,} cells; split the workbook")
                grid.append([formatted_cell(c.value, getattr(c, "number_format", None)) for c in row])
            while grid and not any(grid[-1]):
                grid.pop()
            grouped = fill_merged(grid, _merged_ranges(z, getattr(ws, "_worksheet_path", None)))
            lines = grid_lines(grid, grouped)
            if not lines:
                continue
            text = f"【工作表：{ws.title}】\n" + "\n".join(lines)
            paged.add(text, number)
            sheets.append(ws.title)
    except (FileTooLargeError, CorruptFileError):
        raise
    except Exception as exc:  # noqa: BLE001 - a sheet's XML broken past the header
        raise CorruptFileError(f"{source}: not a readable XLSX file ({type(exc).__name__}: {exc})") from None
    finally:
        wb.close()
    if not paged.parts:
        raise EmptyFileError(f"{source}: the workbook has no cells with text")
    text = paged.text
    title = (wb.properties.title or "").strip() if wb.properties else ""
    return [Document(doc_id=content_id(text), text=text, title=title or source.rsplit("/", 1)[-1].rsplit(".", 1)[0],
                     source=source, metadata={"kind": "xlsx", "sheets": ", ".join(sheets), "pages": len(paged.pages)},
                     pages=paged.pages)]
