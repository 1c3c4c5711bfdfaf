"""The news stages around retrieval, with the retriever's own signature: split a question about several things
and retrieve each part, merge so the top-k covers every part, prefer recent documents when the question asks
for the latest, collapse near-duplicate stories."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from rag.services.near_dup import NearDupCollapser
from rag.services.recency import asks_for_latest, prefer_recent
from rag.services.subqueries import llm_split, may_ask_several, merge_covering, split_question
from rag.settings_query import QueryPlanSettings
from rag.types import Filters, Hit


class Retriever(Protocol):
    settings: object

    def retrieve(self, question: str, top_k: int | None = None, filters: Filters | None = None) -> list[Hit]: ...


@dataclass
class Plan:
    """What the stages did for one question, and what each cost (ms)."""

    hits: list[Hit]
    parts: list[str] = field(default_factory=list)
    collapsed: int = 0  # hits removed as copies of a story shown above them
    recency: bool = False
    ms: dict[str, float] = field(default_factory=dict)
    split_by: str = ""  # rule | llm, when the question was split
    cost: float = 0.0  # CNY of the LLM split
    provider: str | None = None


class QueryPlanner:
    """Wraps a RetrieveService (same `retrieve`); reads its `settings` and `library` through."""

    def __init__(self, inner: Retriever, settings: QueryPlanSettings | None = None, llm=None) -> None:
        self.inner = inner
        self.llm = llm  # the LLM router (complete_cheapest), for `subqueries.llm`
        self.plan_settings = settings or QueryPlanSettings()
        nd = self.plan_settings.near_dup
        self.collapser = NearDupCollapser(nd.threshold, nd.min_clause) if nd.enabled else None

    @property
    def settings(self):  # the retrieval settings, as on RetrieveService (evals read candidates and top_k)
        return self.inner.settings

    @property
    def library(self):
        return self.inner.library  # type: ignore[attr-defined]

    def retrieve(self, question: str, top_k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        return self.plan(question, top_k, filters).hits

    def plan(self, question: str, top_k: int | None = None, filters: Filters | None = None) -> Plan:
        s, ps = self.inner.settings, self.plan_settings
        top_k = top_k or s.top_k  # type: ignore[attr-defined]
        # Ask for the whole candidate pool: the same ranking (the pool size does not change it), with room to
        # refill the top-k after copies are removed and to find each part's best.
        pool = max(top_k, s.candidates)  # type: ignore[attr-defined]
        ms: dict[str, float] = {}
        t = time.perf_counter()
        sq = ps.subqueries
        parts = split_question(question, sq.max_parts) if sq.enabled else []
        split_by, cost, provider = ("rule" if parts else ""), 0.0, None
        if (sq.enabled and sq.llm and not parts and self.llm is not None and hasattr(self.llm, "complete_cheapest")
                and may_ask_several(question)):
            parts, cost, provider = llm_split(question, self.llm, sq.max_parts)
            split_by = "llm" if parts else ""
        ms["split"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        lists = [self.inner.retrieve(question, pool, filters)]
        ms["retrieve"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        lists += [self.inner.retrieve(p, pool, filters) for p in parts]
        ms["subqueries"] = (time.perf_counter() - t) * 1000
        # Recency on the list of the query that asks for the latest (the part that does, when the question was
        # split), before the merge (whose order across lists is coverage, not score) and before the collapse (so
        # copies are ranked with the hits they compete with).
        t = time.perf_counter()
        recent = False
        if ps.recency.enabled:
            r = ps.recency
            for i, q in enumerate([question, *parts]):
                if (i > 0 or not parts) and asks_for_latest(q):
                    recent = True
                    lists[i] = prefer_recent(lists[i], r.weight, r.half_life_days, r.top_n)
        ms["recency"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        groups: dict[str, str] = {}
        if self.collapser is not None:
            seen: set[str] = set()
            union = [h for hits in lists for h in hits if not (h.chunk.chunk_id in seen or seen.add(h.chunk.chunk_id))]
            groups = self.collapser.groups(union)
        ms["near_dup"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        hits = merge_covering(lists, pool, lambda d: groups.get(d, d)) if parts else lists[0]
        ms["merge"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        before = len(hits)
        if self.collapser is not None:
            hits = self.collapser.collapse(hits, groups)
        collapsed = before - len(hits)
        ms["near_dup"] += (time.perf_counter() - t) * 1000
        return Plan(hits[:top_k], parts, collapsed, recent, ms, split_by, cost, provider)
