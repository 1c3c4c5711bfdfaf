"""Excel (.xlsx): every sheet, each row as `列名: 值` pairs with its header; the sheet is the document's page."""

from __future__ import annotations

import io
import zipfile

from ingest.common import content_id
from ingest.errors import CorruptFileError, EmptyFileError, FileTooLargeError
from ingest.formats.tables import formatted_cell, grid_lines
from ingest.formats.zipcheck import check_zip
from ingest.options import ReadOptions
from rag.types import Document

MAX_CELLS = 5_000_000  # non-empty and empty cells kept in memory across all sheets


def read_xlsx(data: bytes, source: str, options: ReadOptions | None = None) -> list[Document]:
    import openpyxl

    try:
        check_zip(zipfile.ZipFile(io.BytesIO(data)), source, "XLSX")
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except CorruptFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises KeyError, TypeError, lxml errors... on broken files
        raise CorruptFileError(f"{source}: not a readable XLSX file ({type(exc).__name__}: {exc})") from None
    parts: list[str] = []
    pages: list[tuple[int, int, int]] = []
    sheets: list[str] = []
    cells = pos = 0
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
            lines = grid_lines(grid)
            if not lines:
                continue
            text = f"【工作表：{ws.title}】\n" + "\n".join(lines)
            if parts:
                pos += 2
            pages.append((pos, pos + len(text), number))
            parts.append(text)
            sheets.append(ws.title)
            pos += len(text)
    except (FileTooLargeError, CorruptFileError):
        raise
    except Exception as exc:  # noqa: BLE001 - a sheet's XML broken past the header
        raise CorruptFileError(f"{source}: not a readable XLSX file ({type(exc).__name__}: {exc})") from None
    finally:
        wb.close()
    if not parts:
        raise EmptyFileError(f"{source}: the workbook has no cells with text")
    text = "\n\n".join(parts)
    title = (wb.properties.title or "").strip() if wb.properties else ""
    return [Document(doc_id=content_id(text), text=text, title=title or source.rsplit("/", 1)[-1].rsplit(".", 1)[0],
                     source=source, metadata={"kind": "xlsx", "sheets": ", ".join(sheets), "pages": len(pages)},
                     pages=pages)]
