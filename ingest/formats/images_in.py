"""Pictures embedded in office files, OCR'd one by one; one unreadable picture never fails the document."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)
MIN_BLOB = 512  # bytes; smaller pictures are bullets, lines and logos, not text


def ocr_blob(blob: bytes, source: str) -> tuple[str, bool]:
    """(text, failed) for one embedded picture."""
    from ingest.ocr import ocr_image

    if len(blob) < MIN_BLOB:
        return "", False
    try:
        return ocr_image(blob).strip(), False
    except Exception as exc:  # noqa: BLE001 - OcrError (EMF/WMF, a broken picture) or PIL's odd errors: skip it
        log.info("%s: an embedded picture was not OCR'd (%s)", source, exc)
        return "", True


def ocr_blobs(blobs: list[bytes], source: str) -> tuple[list[str], int]:
    """Texts of the pictures that have any, and how many pictures could not be OCR'd."""
    texts, failed = [], 0
    for blob in blobs:
        text, bad = ocr_blob(blob, source)
        failed += bad
        if text:
            texts.append(text)
    return texts, failed
