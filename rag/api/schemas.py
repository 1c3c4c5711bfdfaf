"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rag.types import Citation


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., max_length=2000, description="the question, in Chinese or English")
    top_k: int | None = Field(None, ge=1, le=50, description="passages to retrieve (default: settings)")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("question must not be empty")
        return v.strip()


class AskResponse(BaseModel):
    model_config = ConfigDict(extra="allow")  # provider, tokens, tried… come from the LLM router

    answer: str
    citations: list[Citation]  # the shared dataclass: one definition for services and the API
    model: str
    cost: float = Field(description="CNY")
    latency_ms: float
    refused: bool
