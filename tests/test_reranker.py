"""Reranker plumbing on a tiny untrained CrossEncoder built in tmp_path (no download, no training)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag.components.reranker import CrossEncoderReranker, build_reranker  # noqa: E402
from rag.settings import RerankSettings  # noqa: E402
from rag.types import Chunk, Hit  # noqa: E402

WORDS = ["油价", "上涨", "下跌", "新能源", "汽车", "销量", "芯片", "出口", "政策", "银行", "利率", "股市",
         "oil", "price", "chip", "bank", "rate", "sales", "car", "export"]


def _tiny_cross_encoder(path: Path) -> Path:
    """A 2-layer BERT classifier with a WordPiece vocab, saved the way CrossEncoder loads it."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = sorted({c for w in WORDS for c in w})
    vocab = {t: i for i, t in enumerate(specials + chars + [f"##{c}" for c in chars] + WORDS)}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_max_length=128)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=1)
    BertForSequenceClassification(config).eval().save_pretrained(path)
    fast.save_pretrained(path)
    return path


def _hits(texts: list[str]) -> list[Hit]:
    return [
        Hit(chunk=Chunk(chunk_id=f"c{i}", doc_id=f"d{i}", text=t, title=f"t{i}", source="s", start=0,
                        end=len(t)), score=1.0 - i / 100)
        for i, t in enumerate(texts)
    ]


TEXTS = ["油价 上涨", "芯片 出口 政策", "银行 利率 下跌", "新能源 汽车 销量", "oil price", "chip export",
         "bank rate", "car sales", "股市 上涨", "汽车 出口"]


def test_rerank_orders_by_cross_encoder_score(tmp_path: Path) -> None:
    from sentence_transformers import CrossEncoder

    model_dir = _tiny_cross_encoder(tmp_path / "ce")
    reranker = CrossEncoderReranker(model_dir, top_n=len(TEXTS))
    out = reranker.rerank("油价 price", _hits(TEXTS))
    expected = CrossEncoder(str(model_dir)).predict([("油价 price", t) for t in TEXTS])
    assert [h.score for h in out] == sorted((float(s) for s in expected), reverse=True)
    by_text = {t: float(s) for t, s in zip(TEXTS, expected, strict=True)}
    assert all(h.score == pytest.approx(by_text[h.chunk.text]) for h in out)
    assert len({h.score for h in out}) > 1  # an untrained model still separates the passages


def test_top_n_limits_what_is_rescored(tmp_path: Path) -> None:
    reranker = CrossEncoderReranker(_tiny_cross_encoder(tmp_path / "ce"), top_n=3)
    hits = _hits(TEXTS)
    out = reranker.rerank("芯片", hits)
    assert len(out) == 3
    assert {h.chunk.chunk_id for h in out} == {"c0", "c1", "c2"}
    assert [h.score for h in hits] == [1.0 - i / 100 for i in range(len(TEXTS))]  # inputs untouched
    assert reranker.rerank("芯片", []) == []


def test_build_reranker_from_settings(tmp_path: Path) -> None:
    assert build_reranker(RerankSettings(enabled=False)) is None
    model_dir = _tiny_cross_encoder(tmp_path / "ce")
    reranker = build_reranker(RerankSettings(enabled=True, model=str(model_dir), top_n=2))
    assert isinstance(reranker, CrossEncoderReranker)
    assert len(reranker.rerank("bank", _hits(TEXTS))) == 2


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        CrossEncoderReranker(missing)
    with pytest.raises(ValueError, match="rerank.model is empty"):
        build_reranker(RerankSettings(enabled=True, model=""))
    with pytest.raises(ValueError, match="top_n"):
        CrossEncoderReranker(missing, top_n=0)


def test_evidence_reranker_prefers_the_passage_that_answers():
    from rag.components.reranker import EvidenceReranker

    question = "2022年重庆的GDP增长率是多少"
    echo = "重庆2022年GDP增长率备受关注，多家机构对重庆经济作出预测。"  # repeats the question, no answer
    answer = "据统计，2022年重庆实现地区生产总值29129亿元，GDP增长率为2.6%。"
    other = "成都的地铁线路在2022年继续延长。"
    hits = _hits([echo, other, answer])
    er = EvidenceReranker(lambda term: 1.0, weight=0.5, top_n=3, type_weight=0.3)
    ev = er.evidence(question, [echo, answer, other])
    assert ev[1] > ev[0] > ev[2]
    out = er.rerank(question, hits)
    assert out[0].chunk.text == answer and len(out) == 3
    assert EvidenceReranker(lambda term: 1.0, weight=0.5, top_n=1).rerank(question, hits)[1:] == hits[1:]


