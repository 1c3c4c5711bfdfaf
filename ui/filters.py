"""The filter column beside the chat: industry (行业), date range and documents, turned into the filters dict."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag.types import Filters
from ui.kb import kb_picker

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date(value: str | None, label: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    value = value[:10]  # a picker may add a time part
    if not _DATE.match(value):
        raise gr.Error(f"{label}的格式应为 YYYY-MM-DD，例如 2024-05-01。")
    return value


def to_filters(industry: list[str] | None, date_from: str | None, date_to: str | None,
               doc_ids: list[str] | None) -> Filters:
    """The Filters Services.ask/stream accept; empty when nothing is chosen (search everything)."""
    start, end = _date(date_from, "起始日期"), _date(date_to, "结束日期")
    if start and end and start > end:
        raise gr.Error("起始日期晚于结束日期。")
    return Filters(industry=[i for i in industry or [] if i], doc_ids=[d for d in doc_ids or [] if d],
                   date_from=start, date_to=end)


def facet_choices(services: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """Industries and (label, id) document choices for the pickers, from Services.facets()."""
    facets = services.facets()
    industries = [str(i) for i in facets.get("industries", [])]
    docs = []
    for d in facets.get("documents", []):
        doc_id = str(d.get("doc_id") or d.get("id"))
        title = str(d.get("title") or doc_id)
        label = title if len(title) <= 30 else title[:29] + "…"
        docs.append((label, doc_id))
    return industries, docs


@dataclass
class FilterControls:
    """The filter components, so the documents tab can refresh their choices after an upload or delete."""

    industry: gr.Dropdown
    date_from: gr.DateTime
    date_to: gr.DateTime
    documents: gr.Dropdown
    kb: gr.Dropdown  # the knowledge base asked (ui/kb.py); last, so older clients' positional calls still fit

    @property
    def inputs(self) -> list[gr.components.Component]:
        return [self.industry, self.date_from, self.date_to, self.documents, self.kb]

    @property
    def pickers(self) -> list[gr.components.Component]:
        return [self.industry, self.documents]


def refresh_pickers(services: Any | None, clear: bool = False) -> tuple[Any, Any]:
    """New choices for the industry and document pickers of a base (None: no base); `clear` drops the selection
    (another base's documents mean nothing in this one), else what is selected is kept."""
    industries, docs = facet_choices(services) if services is not None else ([], [])
    extra = {"value": []} if clear else {}
    return gr.update(choices=industries, **extra), gr.update(choices=docs, **extra)


def filter_column() -> FilterControls:
    """Render the base picker and filter controls (inside the current layout) and return them.

    Every picker starts empty and is filled when the page loads, for the base the login may read.
    """
    gr.Markdown("#### 筛选\n只在所选知识库中、符合条件的资料里检索；不选条件即检索整个知识库。")
    kb = kb_picker("kb-picker", "提问只检索所选知识库")
    industry = gr.Dropdown([], value=[], multiselect=True, allow_custom_value=True, label="行业",
                           elem_id="filter-industry")
    date_from = gr.DateTime(include_time=False, type="string", label="起始日期", elem_id="filter-date-from")
    date_to = gr.DateTime(include_time=False, type="string", label="结束日期", elem_id="filter-date-to")
    documents = gr.Dropdown([], value=[], multiselect=True, allow_custom_value=True, label="文档",
                            elem_id="filter-documents")
    return FilterControls(industry, date_from, date_to, documents, kb)
