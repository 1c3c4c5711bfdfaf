"""Ingest is idempotent, changed files replace their chunks, deletes reach both indexes, one owner per index."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rag.components.vector_store import EmbeddingSpaceMismatch
from rag.container import Services
from rag.lock import DataDirBusy
from tests.conftest import ROOT, SEEDS, make_settings


def test_reingest_adds_nothing(services, tmp_path):
    first = services.ingest_paths([str(SEEDS)])
    assert len(first.added) == 1 and first.chunks >= 1 and not first.errors
    before = services.library.stats()
    again = services.ingest_paths([str(SEEDS)])
    assert again.added == [] and again.unchanged == 1
    assert services.library.stats() == before


def test_changed_file_replaces_its_old_chunks(services, tmp_path):
    f = tmp_path / "report.txt"
    f.write_text("旧版本：公司营收增长10%。", encoding="utf-8")
    old = services.ingest_paths([str(f)]).added[0]["doc_id"]
    f.write_text("新版本：公司营收增长25%，利润翻倍。", encoding="utf-8")
    report = services.ingest_paths([str(f)])
    assert report.removed == [old]
    assert [d["doc_id"] for d in services.list_documents()["documents"]] == [report.added[0]["doc_id"]]
    texts = [h.chunk.text for h in services.retriever.retrieve("公司营收增长", top_k=5)]
    assert texts and all("旧版本" not in t for t in texts)
    stats = services.library.stats()
    assert stats["chunks"] == stats["keyword_chunks"] == 1


def test_delete_removes_from_chroma_and_bm25(services, tmp_path):
    (tmp_path / "a.txt").write_text("甲：光伏组件价格下跌。", encoding="utf-8")
    (tmp_path / "b.txt").write_text("乙：锂电池产能过剩。", encoding="utf-8")
    report = services.ingest_paths([str(tmp_path)])
    assert len(report.added) == 2
    victim = next(d["doc_id"] for d in report.added if d["source"].endswith("a.txt"))
    assert services.delete_document(victim)
    assert not services.delete_document(victim)
    assert services.library.stats() == {"documents": 1, "chunks": 1, "keyword_chunks": 1}
    assert services.library.keywords.search("光伏组件", 5) == []


def test_folder_recursion_and_bad_files_do_not_stop_the_batch(services, tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "deeper" / "ok.md").write_text("# 标题\n\n正文：储能市场扩张。", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7 garbage")
    report = services.ingest_paths([str(tmp_path), str(tmp_path / "missing.txt")])
    assert len(report.added) == 1
    messages = " | ".join(e["error"] for e in report.errors)
    assert "empty" in messages and "PDF" in messages and "no such file" in messages
    assert services.library.stats()["documents"] == 1


def test_second_owner_is_refused_with_a_clear_message(settings):
    with Services(settings):
        with pytest.raises(DataDirBusy, match="in use by process"):
            Services(settings)
        code = (
            f"import sys, pathlib; sys.path.insert(0, {str(ROOT)!r}); from tests.conftest import make_settings;"
            f"from rag.container import Services; Services(make_settings(pathlib.Path({str(settings.data_dir)!r})))"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert proc.returncode != 0 and "DataDirBusy" in proc.stderr
    with Services(settings):  # released on close
        pass


def test_reconcile_repairs_a_keyword_index_out_of_step(settings, tmp_path):
    with Services(settings) as svc:
        svc.ingest_paths([str(SEEDS)])
        ids = sorted(svc.library.keywords.ids())
        svc.library.keywords.delete(ids[:1])  # simulate a crash between the two writes
    with Services(settings) as svc:
        stats = svc.library.stats()
        assert stats["chunks"] == stats["keyword_chunks"]


def test_index_from_another_embedding_space_is_refused(tmp_path):
    data = tmp_path / "data"
    with Services(make_settings(data, dim=256)) as svc:
        svc.ingest_paths([str(SEEDS)])
    with pytest.raises(EmbeddingSpaceMismatch, match="hash-256"):
        Services(make_settings(data, dim=128))
