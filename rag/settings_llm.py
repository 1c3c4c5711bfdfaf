"""LLM settings (the `llm:` section): which OpenAI-compatible models may answer, and at what price."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

Tier = Literal["free", "cheap", "strong"]
TIER_RANK: dict[str, int] = {"free": 0, "cheap": 1, "strong": 2}

# A model name starting with this marks an entry the user must complete before it can be used.
UNSET_MODEL_PREFIX = "SET-ME"


class OffPeakPrice(BaseModel):
    """A discounted price window, in Beijing time (UTC+8), as some vendors offer at night."""

    start: str = Field(..., pattern=r"^\d{2}:\d{2}$", description="window start, HH:MM Beijing time")
    end: str = Field(..., pattern=r"^\d{2}:\d{2}$", description="window end, HH:MM Beijing time (may wrap)")
    price_input: float = Field(..., ge=0, description="CNY per million input tokens inside the window")
    price_output: float = Field(..., ge=0, description="CNY per million output tokens inside the window")


class ProviderSettings(BaseModel):
    """One OpenAI-compatible endpoint + model, with its price and limits."""

    name: str = Field(..., min_length=1, description="unique label used in logs, health and answers")
    base_url: str = Field(..., description="OpenAI-compatible base URL, ending before /chat/completions")
    model: str = Field(
        ..., description=f"model id sent to the API; '{UNSET_MODEL_PREFIX}…' means not set yet"
    )
    api_key_env: str = Field(
        "", description="environment variable holding the key; empty for local servers that need none"
    )
    price_input: float = Field(..., ge=0, description="CNY per million input tokens (cache miss)")
    price_output: float = Field(..., ge=0, description="CNY per million output tokens")
    price_input_cached: float | None = Field(
        None, ge=0, description="CNY per million input tokens served from the vendor's prompt cache"
    )
    off_peak: OffPeakPrice | None = Field(
        None, description="night-time discount window, if the vendor has one"
    )
    context_window: int = Field(8192, ge=256, description="tokens the model accepts, prompt plus output")
    max_output_tokens: int | None = Field(
        None, ge=16, description="output budget for this provider; None uses llm.max_output_tokens"
    )
    rpm: int | None = Field(None, ge=1, description="requests per minute allowed; None means no local limit")
    timeout_s: float = Field(30.0, gt=0, description="seconds before a call (or a stream read) times out")
    tier: Tier | None = Field(None, description="free | cheap | strong; None derives it from the prices")
    enabled: bool = Field(True, description="false keeps the entry inert even when its key is set")
    stream_usage: bool = Field(
        True,
        description="ask for usage in streams (stream_options.include_usage); off if the vendor rejects it",
    )

    @property
    def is_free(self) -> bool:
        return self.price_input == 0 and self.price_output == 0

    @property
    def effective_tier(self) -> str:
        if self.tier is not None:
            return self.tier
        return "free" if self.is_free else "cheap"

    @property
    def model_unset(self) -> bool:
        return not self.model.strip() or self.model.startswith(UNSET_MODEL_PREFIX)


class GroundingSettings(BaseModel):
    """How a cheap model's answer is checked before it is trusted (else escalate once)."""

    enabled: bool = Field(True, description="check citations and support; off accepts any answer")
    min_support: float = Field(
        0.30,
        ge=0,
        le=1,
        description="share of a sentence's word bigrams that its best window of one or two cited chunk sentences "
                    "must contain",
    )
    min_sentence_chars: int = Field(
        6, ge=1, description="sentences with fewer CJK/alphanumeric characters need no citation"
    )
    check_numbers: bool = Field(
        True, description="every number in a sentence must be stated, by value and unit, where a cited chunk "
                          "matches the sentence's clause best"
    )
    number_clause_margin: float = Field(
        0.25, ge=0, le=1, description="a number is taken from elsewhere when a chunk clause stating another figure "
                                      "matches the claim's clause by this much (Dice of bigrams) better than any "
                                      "clause stating it"
    )
    number_clause_enough: float = Field(
        0.6, ge=0, le=1, description="a clause stating the number that holds this share of its words' weight in "
                                     "the claim's clause is where the number comes from, whatever else matches"
    )
    min_noun_coverage: float | None = Field(
        None, ge=0, le=1, description="a sentence below min_support (but at least noun_coverage_floor) is still "
                                      "supported when this share of its nouns is written, or half their characters "
                                      "are, in its cited chunks (None: off; docs/grounding.md has the measurement)"
    )
    noun_coverage_floor: float = Field(0.15, ge=0, le=1, description="see min_noun_coverage")
    check_figure_pairs: bool = Field(
        True, description="two figures of a sentence must not be bound to each other's labels in a chunk sentence "
                          "stating both (四级425分、六级480分 for the passage's 四级480分、六级425分)"
    )
    check_figure_metric: bool = Field(
        False, description="the word a figure measures in the sentence (净亏损 in 净亏损为20亿美元) must be named, or "
                           "partly written, near a chunk sentence stating the figure (off: on the labelled set it "
                           "caught 2 bad answers and escalated 5 good ones, docs/grounding.md)"
    )
    check_entities: bool = Field(
        True, description="organisations, people and products named in a sentence must appear in a cited chunk"
    )
    semantic: bool = Field(
        False, description="judge support also by embedding similarity when a real embedder is loaded "
                          "(the hash embedder of plumbing tests has none: lexical only)"
    )
    min_semantic: float = Field(
        0.85, ge=-1, le=1, description="a sentence below min_support is still supported when its best chunk "
                                       "window has at least this cosine similarity"
    )
    min_support_semantic_floor: float = Field(
        0.15, ge=0, le=1, description="below this overlap no similarity rescues a sentence"
    )
    refusal_named_support: float = Field(
        0.8, ge=0, le=1, description="a refusal is a grounding failure when one given sentence holds this share of "
                                     "what the refusal says is missing (1: off)"
    )
    strong_evidence: float = Field(
        0.95, ge=0, le=1, description="a refusal is a grounding failure when one retrieved sentence holds at least "
                                      "this share of the question's content-word weight"
    )
    refusal_joint_evidence: float = Field(
        0.8, ge=0, le=1, description="...or when retrieval evidence is at least this and one given sentence holds "
                                     "refusal_joint_named of what the refusal says is missing (1: off)"
    )
    refusal_joint_named: float = Field(0.5, ge=0, le=1, description="see refusal_joint_evidence")


