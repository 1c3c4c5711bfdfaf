"""Retrieval and answer evaluation on a throw-away index (or the user's own), with ablations side by side."""

from __future__ import annotations

import statistics
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from eval.datasets import EvalQuestion, EvalSet, load
from eval.groups import group_relevance, ranked_groups
from eval.metrics import evaluate_rankings
from rag.components.embedders import Embedder, build_embedder
from rag.container import Services
from rag.services.extractive import ExtractiveAnswerer
from rag.services.library import Library
from rag.services.query_plan import QueryPlanner
from rag.services.retrieve import RetrieveService
from rag.settings import Settings
from rag.types import Document, Filters, Hit

#: documents ranked per question (recall@k curves go this deep)
DEPTH = 20
#: ablation name of weighted fusion with its evidence stage (the default before adaptive fusion)
PREVIOUS_DEFAULT = "weighted+evidence"


@dataclass
class EvalIndex:
    """The evaluated corpus: library, retrieval settings and the embedder (cached or not)."""

    library: Library
    settings: Settings
    data: EvalSet
    index_seconds: float

    def retriever(self, fusion: str | None = None, rerank: bool = False) -> RetrieveService | QueryPlanner:
        """The configured retrieval with the query stages answers use (sub-queries, near-duplicate collapse,
        recency), or (with `fusion`) a plain ablation: that fusion without the evidence stage or the stages."""
        s = self.settings.retrieval.model_copy(deep=True)
        if fusion == PREVIOUS_DEFAULT:  # the fixed-weight default before adaptive fusion, evidence stage kept
            s.fusion = "weighted"
        elif fusion:
            s.fusion = fusion  # type: ignore[assignment]
            s.evidence_weight = 0.0
        reranker = None
        if rerank:
            from rag.components.reranker import build_reranker

            reranker = build_reranker(self.settings.rerank)
        plain = RetrieveService(self.library, s, reranker=reranker)
        return plain if fusion else QueryPlanner(plain, self.settings.query_plan)


def eval_embedder(settings: Settings, cache: bool | str | Path = True) -> Embedder:
    """The configured embedder, wrapped in the on-disk cache unless `cache` is False (a path picks the file).

    The hash embedder is never cached: computing it is cheaper than looking it up.
    """
    inner = build_embedder(settings.embedding)
    if cache is False or settings.embedding.backend == "hash":
        return inner
    from rag.components.embedders.cache import CachedEmbedder

    return CachedEmbedder(inner, None if cache is True else cache)


@contextmanager
def eval_index(settings: Settings, data: EvalSet, cache: bool | str | Path = True, progress: bool = False,
               work_dir: Path | None = None, kb: str | None = None) -> Iterator[EvalIndex]:
    """Index `data.corpus` in a throw-away index; with an empty corpus, read the user's own index.

    Everything is opened through `Services`, so the configured vector store is the one evaluated. On a
    shared Chroma server (`vector_store.backend: http`) a corpus goes into a throw-away collection that is
    dropped afterwards, and the user's own index is read without a change: opened read-only and mirrored
    into a temporary data directory, so neither the server's data nor the local registry is touched.
    `kb` names a knowledge base: with an empty corpus its own index is read (read-only, with its settings).
    """
    embedder = eval_embedder(settings, cache)
    shared = settings.vector_store.backend == "http"
    try:
        with tempfile.TemporaryDirectory(prefix="rag-eval-", dir=work_dir) as tmp:
            if kb is not None and not data.corpus and not data.files:
                from rag.services.knowledge_bases import KnowledgeBases

                with KnowledgeBases(settings, embedder=embedder, read_only=True) as kbs:
                    svc = kbs.get(kb)  # KbNotFound names the known bases
                    _resolve_sources(svc.library, data.questions)
                    yield EvalIndex(svc.library, svc.settings, data, 0.0)
                return
            if not data.corpus and not data.files:
                # Embedded: the user's data dir, under its lock (DataDirBusy names the owner), without repairs.
                s = settings.model_copy(update={"data_dir": Path(tmp)}, deep=True) if shared else settings
                with Services(s, embedder=embedder, read_only=True) as svc:
                    _resolve_sources(svc.library, data.questions)
                    yield EvalIndex(svc.library, s, data, 0.0)
                return
            s = settings.model_copy(update={"data_dir": Path(tmp)}, deep=True)
            if shared:
                s.vector_store.collection = f"rag-eval-{uuid.uuid4().hex[:16]}"
            started = time.perf_counter()
            svc = Services(s, embedder=embedder)
            try:
                if data.files:
                    # A user's questions over given files: read them with the real readers into the throw-away index.
                    report = svc.ingester.ingest_paths(data.files, progress=progress)
                    if not svc.library.documents():
                        raise ValueError(f"no documents could be read from {', '.join(map(str, data.files))}: "
                                         f"{report.errors[:3]}")
                    _resolve_sources(svc.library, data.questions)
                else:
                    docs = [Document(doc_id=did, text=text, title=f"{data.name}:{did[:8]}", source=data.name)
                            for did, text in data.corpus.items()]
                    svc.ingester.ingest_documents(docs, origin=f"eval:{data.name}", progress=progress)
                yield EvalIndex(svc.library, s, data, time.perf_counter() - started)
            finally:
                if shared:
                    svc.library.vectors.drop()
                svc.close()
    finally:
        if hasattr(embedder, "close"):
            embedder.close()


