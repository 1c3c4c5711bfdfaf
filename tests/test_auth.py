"""API keys on every endpoint but /health, per-key rate limits, body limits, CORS, and when auth turns on."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from rag.api.guard import key_matches
from rag.app import AuthWithoutKeys, create_app
from rag.testing.uvicorn_thread import UvicornThread
from tests.conftest import SEED_QUESTION, SEEDS, make_settings

pytestmark = pytest.mark.integration
KEY = "sk-test-0123456789"


@pytest.fixture
def server(tmp_path) -> Iterator[UvicornThread]:
    settings = make_settings(tmp_path / "data")
    settings.server.auth = "on"
    settings.server.api_keys = [KEY, "second-key"]
    settings.server.rate_limit_per_minute = 40
    settings.server.auth_failures_per_minute = 1000  # these tests send many wrong keys (throttle: test_security)
    settings.server.max_body_kb = 4
    settings.server.cors_origins = ["https://intranet.example.com"]
    with UvicornThread(create_app(settings)) as srv:
        yield srv


def _client(server: UvicornThread, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.url, timeout=60, trust_env=False, headers=headers)


ENDPOINTS = [
    ("POST", "/ask", {"json": {"question": SEED_QUESTION}}),
    ("POST", "/ask/stream", {"json": {"question": SEED_QUESTION}}),
    ("GET", "/documents", {}),
    ("GET", "/documents/abc", {}),
    ("DELETE", "/documents/abc", {}),
    ("POST", "/documents", {"files": [("files", ("a.txt", "内容".encode()))]}),
    ("GET", "/documents/check", {}),
    ("POST", "/documents/repair", {}),
    ("GET", "/v1/models", {}),
    ("POST", "/v1/chat/completions", {"json": {"model": "rag", "messages": [{"role": "user", "content": "你好"}]}}),
    ("GET", "/docs", {}),
    ("GET", "/openapi.json", {}),
    ("GET", "/no-such-path", {}),
    ("POST", "/ask", {"content": b"{broken", "headers": {"content-type": "application/json"}}),
]


@pytest.mark.parametrize("key", [None, "wrong-key", KEY + "x", ""])
def test_every_endpoint_but_health_refuses_a_missing_or_wrong_key(server, key):
    with _client(server, key) as http:
        for method, path, kwargs in ENDPOINTS:
            resp = http.request(method, path, **kwargs)
            assert resp.status_code == 401, (method, path, resp.status_code)
            assert "API key" in resp.json()["detail"] and resp.headers["www-authenticate"] == "Bearer"
        health = http.get("/health")
        assert health.status_code == 200 and KEY not in health.text and "second-key" not in health.text


def test_a_valid_key_opens_every_endpoint(server):
    with _client(server, KEY) as http:
        seed = next(SEEDS.glob("*.txt"))
        assert http.post("/documents", files=[("files", (seed.name, seed.read_bytes()))]).status_code == 200
        assert http.post("/ask", json={"question": SEED_QUESTION}).json()["citations"]
        assert http.get("/v1/models").json()["data"][0]["id"] == "rag"
        assert http.get("/openapi.json").json()["components"]["securitySchemes"]
    with _client(server, "second-key") as http:
        assert http.get("/documents").status_code == 200


def test_ui_asks_for_the_key_as_password(server):
    with _client(server, None) as http:
        config = http.get("/ui/config")
        assert config.status_code in (401, 403) or config.json().get("auth_required") is True
        login = http.post("/ui/login", data={"username": "anyone", "password": "wrong"})
        assert login.status_code >= 400
        assert http.post("/ui/login", data={"username": "anyone", "password": KEY}).status_code == 200


def test_per_key_rate_limit_answers_429_with_retry_after(server):
    with _client(server, KEY) as http, _client(server, "second-key") as other:
        codes = [http.get("/documents").status_code for _ in range(45)]
        assert codes[:40] == [200] * 40 and set(codes[40:]) == {429}
        limited = http.get("/documents")
        assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
        assert "40 requests per minute" in limited.json()["detail"]
        assert other.get("/documents").status_code == 200  # the limit is per key
        assert http.get("/health").status_code == 200


def test_body_limit_and_cors(server):
    with _client(server, KEY) as http:
        big = http.post("/ask", json={"question": "好" * 3000})
        assert big.status_code == 413 and "max_body_kb" in big.json()["detail"]

        def chunks():
            yield b'{"question": "'
            yield "好".encode() * 3000
            yield b'"}'

        chunked = http.post("/ask", content=chunks(), headers={"content-type": "application/json"})
        assert chunked.status_code == 413
        pre = http.options("/ask", headers={"Origin": "https://intranet.example.com",
                                            "Access-Control-Request-Method": "POST",
                                            "Access-Control-Request-Headers": "authorization,content-type"})
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == "https://intranet.example.com"
        evil = http.options("/ask", headers={"Origin": "https://evil.example.com",
                                             "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in evil.headers


def test_auth_turns_on_off_loopback_and_needs_keys(tmp_path):
    settings = make_settings(tmp_path / "data")
    assert not settings.server.auth_enabled("127.0.0.1") and not settings.server.auth_enabled("::1")
    assert not settings.server.auth_enabled("localhost")
    assert settings.server.auth_enabled("0.0.0.0") and settings.server.auth_enabled("192.168.1.5")
    with pytest.raises(AuthWithoutKeys, match="api_keys"):
        create_app(settings, host="0.0.0.0")
    settings.server.auth = "off"
    assert not settings.server.auth_enabled("0.0.0.0")


def test_key_check_and_limiter_units(tmp_path):
    from rag.components.shared_state import SqliteRateLimiter

    assert key_matches("a", ["b", "a"]) and key_matches("a", []) is None and key_matches("", ["a"]) is None
    now = [0.0]
    limiter = SqliteRateLimiter(tmp_path / "state.sqlite", 2, clock=lambda: now[0])
    assert limiter.retry_after("k") is None and limiter.retry_after("k") is None
    assert limiter.retry_after("k") == pytest.approx(60)
    now[0] = 30.0
    assert limiter.retry_after("k") == pytest.approx(30)
    now[0] = 60.0
    assert limiter.retry_after("k") is None
