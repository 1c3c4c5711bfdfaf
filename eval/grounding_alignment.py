"""Can word alignment tell a low-overlap paraphrase from an on-topic invention?

The claims the check escalates for support (bigram overlap below `min_support`) are either correct
paraphrases (good answers) or invented sentences (`invented_sentence`, `wrong_citation`, `invented_entity`).
For each such claim this scores how well its content words are explained by the cited chunks:
  - `coverage`: share of its jieba content words written in the cited chunks;
  - `char_coverage`: share of its content characters (function characters left out) in the cited chunks;
  - `explained`: share of its content words written there or sharing at least half their characters
    with them (降价 / 价格下调);
  - `e5_min` / `e5_mean` (with --e5): over the content words not written in the chunks, the best
    multilingual-e5 cosine to any chunk word (word vectors cached), minimum and mean.
Reported: ROC AUC of each (good claims against invented ones). An AUC near 0.5 means the score does not
separate them. docs/grounding.md has the figures.

    python -m eval.grounding_alignment [--dataset eval/data/grounding_set.jsonl] [--e5]
"""

from __future__ import annotations

import argparse
import re
from typing import Any

import numpy as np

from eval.grounding_eval import DEFAULT_SET, load_records
from eval.grounding_measure import UNSUPPORTED, auc, best_threshold
from rag.components.llm import grounding as g
from rag.components.tokenize import content_terms
from rag.settings_llm import GroundingSettings

_CJK = re.compile(r"[\u4e00-\u9fff]")
_FUNCTION_CHARS = frozenset("的了是在和与及也都而就还将对把被从向为以等个这那其之并于或又且但则即所如该此有到着过中上下"
                            "来去能会可要让使得地")


def _chars(text: str) -> set[str]:
    return {c for c in _CJK.findall(text) if c not in _FUNCTION_CHARS}


def _words(text: str) -> list[str]:
    return [w for w in dict.fromkeys(content_terms(g._nfkc(text))) if len(w) >= 2 and not w[0].isdigit()]


def low_overlap_claims(path: str) -> list[dict[str, Any]]:
    """Claims below min_support in good answers and in unsupported bad ones, with their lexical scores."""
    settings = GroundingSettings()
    rows = []
    for r in load_records(path):
        if r.style == "refusal" or (not r.good and r.style not in UNSUPPORTED):
            continue
        given = {n: c["text"] for n, c in enumerate(r.chunks, start=1)}
        for c in g.check_grounding(r.answer, given, None, settings).sentences:
            known = [n for n in c.refs if n in given]
            if c.kind != "claim" or not known:
                continue
            ev = g._Evidence([given[n] for n in known])
            body = g._CONNECTIVE.sub("", g._body(c.text))
            lex = ev.lexical(body)[0]
            if lex >= settings.min_support:
                continue
            text = g._nfkc(ev.text).lower()
            have = _chars(ev.text)
            words = _words(body)
            missing = [w for w in words if w.lower() not in text]
            half = [w for w in missing if len(_chars(w) & have) * 2 < max(len(_chars(w)), 1)]
            cc = _chars(g.strip_markers(body))
            rows.append({"id": r.id, "good": r.good, "style": r.style, "lexical": lex,
                         "coverage": 1 - len(missing) / len(words) if words else 1.0,
                         "char_coverage": len(cc & have) / len(cc) if cc else 1.0,
                         "explained": 1 - len(half) / len(words) if words else 1.0,
                         "missing": missing, "chunk_words": _words(ev.text)})
    return rows


def add_e5(rows: list[dict[str, Any]]) -> None:
    """e5 cosine of each missing word to its best chunk word (passage embeddings, cached)."""
    from rag.components.embedders import build_embedder
    from rag.components.embedders.base import normalise
    from rag.components.embedders.cache import CachedEmbedder
    from rag.settings import load_settings

    emb = CachedEmbedder(build_embedder(load_settings().embedding))
    cache: dict[str, np.ndarray] = {}

    def vecs(words: list[str]) -> np.ndarray:
        need = [w for w in words if w not in cache]
        if need:
            for w, v in zip(need, normalise(np.asarray(emb.embed_passages(need), dtype=np.float32)), strict=True):
                cache[w] = v
        return np.stack([cache[w] for w in words])

    for row in rows:
        if row["missing"] and row["chunk_words"]:
            best = (vecs(row["missing"]) @ vecs(row["chunk_words"]).T).max(axis=1)
            row["e5_min"], row["e5_mean"] = float(best.min()), float(best.mean())
        else:
            row["e5_min"] = row["e5_mean"] = 1.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default=str(DEFAULT_SET))
    ap.add_argument("--e5", action="store_true", help="also score missing words by e5 similarity (loads the model)")
    args = ap.parse_args()
    rows = low_overlap_claims(args.dataset)
    keys = ["lexical", "coverage", "char_coverage", "explained"]
    if args.e5:
        add_e5(rows)
        keys += ["e5_min", "e5_mean"]
    good = [r for r in rows if r["good"]]
    bad = [r for r in rows if not r["good"]]
    print(f"claims below min_support: {len(good)} in good answers, {len(bad)} in unsupported ones")
    for k in keys:
        pos, neg = [r[k] for r in good], [r[k] for r in bad]
        t, acc = best_threshold(pos, neg)
        print(f"  {k:<14} AUC {auc(pos, neg):.3f}, best threshold {t:.3f} -> balanced accuracy {100 * acc:.1f}%")


if __name__ == "__main__":
    main()
