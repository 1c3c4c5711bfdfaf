"""Knowledge bases in the /ui page (issue 17), in headless Chromium with auth on: two bases on overlapping topics,
each question cites only its own base; a key scoped to one base sees only that base, may not upload to it when it
may only read it, and a crafted Gradio event naming the other base gets the refusal, not the other base's data.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from playwright.sync_api import expect

from rag.app import create_app
from rag.settings import ApiKeySettings
from rag.testing.uvicorn_thread import UvicornThread
from tests.conftest import SEED_QUESTION, SEEDS, make_settings
from tests.test_security import _result
from tests.test_ui_browser import TIMEOUT_MS, _shot, _wait_text, browser  # noqa: F401 - browser is a fixture

pytestmark = pytest.mark.integration

ADMIN = "sk-ui-kb-admin-5e1c"  # every base
PARTNER = "sk-ui-kb-partner-93ad"  # reads `news` only, writes nothing
SEED_TITLE = "国内大模型开打"
# The news base's own article on the seed's topic (豆包 pricing), so both bases could answer the same question.
DOUBAO_NEWS = """标题: 火山引擎快讯：豆包大模型企业定价下调
链接: https://example.cn/news/doubao-price
总结: 火山引擎表示，豆包主力模型在企业市场的定价为每千tokens 0.0008元，1块钱能买到豆包主力模型的125万tokens。
行业: 人工智能
"""
DOUBAO_TITLE = "火山引擎快讯"
EV_NEWS = """标题: 比亚迪一季度新能源汽车销量62.6万辆
链接: https://example.cn/news/byd-2024q1
总结: 2024年一季度，比亚迪新能源汽车销量62.6万辆，同比增长13.4%。其中海外销量9.7万辆。
行业: 新能源汽车
"""
EV_TITLE = "比亚迪一季度"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[dict]:
    """The app with auth on, a `default` base holding the seed report and a `news` base holding two news items."""
    settings = make_settings(tmp_path_factory.mktemp("ui-kb") / "data")
    settings.server.auth = "on"
    settings.server.api_keys = [ADMIN, ApiKeySettings(key=PARTNER, read=["news"], write=[])]
    settings.server.rate_limit_per_minute = 1000
    app = create_app(settings)
    kbs = app.state.kbs
    seed = next(SEEDS.glob("*.txt"))
    kbs.get("default").ingest_bytes(seed.read_bytes(), seed.name)
    kbs.create("news")
    kbs.get("news").ingest_bytes(DOUBAO_NEWS.encode(), "doubao.txt")
    kbs.get("news").ingest_bytes(EV_NEWS.encode(), "byd.txt")
    with UvicornThread(app) as srv:
        yield {"url": f"{srv.url}/ui/", "kbs": kbs}


def _login(browser, url: str, key: str):  # noqa: F811
    """A page logged in through the UI's own login form (user name anything, password the API key)."""
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    pg.goto(url)
    pg.locator("input[type=password]").wait_for()
    pg.locator("input[type=text]").first.fill("分析师")
    pg.locator("input[type=password]").fill(key)
    pg.locator("input[type=password]").press("Enter")
    pg.locator("#kb-picker input").wait_for()
    pg.wait_for_function("() => (document.querySelector('#kb-picker input')?.value || '') !== ''")
    return ctx, pg


def _options(pg, picker: str, wait: str | None = None) -> list[str]:
    """The choices a dropdown offers when opened (once one containing `wait` is there)."""
    pg.locator(f"{picker} input").click()
    pg.locator("ul[role=listbox] li", has_text=wait or "").first.wait_for()
    names = [t.strip().split("\n")[-1] for t in pg.locator("ul[role=listbox] li").all_inner_texts()]  # no ✓
    pg.keyboard.press("Escape")
    return names


def _pick(pg, picker: str, name: str) -> None:
    pg.locator(f"{picker} input").click()
    pg.get_by_role("option", name=name, exact=True).click()


def _ask(pg, question: str, turn: int) -> str:
    """Ask in the chat; the text of that answer's citation cards."""
    pg.locator("#question textarea").fill(question)
    pg.locator("#send").click()
    group = pg.locator(f"#citations #turn-{turn}")
    group.locator("details.cite").first.wait_for()
    return group.inner_text()


