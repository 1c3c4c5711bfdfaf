"""Optional second stage: a CrossEncoder re-scores the fused hits, reading question and passage together."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
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


#: credit for a term found only through its character bigrams ("大兴机场" in "大兴国际机场")
PARTIAL_CREDIT = 0.5

_NOT_WORD = re.compile(r"[\W_]+")


def _term_match(term: str, text: str) -> float:
    """1 when `term` occurs in `text`; else PARTIAL_CREDIT times the share of its character bigrams that do."""
    if term in text:
        return 1.0
    if len(term) < 3:
        return 0.0
    grams = [term[i : i + 2] for i in range(len(term) - 1)]
    return PARTIAL_CREDIT * sum(g in text for g in grams) / len(grams)


def longest_common_run(short: str, text: str) -> int:
    """Length of the longest substring of `short` that occurs in `text` (grown greedily from each start)."""
    best = 0
    for i in range(len(short) - best):
        j = i + best + 1
        while j <= len(short) and short[i:j] in text:
            best = j - i
            j += 1
    return best


class EvidenceReranker(Reranker):
    """Adds lexical answer evidence to the fused score of the first `top_n` hits; the rest keep their order.

    Evidence of a passage = its best sentence's share of the question's IDF-weighted terms, plus
    `type_weight` when that sentence holds the kind of answer asked for (a number for 多少, a date for
    何时, a name for 谁, a place for 哪里) beyond the question's own words, plus `phrase_weight` times the
    share of the question that the sentence holds verbatim (so 大沙地站 beats 大沙东站 in 大沙地东路, which
    term matching cannot tell apart), minus `year_penalty` when the question names a year and the sentence
    names only other years (a 2020 figure does not answer a 2021 question). Same-topic passages that only
    repeat the question lose to the one that answers it; no model is needed, so it works offline.
    """

    def __init__(self, idf: Callable[[str], float], weight: float, top_n: int = 20, type_weight: float = 0.3,
                 phrase_weight: float = 0.0, year_penalty: float = 0.0) -> None:
        self.idf = idf
        self.weight = weight
        self.top_n = top_n
        self.type_weight = type_weight
        self.phrase_weight = phrase_weight
        self.year_penalty = year_penalty

    def evidence(self, question: str, texts: list[str]) -> list[float]:
        """Best-sentence evidence of each text, in [-year_penalty, 1 + type_weight + phrase_weight]."""
        from ingest.chunking import split_sentences
        from rag.components.answer_types import AnswerType
        from rag.components.tokenize import normalise, tokenize

        terms = list(dict.fromkeys(tokenize(question)))
        weights = [self.idf(t) for t in terms]
        total = sum(weights)
        atype = AnswerType.of(question)
        q_norm = normalise(question).lower()
        q_compact = _NOT_WORD.sub("", q_norm)
        lift = self.type_weight + self.phrase_weight  # the most a sentence can gain beyond its coverage
        out = []
        for text in texts:
            scored = []
            for sent in split_sentences(text) or [text]:
                low = normalise(sent).lower()
                matched = sum(w * _term_match(t, low) for t, w in zip(terms, weights, strict=True))
                scored.append((matched / total if total else 0.0, sent, low))
            scored.sort(key=lambda s: -s[0])
            best = -self.year_penalty
            for cov, sent, low in scored:  # best coverage first, so the costlier checks stop early
                if cov + lift < best:  # nothing this or any later sentence holds can lift it above the best
                    break
                score = cov + self.type_weight * atype.found(sent)
                if self.phrase_weight and q_compact:
                    run = longest_common_run(q_compact, _NOT_WORD.sub("", low))
                    score += self.phrase_weight * run / len(q_compact)
                if self.year_penalty and atype.other_year(sent):
                    score -= self.year_penalty
                best = max(best, score)
            out.append(best)
        return out

    def rerank(self, question: str, hits: list[Hit]) -> list[Hit]:
        head, tail = hits[: self.top_n], hits[self.top_n :]
        ev = self.evidence(question, [h.chunk.text for h in head])
        head = [replace(h, score=h.score + self.weight * e) for h, e in zip(head, ev, strict=True)]
        return sorted(head, key=lambda h: -h.score) + tail


def build_reranker(settings: RerankSettings) -> Reranker | None:
    """The configured reranker, or None when `rerank.enabled` is false."""
    if not settings.enabled:
        return None
    return CrossEncoderReranker(settings.model, top_n=settings.top_n)


__all__ = ["CrossEncoderReranker", "EvidenceReranker", "Reranker", "build_reranker"]
