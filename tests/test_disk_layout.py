"""Chunk text lives once, compressed, in the registry; embedded Chroma keeps ids, vectors and doc_id (issue 7)."""

from __future__ import annotations

import json
import sqlite3
import zlib
from pathlib import Path

import pytest

from ingest.chunking import ChineseChunker
from ingest.readers import read_bytes
from rag.components.doc_registry import LAYOUT
from rag.components.embedders import build_embedder
from rag.components.keyword_index import KeywordIndex
from rag.components.tokenize import tokenize
from rag.components.vector_store import ChromaVectorStore
from rag.container import Services
from rag.services.library import WRITE_MARKER, Library
from rag.types import Chunk
from tests.conftest import SEEDS, make_pdf, make_settings
from tests.test_crash import news_corpus


def _chunks_of(data: bytes, name: str, settings) -> list[Chunk]:
    """What ingest makes of one file, straight from the reader and the chunker."""
    chunker = ChineseChunker(settings.chunking.chunk_size, settings.chunking.chunk_overlap)
    return [c for d in read_bytes(data, name, source=name) for c in chunker.chunk(d)]


def _chroma_bytes(data: Path) -> bytes:
    return b"".join(f.read_bytes() for f in sorted((data / "chroma").rglob("*")) if f.is_file())


def _files(tmp_path: Path) -> dict[str, bytes]:
    news = next(SEEDS.glob("*.txt")).read_bytes()
    pdf = make_pdf(["第一页：储能电池出货量同比增长45%，宁德时代份额第一。", "第二页：光伏装机容量达到200吉瓦。"])
    return {"doubao.txt": news, "report.pdf": pdf}


def test_chroma_keeps_no_chunk_text_and_chunks_come_back_identical(tmp_path):
    settings = make_settings(tmp_path / "data")
    files = _files(tmp_path)
    with Services(settings) as svc:
        for name, data in files.items():
            assert not svc.ingest_bytes(data, name).errors
        expected = [c for name, data in files.items() for c in _chunks_of(data, name, settings)]
        ids = [c.chunk_id for c in expected]
        lib = svc.library
        assert len(ids) >= 3 and lib.vectors.count() == len(ids)
        got = lib.vectors.get(ids)
        assert got == expected
        assert any(c.page_end == 2 for c in got) and any(c.metadata.get("url") for c in got)
        hits = lib.vectors.query(lib.embedder.embed_query("光伏装机容量"), k=len(ids))
        assert sorted(c.chunk_id for c, _ in hits) == sorted(ids)
        assert all(c == next(e for e in got if e.chunk_id == c.chunk_id) for c, _ in hits)
        answer = svc.ask("豆包主力模型的企业市场定价是多少？")
        assert "125万tokens" in answer.answer
        # The same chunks through the path that keeps text in Chroma (a shared server's) are equal too.
        plain = ChromaVectorStore(tmp_path / "plain", space=lib.embedder.space, dim=lib.embedder.dim)
        plain.add(got, lib.embedder.embed_passages([c.text for c in got]))
        assert plain.get(ids) == got
    blob = _chroma_bytes(settings.data_dir)
    for c in expected:  # not one chunk's text, title or metadata anywhere in Chroma's files
        for piece in (c.text[:12], c.text[-12:], c.title[:10]):
            assert piece.encode("utf-8") not in blob, piece
    con = sqlite3.connect(settings.data_dir / "chroma" / "chroma.sqlite3")
    try:
        keys = {k for (k,) in con.execute("SELECT DISTINCT key FROM embedding_metadata")}
        assert keys == {"doc_id"}
        assert con.execute("SELECT COUNT(*) FROM embedding_fulltext_search").fetchone()[0] == 0
    finally:
        con.close()
    reg = sqlite3.connect(settings.data_dir / "documents.sqlite")
    try:
        rows = reg.execute("SELECT chunk_id, text FROM chunks").fetchall()
    finally:
        reg.close()
    assert len(rows) == len(ids) and all(isinstance(t, bytes) for _, t in rows)
    stored = sum(len(t) for _, t in rows)
    raw = sum(len(c.text.encode("utf-8")) for c in expected)
    assert stored < raw, (stored, raw)  # compressed, and kept once


