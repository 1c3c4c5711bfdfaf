"""Pure rendering of answers for the UI: linked [n] markers, supporting sentences, citation cards, cost badge.

Kept free of Gradio so it can be tested directly and reused by any face that renders HTML.
"""

from __future__ import annotations

import html
import re
from typing import Any

from ingest.chunking import split_sentences as chunk_sentences
from rag.components.llm.grounding import markers_in, split_sentences, strip_markers, units

# Same marker shapes the citation check accepts: [1]  [1][2]  [1,2]  [1、2]  【1】  ［1］
_MARKER = re.compile(r"[\[【［]\s*(\d{1,3}(?:\s*[,，、;；]\s*\d{1,3})*)\s*[\]】］]")

OUTCOMES = {"answered": "作答", "escalated": "未通过引用检查，已升级", "failed": "失败", "skipped": "跳过"}
FALLBACK_REASONS = {
    "no provider configured": "未配置可用的大模型，使用抽取式回答",
    "no retrieved chunks to ground an LLM answer on": "没有检索到资料，未调用大模型",
}


def anchor(turn: int, n: int) -> str:
    """The element id of citation n of the turn-th answer (turns count from 0)."""
    return f"cite-{turn}-{n}"


def link_markers(text: str, turn: int, known: set[int]) -> str:
    """Turn each [n] of a cited passage into a link to its card; numbers with no citation stay plain text."""

    def one(m: re.Match[str]) -> str:
        nums = [int(p) for p in re.split(r"\s*[,，、;；]\s*", m.group(1).strip())]
        if not any(n in known for n in nums):
            return m.group(0)
        out = []
        for n in nums:
            if n in known:
                out.append(f'<a class="cite-ref" href="#{anchor(turn, n)}">[{n}]</a>')
            else:
                out.append(f"[{n}]")
        return "".join(out)

    return _MARKER.sub(one, text)


