"""The chat page: answers with [n] markers on the left, the cited passages beside them."""

from __future__ import annotations

from typing import Any

import gradio as gr

EXAMPLES = ["字节跳动豆包主力模型的企业市场定价是多少？", "哪些厂商宣布大模型免费？"]


def format_citations(answer: dict[str, Any]) -> str:
    """Markdown for the side panel: one block per cited passage, with title, source and page."""
    if not answer["citations"]:
        return "_没有引用的资料。_"
    blocks = []
    for c in answer["citations"]:
        where = c["source"] + (f"，第 {c['page']} 页" if c.get("page") else "")
        text = c["text"] if len(c["text"]) <= 400 else c["text"][:400] + "…"
        score = f"检索排序分（本次结果内相对值）{c['score']:.3f}"
        blocks.append(f"**[{c['n']}] {c['title']}**  \n<small>{where} · {score}</small>\n\n> "
                      + text.replace("\n", "\n> "))
    return "\n\n".join(blocks)


def format_meta(answer: dict[str, Any]) -> str:
    """Which model answered, what it cost and how long it took: cost is a first-class figure here."""
    line = f"模型：`{answer['model']}` · 成本：¥{answer['cost']:.6f} · 用时：{answer['latency_ms']:.0f} ms"
    if answer.get("input_tokens") or answer.get("output_tokens"):
        line += f" · tokens：{answer.get('input_tokens', 0)} 入 / {answer.get('output_tokens', 0)} 出"
    if answer.get("fallback_reason"):
        line += f"  \n<small>{answer['fallback_reason']}</small>"
    return line


def build_chat(services: Any) -> gr.Blocks:
    """`services` is anything with `ask(question) -> Answer` (the in-process Services)."""

    def respond(question: str, history: list | None):
        history = list(history or [])
        question = (question or "").strip()
        if not question:
            raise gr.Error("请输入问题。")
        answer = services.ask(question).to_dict()
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer["answer"]}]
        return history, format_citations(answer), format_meta(answer), ""

    with gr.Blocks(title="资料问答") as demo:
        gr.Markdown("## 资料问答\n回答中的 [n] 对应右侧的引用资料。")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="对话", height=480)
                question = gr.Textbox(label="问题", placeholder=EXAMPLES[0], lines=1)
                with gr.Row():
                    send = gr.Button("提问", variant="primary")
                    clear = gr.Button("清空")
                gr.Examples(EXAMPLES, inputs=question)
            with gr.Column(scale=2):
                meta = gr.Markdown(label="模型与成本")
                citations = gr.Markdown(label="引用")
        outputs = [chatbot, citations, meta, question]
        send.click(respond, [question, chatbot], outputs, api_name="ask")
        question.submit(respond, [question, chatbot], outputs, api_name=False)
        clear.click(lambda: ([], "", "", ""), None, outputs, api_name=False)
    return demo
