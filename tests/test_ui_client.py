"""The Gradio UI's `ask` endpoint through the official gradio_client, on a real uvicorn server (hash embedder)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from rag.app import create_app
from rag.testing.uvicorn_thread import UvicornThread
from tests.conftest import SEED_QUESTION, SEEDS, make_settings

pytestmark = pytest.mark.integration

EV_NEWS = """标题: 比亚迪一季度新能源汽车销量62.6万辆
链接: https://example.cn/news/byd-2024q1
总结: 2024年一季度，比亚迪新能源汽车销量62.6万辆，同比增长13.4%。其中海外销量9.7万辆。
关键词: 比亚迪, 新能源汽车, 销量
行业: 新能源汽车, 制造业
重大事件摘要: 比亚迪一季度新能源汽车销量62.6万辆。
"""


@pytest.fixture(scope="module")
def ui(tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    settings = make_settings(tmp_path_factory.mktemp("ui-client") / "data")
    app = create_app(settings)
    services = app.state.services
    ids = {}
    seed = next(SEEDS.glob("*.txt"))
    ids["seed"] = services.ingest_bytes(seed.read_bytes(), seed.name).added[0]["doc_id"]
    ids["byd"] = services.ingest_bytes(EV_NEWS.encode(), "byd.txt").added[0]["doc_id"]
    with UvicornThread(app) as srv:
        yield f"{srv.url}/ui/", ids


@pytest.fixture
def client(ui):
    from gradio_client import Client

    c = Client(ui[0], verbose=False)
    yield c
    c.close()


def _text(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else " ".join(part.get("text", "") for part in content)


def _latest(cards: str) -> str:
    """The card group of the latest answer (the panel lists every answer of the session, latest first)."""
    groups = cards.split('<details class="cite-turn"')
    return groups[1] if len(groups) > 1 else cards


def test_ask_returns_linked_answer_badge_and_cards_with_the_supporting_sentence(client):
    history, cards, meta, cleared = client.predict(SEED_QUESTION, [], api_name="/ask")
    answer = _text(history[-1])
    assert _text(history[-2]) == SEED_QUESTION
    assert "125万tokens" in answer and cleared == ""
    linked = set(re.findall(r'href="#(cite-0-\d+)"', answer))
    assert linked and all(f'id="{a}"' in cards for a in linked)
    assert "模型 extractive" in answer and "成本 ¥0" in answer and "未配置可用的大模型" in answer
    assert "国内大模型开打" in cards and 'href="https://baijiahao.baidu.com/s?id=1799931631003468158' in cards
    # The extractive answerer quotes sentences; each highlighted sentence is one the answer quotes.
    marked = re.findall(r'<mark class="support">(.*?)</mark>', cards)
    plain = re.sub(r"<[^>]+>|\[\d+\]", "", answer)
    assert marked and all(m in plain for m in marked)
    assert "extractive" in meta and "¥" in meta


def test_filters_restrict_what_is_searched(client, ui):
    _, ids = ui
    _, cards, meta, _ = client.predict("新能源汽车销量是多少？", [], industry=["新能源汽车"], api_name="/ask")
    assert "比亚迪" in _latest(cards) and "豆包" not in _latest(cards) and "行业 新能源汽车" in meta
    _, cards, _, _ = client.predict("新能源汽车销量是多少？", [], documents=[ids["seed"]], api_name="/ask")
    assert "比亚迪" not in _latest(cards)
    history, cards, _, _ = client.predict(SEED_QUESTION, [], industry=["不存在的行业"], api_name="/ask")
    assert "没有符合筛选条件的资料" in _text(history[-1]) and "没有引用资料" in _latest(cards)


def test_a_follow_up_is_asked_with_the_conversation_so_far(client):
    history, _, _, _ = client.predict(SEED_QUESTION, [], api_name="/ask")
    history, cards, meta, _ = client.predict("那阿里云呢？", history, api_name="/ask")
    assert len(history) == 4
    assert "结合上文" in meta and "阿里云" in meta
    assert "cite-1-" in _text(history[-1]) and 'id="turn-1"' in cards and 'id="turn-0"' in cards


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"question": "   "}, "请输入问题"),
    ({"question": "定价？", "date_from": "五月一日"}, "YYYY-MM-DD"),
    ({"question": "定价？", "date_from": "2024-06-01", "date_to": "2024-05-01"}, "晚于"),
])
def test_bad_input_gets_a_clear_chinese_error(client, kwargs, words):
    from gradio_client.exceptions import AppError

    question = kwargs.pop("question")
    with pytest.raises(AppError, match=words):
        client.predict(question, [], api_name="/ask", **kwargs)


def test_with_auth_on_the_ui_wants_the_api_key_as_password(tmp_path):
    from gradio_client import Client

    settings = make_settings(tmp_path / "data")
    settings.server.auth = "on"
    settings.server.api_keys = ["k-ui-7d1e5b"]
    with UvicornThread(create_app(settings)) as srv:
        with pytest.raises(Exception, match="(?i)login|auth|credentials|401|403"):
            Client(f"{srv.url}/ui/", verbose=False, auth=("任意", "wrong-key"))
        client = Client(f"{srv.url}/ui/", verbose=False, auth=("任意", "k-ui-7d1e5b"))
        history, _, _, _ = client.predict(SEED_QUESTION, [], api_name="/ask")
        client.close()
    assert "资料库中还没有文档" in _text(history[-1])  # an empty index, reached through the login
