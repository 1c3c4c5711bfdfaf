"""Chunks break at Chinese sentence ends, keep numbers and dates whole, and know their offsets."""

from __future__ import annotations

from ingest.chunking import ChineseChunker, split_sentences
from ingest.readers import content_id
from rag.types import Document


def test_sentence_split_on_chinese_and_ascii_ends_but_not_inside_numbers():
    text = "价格是3.5元。日期2024.05.15不变！真的吗？好的；再说…结束."
    parts = split_sentences(text)
    assert "".join(parts) == text
    assert parts[0] == "价格是3.5元。"
    assert parts[1] == "日期2024.05.15不变！"
    assert parts[2] == "真的吗？"


def test_chunks_respect_size_and_record_offsets():
    sentences = [f"第{i}句：2024年5月{i}日价格为{i}.{i}元，同比增长{i}%。" for i in range(1, 60)]
    text = "\n\n".join("".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5))
    doc = Document(doc_id=content_id(text), text=text, title="t", source="s")
    chunks = ChineseChunker(chunk_size=120, chunk_overlap=30).chunk(doc)
    assert len(chunks) > 5
    for c in chunks:
        assert len(c.text) <= 120
        assert doc.text[c.start : c.end] == c.text
        assert c.doc_id == doc.doc_id and c.title == "t" and c.source == "s"
    # every sentence survives whole in some chunk: no number or date cut in two
    for s in sentences:
        assert any(s in c.text for c in chunks), s
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_overlong_sentence_breaks_at_commas_not_inside_numbers():
    text = "，".join(f"第{i}项金额为1,234.5{i}元" for i in range(40)) + "。"
    doc = Document(doc_id="d", text=text, title="t", source="s")
    chunks = ChineseChunker(chunk_size=100, chunk_overlap=0).chunk(doc)
    assert len(chunks) > 3
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
    joined = " ".join(c.text for c in chunks)
    for i in range(40):
        assert f"1,234.5{i}元" in joined


def test_text_without_any_punctuation_or_spaces_still_chunks():
    text = "豆包大模型价格战" * 200  # 1,600 characters, not one break opportunity
    doc = Document(doc_id="d", text=text, title="t", source="s")
    chunks = ChineseChunker(chunk_size=300, chunk_overlap=30).chunk(doc)
    assert len(chunks) >= 6 and all(len(c.text) <= 300 for c in chunks)
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)
