"""Issue 14 through real HTTP: /ask, /ask/stream and /v1 streaming give the same grounding verdicts, markers reach
the user as [n], and the extractive answerer answers the real seed's questions that used to be refused."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from rag.app import create_app
from rag.settings_llm import LLMSettings
from rag.testing.uvicorn_thread import UvicornThread
from tests.conftest import SEED_QUESTION, make_settings, scripted_provider

pytestmark = pytest.mark.integration

KEY_ENV = "RAG_GROUNDING_HTTP_KEY"
from tests.conftest import ROOT  # noqa: E402

REAL_SEED = ROOT.parent / "shared" / "seeds" / "000_7126e4b4749e442d.txt"
needs_seed = pytest.mark.skipif(not REAL_SEED.exists(), reason=f"{REAL_SEED} (the real seed record) is absent")


def _sse_done(text: str) -> dict:
    done = None
    for line in text.splitlines():
        if line.startswith("data:"):
            event = json.loads(line[5:])
            if event.get("type") == "done":
                done = event["answer"]
    assert done is not None, text[-500:]
    return done


def _v1_stream(http: httpx.Client, question: str) -> tuple[str, dict]:
    content, last = "", {}
    with http.stream("POST", "/v1/chat/completions", json={
            "model": "rag", "stream": True, "messages": [{"role": "user", "content": question}]}) as resp:
        assert resp.status_code == 200
        for line in resp.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                chunk = json.loads(line[6:])
                if chunk.get("choices"):
                    content += chunk["choices"][0]["delta"].get("content") or ""
                last = chunk if "citations" in chunk else last
    return content, last


@needs_seed
@pytest.mark.parametrize(("cheap_model", "escalates"), [("shapes-cheap", False), ("uncited-cheap", True)])
def test_stream_and_plain_give_the_same_verdict(tmp_path, llm_server, monkeypatch, cheap_model, escalates):
    monkeypatch.setenv(KEY_ENV, "sk-grounding")
    settings = make_settings(tmp_path / "data")
    settings.llm = LLMSettings(providers=[
        scripted_provider(llm_server, "cheap", cheap_model, 0.3, "cheap", KEY_ENV),
        scripted_provider(llm_server, "strong", "cite-strong", 2.0, "strong", KEY_ENV),
    ])
    app = create_app(settings, ui=False)
    with UvicornThread(app) as srv, httpx.Client(base_url=srv.url, timeout=60, trust_env=False) as http:
        files = [("files", (REAL_SEED.name, REAL_SEED.read_bytes()))]
        assert http.post("/documents", files=files).status_code == 200
        plain = http.post("/ask", json={"question": SEED_QUESTION}).json()
        streamed = _sse_done(http.post("/ask/stream", json={"question": SEED_QUESTION}).text)
        v1_text, v1_last = _v1_stream(http, SEED_QUESTION)
    for body in (plain, streamed):
        assert body["provider"] == ("strong" if escalates else "cheap"), body
        assert ("escalated_from" in body) is escalates
        assert body["grounding"]["ok"] is True
    assert plain["answer"] == streamed["answer"]
    if not escalates:
        # 【1】 and （资料2） reached the user as [1] and [2], in the plain answer and in both streams alike
        assert not re.search(r"【\d】|资料\d", plain["answer"]) and "[1]" in plain["answer"]
        assert v1_text.strip() == plain["answer"]
    assert v1_last["answered_by"] == plain["model"]
    assert [c["n"] for c in v1_last["citations"]] == [c["n"] for c in plain["citations"]]


@needs_seed
@pytest.mark.parametrize("question", ["腾讯混元-lite模型原来的价格是多少？", "李开复怎么看大模型价格战？"])
def test_extractive_answers_the_seed_questions(tmp_path, question):
    app = create_app(make_settings(tmp_path / "data"), ui=False)
    with UvicornThread(app) as srv, httpx.Client(base_url=srv.url, timeout=60, trust_env=False) as http:
        files = [("files", (REAL_SEED.name, REAL_SEED.read_bytes()))]
        assert http.post("/documents", files=files).status_code == 200
        body = http.post("/ask", json={"question": question}).json()
    assert body["model"] == "extractive" and not body["refused"], body
    assert ("0.008元" in body["answer"]) if "混元" in question else ("李开复" in body["answer"])
