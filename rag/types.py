"""Plain data shapes shared by every layer, so services and faces agree on one vocabulary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Document:
    """A whole source document as read from a file or a news record."""

    doc_id: str
    text: str
    title: str
    source: str
    metadata: dict[str, Any] = field(default_factory=dict)
    # (start, end, page) spans when the source has pages (PDF); offsets index into `text`.
    pages: list[tuple[int, int, int]] = field(default_factory=list)


@dataclass
class Chunk:
    """A retrievable span of a document, with where it came from."""

    chunk_id: str
    doc_id: str
    text: str
    title: str
    source: str
    start: int
    end: int
    page: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Hit:
    """A retrieved chunk with the scores that ranked it."""

    chunk: Chunk
    score: float
    dense_score: float | None = None
    keyword_score: float | None = None


@dataclass
class Citation:
    """What an `[n]` marker in an answer points at."""

    n: int
    doc_id: str
    title: str
    source: str
    page: int | None
    text: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "page": self.page,
            "text": self.text,
            "score": self.score,
        }


@dataclass
class Answer:
    """An answer with its citations and what producing it cost."""

    answer: str
    citations: list[Citation]
    model: str
    cost: float = 0.0
    latency_ms: float = 0.0
    refused: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "answer": self.answer,
            "citations": [c.to_dict() for c in self.citations],
            "model": self.model,
            "cost": self.cost,
            "latency_ms": round(self.latency_ms, 1),
            "refused": self.refused,
        }
        out.update(self.details)
        return out
