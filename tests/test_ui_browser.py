"""The /ui page in headless Chromium (Debian's chromium driven by Playwright): ask, stream, open a citation, rate,
upload and delete, providers. Skips only when no chromium binary exists; screenshots go to /tmp/ui-screenshots.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.app import create_app
from rag.components.feedback import FeedbackStore
from rag.settings_llm import LLMSettings, ProviderSettings
from rag.testing.openai_server import OpenAIServer, Script
from rag.testing.uvicorn_thread import UvicornThread
from tests.conftest import SEED_QUESTION, SEEDS, make_settings

pytestmark = pytest.mark.integration

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KEY_ENV = "RAG_UI_BROWSER_TEST_KEY"
KEY = "sk-ui-browser-4c2f8e19ab"
SHOTS = Path("/tmp/ui-screenshots")
TIMEOUT_MS = 30_000


def find_chromium() -> str | None:
    """$RAG_CHROMIUM, else chromium / chromium-browser on PATH, else Debian's /usr/bin/chromium."""
    for candidate in (os.environ.get("RAG_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                      "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator:
    binary = find_chromium()
    if binary is None:
        pytest.skip("no chromium binary found (apt-get install chromium, or set RAG_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[dict]:
    """The app on a real port, answering through a scripted OpenAI-compatible LLM: the cheap model leaves its
    sentences uncited, so the router escalates to the strong one; both stream slowly enough to be seen."""
    with OpenAIServer() as llm, pytest.MonkeyPatch.context() as mp:
        mp.setenv(KEY_ENV, KEY)
        llm.script("uncited-cheap", Script(mode="uncited", chunk_delay_s=0.02))
        llm.script("cite-strong", Script(mode="cite", chunk_delay_s=0.04))
        settings = make_settings(tmp_path_factory.mktemp("ui-browser") / "data")
        settings.server.max_upload_mb = 0.05
        settings.llm = LLMSettings(providers=[
            ProviderSettings(name="cheap", base_url=llm.base_url, model="uncited-cheap", api_key_env=KEY_ENV,
                             price_input=0.3, price_output=0.6, context_window=8192, timeout_s=10, tier="cheap"),
            ProviderSettings(name="strong", base_url=llm.base_url, model="cite-strong", api_key_env=KEY_ENV,
                             price_input=2.0, price_output=8.0, context_window=8192, timeout_s=10, tier="strong"),
        ])
        app = create_app(settings)
        seed = next(SEEDS.glob("*.txt"))
        app.state.services.ingest_bytes(seed.read_bytes(), seed.name)
        with UvicornThread(app) as srv:
            yield {"url": f"{srv.url}/ui/", "data_dir": Path(settings.data_dir)}


@pytest.fixture
def page(browser) -> Iterator:
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    yield pg
    ctx.close()


def _wait_text(pg, selector: str, text: str) -> None:
    """Wait until the element's rendered text contains `text`."""
    pg.wait_for_function("([s, t]) => (document.querySelector(s)?.innerText || '').includes(t)", arg=[selector, text])


def _shot(pg, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    pg.screenshot(path=str(path), full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / name)
    return path


def test_ask_streams_the_answer_and_a_marker_opens_its_passage_with_the_sentence_highlighted(site, page, tmp_path):
    pg = page
    pg.goto(site["url"])
    pg.wait_for_function("() => document.title.includes('资料问答')")
    pg.locator("#question textarea").fill(SEED_QUESTION)
    pg.locator("#send").click()
    # Tokens arrive one piece at a time: the bubble shows partial text with a cursor before the final answer.
    _wait_text(pg, "#chat", "▌")
    pg.locator("#chat a.cite-ref").first.wait_for()
    chat = pg.locator("#chat").inner_text()
    assert "▌" not in chat and SEED_QUESTION in chat
    badge = pg.locator("#chat .rag-badge").inner_text()
    assert "模型 cite-strong（strong）" in badge and "已从 cheap 升级" in badge
    assert re.search(r"tokens \d+ 入 / \d+ 出", badge) and re.search(r"成本 ¥0\.\d+", badge) and "用时" in badge

    refs = pg.locator("#chat a.cite-ref")
    targets = {refs.nth(i).get_attribute("href").lstrip("#") for i in range(refs.count())}
    assert targets and all(pg.locator(f"#{t}").count() == 1 for t in targets)
    first = refs.first
    target = first.get_attribute("href").lstrip("#")
    card = pg.locator(f"#{target}")
    assert card.get_attribute("open") is None  # closed until its marker is clicked
    first.click()
    pg.wait_for_function(f"() => document.getElementById('{target}').open")
    assert "active" in (card.get_attribute("class") or "")
    assert "国内大模型开打" in card.locator(".cite-title").inner_text()
    assert card.locator("a.cite-link").get_attribute("href") == "https://baijiahao.baidu.com/s?id=1799931631003468158&wfr=spider&for=pc"
    mark = card.locator("mark.support")
    assert mark.is_visible()
    # The scripted model's answer sentence is the first sentence of the chunk it cites: that one is highlighted.
    answer_text = re.sub(r"\[\d+\]", "", chat)
    marked = mark.inner_text().strip().rstrip("。！？!?")  # the script ends every sentence in 。 (`降价!` -> `降价。`)
    assert marked and marked in answer_text
    assert pg.url.rstrip("/").endswith("/ui")  # the click opened the card in place, no navigation

    shot = _shot(pg, tmp_path, "ui-answer-open-citation.png")
    assert shot.stat().st_size > 20_000

    # Thumbs up stores the question, the answer and its citations.
    pg.locator("#chat button[aria-label='赞']").last.click()
    store = FeedbackStore(site["data_dir"] / "feedback.sqlite")
    for _ in range(50):
        rows = store.recent()
        if rows:
            break
        pg.wait_for_timeout(100)
    assert rows and rows[0]["liked"] is True and rows[0]["question"] == SEED_QUESTION
    assert rows[0]["model"] == "cite-strong" and rows[0]["citations"] and "[1]" in rows[0]["answer"]


def test_documents_tab_uploads_with_progress_lists_and_deletes(site, page, tmp_path):
    pg = page
    pg.goto(site["url"])
    pg.get_by_role("tab", name="文档").click()
    news = ("标题: 光伏组件价格一年下跌四成\n链接: https://example.cn/pv\n"
            "总结: 2024年光伏组件价格下跌40%，行业进入洗牌期。\n行业: 光伏, 新能源\n")
    upload = tmp_path / "光伏.txt"
    upload.write_text(news, encoding="utf-8")
    too_big = tmp_path / "big.txt"
    too_big.write_text("储能。" * 20_000, encoding="utf-8")  # 180 KB, over the 0.05 MB limit
    pg.locator("#upload-files input[type=file]").set_input_files([str(upload), str(too_big)])
    pg.locator("#upload").click()
    pg.locator("#upload-status", has_text="big.txt").wait_for()
    status = pg.locator("#upload-status").inner_text()
    assert "【成功】光伏.txt：新增 1 篇" in status and "【失败】big.txt" in status and "上传上限 0.05 MB" in status
    table = pg.locator("#documents-table")
    table.get_by_text("光伏组件价格一年下跌四成").first.wait_for()
    assert "国内大模型开打" in table.inner_text()
    _shot(pg, tmp_path, "ui-documents.png")

    # The chat's filter pickers learn the new document and its industries.
    pg.get_by_role("tab", name="问答").click()
    pg.locator("#filter-industry input").click()
    pg.get_by_role("option", name="光伏", exact=True).wait_for()
    pg.keyboard.press("Escape")
    pg.locator("#filter-documents input").click()
    pg.get_by_role("option", name=re.compile("光伏组件价格")).wait_for()
    pg.keyboard.press("Escape")

    pg.get_by_role("tab", name="文档").click()
    pg.locator("#delete-target input").click()
    pg.get_by_role("option", name=re.compile("光伏组件价格")).click()
    pg.locator("#delete").click()
    pg.locator("#upload-status", has_text="已删除").wait_for()
    pg.wait_for_function("() => !document.querySelector('#documents-table').innerText.includes('光伏组件价格')")
    assert "国内大模型开打" in table.inner_text()


def test_providers_tab_lists_tier_price_and_state_without_the_key(site, page, tmp_path):
    pg = page
    pg.goto(site["url"])
    pg.get_by_role("tab", name="模型与费用").click()
    table = pg.locator("#providers-table")
    _wait_text(pg, "#providers-table", "uncited-cheap")
    text = table.inner_text()
    assert "cite-strong" in text and "低价" in text and "强" in text and "可用" in text
    assert f"${KEY_ENV}：已设置（••••••）" in text
    assert KEY not in pg.content()
    _shot(pg, tmp_path, "ui-providers.png")
