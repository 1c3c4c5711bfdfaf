"""Calibrate `answer.min_evidence`: evidence on answerable questions vs questions the corpus cannot answer.

Answerable: CMRC 2018 dev questions over the CMRC paragraphs. Unanswerable: RGB zh news questions over the
same paragraphs (Wikipedia has no 2022-2023 news). Also reported: RGB questions given only their hard
negatives (same topic, no answer), which lexical evidence cannot separate; that needs the LLM tier.

    python -m eval.calibrate_refusal [--limit 800]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from eval.datasets import load_cmrc2018, load_rgb
from rag.container import Services
from rag.settings import EmbeddingSettings, load_settings
from rag.types import Document


def _evidence(svc: Services, questions: list[str]) -> np.ndarray:
    return np.array([svc.extractive.evidence(q, svc.retriever.retrieve(q)) for q in questions])


def _index(tmp: str, corpus: dict[str, str]) -> Services:
    s = load_settings()
    s = s.model_copy(update={"data_dir": Path(tmp), "embedding": EmbeddingSettings(backend="hash")}, deep=True)
    s.retrieval.fusion = "keyword"  # evidence is lexical; keyword hits keep this fast and embedder-free
    svc = Services(s)
    svc.ingester.ingest_documents([Document(k, v, "t", "s") for k, v in corpus.items()], origin="calib")
    return svc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=800)
    args = ap.parse_args()
    cmrc, rgb = load_cmrc2018(), load_rgb()
    with tempfile.TemporaryDirectory() as tmp:
        svc = _index(tmp, cmrc.corpus)
        pos = _evidence(svc, [q.question for q in cmrc.questions[: args.limit]])
        neg = _evidence(svc, [q.question for q in rgb.questions])
        svc.close()
    print(f"answerable (CMRC, n={len(pos)}): median {np.median(pos):.3f}, p10 {np.percentile(pos, 10):.3f}")
    print(f"off-corpus (RGB over CMRC, n={len(neg)}): median {np.median(neg):.3f}, p90 {np.percentile(neg, 90):.3f}")
    best = max(np.arange(0.05, 0.95, 0.025), key=lambda t: ((pos >= t).mean() + (neg < t).mean()) / 2)
    for t in sorted({round(float(best), 3), 0.3, 0.35, 0.4, 0.5}):
        print(f"threshold {t:.3f}: answers {100 * (pos >= t).mean():.1f}% of answerable, "
              f"refuses {100 * (neg < t).mean():.1f}% of off-corpus")
    # Same-topic negatives: each RGB question against its own negatives only.
    with tempfile.TemporaryDirectory() as tmp:
        raw = [row for row in _rgb_rows()][:100]
        corpus = {f"n{i}-{j}": t for i, row in enumerate(raw) for j, t in enumerate(row["negative"])}
        svc = _index(tmp, corpus)
        hard = _evidence(svc, [row["query"] for row in raw])
        svc.close()
    print(f"same-topic negatives (RGB, n={len(hard)}): median {np.median(hard):.3f}; "
          f"refused at {best:.3f}: {100 * (hard < best).mean():.1f}%")


def _rgb_rows():
    import json

    from eval.datasets import shared_dir

    for line in (shared_dir() / "rgb_zh_refine.json").read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


if __name__ == "__main__":
    main()
