"""The official `openai` package against /v1 (plain and streaming), and follow-ups rewritten by the cheapest LLM."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import openai
import pytest

from rag.api.openai_compat import REPLACED
from rag.app import create_app
from rag.settings_llm import LLMSettings, ProviderSettings
from rag.testing.openai_server import OpenAIServer, Script
from rag.testing.uvicorn_thread import UvicornThread
from tests.conftest import SEED_QUESTION, SEEDS, make_settings, scripted_provider

pytestmark = pytest.mark.integration
KEY_ENV = "RAG_COMPAT_TEST_LLM_KEY"
API_KEY = "sk-compat-service-key"


def _serve(tmp_path, providers: list[ProviderSettings] | None = None, auth: bool = False) -> UvicornThread:
    settings = make_settings(tmp_path / "data")
    settings.llm = LLMSettings(providers=providers or [])
    if auth:
        settings.server.auth, settings.server.api_keys = "on", [API_KEY]
    srv = UvicornThread(create_app(settings, ui=False)).start()
    seed = next(SEEDS.glob("*.txt"))
    headers = {"Authorization": f"Bearer {API_KEY}"}
    resp = httpx.post(srv.url + "/documents", files=[("files", (seed.name, seed.read_bytes()))], headers=headers,
                      trust_env=False, timeout=60)
    assert resp.status_code == 200, resp.text
    return srv


@pytest.fixture
def extractive(tmp_path) -> Iterator[UvicornThread]:
    srv = _serve(tmp_path, auth=True)
    yield srv
    srv.stop()


def _client(srv: UvicornThread, key: str = API_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.url + "/v1", api_key=key, max_retries=0, timeout=60,
                         http_client=httpx.Client(trust_env=False))


def test_models_and_plain_completion(extractive):
    client = _client(extractive)
    assert [m.id for m in client.models.list()] == ["rag"]
    resp = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": SEED_QUESTION}])
    text = resp.choices[0].message.content
    assert "125万tokens" in text and resp.choices[0].finish_reason == "stop"
    citations = resp.model_extra["citations"]
    assert citations and {int(n) for n in re.findall(r"\[(\d+)\]", text)} == {c["n"] for c in citations}
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens > 0
    assert resp.model_extra["answered_by"] == "extractive" and resp.model_extra["cost"] == 0


def test_streaming_completion(extractive):
    stream = _client(extractive).chat.completions.create(
        model="rag", stream=True, messages=[{"role": "system", "content": "你是助手"},
                                            {"role": "user", "content": SEED_QUESTION}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "125万tokens" in text
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and last.model_extra["citations"]
    assert all(c.object == "chat.completion.chunk" for c in chunks)


def test_errors_in_openai_shape(extractive):
    client = _client(extractive)
    with pytest.raises(openai.NotFoundError, match="available: rag"):
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "你好"}])
    with pytest.raises(openai.UnprocessableEntityError, match="last message"):
        client.chat.completions.create(model="rag", messages=[{"role": "assistant", "content": "你好"}])
    with pytest.raises(openai.AuthenticationError):
        _client(extractive, "wrong").models.list()



def _provider(server: OpenAIServer, name: str, model: str, price: float, tier: str) -> ProviderSettings:
    return scripted_provider(server, name, model, price, tier, KEY_ENV)


def test_stream_that_escalates_marks_the_replaced_text(tmp_path, llm_server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-upstream")
    srv = _serve(tmp_path, [_provider(llm_server, "cheap", "uncited-compat", 0.3, "cheap"),
                            _provider(llm_server, "strong", "cite-compat", 2.0, "strong")])
    try:
        chunks = list(_client(srv).chat.completions.create(
            model="rag", stream=True, messages=[{"role": "user", "content": SEED_QUESTION}]))
    finally:
        srv.stop()
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = chunks[-1].model_extra
    assert REPLACED in text and last["answered_by"] == "cite-compat" and last["cost"] > 0
    final = text.split(REPLACED)[-1]
    assert re.search(r"\[\d\]", final) and last["citations"]


def test_follow_up_rewritten_by_the_cheapest_llm(tmp_path, llm_server, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-upstream")
    llm_server.script("rewrite-cheap", Script(mode="text", text="字节跳动豆包主力模型的个人市场定价是多少？"))
    srv = _serve(tmp_path, [_provider(llm_server, "cheap", "rewrite-cheap", 0.5, "cheap")])
    history = [{"role": "user", "content": SEED_QUESTION}, {"role": "assistant", "content": "0.0008元/千Tokens [1]"}]
    try:
        resp = _client(srv).chat.completions.create(
            model="rag", messages=[*history, {"role": "user", "content": "那个人市场呢？"}])
    finally:
        srv.stop()
    extra = resp.model_extra
    assert extra["standalone_question"] == "字节跳动豆包主力模型的个人市场定价是多少？" and extra["cost"] > 0
    rewrite_call = llm_server.calls("rewrite-cheap")[0]
    assert rewrite_call.max_tokens == 80 and "那个人市场呢？" in rewrite_call.messages[-1]["content"]
    assert SEED_QUESTION in rewrite_call.messages[-1]["content"]
