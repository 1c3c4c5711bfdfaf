"""`rag bench` end to end on a tiny synthetic CRUD corpus with the hash embedder, and its building blocks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval.bench import BenchConfig, run_bench
from eval.bench.corpus import make_questions, read_corpus, select_lines, write_corpus
from eval.bench.proxy import ProxyPassageEmbedder
from eval.bench.report import format_table
from rag.cli import main
from rag.components.embedders.hashing import HashEmbedder
from rag.components.keyword_index import KeywordIndex
from tests.conftest import make_settings

COMPANIES = "比亚迪 宁德时代 华为 小米 腾讯 阿里巴巴 京东 美团 百度 字节跳动 蔚来 理想汽车".split()
TOPICS = ["新能源汽车销量", "动力电池装机量", "智能手机出货量", "云计算收入", "广告业务收入", "研发投入"]


def _article(i: int) -> str:
    company, topic = COMPANIES[i % len(COMPANIES)], TOPICS[i % len(TOPICS)]
    body = (f"{company}今天发布公告称，公司第{i % 4 + 1}季度{topic}达到{120 + 7 * i}亿元，同比增长{10 + i}%。"
            f"分析人士认为，{company}在{topic}方面的表现超出市场预期，主要得益于海外市场的快速扩张。"
            f"公司管理层表示，未来三年将继续加大在{topic}相关领域的投入，预计年均增速保持在{15 + i % 5}%以上。")
    return f"2023-08-{i % 28 + 1:02d} 15:10，正文：{body * (1 + i % 3)}"


@pytest.fixture
def crud_dir(tmp_path: Path) -> Path:
    d = tmp_path / "crud"
    d.mkdir()
    lines = [_article(i) for i in range(14)]
    (d / "part_1.txt").write_text("\n".join(lines[:8] + lines[:2]) + "\n", encoding="utf-8")  # with duplicates
    (d / "part_2.txt").write_text("\n".join(lines[8:]) + "\n", encoding="utf-8")
    return d


def test_corpus_keeps_distinct_articles_and_questions_are_reproducible(crud_dir: Path, tmp_path: Path) -> None:
    lines = select_lines(12, crud_dir)
    docs = read_corpus(write_corpus(lines, tmp_path / "c.txt"))
    assert len(docs) == 12 and len({d.doc_id for d in docs}) == 12
    first, again = make_questions(docs, 20, seed=3), make_questions(docs, 20, seed=3)
    assert first == again and len(first) == 20 and all(q.endswith("？") for q in first)
    assert make_questions(docs, 20, seed=4) != first
    with pytest.raises(ValueError, match="at least 1"):
        select_lines(0, crud_dir)
    with pytest.raises(FileNotFoundError, match="no CRUD-RAG news files"):
        select_lines(5, tmp_path / "nowhere")


def test_proxy_embedder_fakes_passages_but_embeds_queries_for_real() -> None:
    inner = HashEmbedder(dim=64)
    proxy = ProxyPassageEmbedder(inner)
    a, b = proxy.embed_passages(["甲乙丙", "丁戊己"]), proxy.embed_passages(["甲乙丙"])
    assert a.shape == (2, 64) and np.allclose(a[0], b[0]) and np.allclose(np.linalg.norm(a, axis=1), 1.0)
    assert proxy.space == inner.space and np.allclose(proxy.embed_query("问题"), inner.embed_query("问题"))


def test_bench_runs_all_three_pipelines_on_the_same_chunks(crud_dir: Path, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "unused")
    cfg = BenchConfig(docs=10, queries=8, crud_dir=crud_dir, work_dir=tmp_path, embedding={"backend": "hash"},
                      cold_runs=2, keep=tmp_path / "kept")
    r = run_bench(settings, cfg)
    assert len(r["runs"][0]["cold_start"]["runs"]) == 2  # cold start: median of two new processes
    assert r["reopen_s"] > 0 and r["first_query_after_open_ms"] > 0 and r["second_query_after_open_ms"] > 0
    assert (tmp_path / "kept" / "documents.sqlite").is_file()  # --keep: the index outlives the bench
    assert r["docs"] == 10 and r["chunks"] >= 10
    assert r["llamaindex_chunks"] == r["chunks"]  # same splitter, same documents: same chunks
    for key in ("ingest_s", "embed_lower_bound_s", "llamaindex_ingest_s", "cold_start_s", "reingest_s"):
        assert r[key] > 0, key
    assert r["reingest_s"] < r["ingest_s"]  # nothing re-embedded
    assert r["index_bytes"] > r["raw_vectors_text_bytes"] > 0
    assert r["query_p50_ms"] <= r["query_p95_ms"] <= r["query_p99_ms"]
    assert r["retrieval_p95_ms"] <= r["query_p95_ms"]
    assert r["ingest_vs_lower_bound"] == pytest.approx(r["ingest_s"] / r["embed_lower_bound_s"])
    table = format_table(r)
    assert "| ingest wall (s) |" in table and "project / lower bound" in table and "cold start" in table
    json.dumps(r)  # the --json output is plain JSON


def test_cli_rejects_a_bad_docs_count(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="--docs must be at least 1"):
        main(["bench", "--docs", "0", "--backend", "hash"])
    with pytest.raises(ValueError, match="unknown runtime.*'gpu'.*numpy"):
        main(["bench", "--docs", "3", "--backend", "hash", "--cold-start-also", "gpu"])


def test_keyword_index_reopens_from_its_saved_matrix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.components import keyword_index

    path = tmp_path / "keywords.sqlite"
    kw = KeywordIndex(path)
    kw.add([("a", "比亚迪新能源汽车销量增长"), ("b", "宁德时代动力电池装机量"), ("c", "华为智能手机出货量")])
    expected = kw.search("动力电池", 3)
    kw.close()
    assert (tmp_path / "keywords.bm25" / "manifest.json").is_file()

    def no_rebuild(*_a: object, **_k: object) -> None:
        raise AssertionError("an unchanged index must load its saved matrix, not rebuild it")

    monkeypatch.setattr(keyword_index, "_build", no_rebuild)
    kw = KeywordIndex(path)
    assert kw.search("动力电池", 3) == expected
    kw.close()
    monkeypatch.undo()

    kw = KeywordIndex(path)  # a change makes the saved matrix stale: the new chunk must be found
    kw.add([("d", "小米汽车交付量创新高")])
    kw.close()
    kw = KeywordIndex(path)
    assert kw.search("交付量", 2)[0][0] == "d"
    kw.close()


def test_keyword_index_rebuilds_when_the_saved_matrix_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "keywords.sqlite"
    kw = KeywordIndex(path)
    kw.add([("a", "比亚迪新能源汽车销量增长"), ("b", "宁德时代动力电池装机量")])
    expected = kw.search("动力电池", 2)
    kw.close()
    for f in (tmp_path / "keywords.bm25").glob("*.npy"):
        f.write_bytes(b"not numpy")
    kw = KeywordIndex(path)
    assert kw.search("动力电池", 2) == expected
    kw.close()