def shipped_providers() -> list[ProviderSettings]:
    """The providers rag/default_settings.yaml lists: the one place they are written down."""
    from pathlib import Path

    import yaml

    path = Path(__file__).with_name("default_settings.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [ProviderSettings(**p) for p in (data.get("llm") or {}).get("providers") or []]


class LLMSettings(BaseModel):
    """Providers, output budget, cooldowns, daily budget and grounding thresholds."""

    providers: list[ProviderSettings] = Field(
        default_factory=shipped_providers,
        description="OpenAI-compatible providers; the cheapest adequate one answers",
    )
    max_output_tokens: int = Field(
        800, ge=16, description="output budget per call, counted in cost estimates"
    )
    temperature: float = Field(0.1, ge=0, le=2, description="sampling temperature sent with every call")
    cooldown_s: float = Field(60.0, ge=0, description="first cooldown after a timeout, 429 or 5xx")
    max_cooldown_s: float = Field(900.0, ge=0, description="cooldowns double on repeated failure up to this")
    daily_budget_cny: float | None = Field(
        None,
        ge=0,
        description="CNY per day on paid providers; once spent only free ones answer; None: no cap",
    )
    ledger_file: str = Field("llm_ledger.json", description="old JSON spend ledger, imported once into shared_state")
    prompt_reserve_tokens: int = Field(
        64, ge=0, description="safety margin kept free in the context window when packing chunks"
    )
    grounding: GroundingSettings = Field(default_factory=GroundingSettings)

    @model_validator(mode="after")
    def _unique_names(self) -> LLMSettings:
        names = [p.name for p in self.providers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"llm.providers names must be unique; repeated: {', '.join(dupes)}")
        return self
