"""Ranking metrics over document ids."""

from __future__ import annotations


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
