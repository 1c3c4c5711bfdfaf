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
    # Last page the chunk reaches (chunks may cross page breaks); derived from the `page_spans` metadata the PDF
    # reader records ([start, end, page] document offsets), so storage needs no column of its own.
    page_end: int | None = None

    def __post_init__(self) -> None:
        if self.page_end is None and self.page is not None:
            self.page_end = self.page_at(max(0, self.end - self.start - 1)) or self.page

    def page_at(self, offset: int) -> int | None:
        """The page of the character `offset` characters into this chunk (a cited sentence's page)."""
        spans = self.metadata.get("page_spans") or []
        pos = self.start + max(0, offset)
        page = self.page
        for start, _end, number in spans:
            if start <= pos:
                page = number
            else:
                break
        return page


def _date_key(value: object) -> str | None:
    """`2023-08-11 15:10`, `2023/8/11`, `2023年8月11日` → `2023-08-11`; None when there is no full date."""
    import re

    m = re.search(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})", str(value or ""))
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}" if m else None


@dataclass
class Filters:
    """Metadata restrictions applied inside both the dense and the keyword search (empty = everything).

    Lists match any of their values; different fields must all match. Industry and keywords match the
    news record's `行业` / `关键词` fields as substrings; dates compare the document's `date` field.
    """

    industry: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    date_from: str | None = None
    date_to: str | None = None
    doc_ids: list[str] = field(default_factory=list)
    source: str | None = None

    def is_empty(self) -> bool:
        return not (self.industry or self.keywords or self.date_from or self.date_to or self.doc_ids
                    or self.source)

    def matches(self, doc_id: str, source: str, metadata: dict[str, Any]) -> bool:
        """Whether one document passes every given restriction."""
        if self.doc_ids and doc_id not in self.doc_ids:
            return False
        if self.source and self.source.lower() not in (source or "").lower():
            return False
        if self.industry and not any(i and i in str(metadata.get("industry") or "") for i in self.industry):
            return False
        if self.keywords:
            hay = f"{metadata.get('keywords') or ''} {metadata.get('ai_tech') or ''}".lower()
            if not any(k and k.lower() in hay for k in self.keywords):
                return False
        if self.date_from or self.date_to:
            day = _date_key(metadata.get("date"))
            if day is None:
                return False
            if self.date_from and day < (_date_key(self.date_from) or self.date_from):
                return False
            if self.date_to and day > (_date_key(self.date_to) or self.date_to):
                return False
        return True

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v}


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
