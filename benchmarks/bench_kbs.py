"""Query latency within one knowledge base when ten are open, beside one base alone (issue 17), and memory per base.

Builds two data directories from distinct CRUD-RAG news articles (../shared/datasets/crud_news):
  single/  the default base with `--docs` articles;
  multi/   `--bases` bases of `--docs` articles each, the first holding the same articles as single/.
Then opens both in one process (every base of multi/ opened and warmed, as a server that has served them all
would be), and asks the same questions of single/'s base and of multi/'s first base in alternating rounds.
Prints median and p95 latency side by side with their ratio, and the resident memory each opened base added.

    .venv/bin/python benchmarks/bench_kbs.py --docs 2000 --bases 10 --queries 300
    .venv/bin/python benchmarks/bench_kbs.py --docs 500 --bases 10        # a smaller run

The hash embedder is the default (latency of the stores, not of a model); `--proxy-vectors` uses the configured
model for queries and cheap stand-in passage vectors of the same size.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.bench.corpus import make_questions, read_corpus, select_lines, write_corpus  # noqa: E402
from eval.bench.phases import make_embedder  # noqa: E402
from rag.services.knowledge_bases import DEFAULT_KB, KnowledgeBases  # noqa: E402
from rag.settings import EmbeddingSettings, Settings, load_settings  # noqa: E402


def rss_mb() -> float:
    """Current resident memory of this process (Linux /proc), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def settings_for(data_dir: Path, backend: str) -> Settings:
    s = load_settings()
    return s.model_copy(update={"data_dir": data_dir, "embedding": EmbeddingSettings(backend=backend)}, deep=True)


def build(work: Path, docs: int, bases: int, backend: str, proxy: bool, log) -> tuple[Path, Path, list[Path]]:
    lines = select_lines(docs * bases)
    if len(lines) < docs * bases:
        raise SystemExit(f"only {len(lines)} distinct articles; ask for fewer --docs or --bases")
    files = [write_corpus(lines[i * docs:(i + 1) * docs], work / "corpus" / f"kb{i:02d}.txt") for i in range(bases)]
    embedder = make_embedder({"backend": backend}, proxy)
    single, multi = work / "single", work / "multi"
    started = time.perf_counter()
    with KnowledgeBases(settings_for(single, backend), embedder=embedder) as kbs:
        kbs.get(DEFAULT_KB).ingest_paths([str(files[0])])
    log(f"single: {docs} articles indexed in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    with KnowledgeBases(settings_for(multi, backend), embedder=embedder) as kbs:
        for i, f in enumerate(files):
            kbs.create(f"kb{i:02d}")
            kbs.get(f"kb{i:02d}").ingest_paths([str(f)])
            log(f"multi: base kb{i:02d} indexed ({time.perf_counter() - started:.0f} s so far)")
    return single, multi, files


def measure(single: Path, multi: Path, files: list[Path], backend: str, proxy: bool, n_queries: int,
            rounds: int, log) -> dict:
    questions = make_questions(read_corpus(files[0]), n_queries)
    gc.collect()
    base_rss = rss_mb()
    embedder = make_embedder({"backend": backend}, proxy)
    embedder.warm_up()
    one = KnowledgeBases(settings_for(single, backend), embedder=embedder)
    one_svc = one.get(DEFAULT_KB)
    one_svc.ask(questions[0])
    after_single = rss_mb()
    many = KnowledgeBases(settings_for(multi, backend), embedder=embedder)
    per_base: list[float] = []
    for name in many.names()[1:]:
        before = rss_mb()
        many.get(name).ask(questions[1])  # open it and load its BM25 matrix and HNSW graph
        per_base.append(rss_mb() - before)
    target = many.get("kb00")
    times: dict[str, list[float]] = {"one base": [], "all bases open": []}
    try:
        for r in range(rounds):
            for label, svc in ((("one base", one_svc), ("all bases open", target)) if r % 2 == 0
                               else (("all bases open", target), ("one base", one_svc))):
                for q in questions:
                    t = time.perf_counter()
                    svc.ask(q)
                    times[label].append(1000 * (time.perf_counter() - t))
            log(f"round {r + 1}/{rounds} done")
        checked = questions[:50]
        same = sum(a.to_dict()["citations"] == b.to_dict()["citations"]
                   for a, b in ((one_svc.ask(q), target.ask(q)) for q in checked))
    finally:
        many.close()
        one.close()

    def stats(ms: list[float]) -> dict:
        ordered = sorted(ms)
        return {"median_ms": round(statistics.median(ms), 2), "p95_ms": round(ordered[int(0.95 * (len(ms) - 1))], 2),
                "n": len(ms)}

    out = {label: stats(ms) for label, ms in times.items()}
    out["ratio_median"] = round(out["all bases open"]["median_ms"] / out["one base"]["median_ms"], 3)
    out["ratio_p95"] = round(out["all bases open"]["p95_ms"] / out["one base"]["p95_ms"], 3)
    out["same_citations"] = f"{same} of {len(checked)}"
    out["memory"] = {"process_before_mb": round(base_rss, 1),
                     "single_base_opened_mb": round(after_single - base_rss, 1),
                     "per_extra_base_mb_median": round(statistics.median(per_base), 1),
                     "per_extra_base_mb": [round(x, 1) for x in per_base]}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--docs", type=int, default=2000, help="articles per base")
    p.add_argument("--bases", type=int, default=10)
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--rounds", type=int, default=4, help="alternating rounds over the questions (medians over all)")
    p.add_argument("--backend", default="hash", help="embedding backend (default hash)")
    p.add_argument("--proxy-vectors", action="store_true", help="the model for queries, stand-in passage vectors")
    p.add_argument("--work-dir", default=None, help="where the two data directories go (default: a temp dir)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-kbs-", dir=args.work_dir) as tmp:
        single, multi, files = build(Path(tmp), args.docs, args.bases, args.backend, args.proxy_vectors, log)
        result = measure(single, multi, files, args.backend, args.proxy_vectors, args.queries, args.rounds, log)
    result = {"docs_per_base": args.docs, "bases": args.bases, "queries": args.queries, "rounds": args.rounds,
              "backend": args.backend + (" + proxy passage vectors" if args.proxy_vectors else ""), **result}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    one, many = result["one base"], result["all bases open"]
    print(f"query latency, {args.docs} articles per base, {args.queries} questions x {args.rounds} rounds "
          f"({result['backend']} embedder, extractive answers)")
    print(f"{'':>28} {'median ms':>10} {'p95 ms':>10}")
    print(f"{'one base alone':>28} {one['median_ms']:>10.2f} {one['p95_ms']:>10.2f}")
    print(f"{f'one of {args.bases} bases, all open':>28} {many['median_ms']:>10.2f} {many['p95_ms']:>10.2f}")
    print(f"{'ratio':>28} {result['ratio_median']:>10.3f} {result['ratio_p95']:>10.3f}")
    print(f"same citations in both on {result['same_citations']} questions")
    m = result["memory"]
    print(f"memory: first base {m['single_base_opened_mb']} MB; each further open base {m['per_extra_base_mb_median']} "
          f"MB (median; {m['per_extra_base_mb']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
