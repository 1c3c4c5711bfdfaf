"""Retrieval evaluation on a throw-away index built with the configured embedder and fusion."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from eval.datasets import load
from eval.metrics import first_relevant_rank, summarise
from rag.container import Services
from rag.settings import Settings
from rag.types import Document


def ranked_docs(services: Services, question: str, depth: int = 10) -> list[str]:
    """Documents in order of their best chunk, deduplicated, `depth` deep."""
    hits = services.retriever.retrieve(question, top_k=max(depth * 3, services.settings.retrieval.top_k))
    seen: list[str] = []
    for h in hits:
        if h.chunk.doc_id not in seen:
            seen.append(h.chunk.doc_id)
        if len(seen) == depth:
            break
    return seen


def run_retrieval_eval(settings: Settings, dataset: str, limit: int | None = None, progress: bool = False,
                       work_dir: Path | None = None) -> dict:
    """Index the dataset's corpus in a temporary directory, ask every question, report hit@k and MRR@10."""
    data = load(dataset, limit)
    with tempfile.TemporaryDirectory(prefix="rag-eval-", dir=work_dir) as tmp:
        s = settings.model_copy(update={"data_dir": Path(tmp)}, deep=True)
        s.retrieval.candidates = max(s.retrieval.candidates, 30)
        started = time.perf_counter()
        with Services(s) as services:
            docs = [Document(doc_id=did, text=text, title=f"{dataset}:{did[:8]}", source=dataset)
                    for did, text in data.corpus.items()]
            services.ingester.ingest_documents(docs, origin=f"eval:{dataset}", progress=progress)
            indexed = time.perf_counter()
            ranks = [
                first_relevant_rank(ranked_docs(services, q.question), q.relevant)
                for q in tqdm(data.questions, desc="questions", unit="q", disable=not progress)
            ]
            finished = time.perf_counter()
            embedder = services.embedder.describe()
    out: dict = {"dataset": dataset, "n": len(data.questions)}
    out.update({k: round(v, 4) for k, v in summarise(ranks).items()})
    out.update({
        "embedder": embedder,
        "fusion": s.retrieval.fusion,
        "corpus": len(data.corpus),
        "index_seconds": round(indexed - started, 1),
        "query_ms_mean": round(1000 * (finished - indexed) / max(len(data.questions), 1), 1),
    })
    return out
