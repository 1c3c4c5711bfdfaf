"""Known user errors reach people as one line (CLI) or a JSON error with a 4xx/503 (HTTP), never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from rag.app import create_app, error_response
from rag.components.vector_store import EmbeddingSpaceMismatch, VectorStoreUnavailable
from rag.container import Services
from rag.errors import RagError, SettingsError, UnknownDataset
from rag.lock import DataDirBusy, DataDirLock
from rag.testing.uvicorn_thread import UvicornThread
from tests.conftest import ROOT, SEED_QUESTION, SEEDS
from tests.test_chroma_server import NEWS, free_port, http_settings, run_chroma

pytestmark = pytest.mark.integration


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    cfg = tmp_path / "settings.yaml"
    cfg.write_text(yaml.safe_dump({"embedding": {"backend": "hash"}}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return env | {"RAG_SETTINGS": str(cfg), "RAG_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT), **extra}


def rag(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def _one_error(proc: subprocess.CompletedProcess, *words: str) -> str:
    """Exit status 2, no traceback, an `error:` line naming `words`, at most a `hint:` line after it."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith(("error:", "hint:"))]
    assert lines and lines[0].startswith("error:") and len(lines) <= 2, proc.stderr
    assert all(w in lines[0] for w in words), lines
    return lines[0]


def test_cli_embedder_mismatch_is_one_line(tmp_path):
    env = _env(tmp_path)
    assert rag(env, "ingest", str(SEEDS)).returncode == 0
    line = _one_error(rag(env | {"RAG_EMBEDDING__DIM": "64"}, "ask", SEED_QUESTION), "hash-256", "hash-64")
    assert "EmbeddingSpaceMismatch" not in line


def test_cli_busy_data_dir_is_one_line(tmp_path):
    env = _env(tmp_path)
    lock = DataDirLock(tmp_path / "data")
    lock.acquire()
    try:
        _one_error(rag(env, "ask", SEED_QUESTION), "in use by process")
        _one_error(rag(env, "docs", "list"), "in use by process")
    finally:
        lock.release()


def test_cli_unreachable_chroma_server_is_one_line(tmp_path):
    port = free_port()
    env = _env(tmp_path, RAG_VECTOR_STORE__BACKEND="http", RAG_VECTOR_STORE__PORT=str(port))
    _one_error(rag(env, "ask", SEED_QUESTION), f"127.0.0.1:{port}")


def test_cli_bad_settings_file_and_unknown_dataset_are_one_line(tmp_path):
    env = _env(tmp_path)
    Path(env["RAG_SETTINGS"]).write_text("retrieval:\n  topk: 3\n", encoding="utf-8")
    _one_error(rag(env, "ask", SEED_QUESTION), "retrieval.topk")
    Path(env["RAG_SETTINGS"]).write_text("embedding: {backend: hash}\n", encoding="utf-8")
    _one_error(rag(env, "eval", "retrieval", "--dataset", "squad"), "unknown dataset", "squad")
    _one_error(rag(env, "eval", "retrieval", "--dataset", str(tmp_path / "missing.jsonl")), "missing.jsonl")


@pytest.mark.parametrize(("exc", "status", "code"), [
    (EmbeddingSpaceMismatch("vectors from 'a' but the embedder produces 'b'", hint="switch back"), 409,
     "embedder_mismatch"),
    (DataDirBusy(Path("/idx"), {"pid": 7}), 409, "data_dir_busy"),
    (VectorStoreUnavailable("the Chroma server at http://10.0.0.9:8001 does not answer"), 503,
     "vector_store_unavailable"),
    (SettingsError("settings file x.yaml: unknown settings key 'a.b'"), 500, "bad_settings"),
    (UnknownDataset("unknown dataset 'squad'"), 404, "unknown_dataset"),
])
def test_every_known_error_has_a_status_and_a_json_body(exc: RagError, status: int, code: str):
    resp = error_response(exc)
    body = json.loads(resp.body)
    assert resp.status_code == status and body["error"]["code"] == code
    assert body["error"]["message"] == exc.message and body["detail"].startswith(exc.message)


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen]]:
    """A real `chroma run` that the test may stop; yields (port, process)."""
    with run_chroma(tmp_path / "chroma-server") as server:
        yield server


def test_http_chroma_outage_is_a_503_naming_the_address_and_mismatch_a_409(tmp_path, chroma):
    port, proc = chroma
    corpus = tmp_path / "news.txt"
    corpus.write_text("\n".join(NEWS) + "\n", encoding="utf-8")
    app = create_app(http_settings(tmp_path / "worker", port), ui=False)  # opened over an empty collection
    with UvicornThread(app) as srv, httpx.Client(base_url=srv.url, timeout=60, trust_env=False) as http:
        # Another process fills the shared collection with vectors of another size (another embedder).
        other = http_settings(tmp_path / "other", port)
        other.embedding.dim = 64
        with Services(other) as svc:
            assert len(svc.ingest_paths([str(corpus)]).added) == 3
        resp = http.post("/ask", json={"question": "比亚迪八月销量是多少？"})
        assert resp.status_code == 409, resp.text
        assert resp.json()["error"]["code"] == "embedder_mismatch"
        proc.terminate()
        proc.wait(timeout=30)
        resp = http.post("/ask", json={"question": "比亚迪八月销量是多少？"})
        assert resp.status_code == 503, resp.text
        error = resp.json()["error"]
        assert error["code"] == "vector_store_unavailable" and f"127.0.0.1:{port}" in error["message"]
        assert http.get("/documents").status_code == 503
