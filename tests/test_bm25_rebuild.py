"""The BM25 matrix: built with numpy exactly as bm25s builds it, rebuilt by writers, swapped without a gap."""

from __future__ import annotations

import json
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from rag.components import keyword_index
from rag.components.keyword_index import KeywordIndex, _build
from rag.components.tokenize import tokenize
from rag.container import Services
from tests.conftest import make_settings

CMRC = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cmrc2018_dev.json"


def _cmrc_contexts(n: int) -> list[str]:
    if not CMRC.exists():
        pytest.skip(f"shared dataset absent: {CMRC}")
    data = json.loads(CMRC.read_text(encoding="utf-8"))["data"]
    texts = [p["context"] for d in data for p in d["paragraphs"]]
    return list(dict.fromkeys(texts))[:n]


def _by_term(bm25) -> dict[str, dict[int, float]]:
    """Each term's {row: score} read off a bm25s matrix, independent of its vocabulary numbering."""
    s = bm25["scores"] if isinstance(bm25, dict) else bm25.scores
    m = sp.csc_matrix((s["data"], s["indices"], s["indptr"]), shape=(s["num_docs"], len(s["indptr"]) - 1))
    out = {}
    for term, col in bm25.vocab_dict.items():
        if col < m.shape[1]:
            a, b = m.indptr[col], m.indptr[col + 1]
            out[term] = dict(zip(m.indices[a:b].tolist(), m.data[a:b].tolist(), strict=True))
    return out


def test_numpy_build_gives_bm25s_scores_bit_for_bit():
    import bm25s

    texts = _cmrc_contexts(300)
    rows = [(f"c{i}", zlib.compress(" ".join(tokenize(t)).encode("utf-8"))) for i, t in enumerate(texts)]
    rows.append(("empty", zlib.compress(b"")))  # a chunk with no tokens keeps bm25s' placeholder row
    ours = _build(rows)
    theirs = bm25s.BM25()
    theirs.index([keyword_index._tokens(r[1]) or ["\u0000"] for r in rows], show_progress=False)
    assert _by_term(ours.bm25) == _by_term(theirs)
    assert set(ours.bm25.vocab_dict) == set(theirs.vocab_dict)
    for q in ["范廷颂是什么时候被任为主教的？", "哪一年", "完全不存在的词语组合"]:
        terms = tokenize(q)
        d1, s1 = ours.bm25.retrieve([terms], k=10, show_progress=False)
        d2, s2 = theirs.retrieve([terms], k=10, show_progress=False)
        assert np.allclose(s1, s2, rtol=1e-6, atol=0)  # summing a query's terms may differ in the last bit
        assert [d for d, s in zip(d1[0], s1[0], strict=True) if s > 0] == \
            [d for d, s in zip(d2[0], s2[0], strict=True) if s > 0]
    assert ours.df == keyword_index._df_of(ours.bm25)


def test_ingest_rebuilds_once_and_the_next_search_does_not(tmp_path, monkeypatch):
    calls = []
    real = keyword_index._build
    monkeypatch.setattr(keyword_index, "_build", lambda rows: calls.append(len(rows)) or real(rows))
    files = []
    for i, city in enumerate(["北京", "上海", "深圳"]):
        f = tmp_path / f"news{i}.txt"
        f.write_text(f"{city}发布新能源汽车补贴政策，{city}市民购车可获得一万元补贴。", encoding="utf-8")
        files.append(f)
    with Services(make_settings(tmp_path / "data")) as svc:
        svc.ingest_paths([str(f) for f in files])
        assert len(calls) == 1  # three files, several writes: one rebuild, at the end
        hits = svc.library.keywords.search("深圳补贴", k=3)
        assert hits and len(calls) == 1  # the first search after an ingest finds the matrix ready
        doc_id = svc.library.documents()[0].doc_id
        assert svc.delete_document(doc_id)
        assert len(calls) == 2
        svc.ingest_paths([str(f) for f in files])  # the deleted file comes back: one rebuild
        assert calls == [3, 2, 3]
        svc.ingest_paths([str(f) for f in files])  # nothing new: nothing rebuilt
        assert calls == [3, 2, 3]


def test_search_during_a_rebuild_uses_the_old_matrix(tmp_path, monkeypatch):
    kw = KeywordIndex(tmp_path / "keywords.sqlite")
    kw.add([("a", "北京发布新能源汽车补贴政策"), ("b", "上海举办国际电影节")])
    assert [c for c, _ in kw.search("北京补贴", k=2)] == ["a"]
    started, release = threading.Event(), threading.Event()
    real = keyword_index._build

    def slow(rows):
        started.set()
        assert release.wait(10)
        return real(rows)

    monkeypatch.setattr(keyword_index, "_build", slow)
    kw.add([("c", "深圳北京两地补贴政策对比")])
    writer = threading.Thread(target=kw.refresh)
    writer.start()
    assert started.wait(10)
    assert [c for c, _ in kw.search("北京补贴", k=3)] == ["a"]  # old matrix, no wait, never half-built
    release.set()
    writer.join(10)
    assert sorted(c for c, _ in kw.search("北京补贴", k=3)) == ["a", "c"]
    kw.close()


def test_a_stale_matrix_with_no_rebuild_running_is_rebuilt_by_the_search(tmp_path):
    kw = KeywordIndex(tmp_path / "keywords.sqlite")
    kw.add([("a", "北京发布新能源汽车补贴政策")])
    assert [c for c, _ in kw.search("补贴", k=1)] == ["a"]
    kw.add([("b", "上海补贴政策")])  # a write with no refresh after it (a caller outside Library.batch)
    assert sorted(c for c, _ in kw.search("补贴", k=2)) == ["a", "b"]
    kw.close()


def test_a_refreshed_matrix_is_saved_and_a_new_process_loads_it(tmp_path, monkeypatch):
    kw = KeywordIndex(tmp_path / "keywords.sqlite")
    kw.add([("a", "北京发布新能源汽车补贴政策"), ("b", "上海举办国际电影节"), ("c", "深圳北京两地补贴政策对比")])
    kw.refresh()
    before = kw.search("北京补贴", k=3)
    kw.close()

    def no_rebuild(rows):
        raise AssertionError("the saved matrix should have been loaded")

    monkeypatch.setattr(keyword_index, "_build", no_rebuild)
    again = KeywordIndex(tmp_path / "keywords.sqlite")
    assert again.search("北京补贴", k=3) == before
    assert again.idf("北京") < again.idf("电影节") < again.idf("从未出现")
    again.close()
