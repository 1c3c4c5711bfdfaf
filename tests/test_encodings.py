"""Legacy encodings: GBK/GB18030 stay right, Big5 and Shift-JIS are detected (not read as GB18030 garbage)."""

from __future__ import annotations

import pytest

from ingest.encoding import decode_bytes
from ingest.readers import read_bytes

GBK = ["新能源汽车销量同比增长百分之三十，企业发布季度财报显示营收和利润均创新高。",
       "第一章 总则\n第一条 为了规范公司的组织和行为，保护公司、股东和债权人的合法权益，制定本章程。"]
BIG5 = ["臺灣的半導體產業在全球市場佔有重要地位，台積電的先進製程領先業界。",
        "鴻海精密工業股份有限公司公佈第三季財報，營收創下歷史新高，董事會決議配發現金股利。"]
SJIS = ["東京証券取引所の株価は、本日大きく値上がりしました。トヨタ自動車は新しい電池工場を建設すると発表した。"]


@pytest.mark.parametrize("text", GBK)
@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_gbk_and_gb18030_still_right(text, encoding):
    assert decode_bytes(text.encode(encoding)) == (text, "gb18030")


def test_gb18030_four_byte_characters():
    text = "生僻字𠀀与𪚥出现在古籍整理报告中，编码为四字节的国标扩展。"
    assert decode_bytes(text.encode("gb18030")) == (text, "gb18030")


@pytest.mark.parametrize("text", BIG5)
def test_big5_is_detected(text):
    decoded, enc = decode_bytes(text.encode("big5"))
    assert decoded == text and enc == "big5"


@pytest.mark.parametrize("text", SJIS)
def test_shift_jis_is_detected(text):
    decoded, enc = decode_bytes(text.encode("shift_jis"))
    assert decoded == text and enc in ("shift_jis", "cp932")


def test_short_gbk_stays_on_the_gb18030_path():
    for text in ["报告", "主力模型", "董事会决议公告", "股份有限公司", "三季度储能电芯报价"]:
        assert decode_bytes(text.encode("gbk")) == (text, "gb18030"), text


def test_big5_and_shift_jis_files_through_the_readers():
    [doc] = read_bytes((BIG5[0] + "\n\n" + BIG5[1]).encode("big5"), "tw.txt")
    assert "台積電的先進製程" in doc.text and doc.metadata["encoding"] == "big5"
    [doc] = read_bytes(("# 報告\n" + SJIS[0]).encode("shift_jis"), "jp.md")
    assert "トヨタ自動車" in doc.text


def test_the_detector_sees_a_sample_but_the_whole_file_must_decode():
    body = (BIG5[0] + "\n") * 20000  # over the detection sample; the cut falls on a line end
    decoded, enc = decode_bytes(body.encode("big5"))
    assert enc == "big5" and decoded == body
