"""Before/after measurements of the query stages on news, in one run each (rag/services/query_plan.py).

    python -m eval.news_stages subqueries [--questions eval/questions/multipart_news.jsonl]
    python -m eval.news_stages near-dup   [--questions ../shared/datasets/crud_news_qa/questions.jsonl]
    python -m eval.news_stages recency    [--questions eval/questions/recency_news.jsonl]
    python -m eval.news_stages all        (the three over one index)

Each runs over the crud_news_qa corpus: `--corpus DIR` (default ../shared/datasets/crud_news_qa/corpus) builds a
throw-away index with the configured embedder (cached), `--index` reads the configured data directory instead
(RAG_DATA_DIR, read-only). Questions name their articles by file (`sources`); multi-part questions list them per
part (`parts`). Every configuration is the configured retrieval (fusion + evidence) with stages switched on one
at a time, and each prints the milliseconds of every stage (median and p95 over the questions).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from eval.datasets import EvalQuestion, EvalSet, shared_dir
from eval.evaluate import eval_index
from eval.groups import group_relevance, ranked_groups
from eval.metrics import evaluate_rankings
from rag.services.query_plan import Plan, QueryPlanner
from rag.services.retrieve import RetrieveService
from rag.settings import Settings, load_settings
from rag.settings_query import QueryPlanSettings

HERE = Path(__file__).resolve().parent


@dataclass
class Row:
    question: str
    relevant: set[str]  # doc ids (any copy of any part)
    parts: list[set[str]] = field(default_factory=list)  # per part: the docs any of which covers it


def _load(path: Path) -> tuple[list[Row], list[EvalQuestion]]:
    """Rows plus one EvalQuestion per source set (the evaluator resolves `source:NAME` to doc ids)."""
    rows, qs = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        parts = r.get("parts") or [{"sources": r.get("sources") or []}]
        part_qs = [EvalQuestion(r["question"], {f"source:{s}" for s in p["sources"]}) for p in parts]
        qs += part_qs
        rows.append(Row(r["question"], set(), [q.relevant for q in part_qs]))
    return rows, qs


def _configs(base: QueryPlanSettings, names: list[str]) -> dict[str, QueryPlanSettings]:
    """Stage settings by name: none, one stage, or all (`stages`)."""
    out = {}
    for name in names:
        s = base.model_copy(deep=True)
        s.subqueries.enabled = name in ("subqueries", "stages")
        s.near_dup.enabled = name in ("near_dup", "stages", "subqueries+near_dup")
        s.recency.enabled = name in ("recency", "stages")
        if name == "subqueries+near_dup":
            s.subqueries.enabled = True
        out[name] = s
    return out


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(xs[int(q * (len(xs) - 1))], 2) if xs else 0.0


def _measure(plain: RetrieveService, stages: QueryPlanSettings, rows: list[Row], depth: int = 20) -> dict:
    planner = QueryPlanner(plain, stages)
    s = plain.settings
    rankings, rels, plans = [], [], []
    all10 = part_recall = 0.0
    for row in rows:
        plan: Plan = planner.plan(row.question, top_k=max(s.candidates, s.top_k))
        plans.append(plan)
        groups = ranked_groups(plan.hits, depth)
        ranked, rel = group_relevance(groups, row.relevant)
        rankings.append(ranked)
        rels.append(rel)
        top10 = {d for g in groups[:10] for d in g}  # a part is covered by any copy of any of its articles
        covered = [bool(p & top10) for p in row.parts]
        all10 += all(covered)
        part_recall += sum(covered) / max(len(covered), 1)
    n = max(len(rows), 1)
    out = evaluate_rankings(rankings, rels)
    out = {k: out[k] for k in ("hit@1", "hit@5", "hit@10", "mrr@10", "recall@10")}
    out["recall_all@10"] = round(all10 / n, 4)
    out["part_recall@10"] = round(part_recall / n, 4)
    out["split"] = sum(bool(p.parts) for p in plans)
    out["collapsed_hits"] = sum(p.collapsed for p in plans)
    out["recency_questions"] = sum(p.recency for p in plans)
    stage_ms = {}
    for stage in ("split", "retrieve", "subqueries", "near_dup", "merge", "recency"):
        xs = [p.ms.get(stage, 0.0) for p in plans]
        stage_ms[stage] = {"median": _pct(xs, 0.5), "p95": _pct(xs, 0.95)}
    out["ms"] = stage_ms
    return out


def _index_args(args: argparse.Namespace, settings: Settings, questions: list[EvalQuestion]) -> EvalSet:
    if args.index:
        return EvalSet("news", {}, questions)
    return EvalSet("news", {}, questions, files=[Path(args.corpus)])


STAGES = {"subqueries": ["baseline", "subqueries", "subqueries+near_dup", "stages"],
          "near-dup": ["baseline", "near_dup", "stages"],
          "recency": ["baseline", "recency", "stages"]}


def _default_questions(stage: str) -> str:
    return {"subqueries": str(HERE / "questions" / "multipart_news.jsonl"),
            "near-dup": str(shared_dir() / "crud_news_qa" / "questions.jsonl"),
            "recency": str(HERE / "questions" / "recency_news.jsonl")}[stage]


def run(args: argparse.Namespace) -> list[dict]:
    """One report per stage; `all` measures the three sets over one index (one ingest with --corpus)."""
    settings = load_settings()
    stages = list(STAGES) if args.stage == "all" else [args.stage]
    sets = {}
    for st in stages:
        rows, qs = _load(Path(args.questions or _default_questions(st)))
        sets[st] = (rows[: args.limit] if args.limit else rows, qs)
    data = _index_args(args, settings, [q for _, qs in sets.values() for q in qs])
    reports = []
    with eval_index(settings, data, progress=False) as index:
        # The evaluator resolved each part's `source:NAME` entries to doc ids in place.
        for st in stages:
            rows, qs = sets[st]
            k = 0
            for row in rows:
                resolved = []
                for _ in row.parts:
                    resolved.append(qs[k].relevant)
                    k += 1
                row.parts = resolved
                row.relevant = set().union(*resolved) if resolved else set()
            plain = RetrieveService(index.library, index.settings.retrieval)
            report = {"stage": st, "questions": args.questions or _default_questions(st), "n": len(rows),
                      "corpus": index.library.stats().get("documents"),
                      "embedder": index.library.embedder.describe().get("model"),
                      "fusion": index.settings.retrieval.fusion}
            for name, cfg in _configs(index.settings.query_plan, STAGES[st]).items():
                report[name] = _measure(plain, cfg, rows)
            if st == "near-dup":
                report["top5_with_copies"] = top5_copies(index, plain, rows, args.shingle_threshold)
            reports.append(report)
    return reports


def top5_copies(index, plain: RetrieveService, rows: list[Row], threshold: float) -> dict:
    """Share of top-5 lists holding two copies of one story, before and after the collapse, judged by an
    index-wide detector independent of the stage: MinHash LSH (datasketch) over every document's whole text,
    confirmed by the exact Jaccard of their shingles. Also: how often the stage's count of copies (among the
    candidates) equals the index-wide group's."""
    from datasketch import MinHash, MinHashLSH

    from rag.services.near_dup import jaccard, shingles

    lib = index.library
    docs = lib.documents()
    texts: dict[str, str] = {}
    for d in docs:
        chunks = sorted(lib.chunks(lib.registry.chunk_ids(d.doc_id)), key=lambda c: c.start)
        texts[d.doc_id] = "".join(c.text for c in chunks)
    sets = {d: shingles(t) for d, t in texts.items()}
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    sigs = {}
    for d, sh in sets.items():
        m = MinHash(num_perm=128)
        m.update_batch([s.encode("utf-8") for s in sh])
        sigs[d] = m
        lsh.insert(d, m)
    copies: dict[str, set[str]] = {}
    for d, m in sigs.items():
        copies[d] = {o for o in lsh.query(m) if o != d and jaccard(sets[d], sets[o]) >= threshold}
    in_groups = sum(1 for c in copies.values() if c)

    def has_pair(ids: list[str]) -> bool:
        return any(b in copies.get(a, ()) for i, a in enumerate(ids) for b in ids[i + 1:])

    out = {"documents": len(docs), "documents_with_a_copy": in_groups}
    for name, enabled in (("before", False), ("after", True)):
        stages = index.settings.query_plan.model_copy(deep=True)
        stages.subqueries.enabled = stages.recency.enabled = False
        stages.near_dup.enabled = enabled
        planner = QueryPlanner(plain, stages)
        with_pair = agree = counted = 0
        for row in rows:
            hits = planner.retrieve(row.question, top_k=5)
            ids = list(dict.fromkeys(h.chunk.doc_id for h in hits))[:5]
            with_pair += has_pair(ids)
            for h in hits:
                if enabled and h.duplicate_doc_ids:
                    counted += 1
                    agree += set(h.duplicate_doc_ids) == copies.get(h.chunk.doc_id, set())
        out[name] = {"top5_lists_with_copies": round(with_pair / max(len(rows), 1), 4)}
        if enabled:
            out[name]["collapsed_hits"] = counted
            out[name]["count_equals_index_wide_group"] = round(agree / max(counted, 1), 4)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stage", choices=[*STAGES, "all"])
    p.add_argument("--questions", default=None, help="the stage's question file (default: its own set)")
    p.add_argument("--corpus", default=str(shared_dir() / "crud_news_qa" / "corpus"))
    p.add_argument("--index", action="store_true", help="read the configured data dir instead of --corpus")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--shingle-threshold", type=float, default=0.5)
    args = p.parse_args(argv)
    if args.stage == "all" and args.questions:
        p.error("--questions names one stage's set; give a stage, not all")
    reports = run(args)
    json.dump(reports if len(reports) > 1 else reports[0], sys.stdout, ensure_ascii=False, indent=1)
    print()
    for report in reports:
        _table(report)


def _table(report: dict) -> None:
    names = [k for k, v in report.items() if isinstance(v, dict) and "mrr@10" in v]
    cols = ["recall_all@10", "part_recall@10", "mrr@10", "hit@1", "hit@10", "split", "collapsed_hits"]
    print(f"\n{report['stage']}: {report['n']} questions over {report['corpus']} documents ({report['embedder']}, "
          f"fusion {report['fusion']})")
    print("| configuration | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for n in names:
        print(f"| {n} | " + " | ".join(str(report[n][c]) for c in cols) + " |")
    last = report[names[-1]]["ms"]
    print("stage ms (median / p95) with every stage on: "
          + ", ".join(f"{k} {v['median']} / {v['p95']}" for k, v in last.items()))
    if "top5_with_copies" in report:
        print("top-5 lists holding two copies of one story:", json.dumps(report["top5_with_copies"]))


if __name__ == "__main__":
    main()
