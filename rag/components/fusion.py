"""Adaptive fusion: a small calibrated linear model over each candidate's ranks, scores and list agreement.

One fixed dense weight fits the sets it was tuned on (Wikipedia paragraphs want the dense side, news articles
whose questions hinge on names and numbers want BM25). Here each candidate chunk gets features from both lists
(normalised score, reciprocal rank, whether both retrievers found it), from the two lists' confidence on this
question (the top-1 score gap of each, how much their top 10 documents agree) multiplied into its scores, so the
weight of each retriever moves per question, and from its document (how many of the document's chunks were
found and their best scores, so an article matching in several places counts). Stage 1 scores every candidate;
stage 2 adds the lexical answer evidence of the first `top_n` (EvidenceReranker.evidence) and re-scores them.
The weights are fitted by `python -m eval.fusion_fit` (softmax over each question's candidates, each dataset
weighted equally) and shipped in `fusion_model.json`; `python -m eval.fusion_lodo` reports leave-one-dataset-out.
Hand-written because no installed library fuses two ranked lists with per-query learned weights (llama-index's
QueryFusionRetriever offers fixed RRF / relative-score modes only).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: stage-1 features, in the order of the weight vector
STAGE1 = ("d", "k", "d_rr", "k_rr", "both", "d_cos", "k_full", "d_x_dgap", "k_x_kgap", "d_x_ov", "k_x_ov",
          "d_x_dtop", "k_x_dtop", "d_x_ktop", "k_x_ktop", "doc_n", "doc_cos", "doc_k", "doc_dsum", "doc_ksum",
          "len", "d_x_len", "k_x_len", "dc_x_len", "kf_x_len")
#: stage-2 features: stage 1's plus its score and the evidence of the chunk's best sentence
STAGE2 = (*STAGE1, "s1", "ev", "ev_x_len")
#: (low, high) of the dense and the keyword confidence level over the three fitting sets' questions
LEVEL_RANGE = ((0.4, 1.7), (-1.7, 1.8))
#: passage length (characters) the length features are measured against
LENGTH_UNIT = 400
#: the model file shipped beside this module
DEFAULT_MODEL = Path(__file__).with_name("fusion_model.json")


@dataclass
class Candidates:
    """One question's candidate chunks (the union of both lists) with their stage-1 feature rows."""

    chunk_ids: list[str]
    doc_ids: list[str]
    dense: list[float | None]
    keyword: list[float | None]
    x: np.ndarray  # (n, len(STAGE1))
    q_len: float = 0.0  # log of the mean length of the first dense hits over LENGTH_UNIT


def _minmax(values: list[float]) -> list[float]:
    if not values:
        return []
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        return [1.0] * len(values)
    return [(v - lo) / (hi - lo) for v in values]


def _gap(scores: list[float]) -> float:
    """Top-1 minus top-2 over the list's spread: near 1 when one hit stands out, near 0 when it does not."""
    if len(scores) < 2:
        return 1.0 if scores else 0.0
    spread = scores[0] - scores[-1]
    return (scores[0] - scores[1]) / spread if spread > 1e-12 else 0.0


