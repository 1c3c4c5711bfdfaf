"""Metadata filters inside both searches, follow-up rewriting, and the document endpoints, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from rag.app import create_app
from rag.services.rewrite import needs_rewrite, rule_rewrite
from rag.testing.uvicorn_thread import UvicornThread
from tests.conftest import make_settings

pytestmark = pytest.mark.integration


def _record(title: str, body: str, industry: str, keywords: str) -> str:
    return (f"标题: {title}\n链接: https://example.com/{abs(hash(title)) % 10**8}\n总结: {body}\n"
            f"关键词: {keywords}\nAI技术: 大模型\n行业: {industry}\n重大事件摘要: {body}\n\n")


# 40 near-identical energy stories and one finance story that ranks below all of them for the question.
ENERGY = "".join(_record(f"光伏组件价格第{i}次下调", f"第{i}家厂商宣布光伏组件价格下调，光伏组件降价幅度为{i}%。",
                         "能源", "光伏, 组件") for i in range(1, 41))
FINANCE = _record("银行理财报告", "银行理财规模增长到30万亿元，报告顺带提到光伏组件价格下调5%。", "金融", "理财, 银行")
CRUD = ("2023-03-02 10:00，正文：三月的储能新闻：储能电池出货量增长。\n"
        "2023-08-11 15:10，正文：八月的储能新闻：储能电池价格下降三成。\n")


@pytest.fixture
def http(tmp_path) -> Iterator[httpx.Client]:
    settings = make_settings(tmp_path / "data")
    settings.retrieval.candidates = 5  # a post-filter over 5 candidates would find no finance chunk
    with UvicornThread(create_app(settings, ui=False)) as srv, \
            httpx.Client(base_url=srv.url, timeout=60, trust_env=False) as client:
        files = [("files", ("energy.txt", ENERGY.encode())), ("files", ("finance.txt", FINANCE.encode())),
                 ("files", ("crud.txt", CRUD.encode()))]
        assert client.post("/documents", files=files).status_code == 200
        yield client


def _ask(http: httpx.Client, **body) -> dict:
    resp = http.post("/ask", json={"question": "光伏组件价格下调了多少？", "top_k": 3, **body})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_industry_filter_applies_inside_both_searches(http):
    unfiltered = _ask(http)
    assert unfiltered["citations"] and all("光伏组件价格" in c["title"] for c in unfiltered["citations"])
    finance = _ask(http, filters={"industry": ["金融"]})
    assert finance["citations"] and {c["title"] for c in finance["citations"]} == {"银行理财报告"}
    assert finance["filters"] == {"industry": ["金融"]}


def test_keyword_date_source_and_doc_filters(http):
    assert {c["title"] for c in _ask(http, filters={"keywords": ["理财"]})["citations"]} == {"银行理财报告"}
    march = _ask(http, question="储能电池怎么样了？", filters={"date_from": "2023-03-01", "date_to": "2023-03-31"})
    assert march["citations"] and all("三月" in c["text"] for c in march["citations"])
    aug = _ask(http, question="储能电池怎么样了？", filters={"date_from": "2023-08-01"})
    assert aug["citations"] and all("八月" in c["text"] for c in aug["citations"])
    docs = http.get("/documents", params={"limit": 1000}).json()["documents"]
    target = next(d for d in docs if "第7次" in d["title"])
    only = _ask(http, filters={"doc_ids": [target["doc_id"]]})
    assert {c["doc_id"] for c in only["citations"]} == {target["doc_id"]}
    assert _ask(http, filters={"source": "crud.txt"}, question="储能")["citations"][0]["source"].endswith("crud.txt")


def test_filter_matching_nothing_refuses_clearly(http):
    body = _ask(http, filters={"industry": ["航天"]})
    assert body["refused"] and "筛选条件" in body["answer"] and body["citations"] == []


@pytest.mark.parametrize("bad", [{"date_from": "2023/03/01"}, {"industry": "金融"}, {"unknown": 1}])
def test_malformed_filters_get_422(http, bad):
    resp = http.post("/ask", json={"question": "光伏", "filters": bad})
    assert resp.status_code == 422 and "filters" in resp.json()["detail"]


def test_follow_up_is_rewritten_before_retrieval(http):
    history = [{"role": "user", "content": "银行理财的规模增长到多少？"},
               {"role": "assistant", "content": "30万亿元 [1]"}]
    body = _ask(http, question="那光伏组件的降价幅度呢？", history=history)
    assert body["rewrite"] == "rule" and body["standalone_question"] != "那光伏组件的降价幅度呢？"
    assert body["question"] == "那光伏组件的降价幅度呢？"


def test_rule_rewrite_replaces_the_subject():
    history = [{"role": "user", "content": "字节跳动豆包的企业市场定价是多少？"}]
    assert needs_rewrite("那阿里云呢？", history) and not needs_rewrite("那阿里云呢？", [])
    assert rule_rewrite("那阿里云呢？", history) == "阿里云的企业市场定价是多少？"
    assert rule_rewrite("它的降价幅度是多少？", history) == "字节跳动豆包的降价幅度是多少？"
    assert "阿里云" in rule_rewrite("那阿里云呢？", [{"role": "user", "content": "哪些厂商宣布免费？"}])


def test_documents_are_paged_shown_and_deleted(http):
    first = http.get("/documents", params={"offset": 0, "limit": 10}).json()
    assert first["total"] == 43 and first["count"] == 10 and first["limit"] == 10
    rest = http.get("/documents", params={"offset": 40, "limit": 10}).json()
    assert rest["count"] == 3
    beyond = http.get("/documents", params={"offset": 10**30, "limit": 10})  # past SQLite's 64-bit integers
    assert beyond.status_code == 200 and beyond.json()["count"] == 0
    seen = {d["doc_id"] for d in first["documents"]} | {d["doc_id"] for d in rest["documents"]}
    assert len(seen) == 13
    doc = first["documents"][0]
    assert set(doc) >= {"doc_id", "title", "source", "chunks", "ingested_at"}
    shown = http.get(f"/documents/{doc['doc_id']}").json()
    assert shown["title"] == doc["title"] and shown["chunks"] and shown["chunks"][0]["text"]
    assert http.get("/documents/nope").status_code == 404
    assert http.get("/documents", params={"limit": 0}).status_code == 422
    assert http.delete(f"/documents/{doc['doc_id']}").json() == {"deleted": doc["doc_id"]}
    assert http.get("/documents").json()["total"] == 42
