"""Leave-one-dataset-out table of the adaptive fusion: fitted on two of the dumped sets, measured on the third.

`python -m eval.fusion_lodo [--dumps DIR]` prints, for each held-out set, MRR@10 / hit@1 of each retriever
alone, RRF, the old fixed-weight default, the model fitted without that set (LODO) and the shipped model
(fitted on all three), and whether the LODO model beats the best single retriever on both metrics.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eval.fusion_fit import DUMPS, fit, load_all, model_docs, scores, table
from rag.components.fusion import FusionModel


def lodo(folder: Path = DUMPS, shipped: FusionModel | None = None) -> list[dict]:
    """One row per held-out set: every configuration's (MRR@10, hit@1) and whether LODO beats the best single."""
    sets = load_all(folder)
    shipped = shipped or FusionModel.load()
    rows = []
    for held, qs in sets.items():
        model = fit({k: v for k, v in sets.items() if k != held}, shipped.top_n)
        t = table(qs, model, {"shipped (fitted on all)": shipped})
        best = max(("dense", "keyword"), key=lambda k: t[k][0])
        single = (max(t["dense"][0], t["keyword"][0]), max(t["dense"][1], t["keyword"][1]))
        mrr, h1 = scores([model_docs(model, q) for q in qs], qs)
        rows.append({"held_out": held, "n": len(qs), "table": t, "best_single": best,
                     "lodo_beats_single": mrr > single[0] and h1 > single[1]})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dumps", type=Path, default=DUMPS)
    args = ap.parse_args()
    rows = lodo(args.dumps)
    names = list(rows[0]["table"])
    print("MRR@10 / hit@1; 'adaptive' = fitted on the other two sets only (leave-one-dataset-out)")
    head = " | ".join(n.replace("adaptive", "adaptive LODO") for n in names)
    print(f"| held-out set | {head} | LODO beats best single |")
    print("|" + "---|" * (len(names) + 2))
    for r in rows:
        cells = [f"{r['table'][n][0]:.4f} / {r['table'][n][1]:.4f}" for n in names]
        verdict = "yes" if r["lodo_beats_single"] else "NO"
        print(f"| {r['held_out']} ({r['n']} q) | " + " | ".join(cells) + f" | {verdict} |")


if __name__ == "__main__":
    main()
