"""CSV/TSV: the dialect sniffed (csv.Sniffer), the encoding detected, each row as `列名: 值` pairs with its header."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ingest.common import clean_text, content_id
from ingest.encoding import decode_bytes
from ingest.errors import EmptyFileError
from ingest.formats.tables import cell_text, table_lines
from ingest.options import ReadOptions
from rag.types import Document

csv.field_size_limit(16 * 2**20)  # a long text cell (an article body) is data, not an error


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    sample = text[:64 * 1024]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|")
    except csv.Error:  # one column, or too irregular to tell: the common case
        return csv.excel_tab if sample.count("\t") > sample.count(",") else csv.excel


def read_csv(data: bytes, source: str, options: ReadOptions | None = None) -> list[Document]:
    text, enc = decode_bytes(data, source)
    text = clean_text(text).lstrip("\ufeff")
    if not text.strip():
        raise EmptyFileError(f"{source}: no text (only whitespace or control characters)")
    dialect = _dialect(text)
    rows = [[cell_text(c) for c in row] for row in csv.reader(io.StringIO(text, newline=""), dialect)]
    rows = [r for r in rows if any(r)]
    lines = table_lines(rows)
    if not lines:
        raise EmptyFileError(f"{source}: the CSV has no cells with text")
    body = "\n".join(lines)
    delimiter = getattr(dialect, "delimiter", ",")
    return [Document(doc_id=content_id(body), text=body, title=Path(source).stem, source=source,
                     metadata={"kind": "csv", "encoding": enc, "rows": max(0, len(rows) - 1),
                               "delimiter": {"\t": "tab"}.get(delimiter, delimiter)})]
