"""Ranking metrics over document ids: hit@k, recall@k, MRR@10 and nDCG@10."""

from __future__ import annotations

import math

#: cut-offs of the recall@k curve in reports
RECALL_KS = (1, 2, 3, 5, 10, 20)


def first_relevant_rank(ranked: list[str], relevant: set[str]) -> int | None:
    """1-based rank of the first relevant document, or None."""
    for i, doc in enumerate(ranked, start=1):
        if doc in relevant:
            return i
    return None


def summarise(ranks: list[int | None]) -> dict[str, float]:
    """hit@1/5/10 and MRR@10 from first-relevant ranks."""
    n = max(len(ranks), 1)
    return {
        "hit@1": sum(1 for r in ranks if r is not None and r <= 1) / n,
        "hit@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "hit@10": sum(1 for r in ranks if r is not None and r <= 10) / n,
        "mrr@10": sum(1.0 / r for r in ranks if r is not None and r <= 10) / n,
    }


def recall_at(ranked: list[str], relevant: set[str], k: int) -> float:
    """Share of the relevant documents found in the first k."""
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & relevant) / len(relevant)


def ndcg_at(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k: DCG of the ranking over the DCG of a perfect one."""
    dcg = sum(1.0 / math.log2(i + 1) for i, d in enumerate(ranked[:k], start=1) if d in relevant)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(relevant), k) + 1))
    return dcg / ideal if ideal else 0.0


def evaluate_rankings(rankings: list[list[str]], relevant: list[set[str]]) -> dict[str, float]:
    """Every retrieval metric the reports show, averaged over questions (rounded to 4 places)."""
    n = max(len(rankings), 1)
    out = summarise([first_relevant_rank(r, rel) for r, rel in zip(rankings, relevant, strict=True)])
    out["ndcg@10"] = sum(ndcg_at(r, rel) for r, rel in zip(rankings, relevant, strict=True)) / n
    for k in RECALL_KS:
        out[f"recall@{k}"] = sum(recall_at(r, rel, k) for r, rel in zip(rankings, relevant, strict=True)) / n
    return {k: round(v, 4) for k, v in out.items()}
