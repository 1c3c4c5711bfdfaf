"""The `rag` command: help, ingest with progress, ask, docs, and handing work to a running server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import ROOT, SEED_QUESTION, SEEDS

pytestmark = pytest.mark.integration


def _env(tmp_path: Path) -> dict[str, str]:
    """A settings file with the hash embedder, selected through RAG_SETTINGS; the index via RAG_DATA_DIR."""
    cfg = yaml.safe_load((ROOT / "rag" / "default_settings.yaml").read_text(encoding="utf-8"))
    cfg["embedding"]["backend"] = "hash"
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    env = dict(os.environ, RAG_SETTINGS=str(path), RAG_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    return env


def rag(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "rag.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_help_names_every_command(tmp_path):
    out = rag(_env(tmp_path), "--help").stdout
    for cmd in ("ingest", "ask", "serve", "eval", "docs"):
        assert cmd in out


def test_ingest_ask_docs_roundtrip(tmp_path):
    env = _env(tmp_path)
    out = rag(env, "ingest", str(SEEDS)).stdout
    assert "added 1 document(s)" in out
    assert "unchanged 1" in rag(env, "ingest", str(SEEDS)).stdout
    ans = rag(env, "ask", SEED_QUESTION).stdout
    assert "125万tokens" in ans and "[1]" in ans and "model: extractive, cost: ¥0.000000" in ans
    docs = json.loads(rag(env, "docs", "list", "--json").stdout)
    assert len(docs) == 1
    assert "deleted" in rag(env, "docs", "delete", docs[0]["doc_id"]).stdout
    missing = rag(env, "docs", "delete", docs[0]["doc_id"], check=False)
    assert missing.returncode == 1 and "no document" in missing.stderr
    assert (tmp_path / "data" / "chroma").is_dir()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_second_process_hands_its_work_to_the_running_server(tmp_path):
    env = _env(tmp_path)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--no-ui"],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
        ingest = rag(env, "ingest", str(SEEDS))
        assert "sending the work there" in ingest.stderr and "added 1 document(s)" in ingest.stdout
        ans = rag(env, "ask", SEED_QUESTION)
        assert "125万tokens" in ans.stdout
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5, trust_env=False).json()
        assert health["documents"] == 1
    finally:
        server.terminate()
        server.wait(timeout=30)
