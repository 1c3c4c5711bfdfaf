"""Chunk size for news, measured on a sub-sample of crud_news_qa: the gold articles plus N others (fixed seed).

`python -m eval.news_chunk_size --sizes 300 600 --others 400` builds one throw-away index per chunk size from
the same files (real readers, the configured embedder and its cache) and prints the default retrieval and each
single retriever (MRR@10 / hit@1). A sub-sample because every other chunk size re-embeds every chunk (~0.5-1.5 s
an article on 2 cores): its figures are higher than the full set's (fewer distractors) and only comparable
with each other.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
from pathlib import Path

from eval.datasets import load, shared_dir
from eval.evaluate import run_retrieval_eval
from rag.settings import load_settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[300, 600])
    ap.add_argument("--others", type=int, default=400)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    root = shared_dir() / "crud_news_qa"
    data = load(str(root / "questions.jsonl"))
    gold = set()
    for line in (root / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            gold |= set(json.loads(line).get("sources") or [])
    files = sorted(p.name for p in (root / "corpus").iterdir())
    others = random.Random(args.seed).sample([f for f in files if f not in gold], args.others)
    with tempfile.TemporaryDirectory(prefix="rag-chunks-") as tmp:
        sub = Path(tmp) / "corpus"
        sub.mkdir()
        for name in sorted(gold | set(others)):
            shutil.copy(root / "corpus" / name, sub / name)
        print(f"{len(gold)} gold + {len(others)} other articles, {len(data.questions)} questions")
        for size in args.sizes:
            s = load_settings()
            s.chunking.chunk_size = size
            s.chunking.chunk_overlap = min(s.chunking.chunk_overlap, size // 4)
            data = load(str(root / "questions.jsonl"))  # sources are resolved against each index afresh
            data.files = [sub]
            out = run_retrieval_eval(s, data, ablations=True)
            row = "  ".join(f"{name.split(':')[0]} {m['mrr@10']:.4f}/{m['hit@1']:.4f}"
                            for name, m in out["ablations"].items())
            print(f"chunk_size {size}: {row}", flush=True)


if __name__ == "__main__":
    main()
