"""Request and response bodies of the HTTP API, with the examples the OpenAPI page shows."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rag.types import Citation, Filters

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class FiltersModel(BaseModel):
    """Restrict retrieval to documents whose metadata match (inside both the vector and the keyword search)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"industry": ["人工智能"], "date_from": "2024-05-01", "date_to": "2024-05-31"}]})

    industry: list[str] = Field(default_factory=list, max_length=50, description="any of these 行业 values")
    keywords: list[str] = Field(default_factory=list, max_length=50, description="any of these 关键词")
    date_from: str | None = Field(None, description="YYYY-MM-DD, inclusive; documents without a date are excluded")
    date_to: str | None = Field(None, description="YYYY-MM-DD, inclusive")
    doc_ids: list[str] = Field(default_factory=list, max_length=1000, description="only these documents")
    source: str | None = Field(None, max_length=500, description="a substring of the document's source or link")

    @field_validator("date_from", "date_to")
    @classmethod
    def _day(cls, v: str | None) -> str | None:
        if v is not None and not _DAY.match(v):
            raise ValueError("dates must be written YYYY-MM-DD")
        return v

    def to_filters(self) -> Filters:
        return Filters(**self.model_dump())


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["user", "assistant", "system"]
    content: str = Field(..., max_length=20000)


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "字节跳动豆包主力模型的企业市场定价是多少？"},
        {"question": "那阿里云呢？", "history": [
            {"role": "user", "content": "字节跳动豆包主力模型的企业市场定价是多少？"},
            {"role": "assistant", "content": "0.0008元/千Tokens [1]"}],
         "filters": {"industry": ["人工智能"]}, "top_k": 5}]})

    question: str = Field(..., max_length=2000, description="the question, in Chinese or English")
    top_k: int | None = Field(None, ge=1, le=50, description="passages to retrieve (default: settings)")
    filters: FiltersModel | None = Field(None, description="metadata restrictions")
    history: list[Message] = Field(default_factory=list, max_length=50,
                                   description="earlier turns; a follow-up is rewritten into a standalone question")
    kb: str | None = Field(None, max_length=64, description="the knowledge base to ask (default: `default`)")
    kbs: list[Annotated[str, Field(max_length=64)]] | None = Field(
        None, min_length=1, max_length=20, description="several knowledge bases to ask together (instead of `kb`)")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("question must not be empty")
        return v.strip()

    def history_dicts(self) -> list[dict[str, str]]:
        return [m.model_dump() for m in self.history]

    def bases(self) -> list[str]:
        """The knowledge bases named: `kbs`, else `kb`, else the default base (each once)."""
        names = list(self.kbs or []) + ([self.kb] if self.kb else [])
        return list(dict.fromkeys(names)) or ["default"]


class AttemptModel(BaseModel):
    """One provider tried for the answer."""

    provider: str
    model: str
    outcome: str = Field(description="answered | escalated | failed | skipped")
    reason: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    usage_estimated: bool | None = None
    cost: float | None = Field(None, description="CNY")


class GroundingModel(BaseModel):
    """The citation check of an LLM answer (rag/components/llm/grounding.py)."""

    model_config = ConfigDict(extra="allow")  # the check reports more as it learns more; nothing is dropped

    ok: bool
    refused: bool = False
    cited: list[int] = Field(default_factory=list, description="chunk numbers the answer cites")
    problems: list[str] = Field(default_factory=list)


class AskResponse(BaseModel):
    """The answer and everything about how it was produced; fields that do not apply are left out."""

    answer: str
    citations: list[Citation]  # the shared dataclass: one definition for services and the API
    model: str = Field(description="the model that produced the text (`extractive` without an LLM)")
    cost: float = Field(description="CNY, every call made for this answer included")
    latency_ms: float
    refused: bool
    provider: str | None = Field(None, description="configured provider name, or `extractive`")
    tier: str | None = Field(None, description="free | cheap | strong")
    input_tokens: int | None = None
    output_tokens: int | None = None
    usage_estimated: bool | None = Field(None, description="true when the provider sent no token counts")
    estimated_cost: float | None = Field(None, description="the router's estimate before the call, CNY")
    tried: list[AttemptModel] | None = Field(None, description="every provider tried, in order")
    grounding: GroundingModel | None = None
    chunks_given: int | None = Field(None, description="passages packed into the prompt")
    spent_today_cny: float | None = None
    daily_budget_cny: float | None = None
    fallback_reason: str | None = Field(None, description="why the extractive answerer answered instead of an LLM")
    truncated_output: bool | None = None
    escalated_from: str | None = None
    escalation_reason: str | None = None
    warning: str | None = None
    evidence: float | None = Field(None, description="lexical evidence of the extractive answer, 0..1")
    question: str | None = Field(None, description="the question as asked (when it was rewritten)")
    standalone_question: str | None = Field(None, description="the rewritten question retrieval used")
    rewrite: str | None = Field(None, description="rule | llm")
    rewrite_provider: str | None = None
    filters: dict[str, Any] | None = Field(None, description="the filters applied")


