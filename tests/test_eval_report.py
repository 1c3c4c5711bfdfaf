"""Embedding cache, ranking metrics, a user's JSONL eval over their own index, and the one-command report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eval.datasets import load_jsonl
from eval.evaluate import contains_answer, threshold_curve
from eval.metrics import evaluate_rankings, ndcg_at, recall_at
from eval.report import build_report, plot_threshold
from rag.cli import main
from rag.components.embedders.cache import CachedEmbedder, model_id
from rag.components.embedders.hashing import HashEmbedder
from rag.container import Services
from rag.types import Document


class CountingEmbedder(HashEmbedder):
    """The hash embedder, counting the texts it is really asked to embed."""

    def __init__(self) -> None:
        super().__init__(dim=64)
        self.calls = 0

    def embed_passages(self, texts):
        self.calls += len(texts)
        return super().embed_passages(texts)

    def embed_query(self, text):
        self.calls += 1
        return super().embed_query(text)


def test_cache_embeds_each_text_once_per_role(tmp_path):
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, tmp_path / "emb.sqlite")
    texts = ["上海的人口是多少", "北京是首都", "上海的人口是多少"]
    first = cached.embed_passages(texts)
    assert inner.calls == 2  # the duplicate is embedded once
    np.testing.assert_allclose(first, inner.embed_passages(texts), atol=1e-7)
    inner.calls = 0
    again = CachedEmbedder(inner, tmp_path / "emb.sqlite")  # a new process: read from disk
    np.testing.assert_array_equal(again.embed_passages(texts), first)
    assert inner.calls == 0 and again.stats == {"hits": 3, "misses": 0}
    again.embed_query("北京是首都")  # same text, other role: a different key
    assert inner.calls == 1 and again.space == inner.space and again.dim == 64
    assert model_id(HashEmbedder(32)) != model_id(inner)


def test_ranking_metrics_by_hand():
    ranked = ["a", "x", "b", "y"]
    assert recall_at(ranked, {"a", "b"}, 1) == 0.5 and recall_at(ranked, {"a", "b"}, 3) == 1.0
    ideal = 1 + 1 / np.log2(3)
    assert ndcg_at(ranked, {"a", "b"}) == pytest.approx((1 + 1 / np.log2(4)) / ideal)
    m = evaluate_rankings([ranked, ["z"]], [{"b"}, {"q"}])
    assert m["hit@1"] == 0 and m["hit@5"] == 0.5 and m["mrr@10"] == pytest.approx(1 / 6, abs=1e-4)


def test_answer_judge_ignores_width_case_and_spaces():
    assert contains_answer("营收为１２亿元", ["12亿"]) and contains_answer("The iPhone 15", ["iphone15"])
    assert not contains_answer("营收为13亿元", ["12亿"])


def test_threshold_curve_is_monotone_and_plots(tmp_path):
    curve = threshold_curve([0.9, 0.8, 0.7, 0.3], [0.1, 0.4, 0.6])
    assert curve[0]["refusal_rate"] == 0 and curve[-1]["false_refusal_rate"] == 1
    assert all(a["refusal_rate"] <= b["refusal_rate"] for a, b in zip(curve, curve[1:], strict=False))
    plot_threshold({"threshold_curve": curve, "min_evidence": 0.5, "dataset": "t"}, tmp_path / "t.png")
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"


def test_jsonl_errors_are_clear(tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"question": "x", "answers": "not a list"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="answers"):
        load_jsonl(bad)
    bad.write_text("{oops\n", encoding="utf-8")
    with pytest.raises(ValueError, match="q.jsonl:1"):
        load_jsonl(bad)
    with pytest.raises(FileNotFoundError):
        load_jsonl(tmp_path / "missing.jsonl")


DOCS = {
    "ev": "比亚迪2023年新能源汽车销量为302万辆，同比增长62%。公司总部位于深圳。",
    "ai": "百度发布文心一言大模型，首批开放给企业用户测试，发布会在北京举行。",
    "rice": "袁隆平被称为杂交水稻之父，他培育的杂交水稻大幅提高了粮食产量。",
}


@pytest.fixture
def user_index(tmp_path, settings):
    with Services(settings) as svc:
        svc.ingester.ingest_documents(
            [Document(k, v, k, f"/docs/{k}.txt") for k, v in DOCS.items()], origin="user")
    qs = tmp_path / "mine.jsonl"
    rows = [{"question": "比亚迪2023年新能源汽车卖了多少辆", "answers": ["302万辆"], "doc_ids": ["ev"]},
            {"question": "谁被称为杂交水稻之父", "answers": ["袁隆平"], "sources": ["rice.txt"]},
            {"question": "文心一言是哪家公司发布的", "answers": ["百度"], "doc_ids": ["ai"]}]
    qs.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    cfg = tmp_path / "s.yaml"
    cfg.write_text(f"data_dir: {settings.data_dir}\nembedding:\n  backend: hash\n", encoding="utf-8")
    return cfg, qs


def test_user_jsonl_over_own_index(user_index, capsys):
    cfg, qs = user_index
    assert main(["--settings", str(cfg), "eval", "retrieval", "--dataset", str(qs), "--ablations", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 3 and out["hit@1"] == 1.0  # sources resolved to the rice document
    # The partial settings file keeps the shipped evidence stage, so plain weighted fusion (and weighted +
    # evidence, the default before adaptive fusion) are ablations too.
    assert set(out["ablations"]) == {"keyword", "dense", "rrf", "weighted(dense 0.7)",
                                     "weighted(dense 0.7)+evidence 0.8", out["configuration"]["name"]}
    assert main(["--settings", str(cfg), "eval", "answers", "--dataset", str(qs)]) == 0
    table = capsys.readouterr().out
    assert "accuracy" in table and "false_refusal_rate" in table


def test_report_writes_markdown_plots_and_json(user_index, tmp_path):
    from rag.settings import load_settings

    cfg, qs = user_index
    report = build_report(load_settings(cfg), tmp_path / "rep", datasets=(str(qs),), answers_dataset=str(qs),
                          progress=False)
    out = tmp_path / "rep"
    for name in report["plots"].values():
        assert (out / name).read_bytes()[:4] == b"\x89PNG", name
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| keyword |" in md and "retrieval_metrics.png" in md and "cost_vs_accuracy.png" in md
    saved = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert saved["answers"]["accuracy"] == report["answers"]["accuracy"]


def test_unknown_dataset_is_a_clear_error(user_index, capsys):
    cfg, _ = user_index
    assert main(["--settings", str(cfg), "eval", "retrieval", "--dataset", "squad"]) == 2
    assert "error: unknown dataset 'squad'" in capsys.readouterr().err
