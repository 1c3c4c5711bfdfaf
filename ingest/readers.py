"""Turn one file into documents. The formats live in `ingest/formats/` (and `ingest/pdf.py`), chosen by the
registry in `ingest/registry.py`; this module keeps the names existing callers import."""

from __future__ import annotations

from ingest.common import content_id  # noqa: F401 - re-exported
from ingest.formats.text import NEWS_FIELDS, parse_crud_lines, parse_news_records  # noqa: F401 - re-exported
from ingest.registry import FORMATS, SUPPORTED_EXTS, read_bytes, sniff, supported_exts  # noqa: F401 - re-exported

__all__ = ["FORMATS", "SUPPORTED_EXTS", "content_id", "parse_crud_lines", "parse_news_records", "read_bytes",
           "sniff", "supported_exts"]
