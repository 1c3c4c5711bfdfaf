"""Request and response bodies of the HTTP API, with the examples the OpenAPI page shows."""

from __future__ import annotations

import re
from typing import Literal

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

    @field_validator("question")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("question must not be empty")
        return v.strip()

    def history_dicts(self) -> list[dict[str, str]]:
        return [m.model_dump() for m in self.history]


class AskResponse(BaseModel):
    model_config = ConfigDict(extra="allow")  # provider, tokens, tried… come from the LLM router

    answer: str
    citations: list[Citation]  # the shared dataclass: one definition for services and the API
    model: str
    cost: float = Field(description="CNY")
    latency_ms: float
    refused: bool


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
