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


def _column(x0: float, x1: float, y: float, texts: list[str | None]) -> list[OcrBox]:
    """Lines of one column, 25 px apart; None leaves a paragraph gap."""
    out = []
    for i, t in enumerate(texts):
        if t is not None:
            out.append(OcrBox(t, x0, y + 25 * i, x1, y + 25 * i + 22, 1.0))
    return out


def test_layout_reads_each_column_to_its_end_despite_aligned_gaps_and_overshooting_boxes():
    title = [OcrBox("A full width title of the page", 100, 20, 1100, 50, 1.0)]
    left = _column(100, 590, 100, ["left one goes on", "left two", None, "left three goes on", "left four"])
    right = _column(620, 1110, 100, ["right one goes on", "right two", None, "right three goes on", "right four"])
    left[0] = OcrBox(left[0].text, 100, 100, 606, 122, 1.0)  # the detector's box runs into the gutter
    caption = [OcrBox("Figure 1 a caption across both columns", 100, 260, 1100, 282, 1.0)]
    paras = layout_text(title + right + left + caption).split("\n\n")  # detection order is not reading order
    assert paras == ["A full width title of the page", "left one goes on left two", "left three goes on left four",
                     "right one goes on right two", "right three goes on right four",
                     "Figure 1 a caption across both columns"]


def test_layout_keeps_table_rows_together():
    rows = []
    for i, (k, v) in enumerate([("营业收入", "1,581,905,632.48"), ("净利润", "96,325,473.05"), ("每股收益", "0.66")]):
        rows += [OcrBox(k, 100, 100 + 30 * i, 180, 122 + 30 * i, 1.0),
                 OcrBox(v, 600, 100 + 30 * i, 760, 122 + 30 * i, 1.0)]
    text = layout_text(rows)
    assert "净利润  96,325,473.05" in text and text.index("营业收入") < text.index("净利润") < text.index("每股收益")
