"""Hybrid retrieval: dense (Chroma) and BM25 (jieba) candidates fused into one ranking."""

from __future__ import annotations

from rag.components.fusion import FusionModel, candidate_features
from rag.components.fusion import rank as fusion_rank
from rag.components.reranker import EvidenceReranker, Reranker
from rag.services.library import Library
from rag.settings import RetrievalSettings
from rag.types import Chunk, Filters, Hit

# Fusion is written here rather than through llama-index's QueryFusionRetriever: our two retrievers are
# not llama-index retrievers, and we keep each retriever's raw score on the hit (the answerer and the
# evaluation use them), which QueryFusionRetriever's fused NodeWithScore drops.


def _minmax(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if hi - lo < 1e-12:
        return {k: 1.0 for k in scores}
    return {k: (v - lo) / (hi - lo) for k, v in scores.items()}


def fuse_weighted(dense: dict[str, float], keyword: dict[str, float], dense_weight: float) -> dict[str, float]:
    """Min-max normalise each list, then mix; a chunk missing from a list gets 0 from it."""
    d, k = _minmax(dense), _minmax(keyword)
    return {cid: dense_weight * d.get(cid, 0.0) + (1 - dense_weight) * k.get(cid, 0.0) for cid in d.keys() | k.keys()}


def fuse_rrf(dense: list[str], keyword: list[str], k: int) -> dict[str, float]:
    """Reciprocal-rank fusion: sum of 1 / (k + rank) over the lists a chunk appears in."""
    out: dict[str, float] = {}
    for ranking in (dense, keyword):
        for rank, cid in enumerate(ranking, start=1):
            out[cid] = out.get(cid, 0.0) + 1.0 / (k + rank)
    return out


class RetrieveService:
    """Turns a question into ranked hits with their dense and keyword scores."""

    def __init__(self, library: Library, settings: RetrievalSettings,
                 reranker: Reranker | None = None) -> None:
        self.library = library
        self.settings = settings
        self.reranker = reranker
        self.evidence = None
        self.model: FusionModel | None = None
        if settings.fusion == "adaptive":
            # The model weighs the evidence itself (its stage 2); evidence_weight applies to weighted / rrf.
            self.model = FusionModel.load(settings.fusion_model or None)
            self.scorer = EvidenceReranker(library.idf, 1.0, self.model.top_n, settings.evidence_type_weight,
                                           settings.evidence_phrase_weight, settings.evidence_year_penalty)
        if settings.evidence_weight > 0 and settings.fusion in ("weighted", "rrf"):
            self.evidence = EvidenceReranker(library.idf, settings.evidence_weight,
                                             settings.evidence_top_n, settings.evidence_type_weight,
                                             settings.evidence_phrase_weight, settings.evidence_year_penalty)

    def retrieve(self, question: str, top_k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        """Fused hits; `filters` restrict both searches to the matching documents (inside each search)."""
        s = self.settings
        top_k = top_k or s.top_k
        n_cand = max(s.candidates, top_k)
        scope = self.library.scope(filters)
        if scope is not None and not scope[0]:
            return []
        dense_hits: list[tuple[Chunk, float]] = []
        vector = None
        if s.fusion != "keyword":
            vector = self.library.embed_query(question)
            dense_hits = self.library.dense_search(question, n_cand, doc_ids=scope[0] if scope else None,
                                                   vector=vector)
        kw_hits: list[tuple[str, float]] = []
        if s.fusion != "dense":
            kw_hits = self.library.keyword_search(question, n_cand, allowed=scope[1] if scope else None)
        if self.model is not None:
            hits = self._adaptive(question, vector, dense_hits, kw_hits)
            if self.reranker and hits:
                hits = self.reranker.rerank(question, hits)
            return hits[:top_k]
        dense = {c.chunk_id: score for c, score in dense_hits}
        keyword = dict(kw_hits)
        if s.fusion == "dense":
            fused = dict(dense)
        elif s.fusion == "keyword":
            fused = dict(keyword)
        elif s.fusion == "rrf":
            fused = fuse_rrf([c.chunk_id for c, _ in dense_hits], [cid for cid, _ in kw_hits], s.rrf_k)
        else:
            fused = fuse_weighted(dense, keyword, s.dense_weight)
        keep = max(top_k, self.reranker.top_n if self.reranker else 0, self.evidence.top_n if self.evidence else 0)
        ranked = sorted(fused, key=lambda cid: (-fused[cid], cid))[:keep]
        chunks = {c.chunk_id: c for c, _ in dense_hits}
        missing = [cid for cid in ranked if cid not in chunks]
        if missing:
            chunks.update({c.chunk_id: c for c in self.library.chunks(missing)})
        hits = [Hit(chunk=chunks[cid], score=fused[cid], dense_score=dense.get(cid), keyword_score=keyword.get(cid))
                for cid in ranked if cid in chunks]
        if self.evidence and hits:
            hits = self.evidence.rerank(question, hits)
        if self.reranker and hits:
            hits = self.reranker.rerank(question, hits)
        return hits[:top_k]

    def _adaptive(self, question: str, vector, dense_hits: list[tuple[Chunk, float]],
                  kw_hits: list[tuple[str, float]]) -> list[Hit]:
        """Both lists with completed scores, ranked by the fusion model (rag/components/fusion.py)."""
        assert self.model is not None
        chunks = {c.chunk_id: c for c, _ in dense_hits}
        missing = [cid for cid, _ in kw_hits if cid not in chunks]
        if missing:
            chunks.update({c.chunk_id: c for c in self.library.chunks(missing)})
        kw = [(cid, chunks[cid].doc_id, sc) for cid, sc in kw_hits if cid in chunks]
        # Score completion: the cosine of every chunk of the keyword hits' documents (inside one restricted
        # search, so an article matching in several chunks is seen whole) and the BM25 score of the dense hits.
        kw_docs = sorted({d for _, d, _ in kw})
        dense_more: list[tuple[str, str, float]] = []
        if kw_docs and dense_hits and vector is not None:
            dense_more = self.library.doc_similarities(vector, kw_docs)
        kw_more: list[tuple[str, float]] = []
        if dense_hits and kw_hits:
            kw_more = self.library.keyword_search(question, len(dense_hits),
                                                  allowed={c.chunk_id for c, _ in dense_hits})
        cand = candidate_features(
            [(c.chunk_id, c.doc_id, sc) for c, sc in dense_hits], kw,
            dense_more,
            [(cid, chunks[cid].doc_id, sc) for cid, sc in kw_more if cid in chunks],
            lengths={cid: len(c.text) for cid, c in chunks.items()})

        def evidence(idx: list[int]) -> list[float]:
            return self.scorer.evidence(question, [chunks[cand.chunk_ids[i]].text for i in idx])

        return [Hit(chunk=chunks[cand.chunk_ids[i]], score=sc, dense_score=cand.dense[i],
                    keyword_score=cand.keyword[i]) for i, sc in fusion_rank(self.model, cand, evidence)]
