"""Every supported format becomes documents with the right text and metadata; bad input gets a specific error."""

from __future__ import annotations

import pytest

from ingest.errors import CorruptFileError, EmptyFileError, EncodingError, UnsupportedFormatError
from ingest.readers import read_bytes
from tests.conftest import SEEDS, make_docx, make_pdf


def test_seed_news_record_fields_become_metadata():
    path = next(SEEDS.glob("*.txt"))
    [doc] = read_bytes(path.read_bytes(), path.name, source=str(path))
    assert doc.title == "降价!免费!全面免费!国内大模型开打“刺刀见红”价格战"
    assert doc.source == "https://baijiahao.baidu.com/s?id=1799931631003468158&wfr=spider&for=pc"
    assert "1块钱能买到豆包主力模型的125万tokens" in doc.text
    for key in ("url", "keywords", "industry", "summary", "ai_tech"):
        assert doc.metadata[key], key
    assert "价格战" in doc.metadata["keywords"]
    assert "**价格战爆发**" in doc.metadata["summary"]  # the multi-line summary is kept whole


def test_several_news_records_in_one_file_full_width_colons():
    text = ("标题：甲公司发布新模型\n链接：https://a.example/1\n总结：甲公司今天发布新模型，价格下降一半。\n"
            "标题：乙公司降价\n链接：https://a.example/2\n总结：乙公司宣布API免费。\n行业：云计算\n")
    docs = read_bytes(text.encode(), "news.txt")
    assert [d.title for d in docs] == ["甲公司发布新模型", "乙公司降价"]
    assert docs[1].metadata["industry"] == "云计算"
    assert docs[0].doc_id != docs[1].doc_id


def test_one_article_per_line_keeps_dates():
    lines = ("[ 2023-07-28 16：40 ] ，正文：人民网柏林7月28日电 中国驻德国大使馆举行招待会。\n"
             "2023-08-11 15:10，正文：中新网约翰内斯堡8月10日电 对接会在南非举行。\n"
             "发布时间：2023-07-26 08:46:02，正文：韩国国家报勋部24日表示。\n")
    docs = read_bytes(lines.encode(), "crud.txt")
    assert len(docs) == 3
    assert docs[0].metadata["date"] == "2023-07-28 16:40"
    assert docs[1].metadata["date"] == "2023-08-11 15:10"
    assert docs[2].metadata["date"] == "2023-07-26 08:46:02"
    assert docs[1].text.startswith("中新网约翰内斯堡")


def test_gbk_and_utf16_text_are_decoded():
    text = "国内大模型价格战：豆包主力模型定价0.0008元/千Tokens，比行业便宜99.3%。"
    [gbk] = read_bytes(text.encode("gbk"), "report.txt")
    assert gbk.text == text and gbk.metadata["encoding"] == "gb18030"
    [u16] = read_bytes(text.encode("utf-16"), "report.txt")
    assert u16.text == text


def test_html_drops_scripts_and_styles():
    html = ("<html><head><title>行业快讯</title><style>.x{color:red}</style></head><body>"
            "<script>var secret = 1;</script><h1>价格战</h1><p>阿里云通义千问降价97%。</p></body></html>")
    [doc] = read_bytes(html.encode(), "news.html")
    assert doc.title == "行业快讯"
    assert "通义千问降价97%" in doc.text
    assert "secret" not in doc.text and "color" not in doc.text


def test_markdown_title_from_heading():
    [doc] = read_bytes("# 行业报告\n\n正文内容。".encode(), "r.md")
    assert doc.title == "行业报告"


def test_pdf_pages_are_kept():
    data = make_pdf(["第一页：豆包定价0.0008元/千Tokens。", "第二页：通义千问降价97%。"])
    [doc] = read_bytes(data, "report.pdf")
    assert "第二页" in doc.text
    assert [p[2] for p in doc.pages] == [1, 2]
    start, end, _ = doc.pages[1]
    assert doc.text[start:end].startswith("第二页")


def test_docx_paragraphs_and_tables():
    data = make_docx(["新能源汽车报告", "2024年销量1286.6万辆。"], table=[["厂商", "价格"], ["豆包", "0.0008元"]])
    [doc] = read_bytes(data, "r.docx")
    assert "1286.6万辆" in doc.text and "豆包 | 0.0008元" in doc.text
    assert doc.title == "新能源汽车报告"


@pytest.mark.parametrize(
    ("data", "name", "error", "words"),
    [
        (b"", "empty.txt", EmptyFileError, "empty"),
        (b"   \n\n", "blank.md", EmptyFileError, "empty"),
        (b"%PDF-1.4 this is not really a pdf", "bad.pdf", CorruptFileError, "PDF"),
        (b"PK\x03\x04broken", "bad.docx", CorruptFileError, "DOCX"),
        (b"\x00\x01\x02", "x.exe", UnsupportedFormatError, "unsupported"),
        (bytes(range(128, 256)) * 20, "bin.txt", EncodingError, "decode"),
    ],
)
def test_bad_input_gets_a_specific_error(data, name, error, words):
    with pytest.raises(error) as info:
        read_bytes(data, name)
    assert name in str(info.value) and words in str(info.value)
