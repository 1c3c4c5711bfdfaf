"""Cost of each stage of adaptive fusion beside the fixed-weight fusion, on an existing index, in one run.

`python benchmarks/bench_fusion.py --data-dir DIR --questions FILE.jsonl [--n 300]` (e.g. the index that
`rag bench --docs 23152 --proxy-vectors --no-llamaindex --keep DIR` leaves): per question, the ms of the query
embedding, both searches, fetching the keyword hits' chunks, the two score completions (the cosine of every chunk
of the keyword hits' documents from their stored vectors, BM25 over the dense hits), features + stage 1, and
the evidence + stage 2; then the whole `retrieve` of `adaptive` against `weighted` (+ its evidence stage).
Medians and p95.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.components.fusion import candidate_features, rank  # noqa: E402
from rag.container import Services  # noqa: E402
from rag.services.retrieve import RetrieveService  # noqa: E402
from rag.settings import load_settings  # noqa: E402


def _p(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[int(q * (len(s) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--questions", required=True, type=Path)
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args()
    settings = load_settings().model_copy(update={"data_dir": args.data_dir}, deep=True)
    qs = [json.loads(line)["question"] for line in args.questions.read_text(encoding="utf-8").splitlines()
          if line.strip()][: args.n]
    with Services(settings, read_only=True) as svc:
        lib = svc.library
        adaptive = RetrieveService(lib, settings.retrieval)
        weighted_settings = settings.retrieval.model_copy(update={"fusion": "weighted"})
        weighted = RetrieveService(lib, weighted_settings)
        n = settings.retrieval.candidates
        for q in qs[:5]:  # warm caches and the BM25 matrix
            adaptive.retrieve(q)
            weighted.retrieve(q)
        stages: dict[str, list[float]] = {k: [] for k in (
            "embed query", "dense search", "BM25 search", "fetch keyword chunks", "dense completion",
            "BM25 completion", "features + stage 1", "evidence + stage 2")}
        totals: dict[str, list[float]] = {"adaptive retrieve": [], "weighted+evidence retrieve": []}
        for q in qs:
            t = [time.perf_counter()]
            vec = lib.embed_query(q)
            t.append(time.perf_counter())
            dense = lib.dense_search(q, n, vector=vec)
            t.append(time.perf_counter())
            kw = lib.keyword_search(q, n)
            t.append(time.perf_counter())
            chunks = {c.chunk_id: c for c, _ in dense}
            chunks.update({c.chunk_id: c for c in lib.chunks([cid for cid, _ in kw if cid not in chunks])})
            t.append(time.perf_counter())
            kw_docs = sorted({chunks[cid].doc_id for cid, _ in kw if cid in chunks})
            more = lib.doc_similarities(vec, kw_docs) if kw_docs else []
            t.append(time.perf_counter())
            kw_more = lib.keyword_search(q, len(dense), allowed={c.chunk_id for c, _ in dense}) if kw else []
            t.append(time.perf_counter())
            cand = candidate_features([(c.chunk_id, c.doc_id, s) for c, s in dense],
                                      [(cid, chunks[cid].doc_id, s) for cid, s in kw if cid in chunks],
                                      more,
                                      [(cid, chunks[cid].doc_id, s) for cid, s in kw_more if cid in chunks],
                                      lengths={cid: len(c.text) for cid, c in chunks.items()})
            s1 = adaptive.model.stage1(cand.x)  # type: ignore[union-attr]
            t.append(time.perf_counter())
            texts = [chunks[c].text for c in cand.chunk_ids]
            rank(adaptive.model, cand,  # type: ignore[arg-type]
                 lambda idx, q=q, texts=texts: adaptive.scorer.evidence(q, [texts[i] for i in idx]))
            t.append(time.perf_counter())
            del s1
            for name, a, b in zip(stages, t, t[1:], strict=False):
                stages[name].append(1000 * (b - a))
            for name, svc_ in (("adaptive retrieve", adaptive), ("weighted+evidence retrieve", weighted)):
                t0 = time.perf_counter()
                svc_.retrieve(q)
                totals[name].append(1000 * (time.perf_counter() - t0))
        print(f"{len(qs)} questions over {lib.stats()['documents']} documents / {lib.stats()['chunks']} chunks "
              f"({args.data_dir}); ms median / p95")
        for name, v in {**stages, **totals}.items():
            print(f"  {name:28s} {statistics.median(v):7.2f} / {_p(v, 0.95):7.2f}")


if __name__ == "__main__":
    main()