def test_each_base_answers_from_its_own_documents_and_the_documents_tab_follows_the_picker(site, browser,  # noqa: F811
                                                                                           tmp_path):
    ctx, pg = _login(browser, site["url"], ADMIN)
    try:
        assert pg.locator("#kb-picker input").input_value() == "default"
        assert _options(pg, "#kb-picker") == ["default", "news"]
        cards = _ask(pg, SEED_QUESTION, 0)
        assert SEED_TITLE in cards and DOUBAO_TITLE not in cards and EV_TITLE not in cards

        _pick(pg, "#kb-picker", "news")
        # The filter's document picker now lists the news base's documents, and only those.
        docs = _options(pg, "#filter-documents", wait=EV_TITLE)
        assert any(DOUBAO_TITLE in d for d in docs) and any(EV_TITLE in d for d in docs)
        assert not any(SEED_TITLE in d for d in docs)
        cards = _ask(pg, SEED_QUESTION, 1)
        assert DOUBAO_TITLE in cards and SEED_TITLE not in cards
        assert "第 2 问〔news〕" in cards  # each answer's cards say which base it came from
        assert "125万tokens" in pg.locator("#chat").inner_text()
        _shot(pg, tmp_path, "ui-kb-news-answer.png")

        # The documents tab is on the same base: it lists, uploads to and deletes from `news` only.
        pg.get_by_role("tab", name="文档").click()
        expect(pg.locator("#docs-kb input")).to_have_value("news")
        table = pg.locator("#documents-table")
        _wait_text(pg, "#documents-table", EV_TITLE)
        assert SEED_TITLE not in table.inner_text()
        upload = tmp_path / "光伏.txt"
        upload.write_text("标题: 光伏组件价格一年下跌四成\n总结: 2024年光伏组件价格下跌40%。\n行业: 光伏\n",
                          encoding="utf-8")
        pg.locator("#upload-files input[type=file]").set_input_files([str(upload)])
        pg.locator("#upload").click()
        pg.locator("#upload-status", has_text="光伏.txt").wait_for()
        assert "【成功】光伏.txt：新增 1 篇" in pg.locator("#upload-status").inner_text()
        _wait_text(pg, "#documents-table", "光伏组件价格一年下跌四成")
        titles = {b: [d["title"] for d in site["kbs"].get(b).list_documents()["documents"]]
                  for b in ("default", "news")}
        assert "光伏组件价格一年下跌四成" in titles["news"] and "光伏组件价格一年下跌四成" not in titles["default"]
        _shot(pg, tmp_path, "ui-kb-news-documents.png")

        pg.locator("#delete-target input").click()
        pg.get_by_role("option", name=re.compile("光伏组件价格")).click()
        pg.locator("#delete").click()
        pg.locator("#upload-status", has_text="已删除").wait_for()
        assert len(site["kbs"].get("news").list_documents()["documents"]) == 2
        assert len(site["kbs"].get("default").list_documents()["documents"]) == 1

        # Picking on the documents tab moves the chat's picker too.
        _pick(pg, "#docs-kb", "default")
        _wait_text(pg, "#documents-table", SEED_TITLE)
        pg.get_by_role("tab", name="问答").click()
        expect(pg.locator("#kb-picker input")).to_have_value("default")
    finally:
        ctx.close()


@contextmanager
def _session(url: str, key: str) -> Iterator[httpx.Client]:
    """An HTTP client logged in to the UI as `key` (Gradio's session cookie), as a hand-written script would be."""
    with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
        client.post("login", data={"username": "脚本", "password": key}).raise_for_status()
        yield client


def _event(client: httpx.Client, elem_id: str, trigger: str, data: list) -> dict:
    """Post one event of the page's component `elem_id` the way the browser does (queue/join, then its stream),
    with `data` of the caller's choosing; the completion message."""
    config = client.get("config").json()
    comp = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    dep = next(d for d in config["dependencies"] if [comp, trigger] in d["targets"])
    session = uuid.uuid4().hex[:11]
    joined = client.post("gradio_api/queue/join", json={
        "data": data, "event_data": None, "fn_index": dep["id"], "trigger_id": comp, "session_hash": session})
    joined.raise_for_status()
    return _result(client, session, prefix="")


