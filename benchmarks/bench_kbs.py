"""Query latency within one knowledge base when ten are open, beside one base alone (issue 17), and memory per base.

Builds two data directories from distinct CRUD-RAG news articles (../shared/datasets/crud_news):
  single/  the default base with `--docs` articles;
  multi/   `--bases` bases of `--docs` articles each, the first holding the same articles as single/.
Then one fresh process opens single/ and every base of multi/ (each warmed, as a server that has served them all
would be) and asks single/'s base and multi/'s first base each question in turn, so the machine's noise falls on
both alike; two more pairs of fresh processes open only one of the two, for memory and as a check. Prints median
and p95 latency side by side with their ratio, and the resident memory each opened base added.

    .venv/bin/python benchmarks/bench_kbs.py --docs 2000 --bases 10 --queries 300
    .venv/bin/python benchmarks/bench_kbs.py --docs 500 --bases 10        # a smaller run

The hash embedder is the default (latency of the stores, not of a model); `--proxy-vectors` uses the configured
model for queries and cheap stand-in passage vectors of the same size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
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


MEASURE = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from benchmarks.bench_kbs import rss_mb, settings_for
from eval.bench.phases import make_embedder
from rag.services.knowledge_bases import KnowledgeBases
backend, proxy, rounds = sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
questions = json.loads(Path(sys.argv[5]).read_text(encoding="utf-8"))
pairs = [arg.split("::") for arg in sys.argv[6:]]  # data dir::base to time
start = rss_mb()
embedder = make_embedder({"backend": backend}, proxy)
embedder.warm_up()
targets, opened = [], []
for data, target in pairs:
    kbs = KnowledgeBases(settings_for(Path(data), backend), embedder=embedder)
    for name in kbs.names():
        if name == "default" and target != "default":
            continue
        before = rss_mb()
        kbs.get(name).ask(questions[0])  # open it, load its BM25 matrix and HNSW graph
        opened.append(round(rss_mb() - before, 1))
    targets.append(kbs.get(target))
# Untimed warm-up, at least 50 questions and 5 s each: the lazy loads of the first questions (jieba, the
# answerer's tagger), and Chroma's first seconds after an open, when queries run up to ~2x slower here.
for svc in targets:
    warm_until, i = time.perf_counter() + 5, 0
    while i < 50 or time.perf_counter() < warm_until:
        svc.ask(questions[i % len(questions)])
        i += 1
times = [[] for _ in targets]
for r in range(rounds):
    for j, q in enumerate(questions):
        order = list(range(len(targets)))
        if (r + j) % 2:
            order.reverse()  # alternate who goes first, so drift and caches favour neither
        for k in order:
            t = time.perf_counter()
            targets[k].ask(q)
            times[k].append(1000 * (time.perf_counter() - t))
cited = [[[c.doc_id for c in svc.ask(q).citations] for q in questions[:50]] for svc in targets]
print(json.dumps({"times": times, "rss_start_mb": start, "rss_end_mb": rss_mb(), "opened_mb": opened,
                  "cited": cited}))
"""


