"""Question in, cited answer out: rewrite a follow-up, retrieve (filtered), then the LLM router or extraction."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from rag.services.extractive import ExtractiveAnswerer
from rag.services.query_plan import QueryPlanner
from rag.services.retrieve import RetrieveService
from rag.services.rewrite import QuestionRewriter, Rewrite
from rag.types import Answer, DoneEvent, Filters, Hit, RewriteEvent, RewriteInfo, StreamEvent, TokenEvent

NO_MATCH = "没有符合筛选条件的资料，请放宽筛选条件后再问。"


class AnswerService:
    """Times the whole request and records which model answered, at what cost, for which standalone question."""

    def __init__(self, retriever: RetrieveService | QueryPlanner, extractive: ExtractiveAnswerer,
                 llm: Any | None = None, rewriter: QuestionRewriter | None = None) -> None:
        self.retriever = retriever
        self.extractive = extractive
        self.llm = llm
        self.rewriter = rewriter or QuestionRewriter(llm)

    def _prepare(self, question: str, top_k: int | None, filters: Filters | None,
                 history: list[dict[str, str]] | None) -> tuple[Rewrite, list[Hit], Answer | None]:
        rw = self.rewriter.rewrite(question, history)
        if isinstance(self.retriever, QueryPlanner):
            plan = self.retriever.plan(rw.question, top_k, filters)
            hits = plan.hits
            rw.cost += plan.cost  # LLM spend before retrieval (rewrite, then split), added to the answer's cost
        else:
            hits = self.retriever.retrieve(rw.question, top_k, filters)
        # Only an empty result needs to know why: a second registry scan then, not on every filtered question.
        if not hits and filters is not None and not filters.is_empty():
            scope = self.retriever.library.scope(filters)
            if scope is not None and not scope[0]:
                return rw, [], Answer(answer=NO_MATCH, citations=[], model="none", refused=True)
        return rw, hits, None

    @staticmethod
    def _describe(answer: Answer, question: str, rw: Rewrite, filters: Filters | None) -> None:
        """What the answer says about how it was asked: the standalone question and the filters applied."""
        if rw.method != "none":
            answer.rewrite = RewriteInfo(question, rw.question, rw.method, rw.details.get("rewrite_provider"))
        if filters is not None and not filters.is_empty():
            answer.filters = filters.to_dict()

    @staticmethod
    def _count_copies(answer: Answer, hits: list[Hit]) -> None:
        """Each citation says how many other outlets carried its story (near-duplicates collapsed into it)."""
        copies = {h.chunk.doc_id: len(h.duplicate_doc_ids) for h in hits if h.duplicate_doc_ids}
        for c in answer.citations:
            c.duplicates = copies.get(c.doc_id, c.duplicates)

    def _finish(self, answer: Answer, question: str, rw: Rewrite, filters: Filters | None,
                started: float, hits: list[Hit] | None = None) -> Answer:
        self._count_copies(answer, hits or [])
        answer.cost += rw.cost
        self._describe(answer, question, rw, filters)
        answer.latency_ms = (time.perf_counter() - started) * 1000
        return answer

    def ask(self, question: str, top_k: int | None = None, filters: Filters | None = None,
            history: list[dict[str, str]] | None = None) -> Answer:
        started = time.perf_counter()
        rw, hits, early = self._prepare(question, top_k, filters, history)
        if early is None:
            q = rw.question
            early = self.llm.answer(q, hits) if self.llm else self.extractive.answer(q, hits)
        return self._finish(early, question, rw, filters, started, hits)

    def stream(self, question: str, top_k: int | None = None, filters: Filters | None = None,
               history: list[dict[str, str]] | None = None) -> Iterator[StreamEvent]:
        """Token events then a final DoneEvent carrying the whole answer (a ResetEvent discards tokens so far)."""
        started = time.perf_counter()
        rw, hits, early = self._prepare(question, top_k, filters, history)
        if rw.method != "none":
            yield RewriteEvent(rw.question, rw.method)
        if early is None and self.llm is None:
            early = self.extractive.answer(rw.question, hits)
        if early is not None:
            answer = self._finish(early, question, rw, filters, started, hits)
            yield TokenEvent(answer.answer)
            yield DoneEvent(answer)
            return
        for event in self.llm.stream(rw.question, hits):
            if isinstance(event, DoneEvent):
                self._finish(event.answer, question, rw, filters, started, hits)
            yield event
