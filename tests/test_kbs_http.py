"""Knowledge bases over real HTTP: /kbs, /kbs/{kb}/documents, kb in /ask, rag/<kb> in /v1, and keys scoped to
bases (403, never 404 or data, outside a key's scope) (issue 17)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import httpx
import pytest

from rag.api.scopes import ALL, NOTHING, KeyScope, fingerprint, scope_for_fingerprint
from rag.app import create_app
from rag.settings import ApiKeySettings
from rag.settings_sources import masked
from rag.testing.uvicorn_thread import UvicornThread
from tests.conftest import make_settings
from tests.test_kbs import NEWS, REPORTS

pytestmark = pytest.mark.integration
ADMIN = "sk-admin-0123456789"
TEAM_A = "sk-team-a-0123456789"  # reads and writes base a only
READER = "sk-reader-0123456789"  # reads a, writes nothing
CREATOR = "sk-creator-0123456789"  # writes "new-*" names it lists: may create new-1, not others


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[UvicornThread]:
    settings = make_settings(tmp_path_factory.mktemp("kbs") / "data")
    settings.server.auth = "on"
    settings.server.api_keys = [ADMIN, ApiKeySettings(key=TEAM_A, read=["a"], write=["a"]),
                                ApiKeySettings(key=READER, read=["a"], write=[]),
                                ApiKeySettings(key=CREATOR, read=[], write=["new-1"])]
    settings.server.rate_limit_per_minute = None
    with UvicornThread(create_app(settings, ui=False)) as srv:
        admin = _client(srv, ADMIN)
        for name, texts in (("a", NEWS), ("b", REPORTS)):
            assert admin.post("/kbs", json={"name": name}).status_code == 200
            files = [("files", (n, t.encode())) for n, t in texts.items()]
            assert admin.post(f"/kbs/{name}/documents", files=files).status_code == 200
        yield srv


def _client(server: UvicornThread, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.url, timeout=60, trust_env=False, headers=headers)


def _docs(http: httpx.Client, kb: str) -> set[str]:
    resp = http.get(f"/kbs/{kb}/documents")
    assert resp.status_code == 200, resp.text
    return {d["doc_id"] for d in resp.json()["documents"]}


def test_listing_and_questions_stay_inside_their_base(server):
    with _client(server, ADMIN) as http:
        listed = http.get("/kbs").json()["kbs"]
        assert [(k["name"], k["documents"]) for k in listed] == [("default", 0), ("a", 2), ("b", 2)]
        a, b = _docs(http, "a"), _docs(http, "b")
        answered = {"a": 0, "b": 0}
        for q in ("大模型价格战的定价是多少？", "大模型价格战会怎样？", "大模型降价"):
            for kb, own in (("a", a), ("b", b)):
                ans = http.post("/ask", json={"question": q, "kb": kb}).json()
                assert {c["doc_id"] for c in ans["citations"]} <= own
                answered[kb] += bool(ans["citations"])
                resp = http.post("/ask/stream", json={"question": q, "kb": kb})
                done = [json.loads(line[5:]) for line in resp.text.splitlines() if line.startswith("data:")][-1]
                assert {c["doc_id"] for c in done["answer"]["citations"]} <= own
                chat = http.post("/v1/chat/completions", json={"model": f"rag/{kb}", "messages": [
                    {"role": "user", "content": q}]}).json()
                assert {c["doc_id"] for c in chat["citations"]} <= own
        assert all(answered.values()), answered  # both bases answered something, each from its own documents
        chat = http.post("/v1/chat/completions", json={"model": "rag:b", "messages": [
            {"role": "user", "content": "大模型价格战会怎样？"}]}).json()
        assert {c["doc_id"] for c in chat["citations"]} <= b
        both = http.post("/ask", json={"question": "大模型价格战", "kbs": ["a", "b"], "top_k": 6}).json()
        assert {c["doc_id"] for c in both["citations"]} <= a | b
        assert http.post("/ask", json={"question": "大模型价格战"}).json()["citations"] == []  # default is empty
        models = [m["id"] for m in http.get("/v1/models").json()["data"]]
        assert models == ["rag", "rag/a", "rag/b"]
        missing = http.post("/ask", json={"question": "x", "kb": "nope"})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "kb_not_found"
        assert http.get("/kbs/nope/documents").status_code == 404
        chat = http.post("/v1/chat/completions", json={"model": "gpt-4",
                                                       "messages": [{"role": "user", "content": "x"}]})
        assert chat.status_code == 404 and chat.json()["error"]["code"] == "model_not_found"


def test_a_key_outside_its_scope_gets_403_everywhere(server):
    with _client(server, TEAM_A) as http:
        assert [k["name"] for k in http.get("/kbs").json()["kbs"]] == ["a"]
        assert [m["id"] for m in http.get("/v1/models").json()["data"]] == ["rag/a"]
        assert http.get("/kbs/a/documents").status_code == 200
        some_b_doc = next(iter(_docs(_client(server, ADMIN), "b")))
        chat = {"messages": [{"role": "user", "content": "大模型价格战会怎样？"}]}
        denied = [
            ("GET", "/kbs/b/documents", {}), ("GET", f"/kbs/b/documents/{some_b_doc}", {}),
            ("DELETE", f"/kbs/b/documents/{some_b_doc}", {}), ("GET", "/kbs/b/documents/check", {}),
            ("POST", "/kbs/b/documents/repair", {}), ("GET", "/kbs/b", {}),
            ("POST", "/kbs/b/documents", {"files": [("files", ("x.txt", "大模型".encode()))]}),
            ("POST", "/ask", {"json": {"question": "大模型价格战", "kb": "b"}}),
            ("POST", "/ask", {"json": {"question": "大模型价格战", "kbs": ["a", "b"]}}),
            ("POST", "/ask/stream", {"json": {"question": "大模型价格战", "kb": "b"}}),
            ("POST", "/v1/chat/completions", {"json": {"model": "rag/b", **chat}}),
            ("POST", "/v1/chat/completions", {"json": {"model": "rag:b", **chat}}),
            # the default base is outside this key's scope too: the old routes answer 403
            ("GET", "/documents", {}), ("POST", "/ask", {"json": {"question": "大模型价格战"}}),
            ("POST", "/v1/chat/completions", {"json": {"model": "rag", **chat}}),
            # a base that does not exist: 403 as well, so a key learns nothing about other bases
            ("GET", "/kbs/secret/documents", {}), ("POST", "/ask", {"json": {"question": "x", "kb": "secret"}}),
            ("DELETE", "/kbs/b?confirm=true", {}), ("POST", "/kbs/b/rename", {"json": {"name": "c"}}),
            ("PATCH", "/kbs/b", {"json": {"name": "c"}}), ("POST", "/kbs", {"json": {"name": "c"}}),
            ("POST", "/kbs/a/rename", {"json": {"name": "c"}}),  # no write on the new name
        ]
        for method, path, kwargs in denied:
            resp = http.request(method, path, **kwargs)
            assert resp.status_code == 403, (method, path, resp.status_code, resp.text[:200])
            body = resp.json()
            assert body["error"]["code"] == "kb_forbidden" and "citations" not in body and "documents" not in body
    with _client(server, READER) as http:
        assert http.post("/ask", json={"question": "大模型价格战", "kb": "a"}).status_code == 200
        resp = http.post("/kbs/a/documents", files=[("files", ("x.txt", "大模型".encode()))])
        assert resp.status_code == 403
        assert http.delete(f"/kbs/a/documents/{next(iter(_docs(http, 'a')))}").status_code == 403
    with _client(server, ADMIN) as admin:
        assert len(_docs(admin, "b")) == 2 and len(_docs(admin, "a")) == 2  # nothing was changed


def test_creating_renaming_and_deleting_bases(server):
    with _client(server, CREATOR) as http:
        assert http.post("/kbs", json={"name": "new-2"}).status_code == 403
        resp = http.post("/kbs", json={"name": "new-1"})
        assert resp.status_code == 200 and resp.json() == {"name": "new-1", "documents": 0, "chunks": 0}
        assert [k["name"] for k in http.get("/kbs").json()["kbs"]] == ["new-1"]  # write implies read
    with _client(server, ADMIN) as http:
        assert http.post("/kbs", json={"name": "new-1"}).status_code == 409
        bad = http.post("/kbs", json={"name": "../etc"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_kb_name"
        resp = http.post("/kbs/new-1/documents", files=[("files", ("n.txt", "新能源汽车销量增长。".encode()))])
        assert resp.status_code == 200
        renamed = http.patch("/kbs/new-1", json={"name": "新能源"})
        assert renamed.status_code == 200 and renamed.json()["documents"] == 1
        assert http.post("/kbs/新能源/rename", json={"name": "new-3"}).json()["name"] == "new-3"
        refused = http.delete("/kbs/new-3")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "kb_not_empty"
        assert http.delete("/kbs/new-3", params={"confirm": "true"}).json() == {"deleted": "new-3"}
        assert http.get("/kbs/new-3/documents").status_code == 404
        assert http.delete("/kbs/default", params={"confirm": "true"}).status_code == 400
        assert [k["name"] for k in http.get("/kbs").json()["kbs"]] == ["default", "a", "b"]


def test_deleting_a_base_while_questions_run_gives_no_5xx(server):
    with _client(server, ADMIN) as admin:
        assert admin.post("/kbs", json={"name": "busy"}).status_code == 200
        files = [("files", (n, t.encode())) for n, t in REPORTS.items()]
        assert admin.post("/kbs/busy/documents", files=files).status_code == 200
    statuses: list[int | str] = []
    stop = threading.Event()
    question = "大模型价格战会怎样？"

    def one(http: httpx.Client, path: str) -> int | str:
        if path == "/v1/chat/completions":
            resp = http.post(path, json={"model": "rag/busy", "messages": [{"role": "user", "content": question}]})
        elif path == "/kbs/busy/documents":
            resp = http.get(path)
        else:
            resp = http.post(path, json={"question": question, "kb": "busy"})
        if resp.status_code == 200 and path == "/ask/stream" and '"type":"done"' not in resp.text.replace(" ", ""):
            return f"stream without its done event: {resp.text[-200:]}"
        return resp.status_code

    def ask(path: str) -> None:
        with _client(server, ADMIN) as http:
            while not stop.is_set():
                try:
                    statuses.append(one(http, path))
                except Exception as exc:  # noqa: BLE001 - a stream cut off mid-way counts as a failure
                    statuses.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=ask, args=(p,)) for p in
               ("/ask", "/ask/stream", "/v1/chat/completions", "/kbs/busy/documents")]
    for t in threads:
        t.start()
    while statuses.count(200) < 8:
        threading.Event().wait(0.02)
    with _client(server, ADMIN) as admin:
        assert admin.delete("/kbs/busy", params={"confirm": "true"}).status_code == 200
    while statuses.count(404) < 4:
        threading.Event().wait(0.02)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert set(statuses) <= {200, 404}, sorted(set(map(str, statuses)))
    with _client(server, ADMIN) as admin:
        check = admin.get("/documents/check").json()
        assert check["consistent"]


def test_scopes_from_settings_and_keys_stay_redacted():
    settings = make_settings(__import__("pathlib").Path("/nonexistent"))
    settings.server.api_keys = ["plain", ApiKeySettings(key="scoped", read=["a", "b"], write=["a"]),
                                ApiKeySettings(key="reads-all", read="*", write=[])]
    assert scope_for_fingerprint(settings, None) == ALL
    assert scope_for_fingerprint(settings, fingerprint("plain")) == ALL
    assert scope_for_fingerprint(settings, fingerprint("unknown")) == NOTHING
    scoped = scope_for_fingerprint(settings, fingerprint("scoped"))
    assert scoped.can_read("b") and not scoped.can_write("b") and scoped.can_write("a") and not scoped.can_read("c")
    assert scope_for_fingerprint(settings, fingerprint("reads-all")) == KeyScope(None, frozenset())
    shown = masked(settings.model_dump(mode="json"))["server"]["api_keys"]
    assert shown == ["****", {"key": "****", "read": ["a", "b"], "write": ["a"]},
                     {"key": "****", "read": "*", "write": []}]
    assert "scoped" not in json.dumps(shown) and "plain" not in json.dumps(shown)


def test_scoped_keys_from_the_environment(monkeypatch):
    from rag.settings import load_settings

    monkeypatch.setenv("RAG_SERVER__API_KEYS", json.dumps(["k1", {"key": "k2", "read": ["研报"], "write": "*"}],
                                                          ensure_ascii=False))
    s = load_settings()
    assert s.server.plain_keys() == ["k1", "k2"]
    assert scope_for_fingerprint(s, fingerprint("k2")) == KeyScope(frozenset({"研报"}), None)


def test_health_keeps_scoped_keys_out(server):
    with _client(server, TEAM_A) as http:
        body = http.get("/health").text
    for key in (ADMIN, TEAM_A, READER, CREATOR):
        assert key not in body
