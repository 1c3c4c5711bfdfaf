"""PDF layout (issue 13): paragraphs across lines and pages, running headers, tables, titles, characters, OCR."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from ingest.chunking import ChineseChunker
from ingest.options import ReadOptions
from ingest.pdf import read_pdf
from ingest.pdf_title import clean_meta_title
from ingest.readers import read_bytes
from ingest.text_norm import leftover_artefacts, normalize_chars
from rag.services.extractive import citation
from rag.types import Hit

REAL = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "real_docs"
FONT = "STSong-Light"
CJK_NL = re.compile(r"[\u4e00-\u9fff]\n[\u4e00-\u9fff]")

PARA = ("新能源汽车产业是战略性新兴产业，近年来我国新能源汽车产销量连续多年位居全球第一，"
        "动力电池装机量同比增长百分之四十五，充电基础设施建设持续加快，产业链上下游协同发展的格局基本形成。")


def _canvas(title: str = "新能源汽车行业报告"):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(595, 842))
    if title is not None:
        c.setTitle(title)
    return buf, c


def _wrap(text: str, per_line: int) -> list[str]:
    return [text[i : i + per_line] for i in range(0, len(text), per_line)]


def _draw_par(c, text: str, y: float, per_line: int = 30, size: float = 12, x: float = 60) -> float:
    """Draw a paragraph with hard line breaks, every line but the last filling the measure."""
    c.setFont(FONT, size)
    for line in _wrap(text, per_line):
        c.drawString(x, y, line)
        y -= size * 1.5
    return y - size


def _header_footer(c, n: int) -> None:
    c.setFont(FONT, 9)
    c.drawString(250, 810, "2020 年年度报告")
    c.drawString(290, 30, f"— {n} —")


def _report_pdf() -> bytes:
    """Four pages: running header/footer, a paragraph crossing a page break, a ruled table, a TOC page."""
    buf, c = _canvas("Microsoft Word - 行业报告2020.docx")
    # page 1: table of contents
    _header_footer(c, 1)
    c.setFont(FONT, 16)
    c.drawString(270, 760, "目录")
    c.setFont(FONT, 12)
    for i, (name, page) in enumerate([("第一节 重要提示", 2), ("第二节 公司简介", 3), ("第三节 财务数据", 4)]):
        c.drawString(60, 720 - 24 * i, f"{name} " + "." * 60 + f" {page}")
    c.showPage()
    # page 2: heading + a paragraph that runs onto page 3
    _header_footer(c, 2)
    c.setFont(FONT, 18)
    c.drawString(60, 760, "第一节 重要提示")
    _draw_par(c, PARA * 2, 720)
    # the last two lines of the page fill the measure and stop mid-sentence: the paragraph goes on overleaf
    cont = ("报告期内，公司全年实现营业收入十五亿八千万元，研发投入占营业收入的比例为百分之六点二，"
            "新产品和新业务的销售占比稳步地持续")
    assert len(cont) == 60  # two full lines
    _draw_par(c, cont, 90 + 18 * (len(_wrap(cont, 30)) - 1))
    c.showPage()
    _header_footer(c, 3)
    _draw_par(c, "提升，海外市場收入增长百分之三十。储能业务收入首次超过十亿元。" + PARA, 780)
    c.showPage()
    # page 4: a ruled table
    _header_footer(c, 4)
    c.setFont(FONT, 12)
    c.drawString(60, 780, "主要会计数据和财务指标")
    rows = [["主要会计数据", "2020年", "2019年", "增减(%)"],
            ["营业收入", "1,581,905,632.48", "1,175,301,034.32", "34.60"],
            ["稀释每股收益（元／股）", "", "0.66", "-"],
            ["归属于上市公司股东的净利润", "229,160,437.15", "129,465,020.68", "77.00"]]
    xs = [60, 220, 330, 440, 560]
    top = 760
    for i, row in enumerate(rows):
        y0 = top - 24 * i
        for j, cell in enumerate(row):
            c.rect(xs[j], y0 - 24, xs[j + 1] - xs[j], 24)
            c.drawString(xs[j] + 3, y0 - 17, cell)
    _draw_par(c, "以上数据均为合并报表口径，单位为人民币元。", top - 24 * len(rows) - 40)
    c.showPage()
    c.save()
    return buf.getvalue()


@pytest.fixture(scope="module")
def report_doc():
    return read_pdf(_report_pdf(), "report.pdf", ReadOptions(ocr="off"))[0]


def test_lines_of_a_paragraph_are_joined_and_cross_the_page_break(report_doc):
    text = report_doc.text
    assert not CJK_NL.search(text), "a newline between two Chinese characters survived"
    assert PARA in text  # the hard-wrapped paragraph reads as one line
    # the sentence continues onto page 3
    assert "新产品和新业务的销售占比稳步地持续提升，海外市場收入增长百分之三十。" in text
    assert "第一节 重要提示\n\n" in text  # a heading stays its own paragraph


def test_running_headers_page_numbers_and_toc_are_not_content(report_doc):
    text = report_doc.text
    assert "2020 年年度报告" not in text and "—" not in text
    assert "....." not in text and "第二节 公司简介" not in text
    assert report_doc.metadata.get("running_title") == "2020 年年度报告"
    chunks = ChineseChunker(200, 20).chunk(report_doc)
    assert chunks and not any("年年度报告" in c.text for c in chunks)


def test_table_rows_keep_their_headers_and_are_not_duplicated(report_doc):
    text = report_doc.text
    assert ("主要会计数据: 营业收入 | 2020年: 1,581,905,632.48 | 2019年: 1,175,301,034.32 | "
            "增减(%): 34.60") in text
    # the empty 2020 cell stays empty: 0.66 is the 2019 column, never read as 2020's
    assert "主要会计数据: 稀释每股收益（元／股） | 2019年: 0.66" in text
    assert "2020年: 0.66" not in text
    assert text.count("1,581,905,632.48") == 1  # not repeated in the surrounding text
    assert report_doc.metadata["table_rows"] == 3
    assert "以上数据均为合并报表口径" in text


def test_title_from_generator_metadata_and_characters_normalised(report_doc):
    assert report_doc.title == "行业报告2020"
    assert "海外市場" in report_doc.text  # 市場 stays; only artefacts are mapped (no blanket conversion)
    assert "，" in report_doc.text and "（元／股）" in report_doc.text  # full-width punctuation survives NFKC-free


def test_chunks_record_first_and_last_page_and_citations_the_sentence_page(report_doc):
    chunks = ChineseChunker(150, 0).chunk(report_doc)
    c = next(c for c in chunks if "销售占比稳步地持续提升" in c.text)  # the sentence that crosses the break
    assert (c.page, c.page_end) == (2, 3)
    assert citation(1, Hit(chunk=c, score=1.0), "储能业务收入首次超过十亿元。").page == 3
    assert citation(1, Hit(chunk=c, score=1.0), "销售占比稳步地持续提升").page == 2
    assert citation(1, Hit(chunk=c, score=1.0)).page == 2


def test_spaced_heading_title_and_kangxi_radicals():
    buf, c = _canvas(title=None)
    c.setFont(FONT, 28)
    for i, ch in enumerate("学生手册"):
        c.drawString(200 + i * 56, 700, ch)  # letter-spaced heading, one glyph at a time
    _draw_par(c, "学生⻅面会于九月举行，请同学们⽤好手册中的⼀切资源。", 600)
    c.showPage()
    c.save()
    doc = read_pdf(buf.getvalue(), "handbook.pdf", ReadOptions(ocr="off"))[0]
    assert doc.title == "学生手册"
    assert "学生见面会于九月举行，请同学们用好手册中的一切资源。" in doc.text
    assert leftover_artefacts(doc.text) == 0


def test_english_lines_joined_with_spaces_and_hyphenation_undone():
    buf, c = _canvas(title=None)
    c.setFont("Helvetica", 11)
    lines = ["Large language models are generally generated dynamically when used in an",
             "application, and the framework provides several classes to construct prompts with",
             "few-shot examples and instructions that help the language model generate a bet-",
             "ter response for the user."]
    for i, ln in enumerate(lines):
        c.drawString(60, 700 - 15 * i, ln)
    c.showPage()
    c.save()
    text = read_pdf(buf.getvalue(), "en.pdf", ReadOptions(ocr="off"))[0].text
    assert "used in an application, and" in text
    assert "a better response" in text and "few-shot" in text
    assert "\n" not in text


def test_normaliser_maps_artefacts_only():
    assert normalize_chars("⽤户 ⼀个") == "用户 一个"
    assert normalize_chars("学 生 手 册") == "学生手册"
    assert normalize_chars("第一章 总则") == "第一章 总则"
    assert normalize_chars("𝐀𝐈 model") == "AI model"
    assert normalize_chars("a \uf0b4 b \ue123") == "a × b "  # Symbol-font ×, unknown private use dropped
    assert normalize_chars("ﬁnd （全角）：标点。") == "find （全角）：标点。"
    assert normalize_chars("⻋辆") == "车辆"


def test_every_reader_output_is_normalised():
    doc = read_bytes("学 生 手 册\n\n⼀个用户⽤例。".encode(), "notes.txt")[0]
    assert doc.text == "学生手册\n\n一个用户用例。"


@pytest.mark.parametrize(("meta", "expected"), [
    ("Microsoft Word - FLEX白皮书.docx", "FLEX白皮书"),
    ("— 1 —", ""), ("股份有限公司", ""), ("untitled", ""), ("report_2019_v3.pdf", ""),
    ("2019年年度报告", "2019年年度报告"), ("C:\\docs\\Document1.doc", ""),
])
def test_metadata_title_artefacts(meta, expected):
    assert clean_meta_title(meta) == expected


def test_a_page_whose_layout_fails_keeps_its_plain_text(monkeypatch):
    import ingest.pdf as pdf_mod
    from tests.conftest import make_pdf

    real = pdf_mod.read_page

    def flaky(page, number):
        if number == 2:
            raise ValueError("layout analysis exploded")
        return real(page, number)

    monkeypatch.setattr(pdf_mod, "read_page", flaky)
    doc = read_pdf(make_pdf(["第一页：储能电池出货量同比增长45%。", "第二页：光伏装机容量达到200吉瓦。"]), "r.pdf")[0]
    assert "第二页：光伏装机容量达到200吉瓦。" in doc.text
    assert doc.metadata["plain_text_pages"] == [2]
    assert any(p == 2 for _, _, p in doc.pages)


def _text_and_blank_pages() -> bytes:
    buf, c = _canvas()
    _draw_par(c, "第一页有文字层：储能电池出货量同比增长。", 700)
    c.showPage()
    c.showPage()  # no text layer (a scan would be an image; blank is enough to need OCR)
    c.showPage()
    c.save()
    return buf.getvalue()


def test_ocr_modes_progress_and_one_failed_page(monkeypatch):
    import ingest.ocr as ocr_mod

    calls = []

    def fake_boxes(image):
        calls.append(image.size)
        if len(calls) == 2:
            raise ocr_mod.OcrError("engine failed on this page")
        return [ocr_mod.OcrBox("扫描页：光伏装机容量达到200吉瓦。", 40.0, 60.0, 500.0, 90.0, 0.99)]

    # The real engine runs in test_ocr_real_scan; here a scripted engine makes one page fail on purpose.
    monkeypatch.setattr(ocr_mod, "ocr_boxes", fake_boxes)
    progress: list[tuple[int, int]] = []
    doc = read_pdf(_text_and_blank_pages(), "mixed.pdf",
                   ReadOptions(ocr="auto", progress=lambda d, t: progress.append((d, t))))[0]
    assert len(calls) == 2  # auto: only the two pages without a text layer
    assert "第一页有文字层" in doc.text and "扫描页：光伏装机容量达到200吉瓦。" in doc.text
    assert doc.metadata["ocr_pages"] == [2] and doc.metadata["ocr_failed_pages"] == [3]
    assert progress[-1] == (3, 3) and [d for d, _ in progress] == [1, 2, 3]
    assert [p for _, _, p in doc.pages] == [1, 2]
    calls.clear()
    read_pdf(_text_and_blank_pages(), "mixed.pdf", ReadOptions(ocr="always"))
    assert len(calls) == 3  # always: every page
    calls.clear()
    read_pdf(_text_and_blank_pages(), "mixed.pdf", ReadOptions(ocr="off"))
    assert calls == []


def test_ocr_off_on_a_scan_says_so(monkeypatch):
    from ingest.errors import EmptyFileError

    buf, c = _canvas()
    c.showPage()
    c.save()
    with pytest.raises(EmptyFileError, match="text layer.*OCR is off"):
        read_pdf(buf.getvalue(), "scan.pdf", ReadOptions(ocr="off"))


@pytest.mark.integration
def test_ocr_real_scan():
    """A page with no text layer, only an image of text, read by the real OCR engine."""
    from PIL import Image, ImageDraw, ImageFont

    font_path = next((p for p in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",) if Path(p).exists()), None)
    if font_path is None:
        pytest.skip("no TrueType font here to draw the scanned text")
    img = Image.new("RGB", (900, 300), "white")
    ImageDraw.Draw(img).text((40, 100), "Battery shipments grew 45 percent", fill="black",
                             font=ImageFont.truetype(font_path, 44))
    buf, c = _canvas()
    from reportlab.lib.utils import ImageReader

    c.drawImage(ImageReader(img), 40, 500, width=500, height=167)
    c.showPage()
    c.save()
    doc = read_pdf(buf.getvalue(), "scan.pdf", ReadOptions(ocr="auto"))[0]
    assert doc.metadata["ocr_pages"] == [1]
    assert "45" in doc.text and "percent" in doc.text.lower()


def _real(name: str) -> bytes:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"{path} not found: ../shared/datasets/real_docs is absent on this machine")
    return path.read_bytes()


def test_real_notice_reads_as_paragraphs():
    doc = read_pdf(_real("ecust_college_english_plan.pdf"), "ecust_college_english_plan.pdf")[0]
    assert doc.title == "华东理工大学《大学英语》课程教学实施方案"
    chunks = ChineseChunker(600, 80).chunk(doc)
    newlines = sum(c.text.count("\n") for c in chunks)
    assert sum(len(CJK_NL.findall(c.text)) for c in chunks) <= 0.01 * max(newlines, 1)
    assert "国家大学英语四级达到 480 分或六级达到 425 分者" in doc.text


@pytest.mark.slow
def test_real_pdfs_done_when():
    """Issue 13's done-when on real_docs: <1% CJK newlines, no running headers, no radicals, sensible titles."""
    from eval.documents_report import documents_report

    _real("sifang_2019_annual_report.pdf")
    pdfs = [str(REAL / n) for n in ("sifang_2019_annual_report.pdf", "ecust_student_handbook_2023.pdf",
                                    "ecust_college_english_plan.pdf", "langchain.pdf")]
    report = documents_report(pdfs, ocr="off")
    t = report["totals"]
    assert t["errors"] == 0 and t["cjk_newline_share"] < 0.01 and t["header_chunks"] == 0
    assert t["leftover_artefacts"] == 0 and t["headed_table_rows"] > 500
    titles = {Path(f["file"]).name: f["title"] for f in report["files"]}
    assert titles["sifang_2019_annual_report.pdf"].endswith("2019 年年度报告")
    assert titles["ecust_student_handbook_2023.pdf"] == "学生手册"
    assert titles["langchain.pdf"].startswith("Creating Large Language Model Applications")