def _run(pairs: list[tuple[Path, str]], backend: str, proxy: bool, rounds: int, questions: Path) -> dict:
    """One fresh process timing the given (data dir, base) pairs, interleaved question by question."""
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", MEASURE, str(root), backend, str(int(proxy)), str(rounds),
                           str(questions), *[f"{d}::{t}" for d, t in pairs]], capture_output=True, text=True, cwd=root)
    if proc.returncode != 0:
        raise SystemExit(f"measurement failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _stats(ms: list[float]) -> dict:
    ordered = sorted(ms)
    return {"median_ms": round(statistics.median(ms), 2), "p95_ms": round(ordered[int(0.95 * (len(ms) - 1))], 2),
            "n": len(ms)}


def measure(single: Path, multi: Path, files: list[Path], backend: str, proxy: bool, n_queries: int,
            rounds: int, log) -> dict:
    """(1) One process with single/ and all of multi/ open, the two bases asked each question in turn (the
    machine's noise falls on both alike); (2) for memory and as a check, fresh processes that open only
    single/ or only multi/, alternating."""
    qfile = single.parent / "questions.json"
    qfile.write_text(json.dumps(make_questions(read_corpus(files[0]), n_queries), ensure_ascii=False),
                     encoding="utf-8")
    both = _run([(single, DEFAULT_KB), (multi, "kb00")], backend, proxy, rounds, qfile)
    log("interleaved run done")
    out: dict = {"interleaved": {"one base": _stats(both["times"][0]), "all bases open": _stats(both["times"][1])}}
    i = out["interleaved"]
    i["ratio_median"] = round(i["all bases open"]["median_ms"] / i["one base"]["median_ms"], 3)
    i["ratio_p95"] = round(i["all bases open"]["p95_ms"] / i["one base"]["p95_ms"], 3)
    same = sum(a == b for a, b in zip(both["cited"][0], both["cited"][1], strict=True))
    out["same_citations"] = f"{same} of {len(both['cited'][0])}"
    alone: dict[str, list[dict]] = {"one base": [], "all bases open": []}
    for r in range(2):
        order = [("one base", single, DEFAULT_KB), ("all bases open", multi, "kb00")]
        for label, data, target in (order if r % 2 == 0 else order[::-1]):
            alone[label].append(_run([(data, target)], backend, proxy, 1, qfile))
    log("separate processes done")
    sep = {label: _stats([t for run in rs for t in run["times"][0]]) for label, rs in alone.items()}
    sep["ratio_median"] = round(sep["all bases open"]["median_ms"] / sep["one base"]["median_ms"], 3)
    out["separate_processes"] = sep
    many = alone["all bases open"]
    extra = [mb for run in many for mb in run["opened_mb"][1:]]
    out["memory"] = {
        "process_one_base_mb": round(statistics.median(r["rss_end_mb"] for r in alone["one base"]), 1),
        "process_all_bases_mb": round(statistics.median(r["rss_end_mb"] for r in many), 1),
        "bases_open": len(many[0]["opened_mb"]),
        "first_base_opened_mb": round(statistics.median(r["opened_mb"][0] for r in alone["one base"]), 1),
        "per_extra_base_mb_median": round(statistics.median(extra), 1) if extra else None,
        "per_extra_base_mb": many[0]["opened_mb"][1:],
    }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--docs", type=int, default=2000, help="articles per base")
    p.add_argument("--bases", type=int, default=10)
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--rounds", type=int, default=4,
                   help="passes over the questions in the interleaved run")
    p.add_argument("--backend", default="hash", help="embedding backend (default hash)")
    p.add_argument("--proxy-vectors", action="store_true", help="the model for queries, stand-in passage vectors")
    p.add_argument("--work-dir", default=None, help="where the two data directories go (default: a temp dir)")
    p.add_argument("--keep", default=None, metavar="DIR",
                   help="build into DIR and keep it; a later run with the same sizes measures it again")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if args.keep:  # build once into --keep, and measure again from it on the next run
        work = Path(args.keep)
        built = work / "built.json"
        key = {"docs": args.docs, "bases": args.bases, "backend": args.backend, "proxy": args.proxy_vectors}
        if built.is_file() and json.loads(built.read_text()) == key:
            single, multi = work / "single", work / "multi"
            files = sorted((work / "corpus").glob("kb*.txt"))
            log(f"reusing the indexes in {work}")
        else:
            single, multi, files = build(work, args.docs, args.bases, args.backend, args.proxy_vectors, log)
            built.write_text(json.dumps(key))
        result = measure(single, multi, files, args.backend, args.proxy_vectors, args.queries, args.rounds, log)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-kbs-", dir=args.work_dir) as tmp:
            single, multi, files = build(Path(tmp), args.docs, args.bases, args.backend, args.proxy_vectors, log)
            result = measure(single, multi, files, args.backend, args.proxy_vectors, args.queries, args.rounds, log)
    result = {"docs_per_base": args.docs, "bases": args.bases, "queries": args.queries, "rounds": args.rounds,
              "backend": args.backend + (" + proxy passage vectors" if args.proxy_vectors else ""), **result}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    i, sep, m = result["interleaved"], result["separate_processes"], result["memory"]
    print(f"query latency, {args.docs} articles per base, {args.queries} questions x {args.rounds} rounds "
          f"({result['backend']} embedder, extractive answers)")
    print(f"{'':>34} {'median ms':>10} {'p95 ms':>10} {'separate processes, median ms':>30}")
    rows = (("one base alone", "one base"), (f"one of {args.bases} bases, all open", "all bases open"))
    for title, key in rows:
        print(f"{title:>34} {i[key]['median_ms']:>10.2f} {i[key]['p95_ms']:>10.2f} {sep[key]['median_ms']:>30.2f}")
    print(f"{'ratio':>34} {i['ratio_median']:>10.3f} {i['ratio_p95']:>10.3f} {sep['ratio_median']:>30.3f}")
    print(f"same citations in both on {result['same_citations']} questions")
    print(f"memory (RSS): process with one base {m['process_one_base_mb']} MB, with {m['bases_open']} bases open "
          f"{m['process_all_bases_mb']} MB; opening the first base {m['first_base_opened_mb']} MB, each further base "
          f"{m['per_extra_base_mb_median']} MB (median; {m['per_extra_base_mb']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
