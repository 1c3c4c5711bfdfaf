"""SIGKILL a process in the middle of deleting knowledge bases: every base is then whole or gone, and
`rag docs check` (every base) is consistent (issue 17)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.services.knowledge_bases import DEFAULT_KB, KnowledgeBases
from tests.conftest import ROOT, make_settings
from tests.test_crash import _env, check

pytestmark = pytest.mark.slow

DELETER = """
import sys
from rag.services.knowledge_bases import KnowledgeBases
from rag.settings import load_settings
with KnowledgeBases(load_settings()) as kbs:
    for name in kbs.names()[1:]:
        print("deleting", name, flush=True)
        kbs.delete(name, confirm=True)
        print("deleted", name, flush=True)
"""


def _build(data: Path, bases: int) -> dict[str, int]:
    """`bases` small bases (and a default one), each with a few documents; their document counts."""
    rng = random.Random(3)
    with KnowledgeBases(make_settings(data)) as kbs:
        for i in range(bases):
            name = f"kb{i:02d}"
            kbs.create(name)
            texts = [f"第{i}库第{j}篇：" + "大模型价格战新能源电池芯片"[rng.randrange(10):] * 20 + "。"
                     for j in range(3 + i % 3)]
            folder = data.parent / "src" / name
            folder.mkdir(parents=True)
            for j, t in enumerate(texts):
                (folder / f"{j}.txt").write_text(t, encoding="utf-8")
            kbs.get(name).ingest_paths([str(folder)])
        (data.parent / "src" / "default.txt").write_text("默认库的一篇文档，讲大模型价格战。", encoding="utf-8")
        kbs.get(DEFAULT_KB).ingest_paths([str(data.parent / "src" / "default.txt")])
        return {i.name: i.documents for i in kbs.infos()}


def test_sigkill_while_deleting_bases_leaves_each_whole_or_gone(tmp_path):
    data = tmp_path / "data"
    before = _build(data, bases=24)
    env = _env(tmp_path, data)
    rng = random.Random(11)
    kills = 0
    for round_ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", DELETER], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        target = rng.randint(1, 4)  # kill inside the target-th deletion of this run
        started = 0
        for line in proc.stdout:
            started += line.startswith("deleting")
            if started == target:
                # Somewhere in this delete: its open, the wait for calls in flight, the rename or the removal.
                time.sleep(rng.uniform(0, 0.15))
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait(timeout=120)
        kills += proc.returncode == -signal.SIGKILL
        code, report = check(env)  # `rag docs check --json`, every base
        assert code == 0 and report["consistent"], report
        with KnowledgeBases(make_settings(data)) as kbs:
            for info in kbs.infos():
                assert info.documents == before[info.name], (round_, info)  # whole, never half-deleted
            assert not [p.name for p in (data / "kbs").iterdir() if p.name.startswith(".")]
            assert kbs.info(DEFAULT_KB).documents == 1
            left = len(kbs.names())
        if left == 1:
            break
    assert kills >= 2
    assert left < len(before)  # the deletions made progress between the kills
