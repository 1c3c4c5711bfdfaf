"""Adaptive fusion: features of synthetic candidate lists, the two-stage ranking, fitting, and the retriever."""

from __future__ import annotations

import numpy as np
import pytest

from eval.fusion_fit import Question, fit, model_docs, old_default_docs
from rag.components.fusion import STAGE1, STAGE2, FusionModel, candidate_features, rank
from rag.container import Services
from rag.types import Document, Filters

F = {f: i for i, f in enumerate(STAGE1)}


def _lists():
    dense = [("a1", "A", 0.90), ("b1", "B", 0.85), ("c1", "C", 0.80)]
    keyword = [("b1", "B", 12.0), ("a2", "A", 6.0), ("d1", "D", 3.0)]
    return dense, keyword


def test_features_cover_the_union_with_ranks_agreement_and_documents():
    dense, keyword = _lists()
    cand = candidate_features(dense, keyword, lengths={"a1": 200, "b1": 800})
    assert cand.chunk_ids == ["a1", "b1", "c1", "a2", "d1"]
    assert cand.doc_ids == ["A", "B", "C", "A", "D"]
    x = cand.x
    assert x.shape == (5, len(STAGE1))
    b1, a2 = cand.chunk_ids.index("b1"), cand.chunk_ids.index("a2")
    assert x[b1, F["both"]] == 1.0 and x[a2, F["both"]] == 0.0
    assert x[b1, F["k"]] == pytest.approx(1.0) and x[b1, F["d"]] == pytest.approx(0.5)
    assert x[0, F["d_rr"]] == pytest.approx(1.0) and x[a2, F["d_rr"]] == 0.0
    assert x[a2, F["doc_n"]] == pytest.approx(np.log(2))  # A matched in two chunks
    assert x[a2, F["doc_dsum"]] == pytest.approx(1.0)  # its sibling a1 is dense's best
    assert cand.keyword[0] is None and cand.dense[a2] is None  # nothing completed


def test_completion_fills_each_lists_score_of_the_other_lists_hits():
    dense, keyword = _lists()
    cand = candidate_features(dense, keyword, dense_more=[("a2", "A", 0.88), ("d1", "D", 0.5)],
                              keyword_more=[("a1", "A", 4.0)])
    a2, d1 = cand.chunk_ids.index("a2"), cand.chunk_ids.index("d1")
    assert cand.dense[a2] == pytest.approx(0.88) and cand.keyword[0] == pytest.approx(4.0)
    assert cand.x[a2, F["d_cos"]] == pytest.approx(10 * (0.88 - 0.90))
    assert cand.x[0, F["k_full"]] == pytest.approx(4.0 / 12.0)
    assert cand.x[d1, F["doc_cos"]] == pytest.approx(10 * (0.5 - 0.90))
    assert cand.x[cand.chunk_ids.index("c1"), F["k_full"]] == 0.0  # no shared term: BM25 gives it nothing


def _model(w1: dict[str, float], w2: dict[str, float], top_n: int = 2) -> FusionModel:
    return FusionModel(np.array([w1.get(f, 0.0) for f in STAGE1]), np.array([w2.get(f, 0.0) for f in STAGE2]),
                       top_n)


def test_weights_move_with_the_retrievers_own_gap():
    """A dense list with one clear winner lifts dense's weight; a flat one leaves the keyword side to decide."""
    m = _model({"d_x_dgap": 1.0, "k": 0.4}, {"s1": 1.0})
    clear = candidate_features([("x", "X", 0.95), ("y", "Y", 0.60), ("z", "Z", 0.59)],
                               [("y", "Y", 5.0), ("x", "X", 4.0)])
    flat = candidate_features([("x", "X", 0.80), ("y", "Y", 0.79), ("z", "Z", 0.60)],
                              [("y", "Y", 5.0), ("x", "X", 4.0)])
    top = [clear.chunk_ids[rank(m, clear, lambda idx: [0.0] * len(idx))[0][0]],
           flat.chunk_ids[rank(m, flat, lambda idx: [0.0] * len(idx))[0][0]]]
    assert top == ["x", "y"]