def _resolve_sources(library: Library, questions: list[EvalQuestion]) -> None:
    """Turn a user file's `source:NAME` entries into the ids of indexed documents whose source ends in NAME."""
    docs = library.documents()
    for q in questions:
        wanted = {r[len("source:"):] for r in q.relevant if r.startswith("source:")}
        if wanted:
            q.relevant = {r for r in q.relevant if not r.startswith("source:")}
            q.relevant |= {d.doc_id for d in docs if any(d.source.endswith(w) for w in wanted)}


def ranked_docs(retriever: RetrieveService, question: str, depth: int = DEPTH) -> list[str]:
    """Documents in order of their best chunk, deduplicated, up to `depth` deep.

    Asks for `candidates` hits, not more: a larger top_k would widen each retriever's candidate pool and
    so change the min-max normalisation, i.e. measure a different ranking from the one the service uses.
    """
    s = retriever.settings
    hits = retriever.retrieve(question, top_k=max(s.candidates, s.top_k))
    seen: list[str] = []
    for h in hits:
        if h.chunk.doc_id not in seen:
            seen.append(h.chunk.doc_id)
        if len(seen) == depth:
            break
    return seen


def configurations(settings: Settings, ablations: bool) -> list[tuple[str, str | None, bool]]:
    """(name, fusion, rerank) to evaluate: the configured one, plus each retriever alone when ablating."""
    r = settings.retrieval
    default = f"{r.fusion}" + (f"(dense {r.dense_weight})" if r.fusion == "weighted" else "")
    if r.evidence_weight > 0 and r.fusion in ("weighted", "rrf"):
        default += f"+evidence {r.evidence_weight}"
    if r.fusion == "adaptive":
        default += f"({Path(r.fusion_model).name if r.fusion_model else 'fusion_model.json'})"
    rows: list[tuple[str, str | None, bool]] = []
    if ablations:
        rows += [("keyword", "keyword", False), ("dense", "dense", False), ("rrf", "rrf", False)]
        if r.evidence_weight > 0 and r.fusion in ("weighted", "adaptive"):
            rows.append((f"weighted(dense {r.dense_weight})", "weighted", False))
        if r.evidence_weight > 0 and r.fusion == "adaptive":
            rows.append((f"weighted(dense {r.dense_weight})+evidence {r.evidence_weight}", PREVIOUS_DEFAULT, False))
    rows.append((f"default: {default}", None, False))
    if settings.rerank.enabled:
        rows.append((f"default+rerank: {default}", None, True))
    return rows