def test_open_is_cheap_after_a_clean_close_and_reconciles_after_a_kill(tmp_path, monkeypatch):
    settings = make_settings(tmp_path / "data")
    corpus = news_corpus(tmp_path / "corpus", 6)
    with Services(settings) as svc:
        svc.ingest_paths([str(corpus)])
        total = svc.library.vectors.count()
    marker = settings.data_dir / WRITE_MARKER
    assert not marker.exists()
    calls: list[int] = []
    real = Library.reconcile
    monkeypatch.setattr(Library, "reconcile", lambda self: calls.append(1) or real(self))
    with Services(settings) as svc:  # the last writer finished: no full reconcile
        assert calls == [] and svc.library.stats()["chunks"] == total
    marker.touch()  # what a writer killed mid-batch leaves
    with Services(settings) as svc:
        assert calls == [1] and svc.library.check()["consistent"]
    assert not marker.exists()
    with Services(settings) as svc:  # a store changed behind the library's back: counts disagree
        svc.library.keywords.delete(sorted(svc.library.keywords.ids())[:1])
    with Services(settings) as svc:
        assert calls == [1, 1] and svc.library.stats()["keyword_chunks"] == total


def test_a_failed_write_leaves_the_marker_and_the_next_open_repairs_it(tmp_path, monkeypatch):
    settings = make_settings(tmp_path / "data")
    with Services(settings) as svc:
        svc.ingest_paths([str(SEEDS)])
        before = svc.library.stats()

        def broken(items, *a, **k):
            raise OSError("disk full")

        monkeypatch.setattr(svc.library.keywords, "add", broken)
        (tmp_path / "new.txt").write_text("新文档：储能电站装机规模扩大。", encoding="utf-8")
        with pytest.raises(OSError, match="disk full"):
            svc.ingest_paths([str(tmp_path / "new.txt")])
        assert (settings.data_dir / WRITE_MARKER).exists()  # vectors were written, the rest was not
        assert svc.library.vectors.count() == before["chunks"] + 1
    with Services(settings) as svc:
        assert svc.library.stats() == before and svc.library.check()["consistent"]
        assert not (settings.data_dir / WRITE_MARKER).exists()


def test_check_finds_a_registered_chunk_without_text_and_repair_drops_its_document(tmp_path):
    settings = make_settings(tmp_path / "data")
    corpus = news_corpus(tmp_path / "corpus", 4)
    with Services(settings) as svc:
        svc.ingest_paths([str(corpus)])
        victim = svc.library.documents()[0].doc_id
    con = sqlite3.connect(settings.data_dir / "documents.sqlite")
    con.execute("UPDATE chunks SET text = NULL WHERE doc_id = ?", (victim,))
    con.commit()
    con.close()
    emb = build_embedder(settings.embedding)
    lib = Library(settings.data_dir, emb, repair=False)
    try:
        report = lib.check()
        assert not report["consistent"] and report["missing_text"] >= 1
        mended = lib.repair()
        assert mended["consistent"] and mended["repaired"]["incomplete_docs"] == 1
        assert not lib.has(victim)
    finally:
        lib.close()


