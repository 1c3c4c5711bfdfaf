"""Rank providers for one request by estimated cost; say why each unusable one is skipped."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from rag.components.llm.pricing import call_cost
from rag.components.llm.prompt import PackedPrompt, pack_prompt
from rag.components.llm.provider_state import ProviderStates
from rag.settings_llm import TIER_RANK, LLMSettings, ProviderSettings
from rag.types import Hit


@dataclass
class Candidate:
    """A provider that can take this request, with its packed prompt and estimated cost (CNY)."""

    provider: ProviderSettings
    prompt: PackedPrompt
    output_tokens: int
    est_cost: float
    order: int

    @property
    def tier_rank(self) -> int:
        return TIER_RANK[self.provider.effective_tier]


@dataclass
class Skip:
    """A configured provider left out of this request, and why."""

    provider: ProviderSettings
    reason: str


def api_key(provider: ProviderSettings) -> str | None:
    """The provider's key from its environment variable (None when it names one that is unset)."""
    if not provider.api_key_env:
        return None
    return os.environ.get(provider.api_key_env) or None


def not_configured_reason(provider: ProviderSettings) -> str | None:
    """Why an entry is inert (not enabled, model not set, key unset), else None."""
    if not provider.enabled:
        return "not enabled (enabled: false)"
    if provider.model_unset:
        return f"model name not set ({provider.model or 'empty'})"
    if provider.api_key_env and not api_key(provider):
        return f"no key (${provider.api_key_env} is not set)"
    return None


def output_budget(provider: ProviderSettings, settings: LLMSettings) -> int:
    return provider.max_output_tokens or settings.max_output_tokens


def rank(
    settings: LLMSettings,
    question: str,
    hits: list[Hit],
    states: ProviderStates,
    budget_left: float | None,
    when: datetime,
) -> tuple[list[Candidate], list[Skip]]:
    """Configured providers able to answer now, cheapest first (free = 0 first); the rest with reasons."""
    candidates: list[Candidate] = []
    skipped: list[Skip] = []
    for order, provider in enumerate(settings.providers):
        if not_configured_reason(provider):
            continue
        reason = states.unavailable_reason(provider.name, provider.rpm)
        if reason:
            skipped.append(Skip(provider, reason))
            continue
        out_tokens = output_budget(provider, settings)
        prompt = pack_prompt(
            question, hits, provider.context_window, out_tokens, settings.prompt_reserve_tokens
        )
        if prompt is None:
            skipped.append(
                Skip(
                    provider,
                    f"context window {provider.context_window} too small for the question, "
                    f"one chunk and {out_tokens} output tokens",
                )
            )
            continue
        est = call_cost(provider, prompt.input_tokens, out_tokens, when)
        if budget_left is not None and est > 0:
            if budget_left <= 0:
                skipped.append(Skip(provider, "daily budget spent: only free providers until tomorrow"))
                continue
            if est > budget_left:
                skipped.append(
                    Skip(
                        provider, f"estimated cost {est:.6f} CNY exceeds the {budget_left:.6f} CNY left today"
                    )
                )
                continue
        candidates.append(Candidate(provider, prompt, out_tokens, est, order))
    candidates.sort(key=lambda c: (c.est_cost, c.tier_rank, c.order))
    return candidates, skipped


def escalation_targets(current: Candidate, remaining: list[Candidate]) -> list[Candidate]:
    """Providers to escalate to after an ungrounded answer: a higher tier, else anything costlier."""
    higher = [c for c in remaining if c.tier_rank > current.tier_rank]
    if higher:
        return higher
    return [c for c in remaining if c.est_cost > current.est_cost]
