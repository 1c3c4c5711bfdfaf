"""The chat tab: streamed answers with linked [n] markers and a cost badge, citation cards beside, thumbs up/down.

ui/page.py builds the whole page (its `build_ui`, alias `build_chat`, is what rag/app.py mounts at /ui).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import gradio as gr

from rag.components.feedback import FeedbackStore
from rag.services.knowledge_bases import DEFAULT_KB, KbNotFound
from ui.assets import ON_LOAD
from ui.filters import FilterControls, to_filters
from ui.kb import KbAccess, shown
from ui.render import answer_message, as_text, citations_panel, details_markdown

log = logging.getLogger(__name__)

EXAMPLES = ["字节跳动豆包主力模型的企业市场定价是多少？", "哪些厂商宣布大模型免费？"]
CURSOR = " ▌"
ASK_CONCURRENCY = 8


def _prior_turns(turns: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Earlier answered turns as chat messages, so a follow-up ("那阿里云呢？") can be rewritten."""
    out: list[dict[str, str]] = []
    for t in turns:
        if t.get("answer") is not None:
            out += [{"role": "user", "content": t["question"]},
                    {"role": "assistant", "content": t["answer"]["answer"]}]
    return out


def respond(services: Any, question: str, history: list | None, turns: list | None, industry: list[str] | None,
            date_from: str | None, date_to: str | None, doc_ids: list[str] | None,
            kb: str = DEFAULT_KB) -> Iterator[tuple]:
    """Stream one answer into the chat: tokens as they come, then the linked answer, badge and citations.

    `services` is the base `kb` (already checked against the login's scope); the turn remembers which base it was.
    """
    question = (question or "").strip()
    if not question:
        raise gr.Error("请输入问题。")
    filters = to_filters(industry, date_from, date_to, doc_ids)
    turns = list(turns or [])
    prior = _prior_turns(turns)
    index = len(turns)
    turns.append({"id": uuid.uuid4().hex, "question": question, "filters": filters.to_dict(), "kb": kb,
                  "answer": None})
    history = list(history or []) + [{"role": "user", "content": question},
                                     {"role": "assistant", "content": "检索中…"}]
    yield history, citations_panel(turns), "", "", turns
    text, answer = "", None
    try:
        for event in services.stream(question, filters=None if filters.is_empty() else filters,
                                     history=prior or None):
            kind = event.type  # typed events (rag/types.py): rewrite, token, reset, done
            if kind == "token":
                text += event.text
                history[-1] = {"role": "assistant", "content": as_text(text) + CURSOR}  # text, never markup
                yield history, gr.skip(), gr.skip(), "", turns
            elif kind == "reset":  # the router discarded what it streamed (failure or escalation)
                text = ""
                history[-1] = {"role": "assistant", "content": "换用其他模型重新回答…"}
                yield history, gr.skip(), gr.skip(), "", turns
            elif kind == "done":
                answer = event.answer.to_dict()  # the turn's state is JSON, as the browser keeps it
    except Exception as exc:  # noqa: BLE001 - shown in the chat, not swallowed
        log.exception("answering %r failed", question)
        why = (f"知识库「{shown(kb)}」已被删除或改名，请刷新页面后重新选择。" if isinstance(exc, KbNotFound)
               else as_text(str(exc)))
        history[-1] = {"role": "assistant", "content": f"⚠ 回答失败：{why}"}
        turns[-1]["error"] = str(exc)
        yield history, citations_panel(turns), f"⚠ 回答失败：{why}", "", turns
        return
    if answer is None:
        history[-1] = {"role": "assistant", "content": "⚠ 回答失败：服务没有返回结果。"}
        yield history, citations_panel(turns), "", "", turns
        return
    turns[-1]["answer"] = answer
    history[-1] = {"role": "assistant", "content": answer_message(answer, index)}
    yield history, citations_panel(turns), details_markdown(answer), "", turns


