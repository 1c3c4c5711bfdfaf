"""The attacks of issue 16, replayed over real HTTP (and Gradio's real routes), each shown refused."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag.api.documents import safe_name, shorten, stored_name
from rag.app import create_app
from rag.components.llm.prompt import pack_prompt
from rag.container import Services
from rag.testing.raw_http import send_raw
from rag.testing.uvicorn_thread import UvicornThread
from tests.conftest import make_settings

pytestmark = pytest.mark.integration
KEY = "sk-security-test-5d1e0c"
SECRET = "服务器上的机密文件：绝不能被索引。SECRET-7f3a"


def _settings(tmp_path: Path, auth: bool, **server: object):
    settings = make_settings(tmp_path / "data")
    settings.server.auth = "on" if auth else "off"
    settings.server.api_keys = [KEY] if auth else []
    settings.server.max_body_kb = 16
    settings.server.max_upload_mb = 0.25
    for k, v in server.items():
        setattr(settings.server, k, v)
    return settings


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "server-side" / "secret.txt"
    path.parent.mkdir()
    path.write_text(SECRET, encoding="utf-8")
    return path


def _client(url: str, key: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=url, timeout=30, trust_env=False, headers=headers)


def _login(http: httpx.Client, password: str = KEY) -> httpx.Response:
    return http.post("/ui/login", data={"username": "anyone", "password": password})


def _fn_index(http: httpx.Client, elem_id: str) -> int:
    """The id of the event whose inputs include the component with this elem_id (from /ui/config)."""
    config = http.get("/ui/config").json()
    comp = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    return next(d["id"] for d in config["dependencies"] if comp in d["inputs"])


def _join(http: httpx.Client, fn: int, data: list, session: str) -> httpx.Response:
    return http.post("/ui/gradio_api/queue/join",
                     json={"data": data, "fn_index": fn, "session_hash": session, "trigger_id": None,
                           "event_data": None})


def _result(http: httpx.Client, session: str, prefix: str = "/ui/") -> dict:
    """The process_completed message of the session's event (read from the queue's event stream); `prefix` is
    where the UI is mounted relative to the client's base URL."""
    with http.stream("GET", f"{prefix}gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    return msg
    raise AssertionError("the event never completed")


def _file_data(path: str, name: str = "report.txt") -> dict:
    return {"path": path, "orig_name": name, "meta": {"_type": "gradio.FileData"}}


# 1. A UI event naming a server file (or a URL) as its FileData path.

@pytest.mark.parametrize("auth", [False, True], ids=["auth-off", "auth-on"])
def test_ui_event_naming_a_server_file_indexes_and_leaks_nothing(tmp_path, secret_file, auth):
    app = create_app(_settings(tmp_path, auth))
    with UvicornThread(app) as srv, _client(srv.url, KEY if auth else None) as http:
        if auth:
            assert _login(http).status_code == 200
        fn = _fn_index(http, "upload-files")
        attacks = [str(secret_file), str(secret_file.parent / ".." / "server-side" / "secret.txt"),
                   "/etc/passwd", str(Path(app.state.services.data_dir) / "documents.sqlite"),
                   f"{srv.url}/health", "file:///etc/passwd"]
        seen = []
        for i, path in enumerate(attacks):
            resp = _join(http, fn, [[_file_data(path)], False, 1, "default"], f"attack{i}")
            assert resp.status_code == 400, (path, resp.status_code, resp.text)
            assert "only be given by uploading" in resp.json()["detail"]
            seen.append(resp.text)
        # Nested anywhere in the payload counts too (Gradio walks the whole value).
        resp = _join(http, fn, [[{"wrapped": [_file_data(str(secret_file))]}], False, 1, "default"], "nested")
        assert resp.status_code == 400
        deep = http.post("/ui/gradio_api/queue/join", content=b"[" * 5000 + b"]" * 5000,
                         headers={"content-type": "application/json"})
        assert deep.status_code == 400 and "nested too deeply" in deep.json()["detail"]
        docs = http.get("/documents").json()
        assert docs["total"] == 0
        for path in (secret_file, Path(app.state.services.data_dir) / "documents.sqlite"):  # nor served
            served = http.get(f"/ui/gradio_api/file={path}")
            assert served.status_code in (403, 404) and "SECRET-7f3a" not in served.text
        for text in seen + [json.dumps(docs, ensure_ascii=False)]:
            assert "SECRET-7f3a" not in text
        # The honest path still works: Gradio's upload route, then the event naming the uploaded copy.
        up = http.post("/ui/gradio_api/upload", files=[("files", ("ok.txt", "储能报告：出货量增长。".encode()))])
        assert up.status_code == 200
        assert _join(http, fn, [[_file_data(up.json()[0], "ok.txt")], False, 1, "default"], "honest").status_code == 200
        assert "新增 1 篇" in json.dumps(_result(http, "honest"), ensure_ascii=False)
        assert http.get("/documents").json()["total"] == 1


def test_gradio_path_controls_are_set_on_the_mounted_app(tmp_path):
    """The second line: Gradio's own path check runs for the mounted app (not only after launch())."""
    import gradio as gr
    from gradio import processing_utils
    from gradio.context import LocalContext
    from gradio.exceptions import InvalidPathError

    from rag.api.gradio_files import configure_paths

    with gr.Blocks() as blocks:
        gr.Markdown("x")
    configure_paths(blocks, blocked=[tmp_path])
    token = LocalContext.blocks.set(blocks)
    try:
        with pytest.raises(InvalidPathError):
            processing_utils._check_allowed(str(tmp_path / "x.txt"), check_in_upload_folder=True)
        with pytest.raises(InvalidPathError):
            processing_utils._check_allowed("/etc/passwd", check_in_upload_folder=False)
    finally:
        LocalContext.blocks.reset(token)


# 2. Body limits: padded or malformed Content-Length, chunked bodies, Gradio's routes.

def _head(path: str, headers: list[str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


BIG = 40 * 2**20  # what a client claims or streams: far over every limit in these tests


def _json_stream(total: int) -> Iterator[bytes]:
    yield b'{"question": "'
    for _ in range(total // 65536):
        yield "好".encode() * 21845


@pytest.fixture(scope="module")
def limited(tmp_path_factory) -> Iterator[UvicornThread]:
    tmp_path = tmp_path_factory.mktemp("limited")
    with UvicornThread(create_app(_settings(tmp_path, auth=True))) as srv:
        yield srv


@pytest.mark.parametrize("length", [f"{BIG} ", f"{BIG}\t", f" {BIG}"], ids=["space", "tab", "leading"])
def test_padded_content_length_cannot_carry_a_big_body(limited, length):
    head = _head("/ask", [f"Authorization: Bearer {KEY}", "Content-Type: application/json",
                          f"Content-Length: {length}"])
    started = time.monotonic()
    reply = send_raw(limited.port, head, _json_stream(BIG))
    assert reply.status == 413, reply.answer[:300]
    assert time.monotonic() - started < 10  # refused up front, not after reading 40 MB


@pytest.mark.parametrize("headers", [
    ["Content-Length: 10", "Content-Length: 99999999"],
    ["Content-Length: 10", "Content-Length: 10"],
    ["Content-Length: 12abc"],
    ["Content-Length: -5"],
    ["Content-Length: 10", "Transfer-Encoding: chunked"],
], ids=["two-lengths", "repeated", "non-digits", "negative", "length-and-chunked"])
def test_malformed_framing_is_refused(limited, headers):
    head = _head("/ask", [f"Authorization: Bearer {KEY}", "Content-Type: application/json", *headers])
    reply = send_raw(limited.port, head, [b'{"question": "x"}'])
    assert reply.status == 400, reply.answer[:300]


def test_chunked_body_is_cut_at_the_limit_while_streaming(limited):
    def chunks() -> Iterator[bytes]:
        for piece in _json_stream(BIG):
            yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"

    head = _head("/ask", [f"Authorization: Bearer {KEY}", "Content-Type: application/json",
                          "Transfer-Encoding: chunked"])
    reply = send_raw(limited.port, head, chunks())
    assert reply.status == 413 and b"max_body_kb" in reply.answer


def test_gradio_routes_have_the_same_limit_before_login(limited):
    with _client(limited.url) as http:  # not logged in: the size is refused before the login check
        big = http.post("/ui/gradio_api/queue/join", json={"data": ["好" * 20000], "fn_index": 0,
                                                           "session_hash": "x"})
        assert big.status_code == 413 and "max_body_kb" in big.json()["detail"]
        upload = http.post("/ui/gradio_api/upload", files=[("files", ("big.txt", b"x" * (2 * 2**20)))])
        assert upload.status_code == 413 and "max_upload_mb" in upload.json()["detail"]
    with _client(limited.url, KEY) as http:
        assert _login(http).status_code == 200
        upload = http.post("/ui/gradio_api/upload", files=[("files", ("big.txt", b"x" * (2 * 2**20)))])
        assert upload.status_code == 413
        ok = http.post("/ui/gradio_api/upload", files=[("files", ("ok.txt", "内容".encode()))])
        assert ok.status_code == 200
        assert http.post("/ask", json={"question": "内容是什么？"}).status_code == 200


def test_a_knowledge_base_s_upload_route_has_the_upload_limit(limited):
    """`/kbs/{kb}/documents` is an upload route like `/documents`: held to max_upload_mb, not max_body_kb."""
    report = "年度报告正文。".encode() * 5000  # 105 KB: over max_body_kb (16 KB), under max_upload_mb (0.25 MB)
    with _client(limited.url, KEY) as http:
        assert http.post("/kbs", json={"name": "年报"}).status_code == 200
        for path in ("/documents", "/kbs/年报/documents"):
            ok = http.post(path, files=[("files", ("annual.txt", report))])
            assert ok.status_code == 200 and ok.json()["files"][0]["status"] == "added", (path, ok.text)
            big = http.post(path, files=[("files", ("big.txt", b"x" * (2 * 2**20)))])
            assert big.status_code == 413 and "max_upload_mb" in big.json()["detail"], (path, big.text)
        big_json = http.post("/kbs/年报/documents/x", json={"pad": "x" * 40000})  # under /kbs, not an upload
        assert big_json.status_code == 413 and "max_body_kb" in big_json.json()["detail"]


# 3. Upload identity: nothing is silently replaced; replacements are asked for and atomic.

def _upload(http: httpx.Client, name: str, text: str, replace: bool | None = None) -> dict:
    data = {"replace": "true"} if replace else None
    resp = http.post("/documents", files=[("files", (name, text.encode()))], data=data)
    assert resp.status_code == 200, resp.text
    return resp.json()["files"][0]


def test_uploads_of_one_name_are_kept_apart_unless_replace_is_asked(tmp_path):
    with UvicornThread(create_app(_settings(tmp_path, auth=False), ui=False)) as srv, _client(srv.url) as http:
        first = _upload(http, "report.txt", "甲公司年报：营收增长百分之十。")
        assert first["action"] == "added" and first["stored_as"] == "report.txt"
        team = _upload(http, "team-b/report.txt", "乙公司年报：利润下降百分之五。")
        assert team["action"] == "added" and team["stored_as"] == "team-b/report.txt"
        other = _upload(http, "report.txt", "丙公司年报：现金流稳定。")
        assert other["action"] == "renamed" and other["stored_as"] == "report (2).txt" and not other["replaced"]
        again = _upload(http, "report.txt", "甲公司年报：营收增长百分之十。")
        assert again["action"] == "unchanged" and again["ids"] == first["ids"]
        assert http.get("/documents").json()["total"] == 3
        new = _upload(http, "report.txt", "甲公司年报（修订）：营收增长百分之十二。", replace=True)
        assert new["action"] == "replaced" and new["replaced"] == first["ids"] and new["stored_as"] == "report.txt"
        listed = {d["source"]: d for d in http.get("/documents").json()["documents"]}
        assert set(listed) == {"report.txt", "team-b/report.txt", "report (2).txt"}
        assert listed["report.txt"]["doc_id"] == new["ids"][0]
        # A replacement that cannot be read leaves the old version in place.
        bad = http.post("/documents", files=[("files", ("report.txt", b""))], data={"replace": "true"})
        assert bad.status_code == 400 and http.get("/documents").json()["total"] == 3


def test_twenty_parallel_uploads_of_one_name_keep_all_twenty(tmp_path):
    with UvicornThread(create_app(_settings(tmp_path, auth=False), ui=False)) as srv:
        results: list[dict] = []

        def one(i: int) -> None:
            with _client(srv.url) as http:
                results.append(_upload(http, "same.txt", f"第{i}份报告：编号{i}的独立内容，数值{i * 37}。"))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 20
        names = {r["stored_as"] for r in results}
        assert len(names) == 20 and "same.txt" in names and "same (20).txt" in names
        assert sum(r["action"] == "added" for r in results) == 1
        assert sum(r["action"] == "renamed" for r in results) == 19
        with _client(srv.url) as http:
            assert http.get("/documents").json()["total"] == 20


def test_long_file_names_keep_their_extension_and_reader(tmp_path):
    long = "年度报告" * 80 + ".html"
    assert len(safe_name(long)) <= 200 and safe_name(long).endswith(".html")
    assert stored_name("a/" * 150 + "x.pdf").endswith("x.pdf") and len(stored_name("a/" * 150 + "x.pdf")) <= 200
    assert shorten("x" * 300).startswith("x") and len(shorten("x" * 300)) == 200
    assert stored_name("../../etc/passwd") == "etc/passwd" and stored_name("C:\\x\\y.txt") == "x/y.txt"
    html = "<html><head><title>储能</title></head><body><p>储能出货量增长。</p><script>x=1</script></body></html>"
    with UvicornThread(create_app(_settings(tmp_path, auth=False), ui=False)) as srv, _client(srv.url) as http:
        row = _upload(http, long, html)
        assert row["stored_as"].endswith(".html") and len(row["stored_as"]) <= 200
        doc = http.get(f"/documents/{row['ids'][0]}").json()
        text = "".join(c["text"] for c in doc["chunks"])
        assert "储能出货量增长" in text and "<p>" not in text and "x=1" not in text  # read as HTML


# 5. Throttling: key guessing per address, and the UI under its key's rate limit.

def test_failed_keys_and_logins_are_throttled_per_address(tmp_path):
    with UvicornThread(create_app(_settings(tmp_path, auth=True))) as srv:
        with _client(srv.url, "wrong-key") as bad:
            codes = [bad.get("/documents").status_code for _ in range(12)]
        assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
        with _client(srv.url, KEY) as good:  # the address is throttled, whatever key it sends now
            limited = good.get("/documents")
            assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
        with _client(srv.url) as anon:
            assert anon.get("/health").status_code == 200  # no key presented: still open
    with UvicornThread(create_app(_settings(tmp_path / "2", auth=True))) as srv, _client(srv.url) as http:
        codes = [_login(http, f"guess-{i}").status_code for i in range(11)]
        assert all(c >= 400 and c != 429 for c in codes[:10]) and codes[10] == 429
        refused = _login(http)
        assert refused.status_code == 429 and "retry-after" in refused.headers
    with UvicornThread(create_app(_settings(tmp_path / "3", auth=True))) as srv, _client(srv.url, "nope") as http:
        codes = [http.get("/health").status_code for _ in range(11)]  # /health must not be a key oracle
        assert codes[:10] == [200] * 10 and codes[10] == 429


def test_the_ui_is_held_to_its_keys_rate_limit(tmp_path):
    settings = _settings(tmp_path, auth=True, rate_limit_per_minute=6)
    with UvicornThread(create_app(settings)) as srv, _client(srv.url) as ui:
        assert _login(ui).status_code == 200
        fn = _fn_index(ui, "question")  # the ask event (question is its first input)
        codes = [_join(ui, fn, ["", [], [], None, None, None, None], f"s{i}").status_code for i in range(8)]
        assert codes[:6] == [200] * 6 and codes[6:] == [429, 429], codes
        call = ui.post("/ui/gradio_api/call/ask", json={"data": ["你好", [], [], None, None, None, None]})
        assert call.status_code == 429 and "per key" in call.json()["detail"]
        with _client(srv.url, KEY) as api:  # the same key over the API shares the window
            assert api.get("/documents").status_code == 429


# 6. What /health tells whom; server paths; CORS for /ui.

def test_health_details_need_a_key(tmp_path):
    with UvicornThread(create_app(_settings(tmp_path, auth=True), ui=False)) as srv:
        with _client(srv.url) as anon:
            public = anon.get("/health").json()
        assert set(public) == {"status", "documents", "chunks", "keyword_chunks"}
        with _client(srv.url, KEY) as http:
            full = http.get("/health").json()
        assert full["data_dir"] and "llm" in full
    with UvicornThread(create_app(_settings(tmp_path / "open", auth=False), ui=False)) as srv, \
            _client(srv.url) as anon:
        text = anon.get("/health").text
        body = json.loads(text)
        assert body["status"] == "ok" and "providers_ready" in body and "data_dir" not in body
        assert str(tmp_path) not in text and "$" not in text and "API_KEY" not in text


def test_ingest_keeps_server_paths_out_of_sources_metadata_listings_and_prompts(tmp_path):
    corpus = tmp_path / "srv" / "corpus"
    (corpus / "team-a").mkdir(parents=True)
    (corpus / "team-a" / "news.txt").write_text("标题：储能新闻\n总结：储能电池出货量同比增长百分之三十，企业扩产。\n"
                                                "行业：储能\n", encoding="utf-8")
    single = tmp_path / "srv" / "single.txt"
    single.write_text("光伏装机容量达到二百吉瓦，同比增长。", encoding="utf-8")
    settings = _settings(tmp_path, auth=False)
    with Services(settings) as svc:
        report = svc.ingest_paths([str(corpus), str(single)])
        assert not report.errors and len(report.added) == 2
        records = svc.list_documents()["documents"]
        assert {r["source"] for r in records} == {"team-a/news.txt", "single.txt"}
        for r in records:
            assert str(tmp_path) not in r["source"] and str(tmp_path) not in json.dumps(r["metadata"])
        hits = svc.retriever.retrieve("储能电池出货量")
        prompt = pack_prompt("储能电池出货量？", hits, 8192, 512, 256)
        assert prompt is not None and str(tmp_path) not in json.dumps(prompt.messages, ensure_ascii=False)
    with UvicornThread(create_app(settings, ui=False)) as srv, _client(srv.url) as http:
        listing = http.get("/documents").text
        assert str(tmp_path) not in listing and '"origin":"file"' in listing.replace(" ", "")


def test_prompt_names_old_absolute_sources_by_file_name():
    from rag.sources import without_server_path as shown  # what the prompt (and the API) names sources by

    assert shown("/srv/data/reports/a.txt") == "a.txt" and shown("C:\\data\\b.pdf") == "b.pdf"
    assert shown("https://example.com/x") == "https://example.com/x" and shown("team/a.txt") == "team/a.txt"


@pytest.mark.parametrize("origins", [[], ["https://intranet.example.com"]], ids=["none", "configured"])
def test_ui_cors_follows_the_settings(tmp_path, origins):
    with UvicornThread(create_app(_settings(tmp_path, auth=False, cors_origins=origins))) as srv, \
            _client(srv.url) as http:
        for origin in ("http://localhost:5173", "http://127.0.0.1:9999", "null", "https://evil.example.com"):
            pre = http.options("/ui/gradio_api/queue/join", headers={"Origin": origin,
                                                                     "Access-Control-Request-Method": "POST"})
            simple = http.get("/ui/config", headers={"Origin": origin})
            for resp in (pre, simple):
                assert "access-control-allow-origin" not in resp.headers, (origin, resp.headers)
                assert "access-control-allow-credentials" not in resp.headers
        if origins:
            pre = http.options("/ui/gradio_api/queue/join", headers={"Origin": origins[0],
                                                                     "Access-Control-Request-Method": "POST"})
            assert pre.headers["access-control-allow-origin"] == origins[0]


@pytest.mark.parametrize("headers,status", [
    ([(b"content-length", b"10"), (b"content-length", b"10")], 400),
    ([(b"content-length", b"12abc")], 400),
    ([(b"content-length", b"10"), (b"transfer-encoding", b"chunked")], 400),
    ([(b"content-length", b"99999 ")], 413),
    ([], 413),  # no length at all: counted as it streams
])
def test_body_limit_framing_rules_behind_any_server(headers, status):
    """uvicorn refuses malformed framing itself (the raw-socket tests above); another ASGI server may not,
    so the middleware's own rules are checked at the ASGI level too."""
    import asyncio

    from rag.api.body_limit import BodyLimitMiddleware, BodyLimits

    reached = []

    async def app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        reached.append(True)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    sent: list[dict] = []
    chunks = [{"type": "http.request", "body": b"x" * 4096, "more_body": True}] * 10

    async def receive():
        return chunks.pop(0) if chunks else {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/ask", "headers": headers}
    asyncio.run(BodyLimitMiddleware(app, BodyLimits(upload=2**20, other=16 * 1024))(scope, receive, send))
    assert sent[0]["status"] == status and not (status == 400 and reached)
    assert len([m for m in sent if m["type"] == "http.response.start"]) == 1
