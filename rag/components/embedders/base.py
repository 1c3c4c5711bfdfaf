"""The embedder interface every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Embedder(ABC):
    """Turns passages and queries into L2-normalised float32 vectors of a fixed dimension."""

    #: identifies the vector space; an index remembers it and refuses vectors from another space
    space: str = ""
    dim: int = 0

    def warm_up(self) -> None:  # noqa: B027 - optional hook, most backends load lazily
        """Load heavy weights now rather than on the first request."""

    @abstractmethod
    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed documents, shape (len(texts), dim)."""

    @abstractmethod
    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query, shape (dim,)."""

    def describe(self) -> dict[str, str]:
        """Name the model and runtime, for eval reports and /health."""
        return {"space": self.space, "runtime": type(self).__name__}


def normalise(mat: np.ndarray) -> np.ndarray:
    """L2-normalise rows so dot products are cosines."""
    norms = np.linalg.norm(mat, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return (mat / norms).astype(np.float32)