def test_answer_types_ignore_what_the_question_already_says():
    from rag.components.answer_types import AnswerType

    t = AnswerType.of("2022年重庆GDP增长了多少？")
    assert t.kind == "number" and t.found("重庆2022年经济") == 0.0 and t.found("增长2.6%") == 1.0
    d = AnswerType.of("北京冬奥会什么时候开幕")
    assert d.kind == "date" and d.found("开幕式于2月4日举行") == 1.0 and d.found("开幕式很精彩") == 0.0
    assert AnswerType.of("谁是北京冬奥会第一棒火炬手").found("第一棒火炬手是罗致焕") == 1.0
    assert AnswerType.of("这部电影好看吗").kind == ""


def test_a_view_or_reason_question_asks_for_no_figure():
    from rag.components.answer_types import AnswerType

    # 价格 is a number cue, but "how does X see the price war" is answered by what X said, not by a figure
    view = AnswerType.of("李开复怎么看大模型价格战？")
    assert view.kind == "" and view.found("1块钱可能买不了一包辣条，但是却能买下几本《三国演义》。") == 0.0
    assert AnswerType.of("为什么大模型价格下降了？").kind == ""
    assert AnswerType.of("腾讯混元-lite模型原来的价格是多少？").kind == "number"


def test_evidence_prefers_the_named_entity_verbatim():
    """大沙地站 vs 大沙东站 on 大沙地东路: every question term occurs in both, only one holds the name whole."""
    from rag.components.reranker import EvidenceReranker, longest_common_run

    question = "大沙地站共有几层？"
    sibling = "大沙东站位于大沙地东路的地底，本站共两层。"
    named = "大沙地站位于港湾路口的地底，本站共两层。"
    plain = EvidenceReranker(lambda term: 1.0, weight=1.0, top_n=2, type_weight=0.3)
    phrased = EvidenceReranker(lambda term: 1.0, weight=1.0, top_n=2, type_weight=0.3, phrase_weight=0.4)
    assert plain.evidence(question, [sibling])[0] >= plain.evidence(question, [named])[0]
    ev_sibling, ev_named = phrased.evidence(question, [sibling, named])
    assert ev_named > ev_sibling
    assert phrased.rerank(question, _hits([sibling, named]))[0].chunk.text == named
    assert longest_common_run("大沙地站共有几层", "大沙地东路") == 3 and longest_common_run("abc", "xyz") == 0


def test_evidence_and_answers_pass_over_another_years_figure():
    """A 2020 figure does not answer a question about 2021; a sentence without any year is not cut."""
    from rag.components.answer_types import AnswerType
    from rag.components.reranker import EvidenceReranker
    from rag.services.extractive import ExtractiveAnswerer
    from rag.settings import AnswerSettings

    question = "2021年北京大兴机场年旅客吞吐量是多少"
    old = "北京大兴机场2020年旅客吞吐量突破1600万人次，单日最高旅客量突破11万人次。"
    new = "截至2021年12月31日，大兴机场年旅客吞吐量突破2500万人次。"
    t = AnswerType.of(question)
    assert t.other_year(old) and not t.other_year(new) and not t.other_year("旅客吞吐量突破2500万人次")
    assert not AnswerType.of("大兴机场年旅客吞吐量是多少").other_year(old)
    er = EvidenceReranker(lambda term: 1.0, weight=1.0, top_n=2, type_weight=0.6, year_penalty=0.5)
    ev_old, ev_new = er.evidence(question, [old, new])
    assert ev_new > ev_old
    assert er.rerank(question, _hits([old, new]))[0].chunk.text == new

    class _Keywords:
        def idf(self, term: str) -> float:
            return 1.0

        def count(self) -> int:
            return 2

    hits = _hits([old + new])
    quoted = ExtractiveAnswerer(_Keywords(), AnswerSettings(max_sentences=1, year_penalty=0.5)).answer(question, hits)
    assert "2500万" in quoted.answer and "1600万" not in quoted.answer
    unaware = ExtractiveAnswerer(_Keywords(), AnswerSettings(max_sentences=1, year_penalty=0.0)).answer(question, hits)
    assert "1600万" in unaware.answer  # without the cut the older, word-for-word closer figure wins