def rated_turn(turns: list | None, history: list | None, data: gr.LikeData) -> dict[str, Any]:
    """The turn whose answer a thumbs up/down is on."""
    index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
    # every turn adds a user and an assistant message; the rated one is that turn's answer
    assistants = sum(1 for m in (history or [])[: int(index) + 1] if _role(m) == "assistant")
    turns = turns or []
    if not 0 < assistants <= len(turns):
        raise gr.Error("找不到这条回答，无法记录评价。")
    return turns[assistants - 1]


def record_feedback(store: FeedbackStore, turns: list | None, history: list | None, data: gr.LikeData) -> None:
    """Store a thumbs up/down with the question, answer and citations of the rated message."""
    turn = rated_turn(turns, history, data)
    answer = turn.get("answer")
    if answer is None:
        raise gr.Error("这条回答还没有完成，无法评价。")
    liked = data.liked
    if liked in (None, "", []):
        store.withdraw(turn["id"])
        return
    up = liked is True or (isinstance(liked, str) and liked.lower() in ("like", "up", "👍"))
    details = {k: v for k, v in answer.items() if k not in ("answer", "citations", "model")}
    details["filters"] = turn.get("filters") or {}
    store.record(turn["id"], up, turn["question"], answer["answer"], answer.get("citations") or [],
                             model=str(answer.get("model", "")), details=details)
    gr.Info("已记录，谢谢反馈。" if up else "已记录，我们会改进。")


def _role(message: Any) -> str | None:
    if isinstance(message, dict):
        return message.get("role")
    return getattr(message, "role", None)


def chat_column(access: KbAccess, filters: FilterControls) -> None:
    """Render the chat and citation columns (inside the current Row) and wire their events.

    Every event checks the login's scope for the base it names (ui/kb.py), whatever the picker offered.
    """
    turns = gr.State([])
    with gr.Column(scale=5):
        # No LaTeX: a `$...$` in a document would otherwise be typeset (answers are escaped text, see as_text).
        chatbot = gr.Chatbot(label="对话", height=560, elem_id="chat", feedback_options=("Like", "Dislike"),
                             latex_delimiters=[],
                             placeholder="向资料提问，回答中的 [n] 可点击查看出处。")
        question = gr.Textbox(label="问题", placeholder=EXAMPLES[0], lines=1, elem_id="question")
        with gr.Row():
            send = gr.Button("提问", variant="primary", elem_id="send")
            clear = gr.Button("清空对话", elem_id="clear")
        gr.Examples(EXAMPLES, inputs=question, label="示例问题")
    with gr.Column(scale=4, min_width=320):
        gr.Markdown("#### 费用与引用")
        meta = gr.Markdown(elem_id="answer-meta")
        citations = gr.HTML(citations_panel([]), label="引用", elem_id="citations", js_on_load=ON_LOAD)

    # Parameter names and defaults are what gradio_client shows for the `ask` endpoint.
    # `kb` None (a client that names no base) is the default base.
    def ask(question: str, history: list, turns: list, industry: list[str] | None = None,
            date_from: str | None = None, date_to: str | None = None, documents: list[str] | None = None,
            kb: str | None = None, request: gr.Request = None):  # type: ignore[assignment] - Gradio fills it
        services = access.read(request, kb)
        yield from respond(services, question, history, turns, industry, date_from, date_to, documents,
                           services.kb)  # the base's own name (what the scope was checked for)

    def _like(t, h, data: gr.LikeData, request: gr.Request):
        # the base the rated answer came from; its feedback store, if the login may still read it
        services = access.read(request, rated_turn(t, h, data).get("kb") or DEFAULT_KB)
        record_feedback(services.feedback, t, h, data)

    inputs = [question, chatbot, turns, *filters.inputs]
    outputs = [chatbot, citations, meta, question, turns]
    # Answers wait on retrieval and LLM I/O, so several users are served at once (Gradio's default is one).
    send.click(ask, inputs, outputs, api_name="ask", concurrency_limit=ASK_CONCURRENCY, concurrency_id="ask")
    question.submit(ask, inputs, outputs, api_name=False, concurrency_limit=ASK_CONCURRENCY, concurrency_id="ask")
    chatbot.like(_like, [turns, chatbot], None, api_name=False)
    clear.click(lambda: ([], citations_panel([]), "", "", []), None, outputs, api_name=False)
