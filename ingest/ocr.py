"""OCR for scanned pages and images (RapidOCR, offline ONNX models), with the reading order rebuilt from box geometry.

RapidOCR returns text boxes in detection order; it has no notion of columns or paragraphs, so the layout step here
(a recursive XY-cut into columns and bands, then lines and paragraphs) is written by hand.
"""

from __future__ import annotations

import io
import re
import statistics
import threading
from dataclasses import dataclass
from typing import Any

from ingest.errors import IngestError


class OcrError(IngestError):
    """OCR could not run on an image (unreadable image, engine failure); the message says which and why."""


@dataclass(frozen=True)
class OcrBox:
    """One recognised text box in image pixels (axis-aligned hull of the detected quadrilateral)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    score: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def vertical(self) -> bool:
        """A column of vertical text (竖排): much taller than wide and more than one character."""
        return len(self.text) > 1 and self.height > 1.5 * self.width


_engine: Any = None
_engine_lock = threading.Lock()  # guards the lazy load
_run_lock = threading.Lock()  # RapidOCR keeps per-call state on the engine; one recognition at a time
MAX_PIXELS = 80_000_000  # larger images are refused as decompression bombs, not resized


def _get_engine() -> Any:
    """Load the RapidOCR engine once (about 0.2 s; the ONNX models ship inside the wheel)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                try:
                    from rapidocr_onnxruntime import RapidOCR
                except ImportError as exc:  # pragma: no cover - a dependency of the project
                    raise OcrError(f"OCR is not available: rapidocr-onnxruntime is not installed ({exc})") from None
                _engine = RapidOCR()
    return _engine


def _to_array(image: Any) -> Any:
    """A PIL image, encoded bytes or a numpy array (OpenCV BGR order, as RapidOCR takes it) -> BGR uint8 array."""
    import numpy as np
    from PIL import Image

    if isinstance(image, (bytes, bytearray, memoryview)):
        try:
            image = Image.open(io.BytesIO(bytes(image)))
            image.load()
        except Image.DecompressionBombError as exc:
            raise OcrError(f"the image is too large to OCR ({exc})") from None
        except (OSError, ValueError, SyntaxError) as exc:  # truncated, unknown or corrupt image data
            raise OcrError(f"not a readable image ({exc})") from None
    if isinstance(image, Image.Image):
        if image.width * image.height > MAX_PIXELS:
            raise OcrError(f"the image is too large to OCR ({image.width}x{image.height} pixels)")
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))  # transparent ink-free areas -> paper
            image = Image.alpha_composite(background, rgba)
        rgb = np.asarray(image.convert("RGB"))
        return np.ascontiguousarray(rgb[:, :, ::-1])
    if isinstance(image, np.ndarray):
        if image.ndim not in (2, 3) or image.size == 0:
            raise OcrError(f"not an image array (shape {image.shape})")
        if image.dtype != np.uint8:
            image = np.clip(image, 0, 255).astype(np.uint8)
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        elif image.shape[2] == 4:
            image = image[:, :, :3]
        elif image.shape[2] == 1:
            image = np.concatenate([image] * 3, axis=-1)
        if image.shape[0] * image.shape[1] > MAX_PIXELS:
            raise OcrError(f"the image is too large to OCR ({image.shape[1]}x{image.shape[0]} pixels)")
        return np.ascontiguousarray(image)
    raise OcrError(f"cannot OCR an object of type {type(image).__name__}")


def ocr_boxes(image: Any) -> list[OcrBox]:
    """Recognised text boxes of an image, in detection order; an image without text gives []."""
    array = _to_array(image)
    if min(array.shape[:2]) < 4:
        return []
    engine = _get_engine()
    try:
        with _run_lock:
            result, _ = engine(array)
    except Exception as exc:  # noqa: BLE001 - onnxruntime/OpenCV raise many types; one page's failure is reported
        raise OcrError(f"OCR failed ({type(exc).__name__}: {exc})") from None
    boxes = []
    for quad, text, score in result or []:
        text = str(text).strip()
        if not text:
            continue
        xs = [float(p[0]) for p in quad]
        ys = [float(p[1]) for p in quad]
        boxes.append(OcrBox(text, min(xs), min(ys), max(xs), max(ys), float(score)))
    return boxes


def ocr_image(image: Any) -> str:
    """The text of an image in reading order: columns left to right, paragraphs separated by blank lines."""
    return layout_text(ocr_boxes(image))