def _retrieval_metrics(index: EvalIndex, fusion: str | None, rerank: bool, progress: bool, label: str) -> dict:
    retriever = index.retriever(fusion, rerank)
    questions = index.data.questions
    rankings: list[list[str]] = []
    started = time.perf_counter()
    relevant: list[set[str]] = []
    s = retriever.settings
    for q in tqdm(questions, desc=label, unit="q", disable=not progress, leave=False):
        # ranked_docs' depth, with near-duplicate copies counted as their story (eval/groups.py)
        hits = retriever.retrieve(q.question, top_k=max(s.candidates, s.top_k))
        ranked, rel = group_relevance(ranked_groups(hits, DEPTH), q.relevant)
        rankings.append(ranked)
        relevant.append(rel)
    elapsed = time.perf_counter() - started
    out = evaluate_rankings(rankings, relevant)
    out["query_ms_mean"] = round(1000 * elapsed / max(len(questions), 1), 1)
    return out


def _warm_queries(index: EvalIndex) -> None:
    """Embed every question once up front (a cache miss costs one model call; a hit, nothing)."""
    emb = index.library.embedder
    if hasattr(emb, "embed_queries"):
        emb.embed_queries([q.question for q in index.data.questions])


def run_retrieval_eval(settings: Settings, dataset: str | EvalSet, limit: int | None = None, progress: bool = False,
                       work_dir: Path | None = None, ablations: bool = False,
                       cache: bool | str | Path = True, kb: str | None = None) -> dict:
    """hit@1/5/10, recall@k, MRR@10 and nDCG@10 of the configured retrieval (and of each retriever alone).

    `kb`: within that knowledge base (its own index for a questions-only dataset; its settings either way)."""
    data = dataset if isinstance(dataset, EvalSet) else load(dataset, limit)
    settings = settings.for_kb(kb) if kb else settings
    with eval_index(settings, data, cache=cache, progress=progress, work_dir=work_dir, kb=kb) as index:
        _warm_queries(index)
        configs = {name: _retrieval_metrics(index, fusion, rerank, progress, name)
                   for name, fusion, rerank in configurations(index.settings, ablations)}
        embedder = index.library.embedder.describe()
        corpus = index.library.stats()
    default_name = next(n for n in configs if n.startswith("default:"))
    r = settings.retrieval
    out: dict = {"dataset": data.name, "n": len(data.questions)}
    out.update({k: v for k, v in configs[default_name].items() if k != "query_ms_mean"})
    out.update({
        "configuration": {"name": default_name, "fusion": r.fusion, "dense_weight": r.dense_weight,
                          "candidates": r.candidates, "rrf_k": r.rrf_k, "evidence_weight": r.evidence_weight,
                          "evidence_type_weight": r.evidence_type_weight, "evidence_top_n": r.evidence_top_n,
                          "evidence_phrase_weight": r.evidence_phrase_weight,
                          "evidence_year_penalty": r.evidence_year_penalty, "rerank": settings.rerank.enabled,
                          "fusion_model": r.fusion_model,
                          "chunk_size": settings.chunking.chunk_size},
        "embedder": {k: v for k, v in embedder.items() if k != "cache"},
        "corpus": len(data.corpus) or corpus.get("documents", 0),
        "index_seconds": round(index.index_seconds, 1),
        "query_ms_mean": configs[default_name]["query_ms_mean"],
    })
    if ablations:
        out["ablations"] = configs
    return out


# ---- answers ----

def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def contains_answer(text: str, answers: list[str]) -> bool:
    """The dataset's judge: the text contains one of the gold answers (width, case and spaces ignored)."""
    t = _norm(text)
    return any(_norm(a) and _norm(a) in t for a in answers)


def _answer_row(answerer: ExtractiveAnswerer, retriever: RetrieveService, q: EvalQuestion,
                filters: Filters | None = None) -> dict:
    started = time.perf_counter()
    hits: list[Hit] = retriever.retrieve(q.question, filters=filters)
    ans = answerer.answer(q.question, hits)
    ms = 1000 * (time.perf_counter() - started)
    cited = [c.text for c in ans.citations]
    supporting = [h.chunk.text for h in hits if contains_answer(h.chunk.text, q.answers)]
    return {
        "refused": ans.refused, "correct": (not ans.refused) and contains_answer(ans.answer, q.answers),
        "evidence": float(ans.evidence or 0.0),
        "cited": len(cited), "cited_ok": sum(contains_answer(t, q.answers) for t in cited),
        "support_in_hits": bool(supporting),
        "support_cited": any(contains_answer(t, q.answers) for t in cited),
        "cost": float(ans.cost), "ms": ms, "model": ans.model,
    }