def test_eval_documents_reports_reading_quality(tmp_path, capsys):
    """`rag eval documents`: the generated report reads clean; pypdf's raw text of it would not."""
    import json

    from rag.cli import main

    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(_report_pdf())
    (tmp_path / "notes.txt").write_text("学 生 手 册\n\n⼀个用户⽤例。", encoding="utf-8")
    assert main(["eval", "documents", str(tmp_path), "--ocr", "off", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    files = {Path(f["file"]).name: f for f in report["files"]}
    r = files["report.pdf"]
    assert r["pages"] == 4 and r["chunks"] >= 1 and r["cjk_newlines"] == 0
    assert r["header_chunks"] == 0 and r["headed_table_rows"] == 3 and r["title"] == "行业报告2020"
    assert files["notes.txt"]["leftover_artefacts"] == 0
    assert report["totals"]["files"] == 2 and report["totals"]["errors"] == 0


def test_documents_report_sees_running_headers_in_plain_page_text():
    """The report's header check does not depend on the reader: the old plain-text reading of the same file fails it."""
    from pypdf import PdfReader

    from eval.documents_report import _has_running, running_lines
    from rag.types import Chunk

    data = _report_pdf()
    keys = running_lines(data)
    assert "####年年度报告" not in keys and "#年年度报告" in keys
    old_page3 = PdfReader(io.BytesIO(data)).pages[2].extract_text()
    chunk = Chunk("c", "d", old_page3, "t", "s", 0, len(old_page3), page=3)
    assert _has_running(chunk, keys)


def test_a_scan_is_titled_by_its_tallest_text_not_its_first_line():
    from ingest.ocr import OcrBox, prominent_text

    boxes = [OcrBox("Proteomics 2015, 15, 1-10 DOI 10.1002/pmic", 40, 20, 700, 40, 0.9),  # small running line
             OcrBox("Deep learning for peptide", 60, 120, 760, 170, 0.95),  # the title, set large
             OcrBox("identification", 60, 180, 420, 230, 0.95),
             *[OcrBox(f"body text line number {i} of the abstract", 40, 300 + 30 * i, 760, 318 + 30 * i, 0.9)
               for i in range(12)]]
    assert prominent_text(boxes, 1600) == "Deep learning for peptide identification"
    flat = [OcrBox(f"line {i} of plain body text", 40, 20 + 30 * i, 760, 38 + 30 * i, 0.9) for i in range(12)]
    assert prominent_text(flat, 1600) == ""  # nothing set larger than the body: no visual title