def test_a_key_scoped_to_one_base_sees_only_it_and_crafted_events_for_the_other_are_refused(site, browser,  # noqa: F811
                                                                                            tmp_path):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    kbs = site["kbs"]
    ctx, pg = _login(browser, site["url"], PARTNER)
    try:
        assert pg.locator("#kb-picker input").input_value() == "news"  # it may not read `default`
        assert _options(pg, "#kb-picker") == ["news"]
        assert "default" not in pg.locator("#citations").inner_text()
        cards = _ask(pg, SEED_QUESTION, 0)
        assert DOUBAO_TITLE in cards and SEED_TITLE not in cards
        # Reading is not writing: upload and delete are greyed out, with the reason, and nothing can be stored.
        pg.get_by_role("tab", name="文档").click()
        _wait_text(pg, "#documents-table", EV_TITLE)
        assert SEED_TITLE not in pg.content()
        _wait_text(pg, "#docs-readonly", "只能读取知识库「news」，不能在其中上传或删除文档")
        expect(pg.locator("#upload")).to_be_disabled()
        expect(pg.locator("#delete")).to_be_disabled()
        _shot(pg, tmp_path, "ui-kb-read-only.png")
    finally:
        ctx.close()

    # A crafted ask naming `default`, through the official client logged in with the partner's key.
    client = Client(site["url"], verbose=False, auth=("脚本", PARTNER))
    try:
        with pytest.raises(AppError, match="无权访问知识库「default」"):
            client.predict(SEED_QUESTION, [], kb="default", api_name="/ask")
        history, cards, _, _ = client.predict(SEED_QUESTION, [], kb="news", api_name="/ask")
        assert DOUBAO_TITLE in cards and SEED_TITLE not in cards
        with pytest.raises(AppError, match="无权访问知识库「default」"):  # no base named: the default, refused
            client.predict(SEED_QUESTION, [], api_name="/ask")
    finally:
        client.close()

    # Crafted page events naming `default`: listing its documents, deleting one of them. Refused, no data.
    seed_id = kbs.get("default").list_documents()["documents"][0]["doc_id"]
    with _session(site["url"], PARTNER) as http:
        listed = _event(http, "docs-kb", "input", ["default"])
        assert listed["success"] is False and "无权访问知识库「default」" in json.dumps(listed, ensure_ascii=False)
        assert SEED_TITLE not in json.dumps(listed, ensure_ascii=False)
        uploaded = _event(http, "upload", "click", [None, False, 1, "default"])  # refused before any file is read
        assert uploaded["success"] is False and "无权访问知识库「default」" in json.dumps(uploaded, ensure_ascii=False)
        deleted = _event(http, "delete", "click", [seed_id, 1, "default"])
        assert deleted["success"] is False and "无权访问知识库「default」" in json.dumps(deleted, ensure_ascii=False)
        refused = _event(http, "upload", "click", [None, False, 1, "news"])
        assert refused["success"] is False and "无权在其中上传或删除文档" in json.dumps(refused, ensure_ascii=False)
        refused = _event(http, "delete", "click", [kbs.get("news").list_documents()["documents"][0]["doc_id"],
                                                   1, "news"])
        assert refused["success"] is False and "无权在其中上传或删除文档" in json.dumps(refused, ensure_ascii=False)
    assert [d["doc_id"] for d in kbs.get("default").list_documents()["documents"]] == [seed_id]
    assert len(kbs.get("news").list_documents()["documents"]) == 2
    # The same crafted listing with the admin's key does get the data: the refusal above is the scope, not the call.
    with _session(site["url"], ADMIN) as http:
        listed = _event(http, "docs-kb", "input", ["default"])
        assert listed["success"] is True and SEED_TITLE in json.dumps(listed, ensure_ascii=False)


def test_the_page_config_names_no_base_and_no_document_before_the_login_s_own_load(site):
    """The pickers and the listing start empty and are filled per login, so the config names no base's data."""
    with _session(site["url"], PARTNER) as http:
        config = http.get("config").json()
    pickers = [c["props"] for c in config["components"]
               if c.get("props", {}).get("elem_id") in ("kb-picker", "docs-kb")]
    assert len(pickers) == 2 and all(p["choices"] == [] and p.get("value") in (None, "") for p in pickers)
    text = json.dumps(config, ensure_ascii=False)
    assert SEED_TITLE not in text and DOUBAO_TITLE not in text and EV_TITLE not in text
