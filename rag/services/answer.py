"""Question in, cited answer out: retrieve, then the LLM router or the extractive answerer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from rag.services.extractive import ExtractiveAnswerer
from rag.services.retrieve import RetrieveService
from rag.types import Answer


class AnswerService:
    """Times the whole request and records which model answered and at what cost."""

    def __init__(self, retriever: RetrieveService, extractive: ExtractiveAnswerer, llm: Any | None = None) -> None:
        self.retriever = retriever
        self.extractive = extractive
        self.llm = llm

    def ask(self, question: str, top_k: int | None = None) -> Answer:
        started = time.perf_counter()
        hits = self.retriever.retrieve(question, top_k)
        answer = self.llm.answer(question, hits) if self.llm else self.extractive.answer(question, hits)
        answer.latency_ms = (time.perf_counter() - started) * 1000
        return answer

    def stream(self, question: str, top_k: int | None = None) -> Iterator[dict]:
        """Token events then a final `done` event carrying the whole answer."""
        started = time.perf_counter()
        hits = self.retriever.retrieve(question, top_k)
        if self.llm is None:
            answer = self.extractive.answer(question, hits)
            answer.latency_ms = (time.perf_counter() - started) * 1000
            yield {"type": "token", "text": answer.answer}
            yield {"type": "done", "answer": answer.to_dict()}
            return
        for event in self.llm.stream(question, hits):
            if event.get("type") == "done":
                event["answer"]["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
            yield event
