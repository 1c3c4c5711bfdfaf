"""Scale-out on a real `chroma run` server: workers with their own data dirs share one collection (issue 8)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from rag.components.vector_store import VectorStoreUnavailable
from rag.container import Services
from rag.settings import VectorStoreSettings
from tests.conftest import ROOT, make_settings

pytestmark = pytest.mark.integration
CHROMA = Path(sys.executable).with_name("chroma")

NEWS = [
    "2023-08-01 09:00，正文：宁德时代发布神行超充电池，充电10分钟可行驶400公里，计划年底量产。",
    "2023-08-02 10:30，正文：比亚迪八月新能源汽车销量达到27.4万辆，同比增长66%，海外销量持续攀升。",
    "2023-08-03 14:00，正文：华为发布盘古大模型3.0，面向政务、金融、制造等行业提供服务。",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, f"{what} exited with {proc.returncode}"
        assert time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.3)


@contextmanager
def run_chroma(path: Path) -> Iterator[tuple[int, subprocess.Popen]]:
    """A real `chroma run` on loopback storing in `path` (skips when the CLI is missing); yields (port, process)."""
    if not CHROMA.exists():
        pytest.skip(f"the chroma CLI is not installed beside {sys.executable}")
    port = free_port()
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", proc, "chroma run", timeout=60)
        yield port, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    """A real Chroma server on loopback with a temporary path; yields its port."""
    with run_chroma(tmp_path / "chroma-server") as (port, _):
        yield port


def http_settings(data: Path, port: int):
    s = make_settings(data)
    return s.model_copy(update={"vector_store": VectorStoreSettings(backend="http", port=port,
                                                                     sync_interval_s=0)}, deep=True)


def test_processes_sharing_a_server_mirror_each_others_writes(tmp_path, chroma_server):
    corpus = tmp_path / "news.txt"
    corpus.write_text("\n".join(NEWS) + "\n", encoding="utf-8")
    with Services(http_settings(tmp_path / "a", chroma_server)) as a, \
            Services(http_settings(tmp_path / "b", chroma_server)) as b:
        assert b.library.documents() == []
        report = a.ingest_paths([str(corpus)])
        assert len(report.added) == 3
        assert {r.doc_id for r in b.library.documents()} == {d["doc_id"] for d in report.added}
        hits = b.library.keywords.search("神行超充电池", 3)
        assert hits and b.library.vectors.get([hits[0][0]])[0].text.startswith("宁德时代")
        assert "27.4万辆" in b.ask("比亚迪八月新能源汽车销量是多少？").answer
        check = b.library.check()
        assert check["consistent"] and check["documents"] == 3 and check["chunks"] == check["keyword_chunks"]
        # The writer's bookkeeping keys never reach citations.
        assert not any(k.startswith("_") for k in b.library.vectors.get([hits[0][0]])[0].metadata)
        # A second ingest process skips what another one already stored; a delete reaches everyone.
        assert b.ingest_paths([str(corpus)]).unchanged == 3
        gone = report.added[0]["doc_id"]
        assert b.delete_document(gone)
        assert gone not in {r.doc_id for r in a.library.documents()}
        assert a.library.check()["consistent"] and a.library.keywords.count() == a.library.vectors.count()


def test_unreachable_server_is_a_clear_error(tmp_path):
    with pytest.raises(VectorStoreUnavailable, match="chroma run"):
        Services(http_settings(tmp_path / "x", free_port()))


def _serve(tmp_path: Path, name: str, chroma_port: int) -> tuple[subprocess.Popen, str, dict]:
    cfg = yaml.safe_load((ROOT / "rag" / "default_settings.yaml").read_text(encoding="utf-8"))
    cfg["embedding"]["backend"] = "hash"
    cfg["vector_store"] = {"backend": "http", "host": "127.0.0.1", "port": chroma_port, "sync_interval_s": 0.5}
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    env = dict(os.environ, RAG_SETTINGS=str(path), RAG_DATA_DIR=str(tmp_path / name), PYTHONPATH=str(ROOT))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--no-ui",
                             "--log-level", "warning"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}", env


def test_two_api_workers_and_an_ingest_process_share_one_chroma_server(tmp_path, chroma_server):
    workers = [_serve(tmp_path, f"worker{i}", chroma_server) for i in range(2)]
    try:
        for proc, url, _ in workers:
            wait_http(f"{url}/health", proc, "rag serve")
        question = "宁德时代神行超充电池充电10分钟可以行驶多少公里？"
        for _, url, _ in workers:  # nothing indexed yet
            assert httpx.get(f"{url}/health", trust_env=False).json()["chunks"] == 0
        corpus = tmp_path / "news.txt"
        corpus.write_text("\n".join(NEWS) + "\n", encoding="utf-8")
        env = dict(workers[0][2], RAG_DATA_DIR=str(tmp_path / "ingester"))
        done = subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(corpus)], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and "added 3 document(s)" in done.stdout, done.stderr
        time.sleep(0.6)  # one sync interval
        for _, url, _ in workers:
            ans = httpx.post(f"{url}/ask", json={"question": question}, timeout=60, trust_env=False).json()
            assert "400公里" in ans["answer"], ans
            docs = httpx.get(f"{url}/documents", timeout=30, trust_env=False).json()
            assert len(docs["documents"]) == 3
            check = httpx.get(f"{url}/documents/check", timeout=60, trust_env=False).json()
            assert check["consistent"] and check["chunks"] == check["keyword_chunks"] == 3
    finally:
        for proc, _, _ in workers:
            proc.terminate()
        for proc, _, _ in workers:
            proc.wait(timeout=30)
