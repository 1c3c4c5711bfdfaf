"""Plain data shapes shared by every layer, so services and faces agree on one vocabulary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


def page_of(spans: list[tuple[int, int, int]] | list[list[int]], pos: int, default: int | None) -> int | None:
    """Page holding offset `pos` in a document's (start, end, page) spans: the last span starting at or before
    it; `default` before any span. Used by the chunker (a chunk's first page) and by citations (a sentence's)."""
    page = default
    for start, _end, number in spans:
        if start <= pos:
            page = number
        else:
            break
    return page


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
        return page_of(self.metadata.get("page_spans") or [], self.start + max(0, offset), self.page)


class ChunkSource(Protocol):
    """Where chunk text and per-document fields live when a vector store keeps only ids, vectors and doc_id."""

    def chunks(self, chunk_ids: list[str]) -> dict[str, Chunk]: ...


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
    # Other documents carrying the same story (near-duplicates collapsed into this hit, rag/services/near_dup.py).
    duplicate_doc_ids: list[str] = field(default_factory=list)


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
    duplicates: int = 0  # other documents (outlets) that carried the same story, collapsed into this one

    def __post_init__(self) -> None:
        self.duplicates = int(self.duplicates or 0)  # a remote answer's JSON without the key gives None

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "page": self.page,
            "text": self.text,
            "score": self.score,
            "duplicates": self.duplicates,
        }


@dataclass
class Usage:
    """Tokens an answer's LLM calls used, summed over every call made for it."""

    input_tokens: int = 0
    output_tokens: int = 0
    estimated: bool | None = None  # True when a provider sent no usage and the counts are estimates


@dataclass
class Attempt:
    """One provider tried for an answer: answered, escalated, failed or skipped, and why."""

    provider: str
    model: str
    outcome: str  # answered | escalated | failed | skipped
    reason: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    usage_estimated: bool | None = None
    cost: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attempt:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class Budget:
    """The daily LLM budget when the answer was given (CNY; None: no cap)."""

    spent_today_cny: float
    daily_budget_cny: float | None


@dataclass
class RewriteInfo:
    """How a follow-up was turned into the standalone question that was retrieved for."""

    question: str  # as asked
    standalone_question: str
    method: str  # rule | llm
    provider: str | None = None  # the LLM that rewrote it


#: typed fields of Answer that older producers may still pass inside `details` (lifted out at construction)
_LIFTED = ("provider", "tier", "fallback_reason", "grounding", "escalated_from", "escalation_reason", "warning",
           "truncated_output", "estimated_cost", "chunks_given", "evidence", "filters")


@dataclass
class Answer:
    """An answer with its citations, what producing it cost, and how it was produced (every field typed).

    `details` holds only keys no field describes yet (an extension's); `to_dict` gives the API's JSON, with
    the same field names as before the fields were typed.
    """

    answer: str
    citations: list[Citation]
    model: str
    cost: float = 0.0
    latency_ms: float = 0.0
    refused: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    provider: str | None = None  # the configured provider's name, or "extractive"
    tier: str | None = None
    usage: Usage | None = None
    attempts: list[Attempt] | None = None  # JSON: "tried"
    grounding: dict[str, Any] | None = None  # the citation check's verdict (rag/components/llm/grounding.py)
    fallback_reason: str | None = None  # why the extractive answerer answered instead of an LLM
    escalated_from: str | None = None
    escalation_reason: str | None = None
    warning: str | None = None
    truncated_output: bool | None = None
    estimated_cost: float | None = None
    chunks_given: int | None = None
    budget: Budget | None = None
    evidence: float | None = None  # the extractive answerer's lexical evidence, 0..1
    rewrite: RewriteInfo | None = None
    filters: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        extra = dict(self.details)
        for key in _LIFTED:
            if key in extra:
                setattr(self, key, extra.pop(key))
        if "tried" in extra:
            self.attempts = [t if isinstance(t, Attempt) else Attempt.from_dict(t) for t in extra.pop("tried")]
        if "input_tokens" in extra or "output_tokens" in extra:
            self.usage = Usage(int(extra.pop("input_tokens", 0) or 0), int(extra.pop("output_tokens", 0) or 0),
                               extra.pop("usage_estimated", None))
        if "spent_today_cny" in extra:
            self.budget = Budget(extra.pop("spent_today_cny"), extra.pop("daily_budget_cny", None))
        self.details = extra

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "answer": self.answer,
            "citations": [c.to_dict() for c in self.citations],
            "model": self.model,
            "cost": self.cost,
            "latency_ms": round(self.latency_ms, 1),
            "refused": self.refused,
        }
        if self.evidence is not None:
            out["evidence"] = self.evidence
        for key in ("provider", "tier"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.usage is not None:
            out["input_tokens"] = self.usage.input_tokens
            out["output_tokens"] = self.usage.output_tokens
            if self.usage.estimated is not None:
                out["usage_estimated"] = self.usage.estimated
        if self.estimated_cost is not None:
            out["estimated_cost"] = self.estimated_cost
        if self.attempts is not None:
            out["tried"] = [a.to_dict() for a in self.attempts]
        for key in ("grounding", "chunks_given"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.budget is not None:
            out["spent_today_cny"] = self.budget.spent_today_cny
            out["daily_budget_cny"] = self.budget.daily_budget_cny
        for key in ("fallback_reason", "truncated_output", "escalated_from", "escalation_reason", "warning"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.rewrite is not None:
            out.update({"question": self.rewrite.question, "standalone_question": self.rewrite.standalone_question,
                        "rewrite": self.rewrite.method})
            if self.rewrite.provider:
                out["rewrite_provider"] = self.rewrite.provider
        if self.filters:
            out["filters"] = self.filters
        out.update(self.details)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        """The inverse of `to_dict` (what a remote server's JSON becomes in the CLI)."""
        data = dict(data)
        citations = [c if isinstance(c, Citation) else Citation(**{k: c.get(k) for k in Citation.__dataclass_fields__})
                     for c in data.pop("citations", [])]
        rewrite = None
        if "standalone_question" in data:
            rewrite = RewriteInfo(data.pop("question", ""), data.pop("standalone_question"),
                                  data.pop("rewrite", "rule"), data.pop("rewrite_provider", None))
        base = {k: data.pop(k) for k in ("answer", "model", "cost", "latency_ms", "refused") if k in data}
        return cls(citations=citations, rewrite=rewrite, details=data, **base)


# ---- stream events: what `stream()` yields, from the LLM router up to the faces ----

@dataclass
class RewriteEvent:
    """The follow-up was rewritten; retrieval used this standalone question."""

    standalone_question: str
    method: str
    type: str = "rewrite"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "standalone_question": self.standalone_question, "method": self.method}


@dataclass
class TokenEvent:
    """A piece of answer text."""

    text: str
    type: str = "token"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "text": self.text}


@dataclass
class ResetEvent:
    """Discard the text streamed so far (a provider failed mid-stream, or the answer escalated)."""

    reason: str
    type: str = "reset"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "reason": self.reason}


@dataclass
class DoneEvent:
    """The authoritative answer; always the last event."""

    answer: Answer
    type: str = "done"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "answer": self.answer.to_dict()}


StreamEvent = RewriteEvent | TokenEvent | ResetEvent | DoneEvent
