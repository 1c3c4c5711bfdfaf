"""Assembles the /ui page: chat with filters and citations, documents, providers (Chinese text throughout)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ui.chat import chat_column
from ui.documents import documents_tab
from ui.filters import filter_column, refresh_pickers
from ui.providers import providers_tab


def build_ui(services: Any) -> gr.Blocks:
    """`services` is the in-process Services (ask/stream/facets/list_documents/health and its feedback store)."""
    with gr.Blocks(title="资料问答", analytics_enabled=False, fill_width=True) as demo:
        gr.Markdown("## 资料问答\n基于已入库的报告与新闻作答；回答中的 **[n]** 可点击，右侧打开对应原文并高亮支撑句。")
        with gr.Tabs():
            with gr.Tab("问答", id="chat-tab"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2, min_width=250):
                        filters = filter_column(services)
                    chat_column(services, filters, services.feedback)
            with gr.Tab("文档", id="documents-tab"):
                list_documents, listing = documents_tab(services, filters)
            with gr.Tab("模型与费用", id="providers-tab"):
                show_providers, provider_view = providers_tab(services)
        # A reloaded page shows the index as it is now, not as it was when the server started.
        demo.load(lambda: refresh_pickers(services), None, filters.pickers, api_name=False)
        demo.load(list_documents, None, listing, api_name=False)
        demo.load(show_providers, None, provider_view, api_name=False)
    return demo


build_chat = build_ui  # the old entry point's name (it lived in ui/chat.py, which made the two import each other)
