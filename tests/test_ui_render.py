"""The UI's pure parts: linked markers, supporting sentences, escaping, badge, filters, feedback, provider keys."""

from __future__ import annotations

import re

import gradio as gr
import pytest

from rag.components.feedback import FeedbackStore
from ui.filters import to_filters
from ui.providers import provider_rows
from ui.render import (
    answer_message,
    badge,
    best_sentence,
    citations_panel,
    format_cost,
    link_markers,
    supporting_spans,
)

CHUNK_1 = ("豆包大模型由字节跳动发布。主力模型企业市场定价0.0008元/千Tokens，比行业便宜99.3%。"
           "发布会后，阿里云宣布降价。")
CHUNK_2 = "百度宣布文心大模型两款主力模型全面免费。腾讯云宣布混元-lite模型免费。"


def _cite(n: int, text: str, **kw) -> dict:
    return {"n": n, "doc_id": f"d{n}", "title": kw.get("title", f"标题{n}"), "source": kw.get("source", "a.txt"),
            "page": kw.get("page"), "text": text, "score": 0.5}


def test_each_known_marker_becomes_a_link_to_its_card_and_unknown_ones_stay_text():
    out = link_markers("定价很低[1]。百度免费【2】。另说[1,2]。没有这条[7]。", turn=3, known={1, 2})
    assert out.count('href="#cite-3-1"') == 2 and out.count('href="#cite-3-2"') == 2
    assert "[7]" in out and "cite-3-7" not in out
    assert re.sub(r"<[^>]+>", "", out) == "定价很低[1]。百度免费[2]。另说[1][2]。没有这条[7]。"


def test_supporting_sentence_is_the_cited_chunks_sentence_closest_to_the_claim():
    span = best_sentence("主力模型的企业市场定价是0.0008元/千Tokens[1]。", CHUNK_1)
    assert CHUNK_1[span[0] : span[1]] == "主力模型企业市场定价0.0008元/千Tokens，比行业便宜99.3%。"
    answer = "豆包定价0.0008元/千Tokens，便宜99.3%[1]。腾讯的混元-lite免费[2]。"
    spans = supporting_spans(answer, [_cite(1, CHUNK_1), _cite(2, CHUNK_2)])
    assert [CHUNK_1[a:b] for a, b in spans[1]] == ["主力模型企业市场定价0.0008元/千Tokens，比行业便宜99.3%。"]
    assert [CHUNK_2[a:b] for a, b in spans[2]] == ["腾讯云宣布混元-lite模型免费。"]


def test_a_citation_no_sentence_marks_is_matched_against_the_whole_answer():
    spans = supporting_spans("阿里云宣布降价。", [_cite(1, CHUNK_1)])
    assert [CHUNK_1[a:b] for a, b in spans[1]] == ["发布会后，阿里云宣布降价。"]


def test_cards_escape_the_passage_and_show_title_page_link_and_highlight():
    evil = _cite(1, "<script>alert(1)</script>。定价0.0008元。", title="<b>报告</b>", source="https://x.cn/a?b=1&c=2",
                 page=3)
    panel = citations_panel([{"question": "定价？", "answer": {"answer": "定价0.0008元[1]。", "citations": [evil]}}])
    assert "<script>" not in panel and "&lt;script&gt;" in panel and "&lt;b&gt;报告&lt;/b&gt;" in panel
    assert 'id="cite-0-1"' in panel and "第 3 页" in panel and 'href="https://x.cn/a?b=1&amp;c=2"' in panel
    assert '<mark class="support">定价0.0008元。</mark>' in panel


def test_older_answers_keep_their_own_cards_under_their_own_anchors():
    turns = [{"question": "一", "answer": {"answer": "甲[1]。", "citations": [_cite(1, "甲。")]}},
             {"question": "二", "answer": {"answer": "乙[1]。", "citations": [_cite(1, "乙。")]}}]
    panel = citations_panel(turns)
    assert panel.index('id="cite-1-1"') < panel.index('id="cite-0-1"')  # latest first
    assert '<details class="cite-turn" id="turn-1" open>' in panel and 'id="turn-0">' in panel
    assert 'href="#cite-1-1"' in answer_message(turns[1]["answer"], 1)