def prominent_text(boxes: list[OcrBox], image_height: float) -> str:
    """The tallest text in the top half of a scanned page (its visual title), or '' when nothing stands out:
    a scan has no metadata title and its first line is often a running header or a journal citation."""
    sized = [b for b in boxes if len(re.sub(r"\W", "", b.text)) >= 2 and b.height > 0]
    if len(sized) < 2:
        return ""
    top = [b for b in sized if b.y0 < image_height / 2]
    if not top:
        return ""
    heights = sorted(b.height for b in sized)
    biggest = max(b.height for b in top)
    if biggest < 1.4 * heights[len(heights) // 2]:
        return ""  # no line is set larger than the body text
    title = ""
    for b in sorted((b for b in top if b.height >= 0.8 * biggest), key=lambda b: (b.y0, b.x0))[:4]:
        title = _join(title, b.text) if title else b.text
    return re.sub(r"\s+", " ", title).strip()[:120]


# ----- reading order ---------------------------------------------------------------------------------------------

_CJK = r"\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_END = re.compile(f"[{_CJK}]$")
_CJK_START = re.compile(f"^[{_CJK}]")


def _join(left: str, right: str, space: bool = True) -> str:
    """Join two pieces of one line or paragraph: no space between Chinese characters, one between Latin words."""
    if not left:
        return right
    if left.endswith("-") and len(left) > 1 and left[-2].isalpha() and right[:1].islower():
        return left[:-1] + right  # a word hyphenated at the line end
    if _CJK_END.search(left) and _CJK_START.search(right):
        return left + right
    return left + (" " if space else "") + right


def _gaps(spans: list[tuple[float, float]], lo: float, hi: float) -> list[tuple[float, float]]:
    """Uncovered intervals of [lo, hi] given covered spans."""
    out, cursor = [], lo
    for a, b in sorted(spans):
        if a > cursor:
            out.append((cursor, a))
        cursor = max(cursor, b)
    if hi > cursor:
        out.append((cursor, hi))
    return out


def _column_cut(boxes: list[OcrBox], unit: float) -> float | None:
    """An x position splitting the boxes into text columns, or None.

    A gutter is a vertical strip that (almost) no box crosses once each box is shrunk by the detector's padding
    (its boxes overshoot the ink), at least 0.8 line heights wide, with several lines on both sides that are wide
    (relative to their side, and six line heights at least: text columns, not a table's short cells, which read
    better row by row) and that sit side by side, not one above the other.
    """
    if len(boxes) < 4:
        return None
    pad = 0.25 * unit
    x_lo, x_hi = int(min(b.x0 for b in boxes)), int(max(b.x1 for b in boxes)) + 1
    cover = [0] * (x_hi - x_lo + 2)
    for bx in boxes:  # a difference array: how many shrunk boxes cover each pixel column
        a, b = int(bx.x0 + pad) - x_lo, int(bx.x1 - pad) - x_lo
        if b > a:
            cover[a] += 1
            cover[b] -= 1
    allowed = len(boxes) // 25  # a stray box or two across the gutter (an over-long detection)
    runs: list[tuple[int, int]] = []
    depth, start = 0, None
    for x in range(len(cover) - 1):
        depth += cover[x]
        if depth <= allowed and start is None:
            start = x
        elif depth > allowed and start is not None:
            runs.append((start, x))
            start = None
    best: tuple[float, float] | None = None
    for a, b in runs:
        if b - a < 0.8 * unit or a == 0 or b >= x_hi - x_lo:
            continue
        cut = x_lo + (a + b) / 2
        left = [bx for bx in boxes if (bx.x0 + bx.x1) / 2 < cut]
        right = [bx for bx in boxes if (bx.x0 + bx.x1) / 2 >= cut]
        if len(left) < 2 or len(right) < 2:
            continue
        ok = True
        for side in (left, right):
            span = max(bx.x1 for bx in side) - min(bx.x0 for bx in side)
            horizontal = [bx for bx in side if not bx.vertical]
            if horizontal and statistics.median(bx.width for bx in horizontal) < max(0.45 * span, 6 * unit):
                ok = False  # short pieces: table cells or labels, read row by row
        top = max(min(bx.y0 for bx in left), min(bx.y0 for bx in right))
        bottom = min(max(bx.y1 for bx in left), max(bx.y1 for bx in right))
        shorter = min(max(bx.y1 for bx in side) - min(bx.y0 for bx in side) for side in (left, right))
        if bottom - top < 0.5 * shorter:
            ok = False  # one part above the other: bands, not columns
        if ok and (best is None or b - a > best[1] - best[0]):
            best = (a, b)
    return None if best is None else x_lo + (best[0] + best[1]) / 2


def _band_cuts(boxes: list[OcrBox], unit: float) -> list[list[OcrBox]]:
    """Split into horizontal bands at clear vertical gaps (a block above a two-column part, say)."""
    y_lo, y_hi = min(b.y0 for b in boxes), max(b.y1 for b in boxes)
    cuts = [(a + b) / 2 for a, b in _gaps([(bx.y0, bx.y1) for bx in boxes], y_lo, y_hi) if b - a >= 0.8 * unit]
    if not cuts:
        return [boxes]
    bands: list[list[OcrBox]] = [[] for _ in range(len(cuts) + 1)]
    for bx in boxes:
        idx = sum(1 for c in cuts if (bx.y0 + bx.y1) / 2 > c)
        bands[idx].append(bx)
    return [b for b in bands if b]


def _crosses(boxes: list[OcrBox], cut: float, unit: float) -> bool:
    pad = 0.25 * unit
    return any(b.x0 + pad < cut < b.x1 - pad for b in boxes)


def _blocks(boxes: list[OcrBox], unit: float, depth: int = 0) -> list[list[OcrBox]]:
    """Recursive XY-cut: bands top to bottom at full-width gaps, columns left to right, until neither is left.

    Bands come first so a full-width title or caption stays whole; consecutive bands that share a gutter (two
    columns whose paragraph gaps happen to line up) are joined again, so each column is read to its end before
    the next.
    """
    if len(boxes) < 4 or depth > 12:
        return [boxes]
    bands = _band_cuts(boxes, unit)
    if len(bands) == 1:
        cut = _column_cut(boxes, unit)
        if cut is None:
            return [boxes]
        left = [b for b in boxes if (b.x0 + b.x1) / 2 < cut]
        right = [b for b in boxes if (b.x0 + b.x1) / 2 >= cut]
        return _blocks(left, unit, depth + 1) + _blocks(right, unit, depth + 1)
    groups: list[tuple[list[OcrBox], float | None]] = []
    for band in bands:
        cut = _column_cut(band, unit)
        if groups and groups[-1][1] is not None:
            prev_boxes, prev_cut = groups[-1]
            one_side = len({(b.x0 + b.x1) / 2 < prev_cut for b in band}) == 1  # a heading inside one column
            if (cut is not None and abs(cut - prev_cut) < 2 * unit) or (cut is None and one_side
                                                                        and not _crosses(band, prev_cut, unit)):
                groups[-1] = (prev_boxes + band, prev_cut)
                continue
        groups.append((band, cut))
    out: list[list[OcrBox]] = []
    for group, cut in groups:
        if cut is None:
            out.extend(_blocks(group, unit, depth + 1) if len(groups) > 1 else [group])
            continue
        left = [b for b in group if (b.x0 + b.x1) / 2 < cut]
        right = [b for b in group if (b.x0 + b.x1) / 2 >= cut]
        out.extend(_blocks(left, unit, depth + 1) + _blocks(right, unit, depth + 1))
    return out


@dataclass
class _Line:
    boxes: list[OcrBox]

    @property
    def y0(self) -> float:
        return min(b.y0 for b in self.boxes)

    @property
    def y1(self) -> float:
        return max(b.y1 for b in self.boxes)

    @property
    def x0(self) -> float:
        return min(b.x0 for b in self.boxes)

    @property
    def x1(self) -> float:
        return max(b.x1 for b in self.boxes)

    def text(self, unit: float) -> str:
        out = ""
        prev: OcrBox | None = None
        for b in sorted(self.boxes, key=lambda b: b.x0):
            if prev is not None and b.x0 - prev.x1 > 1.5 * unit:
                out += "  " + b.text  # a wide gap (table cells, label and value) stays visible
            else:
                out = _join(out, b.text)
            prev = b
        return out


def _lines(block: list[OcrBox]) -> list[_Line]:
    """Boxes that share a baseline band form one line; a vertical text column is a line of its own."""
    lines: list[_Line] = []
    for b in sorted(block, key=lambda b: ((b.y0 + b.y1) / 2, b.x0)):
        if not b.vertical:
            for line in reversed(lines[-3:]):
                if line.boxes[0].vertical:
                    continue
                overlap = min(line.y1, b.y1) - max(line.y0, b.y0)
                if overlap > 0.5 * min(b.height, line.y1 - line.y0):
                    line.boxes.append(b)
                    break
            else:
                lines.append(_Line([b]))
        else:
            lines.append(_Line([b]))
    lines.sort(key=lambda ln: (ln.y0 + ln.y1) / 2)
    return lines


def _paragraphs(block: list[OcrBox], unit: float) -> list[str]:
    """Lines joined into paragraphs; a break at a large gap, an indented first line or a short last line."""
    lines = _lines(block)
    if not lines:
        return []
    left = min(ln.x0 for ln in lines)
    right = max(ln.x1 for ln in lines)
    paras: list[str] = []
    current = ""
    prev: _Line | None = None
    for line in lines:
        text = line.text(unit)
        if prev is not None:
            height = max(1.0, min(prev.y1 - prev.y0, line.y1 - line.y0))
            gap = line.y0 - prev.y1
            new_para = (gap > 0.8 * height
                        or line.x0 - left > 1.5 * height  # indented first line (two characters in Chinese)
                        or right - prev.x1 > 3 * height  # the previous line stopped short: a paragraph's end
                        or prev.boxes[0].vertical or line.boxes[0].vertical)
            if new_para:
                paras.append(current)
                current = text
                prev = line
                continue
        current = _join(current, text)
        prev = line
    paras.append(current)
    return [p for p in paras if p.strip()]


def layout_text(boxes: list[OcrBox]) -> str:
    """Rebuild reading order from boxes: XY-cut into blocks, lines into paragraphs, blank lines between paragraphs."""
    boxes = [b for b in boxes if b.text.strip()]
    if not boxes:
        return ""
    horizontal = [b.height for b in boxes if not b.vertical] or [b.width for b in boxes]
    unit = max(1.0, statistics.median(horizontal))  # the typical line height, the scale of every threshold
    paras: list[str] = []
    for block in _blocks(boxes, unit):
        paras.extend(_paragraphs(block, unit))
    return "\n\n".join(paras)
