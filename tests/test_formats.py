"""The reader registry and the newer formats: XLSX, CSV, PPTX, EPUB, EML and images (OCR), each answered from a
table cell, a slide or a mail body; generated files, plus the shared real files where present."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import CorruptFileError, IngestError, UnsupportedFormatError
from ingest.formats.image import OcrDisabledError
from ingest.options import ReadOptions
from ingest.readers import SUPPORTED_EXTS, read_bytes
from ingest.registry import FORMATS, choose, sniff, supported_exts
from tests.conftest import make_docx, make_pdf
from tests.office_files import make_eml, make_epub, make_pptx, make_xlsx, multipage_tiff, text_image

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "real_docs"


def real(name: str) -> bytes:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"shared real_docs not present ({path}); the generated-file tests cover the reader")
    return path.read_bytes()


SALES = {"销量": [["2024年新能源汽车销量", None, None],
                  ["城市", "销量（万辆）", "同比增长"],
                  ["北京", 12.5, "8%"],
                  ["深圳", 31.2, "42%"]],
         "价格": [["车型", "售价（万元）"], ["海豹", 18.98], ["小米SU7", 21.59]]}


# ----- registry ---------------------------------------------------------------------------------------------------

def test_every_new_format_is_registered_and_listed():
    for ext in (".pdf", ".docx", ".xlsx", ".csv", ".pptx", ".epub", ".eml", ".png", ".jpg", ".jpeg", ".bmp",
                ".tif", ".tiff", ".txt", ".md", ".html"):
        assert ext in SUPPORTED_EXTS
    assert supported_exts() == sorted(e for e in SUPPORTED_EXTS if e)
    assert len({f.name for f in FORMATS}) == len(FORMATS)


def test_content_is_sniffed_by_magic_bytes_and_zip_manifest():
    assert sniff(make_pdf(["报告"])) == "pdf"
    assert sniff(make_docx(["报告"])) == "docx"
    assert sniff(make_xlsx(SALES)) == "xlsx"
    assert sniff(make_pptx([{"title": "标题"}])) == "pptx"
    assert sniff(make_epub("书", [("第一章", "正文")])) == "epub"
    assert sniff(text_image(["hello"], "PNG")) == sniff(text_image(["hello"], "JPEG")) == "image"
    assert sniff(text_image(["hello"], "BMP")) == sniff(text_image(["hello"], "TIFF")) == "image"
    assert sniff("BMW 发布新车".encode()) is None and sniff(b"plain text") is None
    assert sniff("PDF 文件以 %PDF-1.7 开头。".encode()) is None  # a text that mentions the magic is text


def test_content_decides_for_text_or_unknown_extensions_and_binary_extensions_win():
    assert choose(make_xlsx(SALES), "export").name == "xlsx"  # no extension: the manifest says XLSX
    assert choose(make_pdf(["x"]), "report.txt").name == "pdf"
    assert choose(make_pptx([{"title": "t"}]), "deck.bin").name == "pptx"
    assert choose(make_docx(["x"]), "word.pdf").name == "pdf"  # a binary extension is taken at its word…
    with pytest.raises(CorruptFileError, match=r"not a readable PDF.*looks like Word.*\.docx"):
        read_bytes(make_docx(["x"]), "word.pdf")  # …and the error says what the bytes really are


def test_unsupported_error_names_the_supported_types():
    with pytest.raises(UnsupportedFormatError) as err:
        read_bytes(b"\x00\x01\x02", "tool.exe")
    for ext in (".xlsx", ".pptx", ".png", ".epub", ".eml", ".csv"):
        assert ext in str(err.value)
    with pytest.raises(UnsupportedFormatError, match=r"old\.xls: .*Office 97-2003 file: save it as \.docx, \.xlsx"):
        read_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "old.xls", source="old.xls")


def test_ui_and_folder_ingest_take_the_list_from_the_registry():
    from rag.services import ingest as ingest_service
    from ui import documents

    assert set(documents.FILE_TYPES) == set(supported_exts())
    assert ingest_service.SUPPORTED_EXTS is SUPPORTED_EXTS


# ----- spreadsheets -----------------------------------------------------------------------------------------------

def test_xlsx_rows_keep_their_header_and_sheets_are_pages():
    [doc] = read_bytes(make_xlsx(SALES), "sales.xlsx")
    assert "城市: 深圳 | 销量（万辆）: 31.2 | 同比增长: 42%" in doc.text
    assert "车型: 小米SU7 | 售价（万元）: 21.59" in doc.text
    assert "2024年新能源汽车销量" in doc.text  # a title row above the header is kept as a line
    assert doc.metadata["sheets"] == "销量, 价格"
    assert [p[2] for p in doc.pages] == [1, 2]
    start, end, _ = doc.pages[1]
    assert doc.text[start:end].startswith("【工作表：价格】")


def test_xlsx_percent_cells_read_as_shown():
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["指标", "同比增长"])
    ws.append(["营业收入", 0.0842])
    ws["B2"].number_format = "0.0%"
    buf = io.BytesIO()
    wb.save(buf)
    [doc] = read_bytes(buf.getvalue(), "growth.xlsx")
    assert "指标: 营业收入 | 同比增长: 8.4%" in doc.text


def test_xlsx_merged_group_headers_and_categories():
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in [["项目", "2020年", None, "2019年", None], [None, "金额", "占比", "金额", "占比"],
                ["营业收入", 1581.9, "100%", 1320.4, "100%"], ["其中：储能", 412.3, "26%", 301.2, "23%"],
                [None, 388.0, "24%", 290.1, "22%"]]:
        ws.append(row)
    ws.merge_cells("B1:C1")
    ws.merge_cells("D1:E1")
    ws.merge_cells("A1:A2")
    ws.merge_cells("A4:A5")  # a category spanning two rows
    buf = io.BytesIO()
    wb.save(buf)
    [doc] = read_bytes(buf.getvalue(), "report.xlsx")
    assert "项目: 营业收入 | 2020年 金额: 1581.9 | 2020年 占比: 100% | 2019年 金额: 1320.4" in doc.text
    assert "项目: 其中：储能 | 2020年 金额: 388 |" in doc.text  # the merged category fills its second row


def test_real_xlsx_merged_header():
    [doc] = read_bytes(real("mineru_xlsx_01.xlsx"), "mineru_xlsx_01.xlsx")
    assert "first: 3 | header second: 6 | header third: 7" in doc.text


def test_xlsx_side_by_side_tables_get_their_own_headers():
    grid = [["指标", "数值", None, "地区", "人口"], ["营收", 100, None, "华东", 5], ["利润", 20, None, "华南", 3]]
    [doc] = read_bytes(make_xlsx({"表": grid}), "two.xlsx")
    assert "指标: 利润 | 数值: 20" in doc.text and "地区: 华南 | 人口: 3" in doc.text


def test_real_xlsx_and_csv_rows_keep_column_names():
    [x] = read_bytes(real("langchain-ChatGLM_closed.xlsx"), "langchain-ChatGLM_closed.xlsx")
    [c] = read_bytes(real("langchain-ChatGLM_closed.csv"), "langchain-ChatGLM_closed.csv")
    for doc in (x, c):
        assert "title: 当前的运行环境是什么，windows还是Linux" in doc.text
        assert "url: https://github.com/imClumsyPanda/langchain-ChatGLM/issues/3" in doc.text
    [m] = read_bytes(real("mineru_xlsx_01.xlsx"), "mineru_xlsx_01.xlsx")
    assert m.metadata["sheets"] == "Sheet1, Sheet2, Sheet3, Sheet4" and "col-1: 8 | col-2: 16" in m.text


SIMPLIFIED = [["公司", "季度营收（亿元）", "备注"], ["宁德时代", "1,012.5", "含储能"], ["比亚迪", "1,622.4", "整车"]]
TRADITIONAL = [["公司", "季度營收（億元）", "備註"], ["寧德時代", "1,012.5", "含儲能"], ["比亞迪", "1,622.4", "整車"]]


@pytest.mark.parametrize(("encoding", "delimiter", "rows"),
                         [("utf-8", ",", SIMPLIFIED), ("gbk", ";", SIMPLIFIED), ("big5", "\t", TRADITIONAL)])
def test_csv_dialect_and_encoding(encoding, delimiter, rows):
    text = "\n".join(delimiter.join(f'"{c}"' if "," in c and delimiter == "," else c for c in r) for r in rows)
    [doc] = read_bytes(text.encode(encoding), "revenue.csv")
    assert f"公司: {rows[2][0]} | {rows[0][1]}: 1,622.4 | {rows[0][2]}: {rows[2][2]}" in doc.text, doc.text
    assert doc.metadata["rows"] == 2


# ----- slides, books, mail ----------------------------------------------------------------------------------------

SLIDES = [{"title": "储能行业周报", "body": "本周碳酸锂价格继续回落。"},
          {"title": "电芯报价", "table": [["规格", "报价（元/Wh）"], ["280Ah", "0.42"], ["314Ah", "0.40"]],
           "notes": "报价来自三家头部厂商的公开招标。"}]


def test_pptx_titles_tables_and_notes_with_slide_pages():
    [doc] = read_bytes(make_pptx(SLIDES), "weekly.pptx")
    assert doc.title == "储能行业周报"
    assert "规格: 314Ah | 报价（元/Wh）: 0.40" in doc.text
    assert "备注：报价来自三家头部厂商的公开招标。" in doc.text
    start, end, page = doc.pages[1]
    assert page == 2 and doc.text[start:end].startswith("电芯报价")


def test_pptx_and_docx_pictures_are_ocrd_only_in_always_mode():
    deck = make_pptx(SLIDES, picture=text_image(["Shipments reached 4417 units"]))
    [auto] = read_bytes(deck, "deck.pptx")
    [always] = read_bytes(deck, "deck.pptx", options=ReadOptions(ocr="always"))
    assert "4417" not in auto.text and "4417" in always.text and always.metadata["ocr_images"] == 1


def test_real_pptx_and_docx():
    [deck] = read_bytes(real("mineru_pptx_01.pptx"), "mineru_pptx_01.pptx")
    start, end, page = deck.pages[1]
    assert page == 2 and "备注：Some notes on the second slide." in deck.text[start:end]
    assert "系列 1: 4.5" in deck.text  # chart data, row by category
    [docx] = read_bytes(real("ocr_test.docx"), "ocr_test.docx", options=ReadOptions(ocr="always"))
    assert "我是文字" in docx.text and "横向文本框" in docx.text  # the second one only inside a picture


def test_epub_chapters_in_spine_order():
    chapters = [("第一章 起步", "一九九五年，公司在深圳成立。"), ("第二章 扩张", "二〇〇三年进入汽车行业。"),
                ("序言", "本书记录一家电池企业的成长。")]
    [doc] = read_bytes(make_epub("电池往事", chapters, spine_order=[2, 0, 1]), "book.epub")
    assert doc.title == "电池往事" and doc.metadata["author"] == "测试作者"
    assert doc.text.index("序言") < doc.text.index("第一章") < doc.text.index("第二章")
    assert [p[2] for p in doc.pages] == [1, 2, 3]


def test_eml_body_and_attachments_as_their_own_documents():
    sheet = make_xlsx({"报价": [["规格", "报价"], ["314Ah", "0.40元/Wh"]]})
    data = make_eml("三季度储能电芯报价", "各位好：\n本季度磷酸铁锂储能电芯报价为每瓦时0.42元。",
                    [("报价.xlsx", sheet), ("tool.exe", b"MZ\x00\x01")])
    mail, attached = read_bytes(data, "quote.eml")
    assert mail.title == "三季度储能电芯报价" and "每瓦时0.42元" in mail.text
    assert "发件人：王经理 <wang@example.com>" in mail.text and mail.metadata["date"] == "2024-10-01 10:30"
    assert "tool.exe" in mail.metadata["attachments_skipped"] and "unsupported" in mail.metadata["attachments_skipped"]
    assert attached.source == "quote.eml#报价.xlsx" and "规格: 314Ah | 报价: 0.40元/Wh" in attached.text


# ----- images -----------------------------------------------------------------------------------------------------

def test_image_is_read_by_ocr():
    [doc] = read_bytes(text_image(["Battery prices fell to 81 dollars", "per kilowatt hour in 2024"]), "scan.png")
    assert "81dollars" in doc.text.replace(" ", "") and doc.metadata["ocr_pages"] == 1  # OCR may drop spaces


def test_multipage_tiff_gives_a_page_each():
    [doc] = read_bytes(multipage_tiff([["First page says alpha 111"], ["Second page says omega 222"]]), "s.tif")
    assert [p[2] for p in doc.pages] == [1, 2]
    start, end, _ = doc.pages[1]
    assert "222" in doc.text[start:end] and "111" not in doc.text[start:end]


def test_progress_is_reported_per_page():
    seen = []
    read_bytes(multipage_tiff([["page one 1"], ["page two 2"]]), "s.tiff",
               options=ReadOptions(progress=lambda done, total: seen.append((done, total))))
    assert seen == [(1, 2), (2, 2)]


def test_ocr_off_refuses_images_with_a_specific_message():
    with pytest.raises(OcrDisabledError, match=r"OCR is off \(ingest.ocr: off\)"):
        read_bytes(text_image(["hello"]), "scan.png", options=ReadOptions(ocr="off"))


def test_one_failing_tiff_page_does_not_fail_the_document(monkeypatch):
    from ingest import ocr

    real_ocr = ocr.ocr_image

    def flaky(image):
        if getattr(flaky, "calls", 0) == 0:
            flaky.calls = 1
            raise ocr.OcrError("OCR failed (RuntimeError: simulated engine fault)")
        return real_ocr(image)

    monkeypatch.setattr(ocr, "ocr_image", flaky)
    [doc] = read_bytes(multipage_tiff([["lost page 1"], ["kept page says 333"]]), "s.tif")
    assert "333" in doc.text and doc.metadata["ocr_failed_pages"] == "1"


def test_real_jpg_is_ocrd():
    [doc] = read_bytes(real("ocr_test.jpg"), "ocr_test.jpg")
    assert "横向文本框" in doc.text


# ----- end to end: asked and answered from a cell, a slide, a mail body ----------------------------------------------

def test_answers_come_from_a_cell_a_slide_a_mail_body_and_an_image(services):
    files = {"sales.xlsx": make_xlsx(SALES), "weekly.pptx": make_pptx(SLIDES),
             "quote.eml": make_eml("三季度储能电芯报价", "本季度磷酸铁锂储能电芯报价为每瓦时0.42元。"),
             "revenue.csv": "公司,季度营收（亿元）\n宁德时代,1012.5\n比亚迪,1622.4\n".encode("gbk"),
             "book.epub": make_epub("电池往事", [("第一章", "比亚迪于一九九五年在深圳成立，最初生产手机电池。")]),
             "scan.png": text_image(["Lithium battery pack prices", "fell to 81 dollars per kWh"])}
    for name, data in files.items():
        report = services.ingest_bytes(data, name)
        assert report.added and not report.errors, (name, report.errors)
    for question, expected in [("深圳的新能源汽车销量是多少万辆？", "31.2"),
                               ("314Ah电芯报价是多少元/Wh？", "0.40"),
                               ("三季度磷酸铁锂储能电芯报价是多少？", "0.42"),
                               ("比亚迪季度营收多少亿元？", "1622.4"),
                               ("比亚迪最初生产什么电池？", "手机电池"),
                               ("What did lithium battery pack prices fall to?", "81")]:
        ans = services.ask(question)
        assert not ans.refused and expected in ans.answer, (question, ans.answer)


def test_bad_office_files_are_refused_specifically():
    with pytest.raises(IngestError, match="XLSX"):
        read_bytes(make_xlsx(SALES)[:500], "cut.xlsx")
    with pytest.raises(IngestError, match="PPTX"):
        read_bytes(b"PK\x03\x04" + b"\x00" * 100, "cut.pptx")


# ----- folder ingest says what it skipped ---------------------------------------------------------------------------

def _folder(root: Path) -> Path:
    folder = root / "in"
    (folder / "sub" / ".git").mkdir(parents=True)
    (folder / "good.txt").write_text("宁德时代发布神行超充电池，充电10分钟可行驶400公里。", encoding="utf-8")
    (folder / "sub" / "sheet.xlsx").write_bytes(make_xlsx(SALES))
    (folder / "archive.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    (folder / "notes.xyz").write_text("x")
    (folder / ".hidden.txt").write_text("隐藏文件")
    (folder / "sub" / ".git" / "config").write_text("[core]")
    return folder


def test_folder_ingest_lists_what_it_skipped_and_why(services, tmp_path):
    report = services.ingest_paths([str(_folder(tmp_path))])
    assert len(report.added) == 2 and not report.errors
    reasons = {Path(s["path"]).name: s["reason"] for s in report.skipped}
    assert reasons == {"archive.zip": "unsupported file type '.zip'", "notes.xyz": "unsupported file type '.xyz'",
                       ".hidden.txt": "hidden file", ".git": "hidden folder"}
    assert report.to_dict()["skipped"] == report.skipped


def test_cli_prints_the_skipped_files(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tests.test_crash import _env

    proc = subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(_folder(tmp_path))],
                          env=_env(tmp_path, tmp_path / "data"), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "added 2 document(s)" in proc.stdout and "skipped 4 file(s)" in proc.stdout
    assert "archive.zip (unsupported file type '.zip')" in proc.stdout and ".hidden.txt (hidden file)" in proc.stdout


def test_upload_response_lists_unsupported_files_as_skipped(tmp_path):
    import asyncio

    import httpx

    from rag.app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path / "data"), ui=False)
    try:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=300)
        files = [("files", ("a.txt", "比亚迪八月新能源汽车销量达到27.4万辆。".encode())),
                 ("files", ("tool.exe", b"MZ\x00\x01")), ("files", ("sales.xlsx", make_xlsx(SALES)))]
        body = asyncio.run(client.post("/documents", files=files)).json()
        assert len(body["added"]) == 2 and body["skipped_count"] == 1
        assert body["skipped"][0]["path"] == "tool.exe" and "unsupported" in body["skipped"][0]["reason"]
        assert any(e["path"] == "tool.exe" for e in body["errors"])  # still an error too, as before
    finally:
        app.state.services.close()


def test_the_ocr_setting_reaches_the_readers(tmp_path):
    from rag.container import Services
    from tests.conftest import make_settings

    base = make_settings(tmp_path / "off")
    off = base.model_copy(update={"ingest": base.ingest.model_copy(update={"ocr": "off"})})
    with Services(off) as svc:
        report = svc.ingest_bytes(text_image(["Battery prices fell"]), "scan.png")
        assert not report.added and "OCR is off (ingest.ocr: off)" in report.errors[0]["error"]
    always = base.model_copy(update={"data_dir": tmp_path / "always",
                                     "ingest": base.ingest.model_copy(update={"ocr": "always"})})
    deck = make_pptx(SLIDES, picture=text_image(["Shipments reached 4417 units"]))
    with Services(always) as svc:
        [added] = svc.ingest_bytes(deck, "deck.pptx").added
        reg = svc.library.registry
        assert any("4417" in c.text for c in reg.chunks(reg.chunk_ids(added["doc_id"])).values())


def test_docx_tables_stay_in_document_order_and_wide_tables_keep_their_header():
    import io

    from docx import Document as DocxDocument

    d = DocxDocument()
    d.add_paragraph("表1 各公司季度营收")
    table = d.add_table(rows=3, cols=3)
    rows = [["公司", "营收（亿元）", "同比"], ["宁德时代", "1012.5", "12%"], ["比亚迪", "1622.4", "24%"]]
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            table.cell(i, j).text = cell
    d.add_paragraph("表后的说明文字。")
    form = d.add_table(rows=2, cols=2)
    for i, row in enumerate([["姓名", "张三"], ["职务", "董事长"]]):
        for j, cell in enumerate(row):
            form.cell(i, j).text = cell
    buf = io.BytesIO()
    d.save(buf)
    [doc] = read_bytes(buf.getvalue(), "t.docx")
    assert "公司: 比亚迪 | 营收（亿元）: 1622.4 | 同比: 24%" in doc.text
    assert doc.text.index("表1") < doc.text.index("比亚迪") < doc.text.index("表后的说明文字")
    assert "职务 | 董事长" in doc.text  # a label/value table reads row by row


def test_eml_labelled_gb2312_with_gbk_characters_reads_right():
    import base64

    body = "王喆经理：本季度储能电芯报价为每瓦时0.42元，堃科技确认供货。"
    raw = (b"From: =?gb2312?B?" + base64.b64encode("王喆".encode("gbk")) + b"?= <wz@example.com>\r\n"
           b"To: a@example.com\r\nSubject: =?gb2312?B?" + base64.b64encode("堃科技报价".encode("gbk")) + b"?=\r\n"
           b"Date: Tue, 01 Oct 2024 10:30:00 +0800\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + base64.b64encode(body.encode("gbk")) + b"\r\n")  # GBK-only 喆 and 堃, labelled GB2312 as mailers do
    [mail] = read_bytes(raw, "gbk.eml")
    assert mail.title == "堃科技报价" and body in mail.text and "发件人：王喆" in mail.text