def threshold_curve(answerable: list[float], unanswerable: list[float], steps: int = 41) -> list[dict]:
    """Refusal rate on unanswerable questions vs false-refusal rate on answerable ones, per evidence threshold."""
    out = []
    for i in range(steps):
        t = i / (steps - 1)
        out.append({"threshold": round(t, 3),
                    "false_refusal_rate": round(sum(e < t for e in answerable) / max(len(answerable), 1), 4),
                    "refusal_rate": round(sum(e < t for e in unanswerable) / max(len(unanswerable), 1), 4)})
    return out


def _summarise_answers(rows: list[dict], neg_rows: list[dict]) -> dict:
    n = max(len(rows), 1)
    cited = sum(r["cited"] for r in rows)
    with_support = [r for r in rows if r["support_in_hits"] and not r["refused"]]
    ms = [r["ms"] for r in rows + neg_rows] or [0.0]
    return {
        "accuracy": round(sum(r["correct"] for r in rows) / n, 4),
        "citation_precision": round(sum(r["cited_ok"] for r in rows) / max(cited, 1), 4),
        "citation_recall": round(sum(r["support_cited"] for r in with_support) / max(len(with_support), 1), 4),
        "false_refusal_rate": round(sum(r["refused"] for r in rows) / n, 4),
        "refusal_accuracy": round(sum(r["refused"] for r in neg_rows) / max(len(neg_rows), 1), 4),
        "n_negative_only": len(neg_rows),
        "cost_per_100_cny": round(100 * sum(r["cost"] for r in rows) / n, 6),
        "latency_ms_mean": round(statistics.fmean(ms), 1),
        "latency_ms_p95": round(sorted(ms)[int(0.95 * (len(ms) - 1))], 1),
    }


def _answers_on_index(index: EvalIndex, fusion: str | None, progress: bool, label: str) -> dict:
    retriever = index.retriever(fusion)
    answerer = ExtractiveAnswerer(index.library.keywords, index.settings.answer)
    questions = index.data.questions
    rows = [_answer_row(answerer, retriever, q)
            for q in tqdm(questions, desc=label, unit="q", disable=not progress, leave=False)]
    # Negative rejection (RGB): each question may see only its own same-topic negatives.
    negs = [q for q in questions if q.negatives]
    neg_rows = [_answer_row(answerer, retriever, q, Filters(doc_ids=sorted(q.negatives)))
                for q in tqdm(negs, desc=f"{label} (negatives only)", unit="q", disable=not progress, leave=False)]
    out = _summarise_answers(rows, neg_rows)
    if neg_rows:
        out["threshold_curve"] = threshold_curve([r["evidence"] for r in rows], [r["evidence"] for r in neg_rows])
    return out


def run_answer_eval(settings: Settings, dataset: str | EvalSet = "rgb", limit: int | None = None,
                    progress: bool = False, work_dir: Path | None = None, cache: bool | str | Path = True,
                    ablations: bool = False, kb: str | None = None) -> dict:
    """Extractive answers: accuracy, citations, refusals (negative-only questions when the dataset has them)."""
    data = dataset if isinstance(dataset, EvalSet) else load(dataset, limit)
    settings = settings.for_kb(kb) if kb else settings
    with eval_index(settings, data, cache=cache, progress=progress, work_dir=work_dir, kb=kb) as index:
        _warm_queries(index)
        configs = {name: _answers_on_index(index, fusion, progress, name)
                   for name, fusion, rerank in configurations(index.settings, ablations) if not rerank}
    default_name = next(n for n in configs if n.startswith("default:"))
    out: dict = {"dataset": data.name, "n": len(data.questions), "answerer": "extractive",
                 "retrieval": default_name, "min_evidence": settings.answer.min_evidence,
                 "max_sentences": settings.answer.max_sentences}
    out.update(configs[default_name])
    if ablations:
        out["ablations"] = {k: {m: v for m, v in c.items() if m != "threshold_curve"} for k, c in configs.items()}
    return out


__all__ = ["EvalIndex", "configurations", "contains_answer", "eval_embedder", "eval_index", "ranked_docs",
           "run_answer_eval", "run_retrieval_eval", "threshold_curve"]
