"""Answers and retrieval over real files, before and after a reader change, in one run (issue 13).

Each side runs the project's own CLI from its own source tree (PYTHONPATH): `rag ingest` of the files into a fresh
data directory, then `rag eval answers` and `rag eval retrieval` with the same JSONL question set over that index.
Both work on any version that reads a .jsonl dataset over the user's index, so an old commit needs no new code:

    git -C /work/main worktree add /tmp/old13 8530648
    python eval/real_docs_before_after.py --before /tmp/old13 --after . \\
        --files ../shared/datasets/real_docs --dataset eval/questions/real_docs_qa.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

METRICS = [("answers", "accuracy"), ("answers", "citation_precision"), ("answers", "false_refusal_rate"),
           ("retrieval", "hit@1"), ("retrieval", "hit@5"), ("retrieval", "mrr@10")]


def _last_json(out: str) -> dict:
    for line in reversed(out.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"no JSON in output: {out[-500:]}")


def run_side(root: Path, files: list[str], dataset: str, work: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root.resolve()), RAG_DATA_DIR=str(work), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1")
    env.pop("RAG_SETTINGS", None)
    cli = [sys.executable, "-c", "import sys; from rag.cli import main; sys.exit(main())"]
    started = time.perf_counter()
    ing = subprocess.run([*cli, "ingest", *files], env=env, cwd=root, capture_output=True, text=True)
    out: dict = {"ingest_seconds": round(time.perf_counter() - started, 1), "ingest_rc": ing.returncode,
                 "ingest_tail": (ing.stdout + ing.stderr)[-600:]}
    for kind in ("answers", "retrieval"):
        r = subprocess.run([*cli, "eval", kind, "--dataset", str(Path(dataset).resolve()), "--json"], env=env,
                           cwd=root, capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"{root}: eval {kind} failed: {(r.stdout + r.stderr)[-800:]}")
        out[kind] = _last_json(r.stdout)
    return out


def _metric(side: dict, kind: str, name: str) -> object:
    block = side.get(kind, {})
    if name in block:
        return block[name]
    for v in block.values():  # retrieval metrics may sit one level down (per configuration)
        if isinstance(v, dict) and name in v:
            return v[name]
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="source tree of the old version")
    ap.add_argument("--after", default=".", help="source tree of the new version")
    ap.add_argument("--files", nargs="+", required=True, help="files or folders to ingest")
    ap.add_argument("--dataset", required=True, help="JSONL questions whose `sources` name the files")
    ap.add_argument("--keep", default=None, help="keep the two data directories under this folder (to inspect)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    files = [str(Path(f).resolve()) for f in args.files]
    results = {}
    with tempfile.TemporaryDirectory(prefix="rag-before-after-") as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        for label, root in (("before", args.before), ("after", args.after)):
            results[label] = run_side(Path(root), files, args.dataset, base / label)
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
        return 0
    n = results["after"]["answers"].get("n")
    print(f"{Path(args.dataset).name}: {n} questions over {', '.join(Path(f).name for f in args.files)}")
    print(f"{'metric':<28}{'before':>10}{'after':>10}")
    for kind, name in METRICS:
        b, a = _metric(results["before"], kind, name), _metric(results["after"], kind, name)
        print(f"{kind + ' ' + name:<28}{b!s:>10}{a!s:>10}")
    print(f"{'ingest seconds':<28}{results['before']['ingest_seconds']:>10}{results['after']['ingest_seconds']:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
