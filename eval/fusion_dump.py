"""Dump each question's fusion candidates once (both lists, doc ids, evidence, relevance) for offline fitting.

`python -m eval.fusion_dump --dataset cmrc2018 --out eval/data/fusion/cmrc2018.jsonl.gz` (also `rgb`, or a
`.jsonl` question file with `--corpus DIR` / over the configured data dir). Fitting the fusion model and the
leave-one-dataset-out table (`eval.fusion_fit`, `eval.fusion_lodo`) then run in numpy in seconds.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from pathlib import Path

from tqdm import tqdm

from eval.datasets import EvalSet, load
from eval.evaluate import _warm_queries, eval_index
from rag.components.reranker import EvidenceReranker
from rag.settings import Settings, load_settings


def dump(settings: Settings, data: EvalSet, out: Path, progress: bool = True) -> int:
    """Write one JSON line per question: dense and keyword lists of [chunk_id, doc_id, score], evidence, relevant."""
    r = settings.retrieval
    with eval_index(settings, data, progress=progress) as index:
        _warm_queries(index)
        lib = index.library
        ev = EvidenceReranker(lib.idf, 1.0, r.evidence_top_n, r.evidence_type_weight, r.evidence_phrase_weight,
                              r.evidence_year_penalty)
        n = r.candidates
        out.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with gzip.open(out, "wt", encoding="utf-8") as f:
            for q in tqdm(data.questions, desc=f"dump {data.name}", disable=not progress):
                dense = lib.dense_search(q.question, n)
                kw = lib.keyword_search(q.question, n)
                # Score completion as RetrieveService._adaptive does it: each list's score of the other list's
                # candidates (dense: every chunk of the keyword hits' documents, so an article is seen whole).
                kw_chunks = {c.chunk_id: c for c in lib.chunks([cid for cid, _ in kw])}
                kw_docs = sorted({c.doc_id for c in kw_chunks.values()})
                dense_extra = lib.doc_similarities(lib.embed_query(q.question), kw_docs) if kw_docs else []
                kw_extra = lib.keyword_search(q.question, len(dense), allowed={c.chunk_id for c, _ in dense})
                chunks = {c.chunk_id: c for c, _ in dense}
                chunks.update(kw_chunks)
                ids = list(chunks)
                evs = ev.evidence(q.question, [chunks[c].text for c in ids])
                row = {"question": q.question, "relevant": sorted(q.relevant),
                       "dense": [[c.chunk_id, c.doc_id, round(s, 6)] for c, s in dense],
                       "keyword": [[cid, chunks[cid].doc_id, round(s, 6)] for cid, s in kw if cid in chunks],
                       "dense_extra": [[cid, doc, round(s, 6)] for cid, doc, s in dense_extra],
                       "keyword_extra": [[cid, chunks[cid].doc_id, round(s, 6)] for cid, s in kw_extra],
                       "length": {c: len(chunks[c].text) for c in ids},
                       "evidence": {c: round(e, 6) for c, e in zip(ids, evs, strict=True)}}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{data.name}: {len(data.questions)} questions in {time.perf_counter() - started:.0f} s -> {out}")
    return len(data.questions)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--corpus", help="folder of files read into a throw-away index (else the data dir)")
    ap.add_argument("--data-dir", help="an existing index to read (a .jsonl dataset without --corpus)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--limit", type=int)
    args = ap.parse_args()
    settings = load_settings()
    if args.data_dir:
        settings = settings.model_copy(update={"data_dir": Path(args.data_dir)}, deep=True)
    data = load(args.dataset, args.limit)
    if args.corpus:
        data.files = [Path(args.corpus)]
    dump(settings, data, args.out, progress=os.isatty(2))


if __name__ == "__main__":
    main()
