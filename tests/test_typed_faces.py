"""Typed faces (issue 15): every route's response documented, typed answers and stream events, one protocol."""

from __future__ import annotations

import httpx
import pytest

from rag.app import create_app
from rag.client import RemoteServices
from rag.container import Services
from rag.protocols import IndexServices
from rag.testing.uvicorn_thread import UvicornThread
from rag.types import Answer, Attempt, Budget, Citation, DoneEvent, RewriteInfo, TokenEvent, Usage
from tests.conftest import SEED_QUESTION, SEEDS

pytestmark = pytest.mark.integration


def _full_answer() -> Answer:
    return Answer(answer="定价为0.0008元/千Tokens[1]。", model="m", cost=0.0012, latency_ms=12.34, refused=False,
                  citations=[Citation(1, "d1", "t", "s", None, "正文", 0.9)], provider="cheap", tier="cheap",
                  usage=Usage(120, 30, False), estimated_cost=0.002,
                  attempts=[Attempt("free", "f", "failed", "timeout; cooling down 60s"),
                            Attempt("cheap", "m", "answered", "", 120, 30, False, 0.0012)],
                  grounding={"ok": True, "refused": False, "cited": [1], "problems": []}, chunks_given=5,
                  budget=Budget(0.5, None), escalated_from="x", escalation_reason="why", warning="w",
                  rewrite=RewriteInfo("那阿里云呢？", "阿里云的定价是多少？", "llm", "free"),
                  filters={"industry": ["人工智能"]})


def test_answer_json_keeps_its_field_names_and_round_trips():
    data = _full_answer().to_dict()
    assert {"provider", "tier", "input_tokens", "output_tokens", "usage_estimated", "estimated_cost", "tried",
            "grounding", "chunks_given", "spent_today_cny", "daily_budget_cny", "escalated_from",
            "escalation_reason", "warning", "question", "standalone_question", "rewrite", "rewrite_provider",
            "filters"} <= set(data)
    assert data["daily_budget_cny"] is None and data["tried"][0] == {
        "provider": "free", "model": "f", "outcome": "failed", "reason": "timeout; cooling down 60s"}
    assert Answer.from_dict(data).to_dict() == data
    # An older producer passing these keys in `details` gets the same typed fields.
    legacy = Answer("a", [], "extractive", details={"evidence": 0.4, "fallback_reason": "no provider configured",
                                                      "tried": [], "input_tokens": 0, "output_tokens": 0})
    assert legacy.evidence == 0.4 and legacy.fallback_reason == "no provider configured" and legacy.details == {}
    assert legacy.attempts == [] and legacy.usage == Usage(0, 0)


@pytest.fixture
def served(settings):
    services = Services(settings)
    services.ingest_paths([str(SEEDS)])
    with UvicornThread(create_app(settings, services=services, ui=False)) as srv:
        yield services, srv


def test_every_route_documents_its_response_and_ask_has_no_extra_fields(served):
    _, srv = served
    spec = httpx.get(f"{srv.url}/openapi.json", trust_env=False).json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            ok = op["responses"].get("200", {}).get("content", {})
            schema = next(iter(ok.values()), {}).get("schema") or next(iter(ok.values()), {}).get("itemSchema")
            assert schema, f"{method.upper()} {path} documents no response body"
    ask = spec["components"]["schemas"]["AskResponse"]
    assert ask.get("additionalProperties") is not True
    assert {"provider", "tried", "fallback_reason", "grounding", "input_tokens", "standalone_question"} <= set(
        ask["properties"])


def test_answers_and_stream_events_are_typed_alike_in_process_and_remote(served):
    services, srv = served
    assert isinstance(services, IndexServices)
    events = list(services.stream(SEED_QUESTION))
    assert all(isinstance(e, TokenEvent) for e in events[:-1]) and isinstance(events[-1], DoneEvent)
    local = services.ask(SEED_QUESTION)
    remote = RemoteServices(srv.url)
    try:
        assert isinstance(remote, IndexServices)
        answer = remote.ask(SEED_QUESTION)
        assert isinstance(answer, Answer) and answer.provider == local.provider == "extractive"
        assert answer.fallback_reason == local.fallback_reason and answer.citations[0] == local.citations[0]
        assert answer.usage == local.usage and answer.evidence == local.evidence
        assert remote.check_index()["consistent"] and remote.list_documents()["total"] == 1
    finally:
        remote.close()
    resp = httpx.post(f"{srv.url}/ask", json={"question": SEED_QUESTION}, trust_env=False).json()
    assert set(resp) == set(local.to_dict())  # no null fields added: the same keys as the answer's JSON