def test_badge_shows_model_tokens_cost_latency_and_why_it_escalated():
    escalated = {"model": "qwen-max", "provider": "strong", "input_tokens": 812, "output_tokens": 95,
                 "cost": 0.0123456, "latency_ms": 2345.0, "escalated_from": "cheap",
                 "escalation_reason": "sentence 1 cites nothing"}
    text = re.sub(r"<[^>]+>", " ", badge(escalated))
    for part in ("qwen-max（strong）", "812 入", "95 出", "¥0.0123", "2.3 s",
                 "已从 cheap 升级：sentence 1 cites nothing"):
        assert part in text
    fallback = re.sub(r"<[^>]+>", " ", badge({"model": "extractive", "cost": 0, "latency_ms": 12,
                                              "fallback_reason": "no provider configured"}))
    assert "¥0" in fallback and "12 ms" in fallback and "未配置可用的大模型" in fallback
    assert format_cost(0.0003) == "¥0.000300" and format_cost(1.5) == "¥1.5000"


def test_filters_are_built_from_the_pickers_and_bad_dates_get_a_clear_error():
    f = to_filters(["人工智能"], "2024-05-01", "2024-05-31 00:00:00", ["abc"])
    assert f.to_dict() == {"industry": ["人工智能"], "doc_ids": ["abc"], "date_from": "2024-05-01",
                           "date_to": "2024-05-31"}
    assert to_filters(None, None, "", []).is_empty()
    with pytest.raises(gr.Error, match="YYYY-MM-DD"):
        to_filters(None, "5月1日", None, None)
    with pytest.raises(gr.Error, match="晚于"):
        to_filters(None, "2024-06-01", "2024-05-01", None)


def test_feedback_store_keeps_one_vote_per_answer_with_its_question_answer_and_citations(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite")
    store.record("a1", True, "定价？", "0.0008元[1]", [_cite(1, CHUNK_1)], model="extractive", details={"cost": 0})
    store.record("a2", False, "免费？", "百度[1]", [_cite(1, CHUNK_2)])
    store.record("a1", False, "定价？", "0.0008元[1]", [_cite(1, CHUNK_1)])  # changed its mind
    assert store.counts() == {"up": 0, "down": 2}
    row = FeedbackStore(tmp_path / "fb.sqlite").get("a1")  # survives reopening
    assert row["liked"] is False and row["question"] == "定价？" and row["citations"][0]["text"] == CHUNK_1
    assert store.withdraw("a2") and not store.withdraw("a2") and store.counts() == {"up": 0, "down": 1}
    with pytest.raises(ValueError):
        store.record("", True, "q", "a", [])


def test_provider_view_says_whether_a_key_is_set_but_never_shows_it(services, monkeypatch):
    secret = "sk-ui-secret-7f3a9c"
    env = services.settings.llm.providers[0].api_key_env
    monkeypatch.setenv(env, secret)
    rows = provider_rows(services)
    assert secret not in str(rows)
    names = [p.name for p in services.settings.llm.providers]
    assert [r[0] for r in rows] == names
    first = rows[0]
    assert first[-1] == f"${env}：已设置（••••••）" and first[5] == "可用"
    unset = next(r for r in rows[1:] if r[-1].endswith("未设置"))
    assert unset[5] == "未启用" and unset[2] in ("免费", "低价", "强")


def test_a_thumb_on_the_second_answer_is_stored_for_that_turn_and_can_be_withdrawn(tmp_path):
    from ui.chat import record_feedback

    store = FeedbackStore(tmp_path / "fb.sqlite")
    answers = [{"answer": f"答{i}[1]", "citations": [_cite(1, CHUNK_1)], "model": "m", "cost": 0.0} for i in (1, 2)]
    turns = [{"id": f"t{i}", "question": f"问{i}", "filters": {}, "answer": a} for i, a in enumerate(answers, 1)]
    history = [m for i in (1, 2) for m in ({"role": "user", "content": f"问{i}"},
                                           {"role": "assistant", "content": f"答{i}"})]
    record_feedback(store, turns, history, gr.LikeData(None, {"index": 3, "value": ["答2"], "liked": False}))
    row = store.get("t2")
    assert row["liked"] is False and row["question"] == "问2" and row["answer"] == "答2[1]" and store.get("t1") is None
    record_feedback(store, turns, history, gr.LikeData(None, {"index": 3, "value": ["答2"], "liked": ""}))
    assert store.get("t2") is None
    with pytest.raises(gr.Error, match="找不到"):
        record_feedback(store, turns, history[:1], gr.LikeData(None, {"index": 0, "value": ["问1"], "liked": True}))
