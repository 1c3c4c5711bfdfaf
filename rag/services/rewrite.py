"""Turns a follow-up question ("那阿里云呢？") into a standalone one before retrieval.

With a ready LLM provider the cheapest one rewrites it; without one (or when it fails) a rule does: the
follow-up's new subject replaces the previous question's subject. llama-index's CondenseQuestionChatEngine
does the LLM half only and wants its own LLM and memory objects, so both halves are written here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# "那阿里云呢？", "那么百度怎么样", "还有腾讯呢": a new subject asked about in the previous question's frame.
_FRAME = re.compile(r"^\s*(?:那么?|还有|另外|而|那如果|如果是)?\s*(?P<subj>.+?)\s*"
                    r"(?:呢|怎么样|如何|又如何|咋样|又是多少|是多少)?\s*[？?。！!]*\s*$")
_FOLLOW_MARK = re.compile(r"^\s*(?:那么?|还有|另外|而|如果是)|(?:呢|怎么样|如何|咋样)\s*[？?]*\s*$")
_PRONOUN = re.compile(r"它们|他们|她们|它|该公司|这家公司|该厂商|这家|其")
_STOP_SUBJECT = {"什么", "哪些", "多少", "为什么", "怎么", "如何"}
SYSTEM = ("你是检索助手。根据对话历史，把用户的最后一个问题改写成一个不依赖上下文、意思完整的中文问题。"
          "只输出改写后的问题本身，不要回答，不要解释。如果问题已经完整，原样输出。")


@dataclass
class Rewrite:
    """The question retrieval should use, and how it was obtained (for the answer's details)."""

    question: str
    method: str = "none"  # none | rule | llm
    cost: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


def _previous_user_questions(history: list[dict[str, str]]) -> list[str]:
    return [m["content"].strip() for m in history if m.get("role") == "user" and m.get("content", "").strip()]


def needs_rewrite(question: str, history: list[dict[str, str]]) -> bool:
    """A short question, one with follow-up wording, or a pronoun, after an earlier user turn."""
    if not _previous_user_questions(history):
        return False
    core = re.sub(r"[\s？?。！!，,]", "", question)
    return len(core) <= 6 or bool(_FOLLOW_MARK.search(question)) or bool(_PRONOUN.search(question))


def _subject_of(question: str) -> str | None:
    """The previous question's subject: what precedes its first 的 (None when unclear).

    Only this one pattern is trusted: jieba's part-of-speech tags mislabel too many product names and
    predicates (降价 as a noun) to find a subject reliably; the LLM rewrite handles the rest.
    """
    head = question.split("的", 1)[0].strip()
    if "的" in question and 1 < len(head) <= 12 and not any(w in head for w in _STOP_SUBJECT):
        return head
    return None


def rule_rewrite(question: str, history: list[dict[str, str]]) -> str:
    """Rule-based standalone question; returns `question` unchanged when no rule applies."""
    previous = _previous_user_questions(history)
    if not previous:
        return question
    prev = previous[-1]
    subject = _subject_of(prev)
    pronoun = _PRONOUN.search(question)
    if pronoun and subject:
        return question[: pronoun.start()] + subject + question[pronoun.end():]
    m = _FRAME.match(question)
    new_subject = m.group("subj").strip() if m else ""
    if new_subject and len(new_subject) <= 12 and _FOLLOW_MARK.search(question):
        if subject and subject in prev:
            return prev.replace(subject, new_subject, 1)
        return f"{new_subject}：{prev}"
    return f"{question}（接上文：{prev}）"


class QuestionRewriter:
    """Standalone questions for retrieval; the LLM router's cheapest provider when one is ready."""

    def __init__(self, llm: Any | None = None, max_history: int = 6) -> None:
        self.llm = llm
        self.max_history = max_history

    def rewrite(self, question: str, history: list[dict[str, str]] | None) -> Rewrite:
        history = [m for m in (history or []) if m.get("role") in ("user", "assistant")][-self.max_history:]
        if not needs_rewrite(question, history):
            return Rewrite(question)
        if self.llm is not None and hasattr(self.llm, "complete_cheapest"):
            convo = "\n".join(f"{'用户' if m['role'] == 'user' else '助手'}：{m['content'][:300]}" for m in history)
            done = self.llm.complete_cheapest(
                [{"role": "system", "content": SYSTEM},
                 {"role": "user", "content": f"对话历史：\n{convo}\n\n最后的问题：{question}\n\n改写后的问题："}],
                max_tokens=80)
            text = (done or {}).get("text", "").strip().strip("\"'“”")
            if done and text and len(text) <= 300:
                return Rewrite(text.splitlines()[0], "llm", float(done["cost"]),
                               {"rewrite_provider": done["provider"]})
        return Rewrite(rule_rewrite(question, history), "rule")
