"""The providers tab: which LLMs are configured, their tier, price and state, today's spend. Keys never shown."""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from rag.services.knowledge_bases import DEFAULT_KB
from ui.kb import KbAccess
from ui.render import format_cost

HEADERS = ["名称", "模型", "层级", "输入价 ¥/百万 tokens", "输出价 ¥/百万 tokens", "状态", "说明", "密钥"]
TIERS = {"free": "免费", "cheap": "低价", "strong": "强"}
STATES = {"ready": "可用", "inactive": "未启用", "disabled": "已停用", "cooling down": "冷却中",
          "rate limited": "限流中"}


def key_cell(entry: dict[str, Any], key_env: str | None) -> str:
    """Whether the key variable is set, never its value: `$ENV：已设置（••••）` or `$ENV：未设置`."""
    if not key_env:
        return "不需要"
    missing = entry.get("status") == "inactive" and str(entry.get("reason", "")).startswith("no key")
    return f"${key_env}：未设置" if missing else f"${key_env}：已设置（••••••）"


def provider_rows(services: Any) -> list[list[Any]]:
    """One row per configured provider, from Services.health() and the settings' key variable names."""
    env = {p.name: p.api_key_env for p in services.settings.llm.providers}
    rows = []
    for e in services.health().get("llm", {}).get("providers", []):
        rows.append([
            e["name"], e.get("model", ""), TIERS.get(e.get("tier", ""), e.get("tier", "")),
            e.get("price_input", 0), e.get("price_output", 0),
            STATES.get(e.get("status", ""), e.get("status", "")), e.get("reason", ""),
            key_cell(e, env.get(e["name"])),
        ])
    return rows


def summary(services: Any, kb: str | None = None) -> str:
    """Index size (of base `kb` when named), embedder, ready providers and today's spend against the budget."""
    h = services.health()
    llm = h.get("llm", {})
    budget = llm.get("budget", {})
    limit = budget.get("daily_budget_cny")
    spent = format_cost(float(budget.get("spent_cny") or 0.0))
    spend = f"今日花费 {spent}" + (f" / 预算 ¥{limit}" if limit is not None else "（未设预算）")
    if budget.get("only_free"):
        spend += "，已达预算，只用免费模型"
    embedder = h.get("embedder")
    name = (embedder.get("model") or embedder.get("runtime")) if isinstance(embedder, dict) else embedder
    where = f"知识库「{html.escape(kb)}」" if kb else "索引"
    return (f"{where}：{h.get('documents', 0)} 篇文档，{h.get('chunks', 0)} 个片段 · 向量模型：`{name}`  \n"
            f"可用大模型 {llm.get('ready', 0)} 个 · {spend} · 今日调用 {budget.get('calls', 0)} 次  \n"
            "<small>没有可用的大模型时，由免费的抽取式回答器直接引用原文作答。配置密钥：设置表中的环境变量后重启服务。"
            "</small>")


def providers_tab(access: KbAccess, kb: gr.Dropdown) -> tuple[Any, list[gr.components.Component]]:
    """Render the tab; returns its refresh function `show(kb, request)` and outputs, for the page to run on load.

    The index line is of the base picked in `kb` (checked against the login's scope like every event).
    """
    info = gr.Markdown("", elem_id="providers-summary")
    table = gr.Dataframe([], headers=HEADERS, interactive=False, wrap=True, elem_id="providers-table")
    refresh = gr.Button("刷新", size="sm")

    def show(name: str | None, request: gr.Request):
        if name is None and not access.readable(request):
            return "当前登录的密钥没有可访问的知识库。", []
        services = access.read(request, name)
        return summary(services, name or DEFAULT_KB), provider_rows(services)

    refresh.click(show, kb, [info, table], api_name=False)
    return show, [info, table]