def overlap(a: set[str], b: set[str]) -> float:
    """Dice coefficient of two bigram sets (0 when either is empty)."""
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank sentence of a chunk, whitespace trimmed, indexing into `text`."""
    spans, pos = [], 0
    for piece in chunk_sentences(text):
        start, end = pos, pos + len(piece)
        pos = end
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def best_sentence(claim: str, text: str) -> tuple[int, int] | None:
    """The span of the sentence of `text` sharing the most character bigrams with `claim` (None if none does)."""
    claim_units = units(strip_markers(claim))
    best, best_score = None, 0.0
    for start, end in sentence_spans(text):
        score = overlap(claim_units, units(text[start:end]))
        if score > best_score:
            best, best_score = (start, end), score
    return best


def _claims(answer: str) -> list[str]:
    """The answer cut after each run of markers: each piece is a claim with the markers that cite it.

    Cutting at markers, not at sentence ends, keeps `…。”[1]` (a quote closed after the full stop) with its own
    sentence; a sentence splitter gives that marker to the next sentence.
    """
    pieces, pos = [], 0
    for m in re.finditer(r"(?:\s*" + _MARKER.pattern + r")+", answer):
        pieces.append(answer[pos:m.end()])
        pos = m.end()
    return [p for p in pieces if strip_markers(p).strip()] or split_sentences(answer)


def supporting_spans(answer: str, citations: list[dict[str, Any]]) -> dict[int, list[tuple[int, int]]]:
    """For each citation n: the spans of its text that best support the answer sentences citing [n].

    A citation that no sentence marks (it can happen with hand-written answers) is matched against the whole
    answer, so every open card shows where its evidence is.
    """
    by_n = {int(c["n"]): c for c in citations}
    spans: dict[int, list[tuple[int, int]]] = {n: [] for n in by_n}
    for sentence in _claims(answer):
        for n in markers_in(sentence):
            if n in by_n:
                span = best_sentence(sentence, by_n[n]["text"])
                if span and span not in spans[n]:
                    spans[n].append(span)
    for n, found in spans.items():
        if not found:
            span = best_sentence(answer, by_n[n]["text"])
            if span:
                found.append(span)
    return spans


def highlight(text: str, spans: list[tuple[int, int]]) -> str:
    """HTML of `text` (escaped) with the given spans wrapped in <mark class="support">."""
    out, pos = [], 0
    for start, end in sorted(spans):
        if start < pos:
            continue
        out.append(html.escape(text[pos:start]))
        out.append(f'<mark class="support">{html.escape(text[start:end])}</mark>')
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out).replace("\n", "<br>")


def _where(c: dict[str, Any]) -> str:
    source = str(c.get("source") or "")
    if re.match(r"https?://[^\s\"'<>]+$", source, re.IGNORECASE):  # the one link the service builds
        link = (f'<a class="cite-link" href="{html.escape(source, quote=True)}" target="_blank" '
                f'rel="noopener noreferrer">原文链接</a>')
    else:
        link = f'<span class="cite-source">{html.escape(source)}</span>' if source else ""
    page = f"第 {c['page']} 页" if c.get("page") else ""
    copies = int(c.get("duplicates") or 0)  # near-duplicate copies collapsed into this citation
    also = f'<span class="cite-copies">另有 {copies} 篇相同报道</span>' if copies > 0 else ""
    return " · ".join(p for p in (page, link, also) if p)


def citation_card(turn: int, c: dict[str, Any], spans: list[tuple[int, int]], open_: bool = False) -> str:
    """One collapsible card: [n] and the title as the summary; where it is from and the passage inside."""
    n = int(c["n"])
    where = _where(c)
    score = f'<span class="cite-score">检索排序分 {float(c.get("score", 0.0)):.3f}</span>'
    return (
        f'<details class="cite" id="{anchor(turn, n)}"{" open" if open_ else ""}>'
        f'<summary><span class="cite-n">[{n}]</span> <span class="cite-title">{html.escape(str(c["title"]))}'
        f"</span></summary>"
        f'<div class="cite-meta">{where}{" · " if where else ""}{score}</div>'
        f'<div class="cite-text">{highlight(str(c["text"]), spans)}</div>'
        f"</details>"
    )


def citations_panel(turns: list[dict[str, Any]]) -> str:
    """Citation cards of every answer so far, the latest first; older answers' cards sit in a closed group."""
    answered = [(i, t) for i, t in enumerate(turns) if t.get("answer") is not None]
    if not answered:
        return ('<div class="cite-panel"><p class="cite-empty">提问后，这里显示回答引用的资料。'
                "点击回答中的 [n] 打开对应段落。</p></div>")
    parts = ['<div class="cite-panel">']
    for rank, (i, turn) in enumerate(reversed(answered)):
        answer = turn["answer"]
        cites = answer.get("citations") or []
        spans = supporting_spans(answer.get("answer", ""), cites)
        cards = "".join(citation_card(i, c, spans.get(int(c["n"]), [])) for c in cites) or (
            '<p class="cite-empty">这个回答没有引用资料。</p>'
        )
        label = html.escape(_short(turn.get("question", ""), 28))
        base = f"〔{html.escape(_short(turn['kb'], 20))}〕" if turn.get("kb") else ""  # the base it was asked in
        parts.append(
            f'<details class="cite-turn" id="turn-{i}"{" open" if rank == 0 else ""}>'
            f'<summary>第 {i + 1} 问{base}：{label}（{len(cites)} 条引用）</summary>{cards}</details>'
        )
    parts.append("</div>")
    return "".join(parts)


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_cost(cost: float) -> str:
    """¥ with enough digits that a fraction of a fen still shows (LLM calls often cost ¥0.0003)."""
    if not cost:
        return "¥0"
    return f"¥{cost:.4f}" if cost >= 0.01 else f"¥{cost:.6f}"


def format_latency(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def escalation_note(answer: dict[str, Any]) -> str:
    """Why the cascade did what it did, in one line (empty when the first model answered cleanly)."""
    if answer.get("escalated_from"):
        return f"已从 {answer['escalated_from']} 升级：{answer.get('escalation_reason', '')}"
    if answer.get("escalation_reason"):
        return f"未能升级：{answer['escalation_reason']}"
    reason = answer.get("fallback_reason")
    if reason:
        return FALLBACK_REASONS.get(reason, f"改用抽取式回答：{reason}")
    return ""


def badge(answer: dict[str, Any]) -> str:
    """The line under an answer: model, tokens, cost in ¥, latency, and why the cascade escalated."""
    model = str(answer.get("model", ""))
    provider = answer.get("provider")
    who = model if not provider or provider in (model, "extractive") else f"{model}（{provider}）"
    items = [
        f'<span class="b-model">模型 {html.escape(who)}</span>',
        f"tokens {int(answer.get('input_tokens') or 0)} 入 / {int(answer.get('output_tokens') or 0)} 出",
        f'<span class="b-cost">成本 {format_cost(float(answer.get("cost") or 0.0))}</span>',
        f"用时 {format_latency(float(answer.get('latency_ms') or 0.0))}",
    ]
    note = escalation_note(answer)
    line = f'<div class="rag-badge">{" · ".join(items)}'
    if note:  # the full reason is in the side panel; the badge keeps one short line (reasons quote documents)
        line += f'<br><span class="b-why" title="{html.escape(note)}">{as_text(_short(note, 70))}</span>'
    if answer.get("warning"):
        line += f'<br><span class="b-warn">⚠ {as_text(str(answer["warning"]))}</span>'
    return line + "</div>"


_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
_MARKDOWN = set("\\`*_[]~")  # code, emphasis, link/image brackets, strikethrough
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|mailto|javascript|vbscript|data|file)(:)|\b(www)(\.)")


