"""LLM provider settings (the `llm:` section). Placeholder until the LLM routing module fills it in."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LLMSettings(BaseModel):
    providers: list[dict] = Field(default_factory=list, description="OpenAI-compatible providers")
