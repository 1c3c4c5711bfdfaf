"""SIGKILL `rag ingest` mid-write, rerun it, and end with exactly what a clean run stores (issue 8)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
import yaml

from rag.cli import main as cli_main
from rag.components.embedders import build_embedder
from rag.container import Services
from rag.services.library import Library
from tests.conftest import ROOT, make_settings

pytestmark = pytest.mark.integration
CRUD = ROOT.parent / "shared" / "datasets" / "crud_news" / "documents_dup_part_1_part_1.txt"
PER_FILE = 50


def news_corpus(folder: Path, n: int, seed: int = 8) -> Path:
    """`n` CRUD-RAG news articles in files of PER_FILE lines; generated ones when the dataset is absent."""
    if CRUD.is_file():
        with CRUD.open(encoding="utf-8") as fh:
            lines = [ln.rstrip("\n") for _, ln in zip(range(n), fh, strict=False)]
    else:
        rng = random.Random(seed)
        pool = "新能源汽车销量同比增长企业发布季度财报显示营收利润市场份额政策支持技术研发投资人工智能芯片"
        lines = [f"2023-07-{i % 28 + 1:02d} 10:{i % 60:02d}，正文：第{i}篇。"
                 + "".join(rng.choice(pool) for _ in range(rng.randint(300, 1500))) + "。" for i in range(n)]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(0, len(lines), PER_FILE):
        (folder / f"news_{i // PER_FILE:03d}.txt").write_text("\n".join(lines[i : i + PER_FILE]) + "\n",
                                                              encoding="utf-8")
    return folder


def _env(tmp_path: Path, data: Path) -> dict[str, str]:
    cfg = yaml.safe_load((ROOT / "rag" / "default_settings.yaml").read_text(encoding="utf-8"))
    cfg["embedding"]["backend"] = "hash"
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return dict(os.environ, RAG_SETTINGS=str(path), RAG_DATA_DIR=str(data), PYTHONPATH=str(ROOT))


def _registered(data: Path) -> int:
    """Documents registered so far, read without disturbing the writer (0 while the file is not there)."""
    db = data / "documents.sqlite"
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2)
        try:
            return con.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return -1


def _stores(data: Path) -> dict[str, set[str]]:
    """Chunk ids in each store, read without the repair an ordinary open does."""
    lib = Library(data, build_embedder(make_settings(data).embedding), repair=False)
    try:
        return {"chroma": set(lib.vectors.all_ids()), "keywords": lib.keywords.ids(),
                "registry": lib.registry.all_chunk_ids(), "docs": {r.doc_id for r in lib.registry.list()}}
    finally:
        lib.close()


def check(env: dict[str, str], *extra: str) -> tuple[int, dict]:
    """`rag docs check --json` in this process (a subprocess would spend seconds importing)."""
    out = io.StringIO()
    with mock.patch.dict(os.environ, env), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(io.StringIO()):
        code = cli_main(["docs", "check", "--json", *extra])
    return code, json.loads(out.getvalue())


def run_with_kills(tmp_path: Path, n_articles: int, kills: int, seed: int) -> dict:
    corpus = news_corpus(tmp_path / "corpus", n_articles)
    with Services(make_settings(tmp_path / "clean")) as clean:  # the reference: one uninterrupted run
        started = time.monotonic()
        clean.ingest_paths([str(corpus)])
        per_batch = (time.monotonic() - started) / max(1, clean.library.vectors.count() / 64)
        expected = {"docs": {r.doc_id for r in clean.library.documents()},
                    "chunks": set(clean.library.vectors.all_ids())}
    data = tmp_path / "crashed"
    env = _env(tmp_path, data)
    rng = random.Random(seed)
    reserve = int(1.5 * 64 * len(expected["docs"]) / len(expected["chunks"]))  # documents in ~1.5 batches
    cmd = [sys.executable, "-m", "rag.cli", "ingest", str(corpus), "--json"]
    landed, inconsistent_after_kill = 0, 0
    while landed < kills:
        done = max(_registered(data), 0)
        # Leave work for the kills to come, and more than the last batch (registrations jump by a batch).
        share = (len(expected["docs"]) - reserve - done) // (kills - landed + 1)
        target = done + rng.randint(1, max(1, share))
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while proc.poll() is None and _registered(data) < target and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0, per_batch))  # somewhere inside the next batch of writes
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        if proc.wait(timeout=300) == -signal.SIGKILL:
            landed += 1
            code, report = check(env)
            assert code == (0 if report["consistent"] else 1)
            inconsistent_after_kill += not report["consistent"]
        else:
            assert proc.returncode == 0, "an ingest that was not killed failed"
            print(f"\nfinished before the kill: done {done}, target {target}, now {_registered(data)}")
            break  # it finished before the kill: nothing left to interrupt
    if inconsistent_after_kill:  # mend one explicitly; the rerun's own open repairs the rest
        code, report = check(env, "--repair")
        assert code == 0 and report["consistent"], report
    final = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr[-2000:]
    code, report = check(env)
    assert code == 0, report
    stores = _stores(data)
    assert stores["docs"] == expected["docs"]
    assert stores["chroma"] == expected["chunks"]
    assert stores["keywords"] == stores["chroma"] == stores["registry"]
    assert report["documents"] == len(expected["docs"]) and report["chunks"] == len(expected["chunks"])
    assert report["duplicates"] == 0
    print(f"\nkills landed {landed}/{kills}, left inconsistent {inconsistent_after_kill}; "
          f"{report['documents']} documents, {report['chunks']} chunks, as in the clean run")
    return {"kills": landed, "inconsistent_after_kill": inconsistent_after_kill, **report}


def test_sigkilled_ingest_reruns_to_the_clean_result(tmp_path):
    result = run_with_kills(tmp_path, n_articles=150, kills=2, seed=1)
    assert result["kills"] == 2


@pytest.mark.slow
def test_ten_kills_over_two_thousand_articles(tmp_path):
    result = run_with_kills(tmp_path, n_articles=2000, kills=10, seed=2)
    assert result["kills"] == 10


def test_check_reports_and_repair_mends_a_damaged_index(tmp_path, capsys):
    """Each kind of damage a crash (or a hand edit) can leave is found, and --repair mends it."""
    corpus = news_corpus(tmp_path / "corpus", 12)
    data = tmp_path / "data"
    env = _env(tmp_path, data)
    with Services(make_settings(data)) as svc:
        svc.ingest_paths([str(corpus)])
        docs = svc.library.documents()
        a, b = svc.library.registry.chunk_ids(docs[0].doc_id), svc.library.registry.chunk_ids(docs[1].doc_id)
        svc.library.keywords.delete(a[:1])  # a chunk missing from the keyword index
        svc.library.vectors.delete(b[:1])  # a registered document that lost a vector
        svc.library.keywords.add([("stray-id", "孤立的关键词条目")])  # a keyword entry with no vector
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "docs", "check"], env=env, capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 1 and "consistent: False" in proc.stdout and "--repair" in proc.stderr
    code, report = check(env)
    assert code == 1 and not report["consistent"]
    assert report["keyword_only"] == 2 and report["vector_only"] == 1 and report["missing_vectors"] == 1
    code, report = check(env, "--repair")
    assert code == 0 and report["consistent"] and report["documents"] == len(docs) - 1
    assert report["repaired"]["incomplete_docs"] == 1
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(corpus)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "added 1 document(s)" in proc.stdout
    code, report = check(env)
    assert code == 0 and report["documents"] == len(docs)


def test_check_goes_through_the_server_that_owns_the_index(tmp_path):
    from tests.test_chroma_server import free_port, wait_http

    data = tmp_path / "data"
    env = _env(tmp_path, data)
    corpus = news_corpus(tmp_path / "corpus", 5)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--no-ui", "--ingest",
                               str(corpus), "--log-level", "warning"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/health", server, "rag serve")
        for extra in ([], ["--repair"]):
            proc = subprocess.run([sys.executable, "-m", "rag.cli", "docs", "check", "--json", *extra], env=env,
                                  cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0 and "checking there" in proc.stderr, proc.stderr[-2000:]
            report = json.loads(proc.stdout)
            assert report["consistent"] and report["documents"] == 5
    finally:
        server.terminate()
        server.wait(timeout=30)