def candidate_features(dense: list[tuple[str, str, float]], keyword: list[tuple[str, str, float]],
                       dense_more: list[tuple[str, str, float]] = (),  # type: ignore[assignment]
                       keyword_more: list[tuple[str, str, float]] = (),  # type: ignore[assignment]
                       lengths: dict[str, int] | None = None) -> Candidates:
    """Stage-1 features of the union of two ranked lists of (chunk_id, doc_id, score), best first.

    `dense_more` / `keyword_more` complete the scores: each retriever's score of chunks the other one found
    (the cosine of every chunk of the keyword hits' documents, the BM25 score of the dense hits), so a chunk
    found by one list is not scored as if the other had given it nothing. `lengths` (characters of each
    chunk) let the weights follow passage length: e5-small ranks short passages well and long news chunks
    poorly, so the typical length of this question's dense hits moves weight between the two retrievers.
    """
    d_norm = dict(zip((c for c, _, _ in dense), _minmax([s for _, _, s in dense]), strict=True))
    k_norm = dict(zip((c for c, _, _ in keyword), _minmax([s for _, _, s in keyword]), strict=True))
    d_rank = {c: r for r, (c, _, _) in enumerate(dense)}
    k_rank = {c: r for r, (c, _, _) in enumerate(keyword)}
    cos = {c: s for c, _, s in (*dense_more, *dense)}
    bm25 = {c: s for c, _, s in (*keyword_more, *keyword)}
    docs: dict[str, str] = {}
    for c, doc, _ in (*dense, *keyword):
        docs.setdefault(c, doc)
    doc_cos: dict[str, float] = {}
    for _c, doc, s in (*dense, *dense_more):  # the document's best chunk by cosine, found or completed
        doc_cos[doc] = max(doc_cos.get(doc, -1.0), s)
    ids = list(docs)
    d_top = dense[0][2] if dense else 0.0
    d_low = dense[-1][2] if dense else 0.0
    k_top = keyword[0][2] if keyword and keyword[0][2] > 0 else 1.0
    d_gap = _gap([s for _, _, s in dense])
    k_gap = _gap([s for _, _, s in keyword])
    top_d = {doc for _, doc, _ in dense[:10]}
    top_k = {doc for _, doc, _ in keyword[:10]}
    overlap = len(top_d & top_k) / max(1, min(len(top_d), len(top_k))) if top_d and top_k else 0.0
    # How sure each retriever is on this question: the best cosine, and the best BM25 score (high when the
    # question's rare terms, such as names, occur together in one chunk).
    # Both are clipped to the range the shipped weights were fitted on (e5-small's cosines, BM25 over jieba
    # terms), so another embedder's scale, or the hash embedder's, is not extrapolated.
    d_level = min(max(10.0 * (d_top - 0.8), LEVEL_RANGE[0][0]), LEVEL_RANGE[0][1]) if dense else 0.0
    k_level = min(max(math.log1p(keyword[0][2]) - 2.5, LEVEL_RANGE[1][0]), LEVEL_RANGE[1][1]) if keyword else 0.0
    lengths = lengths or {}
    near = [lengths.get(c, LENGTH_UNIT) for c, _, _ in dense[:10]]
    q_len = math.log(max(sum(near) / len(near), 1.0) / LENGTH_UNIT) if near else 0.0
    by_doc: dict[str, list[str]] = {}
    for c in ids:
        by_doc.setdefault(docs[c], []).append(c)
    rows = []
    for c in ids:
        d, k = d_norm.get(c, 0.0), k_norm.get(c, 0.0)
        dc = 10.0 * (cos.get(c, d_low) - d_top)  # cosine below the best (unknown: the last dense hit's)
        kf = bm25.get(c, 0.0) / k_top
        sib = by_doc[docs[c]]
        rows.append([
            d, k,
            1.0 / (1 + d_rank[c]) if c in d_rank else 0.0,
            1.0 / (1 + k_rank[c]) if c in k_rank else 0.0,
            float(c in d_rank and c in k_rank),
            dc, kf,
            d * d_gap, k * k_gap, d * overlap, k * overlap,
            dc * d_level, kf * d_level, dc * k_level, kf * k_level,
            math.log(len(sib)),
            10.0 * (doc_cos.get(docs[c], d_low) - d_top),
            max(bm25.get(s, 0.0) for s in sib) / k_top,
            sum(d_norm.get(s, 0.0) for s in sib) - d,  # the rest of the document's chunks, by each retriever
            sum(k_norm.get(s, 0.0) for s in sib) - k,
            math.log(max(lengths.get(c, LENGTH_UNIT), 1) / LENGTH_UNIT),
            d * q_len, k * q_len, dc * q_len, kf * q_len,
        ])
    x = np.asarray(rows, dtype=np.float64).reshape(len(ids), len(STAGE1))
    return Candidates(ids, [docs[c] for c in ids], [cos.get(c) for c in ids], [bm25.get(c) for c in ids], x, q_len)


def stage2_features(x1: np.ndarray, s1: np.ndarray, ev: np.ndarray, q_len: float = 0.0) -> np.ndarray:
    """Stage-2 rows of the head: its stage-1 rows, stage-1 score, evidence, and evidence by passage length."""
    return np.column_stack([x1, s1, ev, ev * q_len])


@dataclass
class FusionModel:
    """Weights of both stages (and how many stage-1 candidates stage 2 re-scores)."""

    w1: np.ndarray
    w2: np.ndarray
    top_n: int = 15
    note: str = ""

    def stage1(self, x: np.ndarray) -> np.ndarray:
        return x @ self.w1

    def stage2(self, x: np.ndarray) -> np.ndarray:
        return x @ self.w2

    def to_json(self) -> dict:
        return {"stage1": dict(zip(STAGE1, map(float, self.w1), strict=True)),
                "stage2": dict(zip(STAGE2, map(float, self.w2), strict=True)), "top_n": self.top_n,
                "note": self.note}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, data: dict) -> FusionModel:
        try:
            w1 = np.array([float(data["stage1"][f]) for f in STAGE1])
            w2 = np.array([float(data["stage2"][f]) for f in STAGE2])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"fusion model lacks a weight for {exc}: refit it with `python -m eval.fusion_fit`")\
                from None
        return cls(w1, w2, int(data.get("top_n", 15)), str(data.get("note", "")))

    @classmethod
    def load(cls, path: str | Path | None = None) -> FusionModel:
        """The model at `path`, or the shipped one."""
        p = Path(path).expanduser() if path else DEFAULT_MODEL
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"retrieval.fusion_model {p} not found") from None
        return cls.from_json(data)


def rank(model: FusionModel, cand: Candidates, evidence) -> list[tuple[int, float]]:
    """(candidate index, score) best first: stage 1 over all, stage 2 (with `evidence(indices)`) over the head.

    The head's stage-2 scores are shifted to sit above every tail score, so the tail keeps stage 1's order
    below it (as the evidence stage did).
    """
    n = len(cand.chunk_ids)
    if n == 0:
        return []
    s1 = model.stage1(cand.x)
    order = sorted(range(n), key=lambda i: (-s1[i], cand.chunk_ids[i]))
    head, tail = order[: model.top_n], order[model.top_n :]
    ev = np.asarray(evidence(head), dtype=np.float64)
    s2 = model.stage2(stage2_features(cand.x[head], s1[head], ev, cand.q_len))
    floor = max((s1[i] for i in tail), default=0.0)
    shift = floor - s2.min() + 1.0 if tail else 0.0
    scored = sorted(((i, float(s + shift)) for i, s in zip(head, s2, strict=True)),
                    key=lambda t: (-t[1], cand.chunk_ids[t[0]]))
    return scored + [(i, float(s1[i])) for i in tail]


__all__ = ["DEFAULT_MODEL", "STAGE1", "STAGE2", "Candidates", "FusionModel", "candidate_features", "rank",
           "stage2_features"]
