"""Sentence similarity for the grounding check, from the service's own embedder (no second model loaded)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.components.embedders.base import Embedder, normalise
from rag.components.llm.grounding import Similarity


def embedder_similarity(embedder: Embedder | None) -> Similarity | None:
    """Cosine similarity of statements as the embedder sees them, or None for the hash embedder (its vectors
    carry no meaning: the check then stays lexical)."""
    if embedder is None or "hash" in (embedder.space or "").lower() or type(embedder).__name__ == "HashEmbedder":
        return None

    def similarity(claims: Sequence[str], evidence: Sequence[str]) -> np.ndarray:
        if not claims or not evidence:
            return np.zeros((len(claims), len(evidence)), dtype=np.float32)
        # both sides are statements, so both are embedded as passages (e5's symmetric use)
        vecs = normalise(np.asarray(embedder.embed_passages(list(claims) + list(evidence)), dtype=np.float32))
        return vecs[: len(claims)] @ vecs[len(claims) :].T

    return similarity


__all__ = ["embedder_similarity"]