class ChatCompletionRequest(BaseModel):
    """The OpenAI chat-completions body; fields this service has no use for are accepted and ignored."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"model": "rag", "messages": [{"role": "user", "content": "字节跳动豆包主力模型的企业市场定价是多少？"}]}]})

    model: str = Field("rag", max_length=200)
    messages: list[Message] = Field(..., min_length=1, max_length=100)
    stream: bool = False
    filters: FiltersModel | None = Field(None, description="extension: metadata restrictions")
    top_k: int | None = Field(None, ge=1, le=50, description="extension: passages to retrieve")

    @field_validator("messages")
    @classmethod
    def _ends_with_question(cls, v: list[Message]) -> list[Message]:
        if v[-1].role != "user" or not v[-1].content.strip():
            raise ValueError("the last message must be a non-empty user message (the question)")
        return v


class RewriteEventOut(BaseModel):
    type: Literal["rewrite"]
    standalone_question: str
    method: str


class TokenEventOut(BaseModel):
    type: Literal["token"]
    text: str


class ResetEventOut(BaseModel):
    type: Literal["reset"]
    reason: str


class DoneEventOut(BaseModel):
    type: Literal["done"]
    answer: AskResponse


#: one server-sent event of /ask/stream (the `data:` JSON), told apart by `type`
StreamEventOut = Annotated[RewriteEventOut | TokenEventOut | ResetEventOut | DoneEventOut, Field(discriminator="type")]


# ---- response bodies of the other routes ----

class ErrorBody(BaseModel):
    code: str
    message: str
    hint: str | None = None


class ErrorResponse(BaseModel):
    """A known error (rag/errors.py): 4xx or 503."""

    error: ErrorBody
    detail: str


class DocumentRecord(BaseModel):
    model_config = ConfigDict(extra="allow")

    doc_id: str
    title: str
    source: str
    chunks: int
    chars: int
    ingested_at: str
    origin: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)


class DocumentsPage(BaseModel):
    total: int
    offset: int
    limit: int
    count: int
    documents: list[DocumentRecord]


class ChunkRecord(BaseModel):
    model_config = ConfigDict(extra="allow")

    chunk_id: str
    text: str
    start: int
    end: int
    page: int | None = None


class DocumentDetail(BaseModel):
    """One document's record with its chunks in reading order (here `chunks` are the chunks, not a count)."""

    model_config = ConfigDict(extra="allow")

    doc_id: str
    title: str
    source: str
    chars: int
    ingested_at: str
    origin: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    chunks: list[ChunkRecord]


class IndexCheck(BaseModel):
    """Do the vector store, keyword index and registry agree (counts of each kind of disagreement)?"""

    model_config = ConfigDict(extra="allow")

    documents: int
    chunks: int
    keyword_chunks: int
    duplicates: int
    vector_only: int
    keyword_only: int
    unregistered: int
    missing_vectors: int
    unknown_document: int
    missing_text: int
    consistent: bool


class RepairReport(IndexCheck):
    repaired: dict[str, int]


class Deleted(BaseModel):
    deleted: str


class FileStatus(BaseModel):
    model_config = ConfigDict(extra="allow")

    file: str
    status: str = Field(description="added | unchanged | error")
    ids: list[str]
    chunks: int | None = None
    error: str | None = None
    action: str | None = Field(None, description="added | unchanged | renamed | replaced (an upload's identity)")
    stored_as: str | None = Field(None, description="the name the upload is stored under, e.g. `report (2).txt`")
    replaced: list[str] | None = Field(None, description="ids of the documents a `replace` upload replaced")


class UploadReport(BaseModel):
    model_config = ConfigDict(extra="allow")

    ids: list[str]
    files: list[FileStatus]
    added: list[dict[str, Any]]
    unchanged: int
    unchanged_ids: list[str]
    removed: list[str]
    errors: list[dict[str, Any]]
    chunks: int
    skipped: list[dict[str, Any]] = Field(default_factory=list,
                                          description="files passed over, with why (an unsupported type...)")
    skipped_count: int = 0
    detail: str | None = Field(None, description="on 400/413: every file's error")


class HealthResponse(BaseModel):
    """Service status; which fields an unauthenticated caller sees is up to the server."""

    model_config = ConfigDict(extra="allow")

    status: str
    data_dir: str | None = None
    documents: int | None = None
    chunks: int | None = None
    keyword_chunks: int | None = None
    embedder: dict[str, Any] | None = None
    spent_today_cny: float | None = None
    providers_ready: int | None = None
    llm: dict[str, Any] | None = Field(None, description="per provider status and the daily budget")


class ModelCard(BaseModel):
    id: str
    object: str = "model"
    created: int = 0
    owned_by: str
    description: str


class ModelList(BaseModel):
    object: str = "list"
    data: list[ModelCard]


class ChatMessageOut(BaseModel):
    role: str
    content: str


class ChatChoice(BaseModel):
    index: int
    message: ChatMessageOut
    finish_reason: str


class ChatUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletionResponse(BaseModel):
    """OpenAI's chat.completion, plus `citations`, `answered_by` and `cost` (CNY)."""

    id: str
    object: str = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: ChatUsage
    citations: list[Citation]
    answered_by: str
    cost: float | None = None
    refused: bool | None = None
    latency_ms: float | None = None
    standalone_question: str | None = None
    fallback_reason: str | None = None


class KbOut(BaseModel):
    """One knowledge base: its name and size."""

    name: str
    documents: int
    chunks: int


class KbList(BaseModel):
    """The knowledge bases this key may read, `default` first."""

    kbs: list[KbOut]


class KbCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "新能源研报"}]})

    name: str = Field(..., min_length=1, max_length=64,
                      description="1-64 letters (any script), digits, '_', '-' or '.', starting with a letter or digit")


class KbRename(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "半导体研报"}]})

    name: str = Field(..., min_length=1, max_length=64, description="the new name")


class KbDeleted(BaseModel):
    deleted: str


#: the known errors every route may answer (rag/errors.py), for the OpenAPI page
ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorResponse, "description": "the API key may not use this knowledge base (kb_forbidden)"},
    404: {"model": ErrorResponse, "description": "no such knowledge base (kb_not_found)"},
    409: {"model": ErrorResponse, "description": "embedder mismatch (the index holds other vectors)"},
    503: {"model": ErrorResponse, "description": "the vector store (Chroma server) does not answer"},
}
