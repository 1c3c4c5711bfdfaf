"""SIGKILL `rag ingest` while it replaces a changed file: the old or the new version survives, never neither."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.container import Services
from rag.services.library import REPLACE_INTENT
from tests.conftest import ROOT, make_settings
from tests.test_crash import _env, check

pytestmark = pytest.mark.integration


def version(k: int) -> str:
    """A report of a few hundred chunks whose every sentence names its version (so a search tells them apart)."""
    rng = random.Random(k)
    words = "储能电池出货量同比增长企业扩产政策支持技术研发市场份额价格下降订单交付海外需求"
    body = "".join(f"第{k}版报告第{i}条：" + "".join(rng.choice(words) for _ in range(60)) + "。"
                   for i in range(800))
    return f"第{k}版储能行业报告\n{body}\n"


def _ingest(env: dict[str, str], path: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest", str(path)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _survivor(data: Path, versions: dict[str, int]) -> int:
    """Open the index as a restarted server would (repairing), and say which single version it holds."""
    with Services(make_settings(data)) as svc:
        docs = [d.doc_id for d in svc.library.documents()]
        assert len(docs) == 1 and docs[0] in versions, docs  # one version, never neither, never both
        k = versions[docs[0]]
        hits = svc.retriever.retrieve(f"第{k}版报告第7条")
        assert hits and all(h.chunk.doc_id == docs[0] for h in hits)
        return k


def run_replacements(tmp_path: Path, kills: int, seed: int) -> int:
    data = tmp_path / "data"
    env = _env(tmp_path, data)
    report = tmp_path / "reports" / "same.txt"  # one absolute path, re-ingested: a file-sync replacement
    report.parent.mkdir()
    ids: dict[str, int] = {}

    def write(k: int) -> None:
        report.write_text(version(k), encoding="utf-8")
        from ingest.readers import content_id

        ids[content_id(version(k))] = k

    write(0)
    with Services(make_settings(data)) as svc:  # what `rag ingest` does, without a process start
        svc.ingest_paths([str(report)])
    # One uninterrupted replacement, timed from the intent file's appearance: the window the kills aim at.
    write(1)
    proc = _ingest(env, report)
    while not (data / REPLACE_INTENT).exists() and proc.poll() is None:
        time.sleep(0.005)
    started = time.monotonic()
    assert proc.wait(timeout=300) == 0
    window = time.monotonic() - started
    assert _survivor(data, ids) == 1
    rng = random.Random(seed)
    landed, attempts, k, prev = 0, 0, 1, 1
    while landed < kills and attempts < 4 * kills:
        attempts += 1
        k += 1
        write(k)
        proc = _ingest(env, report)
        while not (data / REPLACE_INTENT).exists() and proc.poll() is None:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, window))  # somewhere in the replacement: vectors, keywords, registry, removal
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        killed = proc.wait(timeout=300) == -signal.SIGKILL
        landed += killed
        survivor = _survivor(data, ids)
        assert survivor in (prev, k) if killed else survivor == k
        code, result = check(env)  # `rag docs check` after the restart's repair
        assert code == 0 and result["consistent"] and result["documents"] == 1, result
        print(f"kill {landed if killed else '-'}: version {survivor} of {prev}->{k} survived")
        prev = survivor
    assert landed == kills, f"only {landed} of {kills} kills landed in {attempts} tries"
    return landed


def test_a_kill_during_a_replacement_leaves_one_version(tmp_path):
    assert run_replacements(tmp_path, kills=1, seed=16) == 1


@pytest.mark.slow
def test_five_kills_during_replacements_each_leave_one_version(tmp_path):
    assert run_replacements(tmp_path, kills=5, seed=5)
