"""A query-side stand-in for passage embedding, so a 23k-article index can be built without ~100 min of e5."""

from __future__ import annotations

import hashlib

import numpy as np

from rag.components.embedders.base import Embedder, normalise


class ProxyPassageEmbedder(Embedder):
    """Passages get a pseudo-random unit vector seeded by the text's hash (same dimension as `inner`);
    queries go through `inner` for real, so query latency includes the real model.

    Retrieval *quality* over such an index means nothing; its *latency* is real (HNSW over the same number
    of vectors of the same dimension, BM25 over the real chunks). Random vectors are the hard case for HNSW.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.dim = inner.dim
        self.space = inner.space  # so a real-embedder process (cold start) can open the index

    def warm_up(self) -> None:
        self.inner.warm_up()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = []
        for t in texts:
            seed = int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little")
            rows.append(np.random.default_rng(seed).standard_normal(self.dim, dtype=np.float32))
        return normalise(np.stack(rows))

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def describe(self) -> dict[str, str]:
        return {**self.inner.describe(), "passages": "proxy (hash-seeded random vectors)"}
