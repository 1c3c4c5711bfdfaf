"""Images (.png .jpg .jpeg .bmp .tif .tiff) read by OCR; a multi-page TIFF gives one page per frame."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from ingest.common import PagedText, content_id, first_line_title
from ingest.errors import CorruptFileError, EmptyFileError, IngestError
from ingest.options import ReadOptions
from rag.types import Document

log = logging.getLogger(__name__)
MAX_FRAMES = 2000  # pages of a multi-page TIFF


class OcrDisabledError(IngestError):
    """An image has no text except through OCR, and `ingest.ocr` is `off`."""


def _frames(data: bytes, source: str) -> list:
    """Every frame (page) of the image, loaded; a corrupt or truncated image is refused here."""
    from PIL import Image, ImageSequence

    try:
        img = Image.open(io.BytesIO(data))
        if img.width * img.height > 80_000_000:
            raise CorruptFileError(f"{source}: the image is {img.width}x{img.height} pixels, too large to OCR "
                                   "(refused as a decompression bomb)")
        frames = []
        for frame in ImageSequence.Iterator(img):
            if len(frames) >= MAX_FRAMES:
                break
            frame.load()
            frames.append(frame.copy())
    except Image.DecompressionBombError as exc:
        raise CorruptFileError(f"{source}: the image is too large to OCR ({exc})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # PIL's words for unknown/truncated/corrupt data
        raise CorruptFileError(f"{source}: cannot decode the image ({exc})") from None
    return frames


def read_image(data: bytes, source: str, options: ReadOptions | None = None) -> list[Document]:
    from ingest.ocr import ocr_image

    options = options or ReadOptions()
    if options.ocr == "off":
        raise OcrDisabledError(f"{source}: an image is read only by OCR, and OCR is off (ingest.ocr: off); "
                               "set ingest.ocr to auto to ingest images")
    frames = _frames(data, source)
    paged = PagedText()
    failed: list[int] = []
    last_error = ""
    for number, frame in enumerate(frames, start=1):
        try:
            text = ocr_image(frame).strip()
        except Exception as exc:  # noqa: BLE001 - OcrError or an engine fault: one bad page never fails the others
            log.warning("%s: OCR failed on page %d (%s)", source, number, exc)
            failed.append(number)
            last_error = str(exc)
            text = ""
        if options.progress:
            options.progress(number, len(frames))
        if not text:
            continue
        paged.add(text, number)
    if not paged.parts:
        if failed:
            raise CorruptFileError(f"{source}: OCR failed on every page ({last_error})")
        raise EmptyFileError(f"{source}: OCR found no text in the image")
    text = paged.text
    meta = {"kind": "image", "pages": len(frames), "ocr_pages": len(frames)}
    if failed:
        meta["ocr_failed_pages"] = ",".join(map(str, failed))
    return [Document(doc_id=content_id(text), text=text, title=first_line_title(text) or Path(source).stem,
                     source=source, metadata=meta, pages=paged.pages)]
