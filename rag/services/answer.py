"""Question in, cited answer out: rewrite a follow-up, retrieve (filtered), then the LLM router or extraction."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from rag.services.extractive import ExtractiveAnswerer
from rag.services.retrieve import RetrieveService
from rag.services.rewrite import QuestionRewriter, Rewrite
from rag.types import Answer, Filters, Hit

NO_MATCH = "没有符合筛选条件的资料，请放宽筛选条件后再问。"


class AnswerService:
    """Times the whole request and records which model answered, at what cost, for which standalone question."""

    def __init__(self, retriever: RetrieveService, extractive: ExtractiveAnswerer, llm: Any | None = None,
                 rewriter: QuestionRewriter | None = None) -> None:
        self.retriever = retriever
        self.extractive = extractive
        self.llm = llm
        self.rewriter = rewriter or QuestionRewriter(llm)

    def _prepare(self, question: str, top_k: int | None, filters: Filters | None,
                 history: list[dict[str, str]] | None) -> tuple[Rewrite, list[Hit], Answer | None]:
        rw = self.rewriter.rewrite(question, history)
        hits = self.retriever.retrieve(rw.question, top_k, filters)
        # Only an empty result needs to know why: a second registry scan then, not on every filtered question.
        if not hits and filters is not None and not filters.is_empty():
            scope = self.retriever.library.scope(filters)
            if scope is not None and not scope[0]:
                return rw, [], Answer(answer=NO_MATCH, citations=[], model="none", refused=True)
        return rw, hits, None

    @staticmethod
    def _extras(question: str, rw: Rewrite, filters: Filters | None) -> dict[str, Any]:
        """What the answer says about how it was asked: the standalone question and the filters applied."""
        out: dict[str, Any] = {}
        if rw.method != "none":
            out.update({"question": question, "standalone_question": rw.question, "rewrite": rw.method,
                        **rw.details})
        if filters is not None and not filters.is_empty():
            out["filters"] = filters.to_dict()
        return out

    def _finish(self, answer: Answer, question: str, rw: Rewrite, filters: Filters | None,
                started: float) -> Answer:
        answer.cost += rw.cost
        answer.details.update(self._extras(question, rw, filters))
        answer.latency_ms = (time.perf_counter() - started) * 1000
        return answer

    def ask(self, question: str, top_k: int | None = None, filters: Filters | None = None,
            history: list[dict[str, str]] | None = None) -> Answer:
        started = time.perf_counter()
        rw, hits, early = self._prepare(question, top_k, filters, history)
        if early is None:
            q = rw.question
            early = self.llm.answer(q, hits) if self.llm else self.extractive.answer(q, hits)
        return self._finish(early, question, rw, filters, started)

    def stream(self, question: str, top_k: int | None = None, filters: Filters | None = None,
               history: list[dict[str, str]] | None = None) -> Iterator[dict]:
        """Token events then a final `done` event carrying the whole answer (a `reset` discards tokens so far)."""
        started = time.perf_counter()
        rw, hits, early = self._prepare(question, top_k, filters, history)
        if rw.method != "none":
            yield {"type": "rewrite", "standalone_question": rw.question, "method": rw.method}
        if early is None and self.llm is None:
            early = self.extractive.answer(rw.question, hits)
        if early is not None:
            answer = self._finish(early, question, rw, filters, started)
            yield {"type": "token", "text": answer.answer}
            yield {"type": "done", "answer": answer.to_dict()}
            return
        for event in self.llm.stream(rw.question, hits):
            if event.get("type") == "done":
                done = event["answer"]
                done["cost"] = done.get("cost", 0.0) + rw.cost
                done.update(self._extras(question, rw, filters))
                done["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
            yield event
