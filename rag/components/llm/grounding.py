"""Citation check of an LLM answer: cited chunks exist, support their sentences, and no needless refusal."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.settings_llm import GroundingSettings

# [1]  [1][2]  [1,2]  [1、2]  【1】  ［1］
_MARKER = re.compile(r"[\[【［]\s*(\d{1,3}(?:\s*[,，、;；]\s*\d{1,3})*)\s*[\]】］]")
_MARKERS_AFTER_END = re.compile(
    r"([。！？!?；;]+)((?:\s*[\[【［]\s*\d{1,3}(?:\s*[,，、;；]\s*\d{1,3})*\s*[\]】］])+)"
)
# Sentences end at 。！？ (not at ；): a citation closing a compound sentence covers its clauses.
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]*")
_CONTENT = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fffA-Za-z0-9]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+(?:\.[0-9]+)?")
_LIST_PREFIX = re.compile(r"^\s*(?:\d{1,2}[.、)）](?!\d)|[-*•])\s*")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")

REFUSAL_PATTERNS = (
    "资料中没有找到",
    "资料中未找到",
    "没有找到相关",
    "未找到相关",
    "资料中没有提及",
    "资料中未提及",
    "资料没有提供",
    "资料中没有提供",
    "无法根据资料回答",
    "无法从资料中",
    "资料不足以回答",
)


@dataclass
class GroundingResult:
    """Outcome of the check: ok, whether the answer is a refusal, what it cites and what is wrong."""

    ok: bool
    refused: bool
    cited: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "refused": self.refused, "cited": self.cited, "problems": self.problems}


def markers_in(text: str) -> list[int]:
    """Every chunk number cited in `text`, in order of first appearance."""
    seen: list[int] = []
    for m in _MARKER.finditer(text):
        for part in re.split(r"[,，、;；]", m.group(1)):
            n = int(part.strip())
            if n not in seen:
                seen.append(n)
    return seen


def strip_markers(text: str) -> str:
    return _MARKER.sub("", text)


def split_sentences(text: str) -> list[str]:
    """Sentences with their trailing markers kept (a marker after 。 belongs to the sentence before it)."""
    moved = _MARKERS_AFTER_END.sub(lambda m: m.group(2).strip() + m.group(1), text)
    return [s.strip() for s in _SENTENCE.findall(moved) if s.strip()]


def is_refusal(text: str) -> bool:
    """Whether the answer says the material does not answer the question."""
    compact = re.sub(r"\s+", "", strip_markers(text))
    return any(p in compact for p in REFUSAL_PATTERNS)


def units(text: str) -> set[str]:
    """Character bigrams of Chinese runs (a lone character as itself) plus ASCII words and numbers."""
    out: set[str] = set()
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            out.add(run)
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    out.update(w.lower() for w in _ASCII_WORD.findall(text))
    return out


def support(sentence: str, evidence: str) -> float:
    """Share of the sentence's bigrams/words found in the evidence (recall of the sentence, 0..1)."""
    claim = units(strip_markers(sentence))
    if not claim:
        return 1.0
    have = units(evidence)
    return len(claim & have) / len(claim)


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def check_grounding(
    answer: str, given: dict[int, str], evidence: float | None, settings: GroundingSettings
) -> GroundingResult:
    """Each substantive sentence must cite a given chunk that supports it; refusals only on weak evidence."""
    cited = markers_in(answer)
    if is_refusal(answer):
        problems = []
        if evidence is not None and evidence >= settings.strong_evidence:
            problems.append(f"refused although retrieval evidence is strong ({evidence:.2f})")
        return GroundingResult(not problems, True, [n for n in cited if n in given], problems)
    problems: list[str] = []
    if not answer.strip():
        problems.append("empty answer")
    for sentence in split_sentences(answer):
        body = _LIST_PREFIX.sub("", strip_markers(sentence)).strip()
        if len(_CONTENT.findall(body)) < settings.min_sentence_chars:
            continue
        refs = markers_in(sentence)
        short = body if len(body) <= 30 else body[:30] + "…"
        if not refs:
            problems.append(f"sentence without citation: {short}")
            continue
        unknown = [n for n in refs if n not in given]
        if unknown:
            problems.append(f"cites chunk(s) not given {unknown}: {short}")
        known = [given[n] for n in refs if n in given]
        if not known:
            continue
        joined = "\n".join(known)
        score = support(body, joined)
        if score < settings.min_support:
            problems.append(f"citation {refs} does not support the sentence (overlap {score:.2f}): {short}")
        if settings.check_numbers:
            missing = sorted(_numbers(body) - _numbers(joined))
            if missing:
                problems.append(f"number(s) {missing} not in cited chunk(s) {refs}: {short}")
    return GroundingResult(not problems, False, [n for n in cited if n in given], problems)
