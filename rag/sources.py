"""How a document's source is named outside the server: never by an absolute server path."""

from __future__ import annotations

import re

_DRIVE = re.compile(r"[A-Za-z]:[\\/]")


def without_server_path(source: str) -> str:
    """An absolute server path (an index built before sources were made relative) as its file name; URLs and
    relative names stay as they are. Used by the API's document records and by the LLM prompt."""
    if "://" in source or not (source.startswith(("/", "\\")) or _DRIVE.match(source)):
        return source
    return re.split(r"[\\/]", source.rstrip("/\\"))[-1]