def _write_layout_1(data: Path, chunks: list[Chunk], settings) -> None:
    """A data dir as versions before this change wrote it: text and metadata in Chroma, plain-text tokens,
    a registry without chunk text."""
    emb = build_embedder(settings.embedding)
    store = ChromaVectorStore(data / "chroma", space=emb.space, dim=emb.dim)  # no `texts`: Chroma keeps it all
    store.add(chunks, emb.embed_passages([c.text for c in chunks]))
    kw = sqlite3.connect(data / "keywords.sqlite")
    kw.execute("CREATE TABLE tokens (chunk_id TEXT PRIMARY KEY, tokens TEXT NOT NULL)")
    kw.executemany("INSERT INTO tokens VALUES (?, ?)", [(c.chunk_id, " ".join(tokenize(c.text))) for c in chunks])
    kw.commit()
    kw.close()
    reg = sqlite3.connect(data / "documents.sqlite")
    reg.executescript("""
        CREATE TABLE documents (doc_id TEXT PRIMARY KEY, title TEXT, source TEXT, n_chunks INTEGER, chars INTEGER,
            added_at REAL, metadata TEXT, origin TEXT);
        CREATE INDEX documents_origin ON documents(origin);
        CREATE TABLE chunks (chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL);
        CREATE INDEX chunks_doc ON chunks(doc_id);""")
    by_doc: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    for doc_id, cs in by_doc.items():
        reg.execute("INSERT INTO documents VALUES (?,?,?,?,?,?,?,?)",
                    (doc_id, cs[0].title, cs[0].source, len(cs), cs[-1].end, 1.7e9,
                     json.dumps(cs[0].metadata, ensure_ascii=False), cs[0].source))
        reg.executemany("INSERT INTO chunks VALUES (?,?)", [(c.chunk_id, doc_id) for c in cs])
    reg.commit()
    reg.close()


def test_a_data_dir_from_before_the_move_opens_with_its_text_copied_once(tmp_path):
    settings = make_settings(tmp_path / "data")
    files = _files(tmp_path)
    chunks = [c for name, data in files.items() for c in _chunks_of(data, name, settings)]
    _write_layout_1(settings.data_dir, chunks, settings)
    ids = [c.chunk_id for c in chunks]
    with Services(settings) as svc:
        lib = svc.library
        assert lib.registry.layout() == LAYOUT and lib.registry.chunk_ids_without_text() == []
        assert lib.vectors.get(ids) == chunks
        assert lib.check()["consistent"]
        assert "125万tokens" in svc.ask("豆包主力模型的企业市场定价是多少？").answer
        assert lib.keywords.search("光伏装机容量", 3)  # plain-text token rows of the old layout still read
        new = tmp_path / "new.txt"
        new.write_text("新文档：储能电站装机规模扩大。", encoding="utf-8")
        added = svc.ingest_paths([str(new)]).added[0]["doc_id"]
        assert lib.check()["consistent"] and lib.has(added)
    with Services(settings) as svc:  # reopened: nothing left to move or mend
        assert svc.library.vectors.get(ids) == chunks and svc.library.check()["consistent"]


def test_keyword_tokens_are_stored_compressed(tmp_path):
    kw = KeywordIndex(tmp_path / "kw.sqlite")
    text = "宁德时代发布神行超充电池，充电10分钟可行驶400公里。" * 4
    kw.add([("a", text)])
    (blob,) = kw._db.execute("SELECT tokens FROM tokens").fetchone()
    assert isinstance(blob, bytes) and zlib.decompress(blob).decode().split() == tokenize(text)
    assert kw.search("神行超充电池", 1)[0][0] == "a"
    kw.close()


def test_saved_bm25_matrix_gives_document_frequencies_without_a_second_copy(tmp_path, monkeypatch):
    texts = {f"c{i}": t for i, t in enumerate(["宁德时代发布神行超充电池。", "比亚迪电池产能扩张，电池价格下跌。",
                                               "光伏组件价格下跌。", "", "储能电站装机规模扩大，宁德时代中标。"])}
    kw = KeywordIndex(tmp_path / "kw.sqlite")
    kw.add(list(texts.items()))
    expected = {t: kw.idf(t) for t in ("电池", "宁德时代", "价格", "光伏", "没有的词")}
    kw.close()
    snapshot = tmp_path / "kw.bm25"
    assert (snapshot / "manifest.json").exists() and not (snapshot / "df.json").exists()
    from rag.components import keyword_index

    monkeypatch.setattr(keyword_index, "_build", lambda *a, **k: pytest.fail("rebuilt instead of loading"))
    again = KeywordIndex(tmp_path / "kw.sqlite")  # loads the saved matrix and reads df off it
    assert {t: again.idf(t) for t in expected} == expected
    assert again.search("宁德时代", 5)[0][0] in {"c0", "c4"}
    again.close()
