"""Generated files of the newer formats (XLSX, PPTX, EPUB, EML, images) for reader and bad-input tests."""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def make_xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def make_pptx(slides: list[dict], picture: bytes | None = None) -> bytes:
    """Slides as {"title", "body", "table", "notes"}; `picture` (PNG bytes) goes on the first slide."""
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    for spec in slides:
        slide = prs.slides.add_slide(prs.slide_layouts[5])  # title only
        slide.shapes.title.text = spec.get("title", "")
        if spec.get("body"):
            box = slide.shapes.add_textbox(Inches(1), Inches(1.5), Inches(8), Inches(1))
            box.text_frame.text = spec["body"]
        if spec.get("table"):
            rows = spec["table"]
            shape = slide.shapes.add_table(len(rows), len(rows[0]), Inches(1), Inches(3), Inches(8), Inches(2))
            for i, row in enumerate(rows):
                for j, cell in enumerate(row):
                    shape.table.cell(i, j).text = cell
        if spec.get("notes"):
            slide.notes_slide.notes_text_frame.text = spec["notes"]
        if picture is not None and spec is slides[0]:
            slide.shapes.add_picture(io.BytesIO(picture), Inches(1), Inches(5.2), Inches(6))
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


def make_epub(title: str, chapters: list[tuple[str, str]], spine_order: list[int] | None = None) -> bytes:
    """A minimal valid EPUB 3; `spine_order` lists chapter indexes in reading order (manifest order otherwise)."""
    order = spine_order or list(range(len(chapters)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", '<?xml version="1.0"?><container version="1.0" '
                   'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
                   '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
                   "</rootfiles></container>")
        items = "".join(f'<item id="c{i}" href="text/ch{i}.xhtml" media-type="application/xhtml+xml"/>'
                        for i in range(len(chapters)))
        refs = "".join(f'<itemref idref="c{i}"/>' for i in order)
        z.writestr("OEBPS/content.opf", '<?xml version="1.0" encoding="utf-8"?><package version="3.0" '
                   'xmlns="http://www.idpf.org/2007/opf" unique-identifier="id"><metadata '
                   f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title>'
                   '<dc:creator>测试作者</dc:creator><dc:identifier id="id">x</dc:identifier></metadata>'
                   f"<manifest>{items}</manifest><spine>{refs}</spine></package>")
        for i, (head, body) in enumerate(chapters):
            z.writestr(f"OEBPS/text/ch{i}.xhtml", '<?xml version="1.0" encoding="utf-8"?><!DOCTYPE html>'
                       f'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>{head}</title></head>'
                       f"<body><h1>{head}</h1><p>{body}</p></body></html>")
    return buf.getvalue()


def make_eml(subject: str, body: str, attachments: list[tuple[str, bytes]] = ()) -> bytes:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = "王经理 <wang@example.com>"
    msg["To"] = "team@example.com"
    msg["Date"] = "Tue, 01 Oct 2024 10:30:00 +0800"
    msg.set_content(body)
    for name, data in attachments:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


def text_image(lines: list[str], fmt: str = "PNG", size: tuple[int, int] = (520, 360)) -> bytes:
    """An image with English lines of text (DejaVu: the machine has no CJK font to draw with).

    Near-square, because RapidOCR's detector scales the short side up to 736 px: a wide strip costs a large input.
    """
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype(FONT, 22)
    except OSError:
        font = ImageFont.load_default(22)
    for i, line in enumerate(lines):
        draw.text((30, 40 + i * 44), line, font=font, fill="black")
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def multipage_tiff(pages: list[list[str]]) -> bytes:
    from PIL import Image

    frames = [Image.open(io.BytesIO(text_image(p))) for p in pages]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    return buf.getvalue()
