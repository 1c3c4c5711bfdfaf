"""Cost of the query stages (sub-queries, near-duplicate collapse, recency) beside the plain retriever, in one run.

    RAG_DATA_DIR=DIR python benchmarks/bench_query_stages.py [--questions 300] [--docs 2000]

Over an existing index (read-only), bench-style key-phrase questions drawn from its documents (fixed seed), each
asked of the plain retriever and then of the planner, alternating question by question so that the load of a
shared machine falls on both alike; prints p50/p95 of each and of the stages' own time.
"""

from __future__ import annotations

import argparse
import time

from eval.bench.corpus import make_questions
from eval.evaluate import eval_embedder
from rag.container import Services
from rag.settings import load_settings
from rag.types import Document


def _pct(xs: list[float], q: float) -> float:
    return sorted(xs)[int(q * (len(xs) - 1))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--questions", type=int, default=300)
    p.add_argument("--docs", type=int, default=2000, help="documents the questions are drawn from")
    p.add_argument("--top-k", type=int, default=5)
    args = p.parse_args()
    s = load_settings()
    with Services(s, embedder=eval_embedder(s), read_only=True) as svc:
        lib = svc.library
        docs = []
        for rec in lib.documents()[: args.docs]:
            chunks = sorted(lib.chunks(lib.registry.chunk_ids(rec.doc_id)), key=lambda c: c.start)
            docs.append(Document(rec.doc_id, "".join(c.text for c in chunks), rec.title, rec.source))
        qs = make_questions(docs, args.questions)
        if hasattr(lib.embedder, "embed_queries"):
            lib.embedder.embed_queries(qs)  # cached query vectors: both sides pay the same, nothing
        for q in qs[:20]:  # warm jieba, the BM25 matrix, the tagger
            svc.retriever.retrieve(q)
            svc.planner.retrieve(q)
        plain, planned, stages = [], [], []
        for q in qs:
            t0 = time.perf_counter()
            svc.retriever.retrieve(q, top_k=args.top_k)
            t1 = time.perf_counter()
            plan = svc.planner.plan(q, top_k=args.top_k)
            t2 = time.perf_counter()
            plain.append((t1 - t0) * 1000)
            planned.append((t2 - t1) * 1000)
            stages.append(sum(v for k, v in plan.ms.items() if k != "retrieve"))
        n_docs = lib.stats().get("documents")
    print(f"{len(qs)} key-phrase questions over {n_docs} documents, top_k {args.top_k}")
    for name, xs in (("plain retriever", plain), ("with the stages", planned), ("the stages alone", stages)):
        print(f"{name:18s} p50 {_pct(xs, 0.5):7.2f} ms   p95 {_pct(xs, 0.95):7.2f} ms")


if __name__ == "__main__":
    main()
