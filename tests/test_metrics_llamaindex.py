"""eval/metrics.py agrees with llama-index's retrieval metrics, question by question (issue 15).

The metrics stay in eval/metrics.py because llama-index's raise on an empty ranking (a filtered question can
retrieve nothing) and its NDCG divides by the ideal gain of *all* relevant documents, not the first k
(nDCG@k's usual definition); where both are defined alike they must give the same numbers.
"""

from __future__ import annotations

import random

import pytest
from llama_index.core.evaluation.retrieval.metrics import MRR, NDCG, HitRate, Recall

from eval.metrics import RECALL_KS, first_relevant_rank, ndcg_at, recall_at, summarise


def _cases(n: int = 300) -> list[tuple[list[str], set[str]]]:
    rng = random.Random(15)
    docs = [f"d{i}" for i in range(40)]
    out = []
    for _ in range(n):
        ranked = rng.sample(docs, rng.randint(1, 20))
        relevant = set(rng.sample(docs, rng.randint(1, 10)))
        out.append((ranked, relevant))
    return out


def test_hit_rate_mrr_recall_and_ndcg_match_llama_index():
    for ranked, relevant in _cases():
        expected = sorted(relevant)
        mine = summarise([first_relevant_rank(ranked, relevant)])
        for k in (1, 5, 10):
            theirs = HitRate().compute(expected_ids=expected, retrieved_ids=ranked[:k]).score
            assert mine[f"hit@{k}"] == theirs
        assert mine["mrr@10"] == pytest.approx(MRR().compute(expected_ids=expected, retrieved_ids=ranked[:10]).score)
        for k in RECALL_KS:
            theirs = Recall().compute(expected_ids=expected, retrieved_ids=ranked[:k]).score
            assert recall_at(ranked, relevant, k) == pytest.approx(theirs)
        # At most 10 relevant documents: both ideal rankings are the same, so nDCG@10 must agree.
        theirs = NDCG(mode="linear").compute(expected_ids=expected, retrieved_ids=ranked[:10]).score
        assert ndcg_at(ranked, relevant, 10) == pytest.approx(theirs)


def test_ndcg_at_k_caps_the_ideal_ranking_at_k_where_llama_index_does_not():
    relevant = {f"d{i}" for i in range(15)}
    ranked = [f"d{i}" for i in range(10)]  # the first 10 all relevant: a perfect top 10
    assert ndcg_at(ranked, relevant, 10) == 1.0
    assert NDCG().compute(expected_ids=sorted(relevant), retrieved_ids=ranked).score < 1.0