def test_stage_two_rescores_only_the_head_and_keeps_the_tail_below():
    dense = [(f"c{i}", f"D{i}", 0.9 - 0.01 * i) for i in range(5)]
    cand = candidate_features(dense, [])
    m = _model({"d": 1.0}, {"s1": 1.0, "ev": 10.0}, top_n=3)
    asked: list[list[int]] = []

    def evidence(idx: list[int]) -> list[float]:
        asked.append(list(idx))
        return [1.0 if cand.chunk_ids[i] == "c2" else 0.0 for i in idx]

    ranked = rank(m, cand, evidence)
    assert asked == [[0, 1, 2]]  # evidence is computed for the head only
    assert [cand.chunk_ids[i] for i, _ in ranked] == ["c2", "c0", "c1", "c3", "c4"]
    scores = [s for _, s in ranked]
    assert scores == sorted(scores, reverse=True)


def test_model_round_trips_and_a_missing_weight_says_how_to_fix_it(tmp_path):
    m = _model({"d": 0.5, "k": 1.5}, {"s1": 1.0, "ev": 2.0}, top_n=7)
    m.save(tmp_path / "m.json")
    back = FusionModel.load(tmp_path / "m.json")
    assert np.allclose(back.w1, m.w1) and np.allclose(back.w2, m.w2) and back.top_n == 7
    data = m.to_json()
    del data["stage1"]["k"]
    with pytest.raises(ValueError, match="eval.fusion_fit"):
        FusionModel.from_json(data)
    with pytest.raises(FileNotFoundError, match="fusion_model"):
        FusionModel.load(tmp_path / "absent.json")
    shipped = FusionModel.load()
    assert shipped.w1.shape == (len(STAGE1),) and shipped.w2.shape == (len(STAGE2),)


def _question(rng: np.random.Generator, keyword_knows: bool) -> Question:
    """Six candidates; the relevant one leads the keyword list (or the dense list), the other list is noise."""
    docs = [f"D{i}" for i in range(6)]
    good = [rng.random() + 1.0] + list(rng.random(5))
    noise = list(rng.random(6))
    k_scores, d_scores = (good, noise) if keyword_knows else (noise, good)
    dense = sorted(((f"c{i}", docs[i], 0.7 + 0.2 * s) for i, s in enumerate(d_scores)), key=lambda t: -t[2])
    keyword = sorted(((f"c{i}", docs[i], 10 * s) for i, s in enumerate(k_scores)), key=lambda t: -t[2])
    cand = candidate_features(dense, keyword)
    label = np.array([float(d == "D0") for d in cand.doc_ids])
    return Question(cand, np.zeros(len(cand.chunk_ids)), label, {"D0"}, [], [])


def test_fit_learns_to_trust_the_retriever_that_is_sure_on_each_question():
    """Symmetric (the default): one model serves questions where either list holds the answer with a clear gap."""
    rng = np.random.default_rng(0)
    train = {"kw": [_question(rng, True) for _ in range(40)], "dense": [_question(rng, False) for _ in range(40)]}
    model = fit(train, top_n=3)
    assert model.w1[F["k"]] == pytest.approx(model.w1[F["d"]])
    for keyword_knows in (True, False):
        held = [_question(rng, keyword_knows) for _ in range(100)]
        adaptive = sum(model_docs(model, q)[0] == "D0" for q in held)
        fixed = sum(old_default_docs(q, dense_weight=0.5, ev_weight=0.0)[0] == "D0" for q in held)
        assert adaptive >= 75 and adaptive > fixed + 10


def test_an_asymmetric_fit_learns_which_retriever_a_corpus_prefers():
    rng = np.random.default_rng(1)
    model = fit({"kw": [_question(rng, True) for _ in range(60)]}, top_n=3, asym=1.0)
    assert model.w1[F["k"]] > model.w1[F["d"]]


def test_retriever_ranks_with_the_shipped_model_and_respects_filters(settings):
    with Services(settings) as svc:
        docs = [Document(doc_id=f"d{i}", text=t, title=f"t{i}", source=f"s{i}.txt") for i, t in enumerate([
            "华为发布了新款折叠屏手机，售价为每台九千九百元。" * 3,
            "小米公司今天公布季度财报，营收同比增长百分之十二。" * 3,
            "中国气象局预计，本周末北方地区将迎来大范围降温天气。" * 3,
        ])]
        svc.ingester.ingest_documents(docs, origin="test")
        assert svc.retriever.settings.fusion == "adaptive"
        hits = svc.retriever.retrieve("小米公司季度营收增长多少？", top_k=2)
        assert len(hits) == 2 and hits[0].chunk.doc_id == "d1"
        assert hits[0].keyword_score is not None and hits[0].dense_score is not None
        only = svc.retriever.retrieve("小米公司季度营收增长多少？", top_k=3, filters=Filters(doc_ids=["d0", "d2"]))
        assert only and {h.chunk.doc_id for h in only} <= {"d0", "d2"}
