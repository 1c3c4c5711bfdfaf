"""The spend ledger and rate windows are shared by every worker: SQLite by default, Redis across hosts (issue 15)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from rag.components.shared_state import RedisLedger, RedisRateLimiter, SqliteLedger, SqliteRateLimiter
from rag.container import Services
from rag.testing.openai_server import OpenAIServer
from tests.conftest import ROOT, SEED_QUESTION, SEEDS, make_settings, scripted_provider
from tests.test_chroma_server import chroma_server, free_port, http_settings, wait_http  # noqa: F401

KEY_ENV = "RAG_SHARED_STATE_TEST_LLM_KEY"
API_KEY = "shared-state-test-key"


def test_two_sqlite_ledgers_on_one_file_see_each_others_spend(tmp_path):
    legacy = tmp_path / "llm_ledger.json"
    legacy.write_text(json.dumps({"days": {"2026-03-01": {"cost_cny": 0.5, "calls": 2, "providers": {
        "cheap": {"cost_cny": 0.5, "calls": 2, "input_tokens": 10, "output_tokens": 4}}}}}), encoding="utf-8")
    a = SqliteLedger(tmp_path / "state.sqlite", legacy_json=legacy)
    b = SqliteLedger(tmp_path / "state.sqlite", legacy_json=legacy)  # imported once, not twice
    assert a.spent("2026-03-01") == b.spent("2026-03-01") == 0.5
    a.record("2026-03-02", "cheap", 100, 20, 0.001)
    b.record("2026-03-02", "strong", 50, 10, 0.004)
    day = a.day("2026-03-02")
    assert b.spent("2026-03-02") == pytest.approx(0.005) and day["calls"] == 2 and day["input_tokens"] == 150
    assert set(day["providers"]) == {"cheap", "strong"}


def test_two_sqlite_limiters_on_one_file_share_a_window(tmp_path):
    now = [1000.0]
    a = SqliteRateLimiter(tmp_path / "state.sqlite", 3, clock=lambda: now[0])
    b = SqliteRateLimiter(tmp_path / "state.sqlite", 3, clock=lambda: now[0])
    assert [a.retry_after("k"), b.retry_after("k"), a.retry_after("k")] == [None, None, None]
    now[0] += 10
    assert b.retry_after("k") == pytest.approx(50) and a.retry_after("other") is None
    now[0] += 51
    assert b.retry_after("k") is None


def test_holds_for_calls_in_flight_count_against_the_budget(tmp_path):
    a = SqliteLedger(tmp_path / "state.sqlite")
    b = SqliteLedger(tmp_path / "state.sqlite")
    held = a.reserve("2026-03-01", 0.6, 1.0)
    assert held and b.reserve("2026-03-01", 0.6, 1.0) is None  # the other worker's call is in flight
    assert b.reserve("2026-03-02", 0.6, 1.0)  # another day has its own budget
    a.record("2026-03-01", "cheap", 10, 10, 0.5)
    a.release(held)
    assert b.reserve("2026-03-01", 0.6, 1.0) is None and b.reserve("2026-03-01", 0.5, 1.0)


@pytest.mark.integration
def test_two_workers_calling_at_once_never_pass_the_budget(tmp_path, monkeypatch):
    """Both start a slow paid call together; the budget has room for one, so the other worker falls back."""
    import threading

    from rag.services.llm_answer import LLMAnswerService
    from rag.settings_llm import LLMSettings
    from tests.test_llm_service import KEY, extractive, hits, prov
    from tests.test_llm_service import KEY_ENV as SERVICE_KEY_ENV

    monkeypatch.setenv(SERVICE_KEY_ENV, KEY)
    with OpenAIServer() as llm:
        providers = [prov(llm, "paid", "slow-paid", 1.0)]
        probe = LLMAnswerService(LLMSettings(providers=providers), extractive, tmp_path / "probe")
        estimate = probe.answer("2024年新能源汽车销量是多少？", hits()).estimated_cost
        settings = LLMSettings(providers=providers, daily_budget_cny=estimate * 1.5)
        workers = [LLMAnswerService(settings, extractive, tmp_path / name,
                                    ledger=SqliteLedger(tmp_path / "shared.sqlite")) for name in ("a", "b")]
        answers: list = [None, None]
        start = threading.Barrier(2)

        def ask(i: int) -> None:
            start.wait()
            answers[i] = workers[i].answer("2024年新能源汽车销量是多少？", hits())

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    providers_used = sorted(a.provider for a in answers)
    assert providers_used == ["extractive", "paid"], [a.to_dict() for a in answers]
    refused = next(a for a in answers if a.provider == "extractive")
    assert "calls in flight" in refused.fallback_reason
    assert workers[0].ledger.spent(workers[0]._day()) <= estimate * 1.5


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real redis-server on loopback (Debian's package; .ci/run installs it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert proc.poll() is None, "redis-server exited"
                import time

                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.integration
def test_redis_ledger_and_limiter_are_shared(redis_url):
    a, b = RedisLedger(redis_url, "t1"), RedisLedger(redis_url, "t1")
    a.record("2026-03-01", "cheap", 100, 20, 0.001)
    b.record("2026-03-01", "cheap", 100, 20, 0.002)
    assert a.spent("2026-03-01") == pytest.approx(0.003) and b.day("2026-03-01")["providers"]["cheap"]["calls"] == 2
    assert RedisLedger(redis_url, "other").spent("2026-03-01") == 0.0
    held = a.reserve("2026-03-05", 0.6, 1.0)
    assert held and b.reserve("2026-03-05", 0.6, 1.0) is None
    a.release(held)
    assert b.reserve("2026-03-05", 0.6, 1.0)
    la, lb = RedisRateLimiter(redis_url, "t1", 2), RedisRateLimiter(redis_url, "t1", 2)
    assert la.retry_after("k") is None and lb.retry_after("k") is None
    wait = la.retry_after("k")
    assert wait is not None and 0 < wait <= 60


def _calibrate(tmp_path: Path, provider: dict) -> tuple[float, float]:
    """One answer through the scripted provider: (the router's estimate, the actual cost) for this question."""
    from rag.settings_llm import ProviderSettings

    s = make_settings(tmp_path / "calibrate")
    s.llm.providers = [ProviderSettings(**provider)]
    with Services(s) as svc:
        svc.ingest_paths([str(SEEDS)])
        ans = svc.ask(SEED_QUESTION)
    assert ans.provider == "paid" and ans.cost > 0, ans.to_dict()
    return float(ans.estimated_cost), ans.cost


@pytest.mark.integration
def test_two_workers_share_one_daily_budget_and_one_key_limit(tmp_path, chroma_server, redis_url,  # noqa: F811
                                                                monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-shared-state-test")
    with OpenAIServer() as llm:
        provider = scripted_provider(llm, "paid", "cite-paid", 5.0, "cheap", KEY_ENV).model_dump()
        estimate, cost = _calibrate(tmp_path, provider)
        budget = estimate + cost / 2  # room for one answer's estimate, not for a second one after it is spent
        with Services(http_settings(tmp_path / "ingester", chroma_server)) as svc:
            assert len(svc.ingest_paths([str(SEEDS)]).added) == 1
        cfg = {"embedding": {"backend": "hash"},
               "vector_store": {"backend": "http", "port": chroma_server, "sync_interval_s": 0},
               "shared_state": {"backend": "redis", "url": redis_url, "prefix": f"t{free_port()}"},
               "llm": {"providers": [provider], "daily_budget_cny": budget},
               "server": {"auth": "on", "api_keys": [API_KEY], "rate_limit_per_minute": 4}}
        path = tmp_path / "settings.yaml"
        path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")} | {
            "RAG_SETTINGS": str(path), "PYTHONPATH": str(ROOT), KEY_ENV: "sk-shared-state-test"}
        workers = []
        try:
            for name in ("a", "b"):
                port = free_port()
                proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--no-ui",
                                         "--log-level", "warning"], env=env | {"RAG_DATA_DIR": str(tmp_path / name)},
                                        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                workers.append((proc, f"http://127.0.0.1:{port}"))
            for proc, url in workers:
                wait_http(f"{url}/health", proc, "rag serve")
            (_, a), (_, b) = workers
            auth = {"Authorization": f"Bearer {API_KEY}"}
            first = httpx.post(f"{a}/ask", json={"question": SEED_QUESTION}, headers=auth, timeout=60,
                               trust_env=False).json()
            assert first["provider"] == "paid" and first["cost"] == pytest.approx(cost), first
            second = httpx.post(f"{b}/ask", json={"question": SEED_QUESTION}, headers=auth, timeout=60,
                                trust_env=False).json()
            # Worker b sees what worker a spent: the paid provider no longer fits what is left of the budget.
            assert second["provider"] == "extractive" and second["cost"] == 0, second
            assert "CNY left today" in second["fallback_reason"], second["fallback_reason"]
            assert len(llm.calls("cite-paid")) == 2  # the calibration's call and worker a's; none from b
            # One key, four requests a minute across both workers: two asks above, two listings, then 429s.
            codes = [httpx.get(f"{u}/documents", headers=auth, timeout=30, trust_env=False).status_code
                     for u in (a, b, b, a)]
            assert codes == [200, 200, 429, 429], codes
        finally:
            for proc, _ in workers:
                proc.terminate()
            for proc, _ in workers:
                proc.wait(timeout=30)


def test_a_rate_limit_store_that_does_not_answer_gives_503_not_500(tmp_path):
    """Redis down: every keyed request gets a 503 naming the shared store (and Retry-After), never a bare 500."""
    from fastapi.testclient import TestClient

    from rag.app import create_app

    s = make_settings(tmp_path)
    s.shared_state.backend = "redis"
    s.shared_state.url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    s.server.auth = "on"
    s.server.api_keys = [API_KEY]
    s.server.rate_limit_per_minute = 10
    with TestClient(create_app(s, ui=False)) as client:
        r = client.get("/documents", headers={"Authorization": f"Bearer {API_KEY}"})
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "shared_state_unavailable" and r.headers["retry-after"] == "5"
        assert API_KEY not in r.text
        health = client.get("/health")  # the process stays up and says which store is missing
        assert health.status_code == 503 and health.json()["error"]["code"] == "shared_state_unavailable"