def as_text(text: str) -> str:
    """Document (or model) text for the chat bubble and side panel, which render Markdown and HTML: HTML
    specials become entities, Markdown's link, image, code and emphasis characters are backslash-escaped and
    a URL scheme's colon too (`http\\://`, no autolink), so no tag, image, link or form can come out of it
    and the text still reads as itself (`0.0008元/千Tokens` stays as it is)."""
    out = []
    for ch in str(text):
        if ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in _MARKDOWN:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return _AUTOLINK.sub(lambda m: f"{m.group(1)}\\:" if m.group(1) else f"{m.group(3)}\\.", "".join(out))


def linked_text(text: str, turn: int, known: set[int]) -> str:
    """`as_text` of an answer with its known [n] markers as links to their cards (the only markup in it)."""
    out, pos = [], 0
    for m in _MARKER.finditer(text):
        out.append(as_text(text[pos : m.start()]))
        linked = link_markers(m.group(0), turn, known)
        out.append(linked if linked != m.group(0) else as_text(m.group(0)))
        pos = m.end()
    out.append(as_text(text[pos:]))
    return "".join(out)


def answer_message(answer: dict[str, Any], turn: int) -> str:
    """The chat bubble of a finished answer: its text (escaped) with linked markers, then the badge."""
    known = {int(c["n"]) for c in answer.get("citations") or []}
    return f"{linked_text(str(answer.get('answer', '')), turn, known)}\n\n{badge(answer)}"


def details_markdown(answer: dict[str, Any]) -> str:
    """The side summary of the latest answer: the badge facts in words, plus each provider the router tried."""
    head = [
        f"模型：`{answer.get('model', '')}` · 成本：{format_cost(float(answer.get('cost') or 0.0))} · "
        f"用时：{format_latency(float(answer.get('latency_ms') or 0.0))} · "
        f"tokens：{int(answer.get('input_tokens') or 0)} 入 / {int(answer.get('output_tokens') or 0)} 出"
    ]
    note = escalation_note(answer)
    if note:  # the side panel is Markdown: reasons and questions quote text, so they are escaped as text
        head.append(f"<small>{as_text(note)}</small>")
    if answer.get("standalone_question"):
        head.append(f"<small>结合上文，按“{as_text(str(answer['standalone_question']))}”检索</small>")
    if answer.get("filters"):
        head.append(f"<small>筛选：{as_text(filters_text(answer['filters']))}</small>")
    tried = []
    for t in answer.get("tried") or []:
        cost = f"，{format_cost(float(t['cost']))}" if "cost" in t else ""
        why = f"：{t['reason']}" if t.get("reason") else ""
        outcome = OUTCOMES.get(str(t.get("outcome")), str(t.get("outcome")))
        tried.append(f"- `{t.get('provider')}` {outcome}{cost}{as_text(str(why))}")
    return "  \n".join(head) + ("\n\n**尝试过的模型**\n\n" + "\n".join(tried) if tried else "")


FILTER_LABELS = {"industry": "行业", "keywords": "关键词", "date_from": "起始", "date_to": "截止", "doc_ids": "文档",
                 "source": "来源"}


def filters_text(filters: dict[str, Any]) -> str:
    """`行业 云计算、人工智能；起始 2024-05-01` for the filters an answer was retrieved under."""
    parts = []
    for key, value in filters.items():
        shown = "、".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
        if key == "doc_ids":
            shown = f"{len(value)} 篇"
        parts.append(f"{FILTER_LABELS.get(key, key)} {shown}")
    return "；".join(parts)
