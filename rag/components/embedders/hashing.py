"""Deterministic, dependency-free embedder for tests that exercise storage rather than meaning."""

from __future__ import annotations

import hashlib

import numpy as np

from rag.components.embedders.base import Embedder, normalise


class HashEmbedder(Embedder):
    """Feature-hashes character unigrams and bigrams: same text, same vector, on any machine."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.space = f"hash-{dim}"

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        chars = [c for c in text if not c.isspace()]
        grams = chars + [a + b for a, b in zip(chars, chars[1:], strict=False)]
        for g in grams:
            h = int.from_bytes(hashlib.blake2b(g.encode("utf-8"), digest_size=8).digest(), "little")
            vec[h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
        return vec

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise(np.stack([self._one(t) for t in texts]))

    def embed_query(self, text: str) -> np.ndarray:
        return normalise(self._one(text)[None, :])[0]

    def describe(self) -> dict[str, str]:
        return {"space": self.space, "runtime": "hash", "model": "hash"}
