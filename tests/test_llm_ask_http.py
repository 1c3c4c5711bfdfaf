"""Issue 3's three cases through the real HTTP `/ask`: cheapest working provider, escalation, extractive tier 0."""

from __future__ import annotations

import httpx
import pytest

from rag.app import create_app
from rag.settings_llm import LLMSettings, ProviderSettings
from rag.testing.openai_server import OpenAIServer
from rag.testing.uvicorn_thread import UvicornThread
from tests.conftest import SEED_QUESTION, SEEDS, make_settings, scripted_provider

pytestmark = pytest.mark.integration

KEY = "sk-http-test-9b7e41d0c3"
KEY_ENV = "RAG_HTTP_TEST_LLM_KEY"



def _provider(server: OpenAIServer, name: str, model: str, price: float, tier: str) -> ProviderSettings:
    return scripted_provider(server, name, model, price, tier, KEY_ENV)


def _ask(tmp_path, providers: list[ProviderSettings]) -> dict:
    settings = make_settings(tmp_path / "data")
    settings.llm = LLMSettings(providers=providers)
    app = create_app(settings, ui=False)
    with UvicornThread(app) as srv, httpx.Client(base_url=srv.url, timeout=60, trust_env=False) as http:
        seed = next(SEEDS.glob("*.txt"))
        assert http.post("/documents", files=[("files", (seed.name, seed.read_bytes()))]).status_code == 200
        resp = http.post("/ask", json={"question": SEED_QUESTION})
        assert resp.status_code == 200, resp.text
        health = http.get("/health").json()
    body = resp.json()
    assert KEY not in resp.text and KEY not in str(health)
    return body


def test_answers_through_the_cheapest_working_provider(tmp_path, llm_server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    body = _ask(tmp_path, [
        _provider(llm_server, "strong", "cite-strong", 2.0, "strong"),
        _provider(llm_server, "free", "status-503", 0.0, "free"),
        _provider(llm_server, "cheap", "cite-cheap", 0.3, "cheap"),
    ])
    assert body["provider"] == "cheap" and body["model"] == "cite-cheap"
    assert body["input_tokens"] > 0 and body["output_tokens"] > 0
    expected = (body["input_tokens"] + body["output_tokens"]) * 0.3 / 1e6
    assert body["cost"] == pytest.approx(expected, rel=1e-6)
    outcomes = {t["provider"]: t["outcome"] for t in body["tried"]}
    assert "503" in str([t for t in body["tried"] if t["provider"] == "free"]) and outcomes["cheap"]
    assert body["citations"] and "[" in body["answer"]


def test_uncited_cheap_answer_escalates_to_the_strong_one(tmp_path, llm_server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    body = _ask(tmp_path, [
        _provider(llm_server, "free", "status-503", 0.0, "free"),
        _provider(llm_server, "cheap", "uncited-cheap", 0.3, "cheap"),
        _provider(llm_server, "strong", "cite-strong", 2.0, "strong"),
    ])
    assert body["provider"] == "strong" and body["model"] == "cite-strong"
    assert body["escalated_from"] == "cheap" and "citation" in body["escalation_reason"]
    assert body["cost"] > 0


def test_no_provider_configured_uses_the_extractive_answerer(tmp_path):
    body = _ask(tmp_path, [])
    assert body["model"] == "extractive" and body["cost"] == 0
    assert body["fallback_reason"] == "no provider configured"
    assert "125万tokens" in body["answer"]
