"""The FastAPI app over real HTTP: /ask, /ask/stream, /health, /documents, validation errors, the Gradio UI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest

from rag.app import create_app
from rag.testing.uvicorn_thread import UvicornThread
from tests.conftest import SEED_QUESTION, SEEDS, make_pdf, make_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def server(tmp_path) -> Iterator[UvicornThread]:
    settings = make_settings(tmp_path / "data")
    settings.server.max_upload_mb = 0.05
    app = create_app(settings)
    with UvicornThread(app) as srv:
        yield srv


@pytest.fixture
def http(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60, trust_env=False) as client:
        yield client


def _upload(http: httpx.Client, name: str, data: bytes, status: int = 200) -> dict:
    resp = http.post("/documents", files=[("files", (name, data))])
    assert resp.status_code == status, resp.text
    return resp.json()


def test_ask_returns_answer_citations_model_cost_latency(http):
    seed = next(SEEDS.glob("*.txt"))
    report = _upload(http, seed.name, seed.read_bytes())
    assert len(report["added"]) == 1
    resp = http.post("/ask", json={"question": SEED_QUESTION})
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) >= {"answer", "citations", "model", "cost", "latency_ms"}
    assert "125万tokens" in body["answer"] and body["model"] == "extractive" and body["cost"] == 0
    cites = body["citations"]
    assert cites and set(cites[0]) == {"n", "doc_id", "title", "source", "page", "text", "score", "duplicates"}
    assert {int(n) for n in re.findall(r"\[(\d+)\]", body["answer"])} == {c["n"] for c in cites}
    assert http.post("/ask", json={"question": SEED_QUESTION, "top_k": 1}).json()["citations"][0]["n"] == 1


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"question": ""}, "question must not be empty"),
        ({"question": "   "}, "question must not be empty"),
        ({}, "question: field required"),
        ({"question": 42}, "question"),
        ({"question": "好", "top_k": 0}, "top_k"),
        ({"question": "好", "top_k": 1000}, "top_k"),
        ({"question": "好", "extra": 1}, "extra"),
    ],
)
def test_malformed_ask_gets_422_with_a_clear_message(http, payload, words):
    resp = http.post("/ask", json=payload)
    assert resp.status_code == 422
    assert words in resp.json()["detail"]


def test_invalid_json_gets_422(http):
    resp = http.post("/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert resp.status_code == 422 and "not valid JSON" in resp.json()["detail"]


def test_uploads_gbk_pdf_and_bad_files_without_losing_the_index(http):
    gbk = "光伏行业报告：2024年组件价格下跌40%。".encode("gbk")
    assert len(_upload(http, "gbk.txt", gbk)["added"]) == 1
    pdf = make_pdf(["第一页：储能电池出货量。", "第二页：光伏装机容量达到200吉瓦。"])
    assert len(_upload(http, "r.pdf", pdf)["added"]) == 1
    bad = _upload(http, "broken.pdf", b"%PDF-1.4 nonsense", 400)
    assert "not a readable PDF" in bad["detail"] and bad["files"][0]["status"] == "error"
    empty = _upload(http, "empty.txt", b"", 400)
    assert "empty" in empty["errors"][0]["error"]
    big = _upload(http, "big.txt", "大".encode() * 30000, 413)
    assert "upload limit" in big["errors"][0]["error"]
    mixed = http.post("/documents", files=[("files", ("../../etc/ok.txt", "储能报告：2024年出货量增长。".encode())),
                                           ("files", ("bad.pdf", b"junk"))])
    assert mixed.status_code == 200
    assert [f["status"] for f in mixed.json()["files"]] == ["added", "error"]
    assert mixed.json()["files"][0]["file"] == "ok.txt" and len(mixed.json()["ids"]) == 1
    health = http.get("/health").json()
    assert health["documents"] == 3 and health["chunks"] == health["keyword_chunks"]
    body = http.post("/ask", json={"question": "光伏装机容量达到多少？"}).json()
    assert "200吉瓦" in body["answer"]
    assert any(c["page"] == 2 for c in body["citations"])


def test_oversized_request_is_refused_with_413(http):
    resp = http.post("/documents", files=[("files", ("huge.txt", b"x" * 400_000))])
    assert resp.status_code == 413 and "max_upload_mb" in resp.json()["detail"]


def test_list_and_delete_documents(http):
    seed = next(SEEDS.glob("*.txt"))
    doc_id = _upload(http, seed.name, seed.read_bytes())["added"][0]["doc_id"]
    listed = http.get("/documents").json()
    assert listed["count"] == 1 and listed["documents"][0]["doc_id"] == doc_id
    assert http.delete(f"/documents/{doc_id}").status_code == 200
    assert http.delete(f"/documents/{doc_id}").status_code == 404
    assert http.get("/health").json()["chunks"] == 0


def test_stream_sends_tokens_then_the_whole_answer(http):
    seed = next(SEEDS.glob("*.txt"))
    _upload(http, seed.name, seed.read_bytes())
    events = []
    with http.stream("POST", "/ask/stream", json={"question": SEED_QUESTION}) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
    assert events[0]["type"] == "token" and events[-1]["type"] == "done"
    assert events[-1]["answer"]["citations"]


def test_gradio_ui_answers_with_citations(server, http):
    from gradio_client import Client

    seed = next(SEEDS.glob("*.txt"))
    _upload(http, seed.name, seed.read_bytes())
    assert http.get("/ui/").status_code == 200
    client = Client(f"{server.url}/ui/", verbose=False)
    history, citations, meta, cleared = client.predict(SEED_QUESTION, [], api_name="/ask")
    assert history[-1]["role"] == "assistant" and "[" in str(history[-1]["content"])
    assert "国内大模型开打" in citations and "https://" in citations
    assert "extractive" in meta and "¥" in meta
    assert cleared == ""
