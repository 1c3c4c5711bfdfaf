"""LLMAnswerService against a real OpenAI-compatible server on loopback with scripted models."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from rag.components.llm.pricing import BEIJING
from rag.components.shared_state import SqliteLedger
from rag.services.llm_answer import LLMAnswerService
from rag.settings_llm import LLMSettings, ProviderSettings
from rag.testing.openai_server import OpenAIServer, Script
from rag.types import Answer, Chunk, Citation, Hit

pytestmark = pytest.mark.integration

KEY = "sk-test-SECRET-7f3a9c2e51"
KEY_ENV = "RAG_TEST_LLM_KEY"
QUESTION = "2024年新能源汽车销量是多少？"
CHUNK1 = "2024年全国新能源汽车销量达到1286.6万辆，同比增长35.5%。其中纯电动汽车占比约六成。"
CHUNK2 = "国家统计局数据显示，2024年国内生产总值增长5.0%，经济运行总体平稳。"


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)


def hits() -> list[Hit]:
    return [
        Hit(Chunk("c1", "d1", CHUNK1, "新能源汽车年报", "news.cn", 0, len(CHUNK1)), 0.9),
        Hit(Chunk("c2", "d2", CHUNK2, "统计公报", "stats.gov.cn", 0, len(CHUNK2)), 0.5),
    ]


def extractive(question: str, hs: list[Hit]) -> Answer:
    if not hs:
        return Answer("资料中没有找到相关信息。", [], "extractive", refused=True)
    c = hs[0].chunk
    cit = Citation(1, c.doc_id, c.title, c.source, c.page, c.text, hs[0].score)
    return Answer(c.text.split("。")[0] + "。[1]", [cit], "extractive")


def prov(server: OpenAIServer, name: str, model: str, price: float, **kw: Any) -> ProviderSettings:
    data: dict[str, Any] = dict(
        name=name,
        base_url=server.base_url,
        model=model,
        api_key_env=KEY_ENV,
        price_input=price,
        price_output=price,
        context_window=8192,
        timeout_s=5,
    )
    data.update(kw)
    return ProviderSettings.model_validate(data)


def service(tmp_path: Path, providers: list[ProviderSettings], **kw: Any) -> LLMAnswerService:
    extra = {k: kw.pop(k) for k in ("evidence", "clock", "now") if k in kw}
    settings = LLMSettings(providers=providers, **kw)
    return LLMAnswerService(settings, extractive, tmp_path, **extra)


def three(server: OpenAIServer, cheap_model: str = "cite-cheap") -> list[ProviderSettings]:
    # listed out of price order on purpose: routing must sort by cost, not by position
    return [
        prov(server, "strong", "cite-strong", 2.0, tier="strong"),
        prov(server, "free", "status-503", 0.0),
        prov(server, "cheap", cheap_model, 0.3),
    ]


def assert_no_key(answer: dict[str, Any] | Answer, caplog: pytest.LogCaptureFixture | None = None) -> None:
    data = answer.to_dict() if isinstance(answer, Answer) else answer
    assert KEY not in json.dumps(data, ensure_ascii=False)
    if caplog is not None:
        assert KEY not in caplog.text


def test_cheapest_working_provider_answers_with_tokens_and_cost(
    server: OpenAIServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    svc = service(tmp_path, three(server))
    ans = svc.answer(QUESTION, hits())
    d = ans.to_dict()
    assert d["provider"] == "cheap" and ans.model == "cite-cheap"
    assert "1286.6万辆" in ans.answer and "[1]" in ans.answer
    assert d["input_tokens"] > 0 and d["output_tokens"] > 0 and d["usage_estimated"] is False
    expected = (d["input_tokens"] + d["output_tokens"]) * 0.3 / 1_000_000
    assert ans.cost == pytest.approx(expected)
    assert [c.n for c in ans.citations] == [1, 2] and ans.citations[0].doc_id == "d1"
    assert ans.citations[1].score == 0.5
    outcomes = [(t["provider"], t["outcome"]) for t in d["tried"]]
    assert outcomes == [("free", "failed"), ("cheap", "answered")]
    assert "503" in d["tried"][0]["reason"] and "cooling down" in d["tried"][0]["reason"]
    assert "strong" not in {t["provider"] for t in d["tried"]}
    # the key reached the server, but nowhere else
    assert server.calls("cite-cheap")[-1].authorization == f"Bearer {KEY}"
    assert_no_key(ans, caplog)
    # ledger persisted under the data dir (shared by every worker that opens the same file)
    day = SqliteLedger(tmp_path / "shared_state.sqlite").day(svc._day())
    assert day["cost_cny"] == pytest.approx(ans.cost) and day["providers"]["cheap"]["calls"] == 1


def test_cooling_provider_is_skipped_then_retried_later(server: OpenAIServer, tmp_path: Path) -> None:
    t = [1000.0]
    svc = service(tmp_path, three(server), cooldown_s=30, clock=lambda: t[0])
    svc.answer(QUESTION, hits())
    n503 = len(server.calls("status-503"))
    second = svc.answer(QUESTION, hits()).to_dict()
    assert len(server.calls("status-503")) == n503  # not called again while cooling down
    assert second["tried"][0]["outcome"] == "skipped" and "cooling down" in second["tried"][0]["reason"]
    health = {p["name"]: p for p in svc.health()["providers"]}
    assert health["free"]["status"] == "cooling down" and "cooling_until" in health["free"]
    t[0] += 31
    third = svc.answer(QUESTION, hits())
    assert len(server.calls("status-503")) == n503 + 1
    # second failure in a row: the cooldown doubles
    assert "cooling down 60s" in third.attempts[0].reason


def test_429_honours_retry_after_and_timeout_falls_through(server: OpenAIServer, tmp_path: Path) -> None:
    server.script("limited", Script(mode="error", status=429, retry_after=120))
    providers = [
        prov(server, "limited", "limited", 0.0),
        prov(server, "slow", "slow-free", 0.0, timeout_s=0.5),
        prov(server, "cheap", "cite-cheap", 0.3),
    ]
    svc = service(tmp_path, providers, cooldown_s=5)
    ans = svc.answer(QUESTION, hits())
    d = ans.to_dict()
    assert d["provider"] == "cheap"
    reasons = {t["provider"]: t["reason"] for t in d["tried"]}
    assert "429" in reasons["limited"] and "cooling down 120s" in reasons["limited"]
    assert "timed out" in reasons["slow"]
    assert len(server.calls("slow-free")) == 1  # max_retries=0: no retry loop on the same call
    assert ans.latency_ms < 2000


def test_401_disables_provider_and_never_leaks_the_key(
    server: OpenAIServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    providers = [prov(server, "badkey", "status-401", 0.0), prov(server, "cheap", "cite-cheap", 0.3)]
    svc = service(tmp_path, providers)
    ans = svc.answer(QUESTION, hits())
    assert ans.provider == "cheap"
    failed = ans.attempts[0].to_dict()
    assert failed["outcome"] == "failed" and "401" in failed["reason"] and "disabled" in failed["reason"]
    health = svc.health()
    bad = next(p for p in health["providers"] if p["name"] == "badkey")
    assert bad["status"] == "disabled" and "401" in bad["reason"] and KEY_ENV in bad["reason"]
    calls = len(server.calls("status-401"))
    again = svc.answer(QUESTION, hits())
    assert len(server.calls("status-401")) == calls
    assert "disabled" in again.attempts[0].reason
    events = [e.to_dict() for e in svc.stream(QUESTION, hits())]
    assert_no_key(ans, caplog)
    assert_no_key(again)
    assert KEY not in json.dumps(health) and KEY not in json.dumps(events, ensure_ascii=False)
    # the server really echoed the key in its error body: redaction did the work
    assert server.calls("status-401")[0].authorization.endswith(KEY)


def test_uncited_answer_escalates_to_next_tier(server: OpenAIServer, tmp_path: Path) -> None:
    svc = service(tmp_path, three(server, cheap_model="uncited-cheap"))
    ans = svc.answer(QUESTION, hits())
    d = ans.to_dict()
    assert d["provider"] == "strong" and ans.model == "cite-strong"
    assert d["escalated_from"] == "cheap"
    assert "without citation" in d["escalation_reason"]
    outcomes = [(t["provider"], t["outcome"]) for t in d["tried"]]
    assert outcomes == [("free", "failed"), ("cheap", "escalated"), ("strong", "answered")]
    assert ans.cost == pytest.approx(sum(t.get("cost", 0.0) for t in d["tried"]))
    assert d["tried"][1]["cost"] > 0 and d["tried"][2]["cost"] > d["tried"][1]["cost"]
    assert d["grounding"]["ok"] and [c.n for c in ans.citations] == [1, 2]


def test_bad_citation_and_needless_refusal_escalate(server: OpenAIServer, tmp_path: Path) -> None:
    svc = service(tmp_path, three(server, cheap_model="badcite-cheap"))
    d = svc.answer(QUESTION, hits()).to_dict()
    assert d["provider"] == "strong" and "not given" in d["escalation_reason"]
    strong = service(tmp_path, three(server, cheap_model="refuse-cheap"), evidence=lambda q, h: 1.0)
    d = strong.answer(QUESTION, hits()).to_dict()
    assert d["provider"] == "strong" and "retrieval evidence is strong" in d["escalation_reason"]
    weak = service(tmp_path, three(server, cheap_model="refuse-cheap"), evidence=lambda q, h: 0.1)
    ans = weak.answer(QUESTION, hits())
    assert ans.provider == "cheap" and ans.refused and ans.citations == []
    assert ans.escalated_from is None


def test_no_stronger_tier_keeps_answer_and_says_why(server: OpenAIServer, tmp_path: Path) -> None:
    svc = service(tmp_path, [prov(server, "cheap", "uncited-cheap", 0.3)])
    d = svc.answer(QUESTION, hits()).to_dict()
    assert d["provider"] == "cheap" and "no stronger provider" in d["escalation_reason"]
    assert d["grounding"]["ok"] is False and "warning" in d


def test_no_provider_configured_uses_extractive(
    server: OpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    none = service(tmp_path, [])
    ans = none.answer(QUESTION, hits())
    assert ans.model == "extractive" and ans.fallback_reason == "no provider configured"
    assert ans.citations and ans.citations[0].doc_id == "d1"
    monkeypatch.delenv(KEY_ENV)
    keyless = service(tmp_path, three(server))
    ans = keyless.answer(QUESTION, hits())
    assert ans.fallback_reason == "no provider configured"
    assert all(p["status"] == "inactive" and KEY_ENV in p["reason"] for p in keyless.health()["providers"])
    events = [e.to_dict() for e in keyless.stream(QUESTION, hits())]
    assert events[-1]["type"] == "done" and events[-1]["answer"]["model"] == "extractive"


def test_all_providers_failing_falls_back_with_reasons(server: OpenAIServer, tmp_path: Path) -> None:
    providers = [
        prov(server, "a", "status-500", 0.0),
        prov(server, "b", "status-503", 0.3),
        prov(server, "local", "any", 0.0, base_url="http://127.0.0.1:1/v1", api_key_env=""),
    ]
    svc = service(tmp_path, providers)
    ans = svc.answer(QUESTION, hits())
    reason = ans.fallback_reason
    assert ans.model == "extractive" and reason.startswith("all providers failed:")
    assert "a: HTTP 500" in reason and "b: HTTP 503" in reason and "local: connection failed" in reason
    assert [t.outcome for t in ans.attempts] == ["failed", "failed", "failed"]
    assert {p["status"] for p in svc.health()["providers"]} == {"cooling down"}


def test_daily_budget_leaves_only_free_providers(server: OpenAIServer, tmp_path: Path) -> None:
    day = [datetime(2026, 3, 1, 12, 0, tzinfo=BEIJING)]
    providers = [prov(server, "cheap", "cite-cheap", 0.3), prov(server, "free", "cite-free", 0.0)]
    svc = service(tmp_path, providers, daily_budget_cny=0.01, now=lambda: day[0])
    # free is cheapest anyway; make it unavailable to see the paid one used, then spend the budget
    svc.states.disable("free", "test")
    first = svc.answer(QUESTION, hits())
    assert first.provider == "cheap" and first.cost > 0
    svc.ledger.record("2026-03-01", "elsewhere", 0, 0, 0.01)
    assert svc.health()["budget"]["only_free"] is True
    blocked = svc.answer(QUESTION, hits())
    assert blocked.model == "extractive"
    assert "daily budget spent" in blocked.fallback_reason
    # a fresh service (restart) reads the ledger; the free provider still answers
    again = service(tmp_path, providers, daily_budget_cny=0.01, now=lambda: day[0])
    ans = again.answer(QUESTION, hits())
    assert ans.provider == "free" and ans.cost == 0.0
    assert any(t.provider == "cheap" and "budget" in t.reason for t in ans.attempts)
    # next day the budget is fresh
    day[0] = datetime(2026, 3, 2, 9, 0, tzinfo=BEIJING)
    again.states.disable("free", "test")
    assert again.answer(QUESTION, hits()).provider == "cheap"


def test_rate_limit_and_small_context_window_are_skipped(server: OpenAIServer, tmp_path: Path) -> None:
    providers = [
        prov(server, "tiny", "cite-tiny", 0.0, context_window=600),
        prov(server, "cheap", "cite-cheap", 0.3, rpm=1),
        prov(server, "strong", "cite-strong", 2.0, tier="strong"),
    ]
    svc = service(tmp_path, providers)
    first = svc.answer(QUESTION, hits()).to_dict()
    assert first["provider"] == "cheap"
    assert first["tried"][0]["provider"] == "tiny" and "context window" in first["tried"][0]["reason"]
    second = svc.answer(QUESTION, hits()).to_dict()
    assert second["provider"] == "strong"
    assert any(t["provider"] == "cheap" and "rate limit" in t["reason"] for t in second["tried"])


def test_missing_usage_is_estimated(server: OpenAIServer, tmp_path: Path) -> None:
    ans = service(tmp_path, [prov(server, "cheap", "nousage-cheap", 0.3)]).answer(QUESTION, hits())
    d = ans.to_dict()
    assert d["usage_estimated"] is True and d["input_tokens"] > 100 and d["output_tokens"] > 10
    assert ans.cost > 0


def test_stream_yields_tokens_then_done_with_citations(server: OpenAIServer, tmp_path: Path) -> None:
    svc = service(tmp_path, three(server))
    events = [e.to_dict() for e in svc.stream(QUESTION, hits())]
    tokens = [e["text"] for e in events if e["type"] == "token"]
    assert len(tokens) > 3 and events[-1]["type"] == "done"
    done = events[-1]["answer"]
    assert "".join(tokens) == done["answer"]
    assert done["provider"] == "cheap" and [c["n"] for c in done["citations"]] == [1, 2]
    assert done["usage_estimated"] is False and done["output_tokens"] == len(done["answer"])
    assert server.calls("cite-cheap")[-1].body["stream"] is True


def test_stream_escalation_and_mid_stream_failure_reset(server: OpenAIServer, tmp_path: Path) -> None:
    svc = service(tmp_path, three(server, cheap_model="uncited-cheap"))
    events = [e.to_dict() for e in svc.stream(QUESTION, hits())]
    kinds = [e["type"] for e in events]
    assert "reset" in kinds and kinds[-1] == "done"
    after_reset = events[kinds.index("reset") + 1 :]
    text = "".join(e["text"] for e in after_reset if e["type"] == "token")
    assert text == events[-1]["answer"]["answer"] and events[-1]["answer"]["escalated_from"] == "cheap"
    stall = service(
        tmp_path,
        [prov(server, "stall", "stall-free", 0.0, timeout_s=0.5), prov(server, "cheap", "cite-cheap", 0.3)],
    )
    events = [e.to_dict() for e in stall.stream(QUESTION, hits())]
    kinds = [e["type"] for e in events]
    assert kinds.index("token") < kinds.index("reset") < len(kinds) - 1
    done = events[-1]["answer"]
    assert done["provider"] == "cheap" and done["tried"][0]["outcome"] == "failed"
    assert "timed out" in done["tried"][0]["reason"]
