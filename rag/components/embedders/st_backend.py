"""Any sentence-transformers model from a local path or the local hub cache."""

from __future__ import annotations

import numpy as np

from rag.components.embedders.base import Embedder


class SentenceTransformerEmbedder(Embedder):
    """Wraps `SentenceTransformer`; prefixes are configurable because e5-style models need them."""

    def __init__(
        self,
        model: str,
        query_prefix: str = "",
        passage_prefix: str = "",
        device: str | None = None,
        batch_size: int = 16,
        st_backend: str = "torch",
    ) -> None:
        self.model_name = model
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.device = device
        self.batch_size = batch_size
        self.st_backend = st_backend
        self._model = None
        self.space = model
        self.dim = 0

    def warm_up(self) -> None:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self.model_name, device=self.device, backend=self.st_backend)
            self.dim = int(self._model.get_embedding_dimension())

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            [self.passage_prefix + t for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.asarray(vecs, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        self.warm_up()
        vec = self._model.encode([self.query_prefix + text], normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vec[0], dtype=np.float32)

    def describe(self) -> dict[str, str]:
        return {"space": self.space, "runtime": f"sentence-transformers ({self.st_backend})", "model": self.model_name}
