"""Hybrid retrieval fuses both retrievers; the extractive answerer cites what it quotes and refuses on weak evidence."""

from __future__ import annotations

import re

import pytest

from rag.services.extractive import REFUSAL
from rag.services.retrieve import fuse_rrf, fuse_weighted
from tests.conftest import SEED_QUESTION, SEEDS


def test_weighted_fusion_normalises_each_list():
    fused = fuse_weighted({"a": 0.9, "b": 0.8}, {"b": 12.0, "c": 3.0}, dense_weight=0.7)
    assert fused["a"] == pytest.approx(0.7) and fused["b"] == pytest.approx(0.3) and fused["c"] == 0.0


def test_rrf_rewards_agreement():
    fused = fuse_rrf(["a", "b"], ["b", "c"], k=60)
    assert max(fused, key=fused.get) == "b"


def test_hits_carry_chunk_scores_and_metadata(services):
    services.ingest_paths([str(SEEDS)])
    hits = services.retriever.retrieve(SEED_QUESTION, top_k=3)
    assert hits
    top = hits[0]
    assert top.dense_score is not None and top.keyword_score is not None
    assert "国内大模型开打" in top.chunk.title and top.chunk.source.startswith("https://")
    assert top.chunk.metadata["kind"] == "news"


def test_extractive_answer_cites_the_seed(services):
    services.ingest_paths([str(SEEDS)])
    ans = services.ask(SEED_QUESTION)
    assert ans.model == "extractive" and ans.cost == 0 and ans.latency_ms > 0 and not ans.refused
    assert "125万tokens" in ans.answer
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", ans.answer)}
    assert markers and markers == {c.n for c in ans.citations}
    assert all(c.source.startswith("https://") for c in ans.citations)


def test_unrelated_question_is_refused(services):
    services.ingest_paths([str(SEEDS)])
    ans = services.ask("火星表面的平均温度是多少摄氏度？")
    assert ans.refused and ans.answer == REFUSAL and ans.citations == []


def test_empty_index_says_so(services):
    ans = services.ask("豆包的价格是多少？")
    assert ans.refused and "还没有文档" in ans.answer


def test_reranker_stage_reorders_the_fused_hits(settings):
    from dataclasses import replace

    from rag.components.reranker import Reranker
    from rag.container import Services

    class ByLength(Reranker):
        """Deterministic stand-in scoring shorter chunks higher: the plumbing is under test, not a model."""

        top_n = 10

        def rerank(self, question, hits):
            return sorted((replace(h, score=-len(h.chunk.text)) for h in hits[: self.top_n]),
                          key=lambda h: -h.score)

    with Services(settings) as svc:
        for i, text in enumerate(["光伏价格下跌。" * 5, "光伏。", "光伏组件价格下跌了很多。"]):
            svc.ingester.ingest_bytes(text.encode(), f"{i}.txt")
        svc.retriever.reranker = ByLength()
        hits = svc.retriever.retrieve("光伏价格", top_k=2)
        assert [h.chunk.text for h in hits] == ["光伏。", "光伏组件价格下跌了很多。"]


def test_quoted_sentences_are_cut_to_their_best_200_characters():
    from rag.services.extractive import MAX_SENTENCE_CHARS, clip_sentence

    filler = "，".join(["无关的铺垫内容在这里"] * 30)
    long = filler + "，比亚迪2023年销量为302万辆，" + "，".join(["其他内容"] * 20) + "。"
    cut = clip_sentence(long, lambda s: float("302万辆" in s))
    assert len(cut) <= MAX_SENTENCE_CHARS and "302万辆" in cut and cut in long
    assert clip_sentence("短句。", lambda s: 0.0) == "短句。"
