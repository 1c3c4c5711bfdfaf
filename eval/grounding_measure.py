"""Does multilingual-e5 similarity separate paraphrase from invention better than bigram overlap?

For each labelled answer, each claim sentence is scored against the sentences of the chunks that cover it
(best window of one or two sentences): lexical = bigram recall (the check's `min_support` score), semantic =
e5 cosine (passage embeddings of both). An answer's score is its weakest claim. Reported: ROC AUC and the
best-threshold accuracy of each score for good answers against unsupported ones (invented_sentence,
wrong_citation, invented_entity), on the even and odd halves and overall.

    python -m eval.grounding_measure [--dataset eval/data/grounding_set.jsonl] [--json]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np

from eval.grounding_eval import DEFAULT_SET, _half, load_records
from rag.components.llm import grounding as g
from rag.settings_llm import GroundingSettings

UNSUPPORTED = ("invented_sentence", "wrong_citation", "invented_entity")


def auc(pos: list[float], neg: list[float]) -> float:
    """P(score of a good answer > score of a bad one), ties counted half (the Mann-Whitney form of ROC AUC)."""
    if not pos or not neg:
        return float("nan")
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def best_threshold(pos: list[float], neg: list[float]) -> tuple[float, float]:
    """The threshold with the best balanced accuracy (good >= t, bad < t), and that accuracy."""
    best = (0.0, 0.0)
    for t in sorted(set(pos) | set(neg)):
        acc = 0.5 * (np.mean([x >= t for x in pos]) + np.mean([x < t for x in neg]))
        if acc > best[1]:
            best = (float(t), float(acc))
    return best


def scores(path: str, similarity) -> list[dict[str, Any]]:
    rows = []
    settings = GroundingSettings()
    for r in load_records(path):
        if not r.good and r.style not in UNSUPPORTED:
            continue
        if r.style == "refusal":
            continue
        given = {n: c["text"] for n, c in enumerate(r.chunks, start=1)}
        res = g.check_grounding(r.answer, given, None, settings)
        lex, sem = [], []
        for c in res.sentences:
            known = [n for n in c.refs if n in given]
            if c.kind != "claim" or not known:
                continue
            ev = g._Evidence([given[n] for n in known])
            body = g._body(c.text)
            lex.append(ev.lexical(body)[0])
            sem.append(float(np.max(similarity([body], ev.windows))))
        if lex:
            rows.append({"id": r.id, "good": r.good, "style": r.style, "half": _half(r),
                         "lexical": min(lex), "semantic": min(sem)})
    return rows


def report(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in ("all", "even", "odd"):
        sel = [r for r in rows if part == "all" or r["half"] == part]
        entry: dict[str, Any] = {"good": sum(r["good"] for r in sel), "bad": sum(not r["good"] for r in sel)}
        for key in ("lexical", "semantic"):
            pos = [r[key] for r in sel if r["good"]]
            neg = [r[key] for r in sel if not r["good"]]
            t, acc = best_threshold(pos, neg)
            entry[key] = {"auc": round(auc(pos, neg), 4), "best_threshold": round(t, 3),
                          "balanced_accuracy": round(acc, 4)}
        out[part] = entry
    return out


def main() -> None:
    from rag.components.embedders import build_embedder
    from rag.components.embedders.cache import CachedEmbedder
    from rag.components.llm.similarity import embedder_similarity
    from rag.settings import load_settings

    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default=str(DEFAULT_SET))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    sim = embedder_similarity(CachedEmbedder(build_embedder(load_settings().embedding)))
    if sim is None:
        raise SystemExit("the configured embedder is the hash embedder: nothing to measure")
    rows = scores(args.dataset, sim)
    rep = report(rows)
    if args.json:
        print(json.dumps({"report": rep, "rows": rows}, ensure_ascii=False, indent=1))
    else:
        for part, e in rep.items():
            print(f"{part}: {e['good']} good vs {e['bad']} unsupported | " + " | ".join(
                f"{k} AUC {e[k]['auc']:.3f}, best t {e[k]['best_threshold']:.3f} -> "
                f"{100 * e[k]['balanced_accuracy']:.1f}%"
                for k in ("lexical", "semantic")))


if __name__ == "__main__":
    main()
