"""What a reader may be asked beyond the bytes: OCR mode and a per-page progress callback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

OcrMode = Literal["auto", "off", "always"]


@dataclass(frozen=True)
class ReadOptions:
    """Options passed from settings (`ingest.ocr`) through the reader registry to each reader."""

    ocr: OcrMode = "auto"  # auto: OCR only pages/images without a text layer; off: never; always: every page/image
    progress: Callable[[int, int], None] | None = None  # (pages done, pages total), for per-page progress bars
