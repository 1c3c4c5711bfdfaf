"""OCR: text comes back from images in reading order (columns, paragraphs), and bad images get an OcrError."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from ingest.ocr import OcrBox, OcrError, layout_text, ocr_image

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "real_docs"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _font(size: int = 22):
    try:
        return ImageFont.truetype(FONT, size)
    except OSError:
        return ImageFont.load_default(size)


def two_column_page() -> Image.Image:
    img = Image.new("RGB", (1000, 520), "white")
    d = ImageDraw.Draw(img)
    f = _font()
    d.text((60, 30), "Quarterly Report on Battery Prices", font=f, fill="black")
    left = ["The first column starts here and", "continues on the second line of", "the left column text."]
    right = ["The right column talks about", "storage costs which fell to 81", "dollars per kilowatt hour."]
    for i, t in enumerate(left):
        d.text((60, 100 + i * 34), t, font=f, fill="black")
    for i, t in enumerate(right):
        d.text((540, 100 + i * 34), t, font=f, fill="black")
    return img


def test_two_columns_read_column_by_column():
    text = ocr_image(two_column_page())
    paras = text.split("\n\n")
    assert paras[0].startswith("Quarterly Report")
    assert "left column text" in paras[1] and "storage" not in paras[1]
    left_at, right_at = text.find("left column text"), text.find("storage costs")
    assert 0 < left_at < right_at, text
    assert "\n" not in paras[1], "lines of one paragraph are joined"


def test_accepts_bytes_pil_and_numpy():
    import numpy as np

    img = Image.new("RGB", (300, 300), "white")  # the detector scales the short side up to 736 px
    ImageDraw.Draw(img).text((20, 130), "per kilowatt hour", font=_font(28), fill="black")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    for form in (buf.getvalue(), img, np.asarray(img)[:, :, ::-1]):
        assert "kilowatt" in ocr_image(form)


def test_blank_image_gives_no_text():
    assert ocr_image(Image.new("L", (300, 200), 255)) == ""


def test_truncated_image_raises_ocr_error():
    buf = io.BytesIO()
    two_column_page().save(buf, "PNG")
    with pytest.raises(OcrError, match="not a readable image"):
        ocr_image(buf.getvalue()[:300])


def test_layout_joins_chinese_without_spaces_and_splits_paragraphs():
    boxes = [OcrBox("第一段的第一行文字很长很长", 10, 10, 410, 40, 1.0),
             OcrBox("第一段的第二行。", 10, 50, 250, 80, 1.0),  # stops short: the paragraph ends
             OcrBox("第二段开始", 70, 90, 300, 120, 1.0)]  # indented
    assert layout_text(boxes) == "第一段的第一行文字很长很长第一段的第二行。\n\n第二段开始"


def test_real_image_with_chinese_text():
    path = REAL / "ocr_test.jpg"
    if not path.exists():
        pytest.skip(f"shared real_docs not present ({path})")
    text = ocr_image(path.read_bytes())
    assert "横向文本框" in text and "竖向文本框" in text
