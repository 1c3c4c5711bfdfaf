"""Optional second stage: a CrossEncoder re-scores the fused hits, reading question and passage together."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rag.types import Hit

if TYPE_CHECKING:
    from rag.settings import RerankSettings


class Reranker(ABC):
    """Reorders retrieved hits; the answerer sees them in the order returned."""

    #: how many fused hits the retriever hands over for re-scoring
    top_n: int = 20

    @abstractmethod
    def rerank(self, question: str, hits: list[Hit]) -> list[Hit]:
        """Return hits best first, each `score` replaced by the reranker's own score."""


class CrossEncoderReranker(Reranker):
    """Re-scores the first `top_n` fused hits with a sentence-transformers CrossEncoder; drops the rest."""

    def __init__(self, model_path: str | Path, top_n: int = 20, batch_size: int = 16,
                 device: str | None = None) -> None:
        if top_n < 1:
            raise ValueError(f"rerank.top_n must be at least 1, got {top_n}")
        self.model_path = str(model_path)
        self.top_n = top_n
        self.batch_size = batch_size
        self._model = self._load(self.model_path, device)

    @staticmethod
    def _load(model_path: str, device: str | None):
        """Load from a local directory, or from the local hub cache only: never download."""
        from sentence_transformers import CrossEncoder

        if not model_path:
            raise ValueError("rerank.model is empty: set it to a local CrossEncoder directory")
        if Path(model_path).expanduser().is_dir():
            return CrossEncoder(str(Path(model_path).expanduser()), device=device)
        try:
            return CrossEncoder(model_path, device=device, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any load failure means the model is not available here
            raise FileNotFoundError(
                f"rerank.model {model_path!r} is neither a local directory nor in the local hub cache "
                f"({type(exc).__name__}); point it at a saved CrossEncoder or disable rerank"
            ) from exc

    def rerank(self, question: str, hits: list[Hit]) -> list[Hit]:
        head = hits[: self.top_n]
        if not head:
            return []
        scores = self._model.predict(
            [(question, h.chunk.text) for h in head], batch_size=self.batch_size,
            show_progress_bar=False, convert_to_numpy=True,
        )
        scored = [replace(h, score=float(s)) for h, s in zip(head, scores.reshape(len(head), -1)[:, 0],
                                                                 strict=True)]
        return sorted(scored, key=lambda h: h.score, reverse=True)


def build_reranker(settings: RerankSettings) -> Reranker | None:
    """The configured reranker, or None when `rerank.enabled` is false."""
    if not settings.enabled:
        return None
    return CrossEncoderReranker(settings.model, top_n=settings.top_n)


__all__ = ["CrossEncoderReranker", "Reranker", "build_reranker"]
