"""Assembles the /ui page: chat with a knowledge-base picker, filters and citations, documents, providers (Chinese
text throughout)."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ui.chat import chat_column
from ui.documents import documents_tab
from ui.filters import filter_column, refresh_pickers
from ui.kb import KbAccess, ScopeOf
from ui.providers import providers_tab


def build_ui(kbs: Any, scope_of: ScopeOf) -> gr.Blocks:
    """`kbs` is the KnowledgeBases library; `scope_of(request)` the KeyScope of the session's login.

    Each base is an in-process Services (ask/stream/facets/list_documents/health and its feedback store).
    """
    access = KbAccess(kbs, scope_of)
    with gr.Blocks(title="资料问答", analytics_enabled=False, fill_width=True) as demo:
        gr.Markdown("## 资料问答\n基于所选知识库中已入库的报告与新闻作答；回答中的 **[n]** 可点击，"
                    "右侧打开对应原文并高亮支撑句。")
        with gr.Tabs():
            with gr.Tab("问答", id="chat-tab"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2, min_width=250):
                        filters = filter_column()
                    chat_column(access, filters)
            with gr.Tab("文档", id="documents-tab"):
                show_documents, docs_kb, listing = documents_tab(access, filters)
            with gr.Tab("模型与费用", id="providers-tab"):
                show_providers, provider_view = providers_tab(access, filters.kb)

        # One base for the whole page: picking it on either tab moves the other picker, the chat's filter
        # choices, the document list and the index summary to it.
        outputs = [filters.kb, docs_kb, *filters.pickers, *listing, *provider_view]

        def on_base(name: str | None, request: gr.Request) -> tuple:
            services = access.read(request, name) if name is not None else None
            # one update each: Gradio consumes an update dict as it applies it
            return (gr.update(value=name), gr.update(value=name), *refresh_pickers(services, clear=True),
                    *show_documents(name, 1, request), *show_providers(name, request))

        def on_load(request: gr.Request) -> tuple:
            # A reloaded page shows the bases and index as they are now, not as they were at server start.
            names, first = access.readable(request), access.initial(request)
            return (gr.update(choices=names, value=first), gr.update(choices=names, value=first),
                    *on_base(first, request)[2:])

        demo.load(on_load, None, outputs, api_name=False)
        for picker in (filters.kb, docs_kb):
            picker.input(on_base, picker, outputs, api_name=False)  # `input`: only a user's pick, no echo loop
    return demo


build_chat = build_ui  # the old entry point's name (it lived in ui/chat.py, which made the two import each other)
