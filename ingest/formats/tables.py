"""Spreadsheet grids as text a retriever can use: each row written as `列名: 值` pairs with its own header.

A sheet may hold several tables side by side or one under another; they are told apart by the empty rows and columns
between them (openpyxl gives cells, not tables), and each table's header is its first row with two or more cells.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

Grid = list[list[str]]
SEP = " | "


def cell_text(value: object) -> str:
    """A cell as text: whole-day datetimes as dates, floats without binary noise, inner line breaks as spaces."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.15g}" if value == value else ""  # NaN: an empty cell
    if isinstance(value, Decimal):
        return format(value, "f")
    return " ".join(str(value).split())


def formatted_cell(value: object, number_format: str | None) -> str:
    """A spreadsheet cell as shown: percent formats as percents (0.084 in `0.0%` is 8.4%), else `cell_text`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and number_format and "%" in number_format:
        decimals = len(number_format.split(".", 1)[1].split("%", 1)[0]) if "." in number_format else 0
        return f"{value * 100:.{min(decimals, 10)}f}%"
    return cell_text(value)


def column_name(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (spreadsheet column letters)."""
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def _bands(flags: list[bool]) -> list[tuple[int, int]]:
    """Runs of True in flags as [start, end) ranges."""
    out, start = [], None
    for i, f in enumerate([*flags, False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            out.append((start, i))
            start = None
    return out


def split_tables(grid: Grid) -> list[tuple[int, int, Grid]]:
    """(first row, first column, block) for each table: row bands split by empty rows, then by empty columns."""
    width = max((len(r) for r in grid), default=0)
    rows = [r + [""] * (width - len(r)) for r in grid]
    blocks = []
    for r0, r1 in _bands([any(c for c in r) for r in rows]):
        band = rows[r0:r1]
        for c0, c1 in _bands([any(r[j] for r in band) for j in range(width)]):
            blocks.append((r0, c0, [r[c0:c1] for r in band]))
    return blocks


def table_lines(block: Grid, first_col: int = 0, header_rows: int = 1,
                grouped_rows: set[int] | None = None) -> list[str]:
    """One line per row: rows above the header as they are, then `header: value | …` for each non-empty cell.

    `header_rows` > 1 joins a group header (`2020年`) with the sub-header under it (`营收`) as `2020年 营收`.
    """
    width = max((len(r) for r in block), default=0)
    head_at = next((i for i, r in enumerate(block) if sum(1 for c in r if c) >= min(2, width)), None)
    if head_at is None:
        return [SEP.join(c for c in r if c) for r in block if any(r)]
    if grouped_rows and head_at in grouped_rows and len(block) > head_at + 2:
        header_rows = max(header_rows, 2)  # the header row has cells merged across columns: a group header
    lines = [SEP.join(c for c in r if c) for r in block[:head_at] if any(r)]
    header = list(block[head_at])
    for extra in block[head_at + 1:head_at + header_rows]:
        header = [" ".join(dict.fromkeys(p for p in (h, x) if p)) for h, x in zip(header, extra, strict=False)]
    head_at += max(0, min(header_rows, len(block) - head_at) - 1)
    header = [h or f"列{column_name(first_col + j)}" for j, h in enumerate(header)]
    if len(block) == head_at + 1:  # a header with no rows is itself the content
        return [*lines, SEP.join(c for c in block[head_at] if c)]
    for row in block[head_at + 1:]:
        pairs = [f"{header[j] if j < len(header) else '列' + column_name(first_col + j)}: {c}"
                 for j, c in enumerate(row) if c]  # a ragged row longer than its header keeps its cells
        if pairs:
            lines.append(SEP.join(pairs))
    return lines


def grid_lines(grid: Grid, grouped_rows: set[int] | None = None) -> list[str]:
    """Every table of a sheet, tables separated by an empty line; `grouped_rows` (sheet row indexes) hold cells
    merged across columns."""
    out: list[str] = []
    for r0, c0, block in split_tables(grid):
        if out:
            out.append("")
        out += table_lines(block, c0, grouped_rows={r - r0 for r in grouped_rows or ()})
    return out


def fill_merged(grid: Grid, ranges: list[tuple[int, int, int, int]]) -> set[int]:
    """Copy each merged range's top-left text into its empty cells (row/col 0-based, inclusive); returns the rows
    where a range spans several columns."""
    grouped: set[int] = set()
    for r0, c0, r1, c1 in ranges:
        if r0 >= len(grid) or r1 - r0 > 10_000 or c1 - c0 > 1_000:
            continue
        origin = grid[r0][c0] if c0 < len(grid[r0]) else ""
        if c1 > c0:
            grouped.add(r0)
        if not origin:
            continue
        for r in range(r0, min(r1, len(grid) - 1) + 1):
            row = grid[r]
            if len(row) <= c1:
                row.extend([""] * (c1 + 1 - len(row)))
            for c in range(c0, c1 + 1):
                if not row[c]:
                    row[c] = origin
    return grouped
