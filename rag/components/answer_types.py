"""What kind of answer a Chinese question asks for (number, date, person, place), and whether a text holds one.

Shared by the extractive answerer (which sentence to quote) and the retrieval's evidence stage (which passage
holds an answer rather than only repeating the question's words). Only things the question does not already
say count: "2022年GDP增长了多少" is not answered by a sentence whose only number is 2022.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from rag.components.tokenize import normalise

_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("date", re.compile(r"何时|什么时候|哪一?年|哪一?天|日期|时间|几月|几号|哪个月")),
    ("number", re.compile(r"多少|几[个次名人位家场岁倍项届座]|数量|人数|票房|销量|营收|收入|增长|增速|比例|价格|金额|"
                          r"排名|第几|多高|多大|多长|多重|多远|多久|规模|产量|吞吐量|发送量|席位|GDP|CPI|率")),
    ("person", re.compile(r"谁|主演|导演|得主|金牌|创始人|创办人|作者|主持人|获得者|代言人|教练|董事长|首相|总统|"
                          r"议长|航天员")),
    ("place", re.compile(r"哪里|在哪|哪儿|什么地方|哪座城市|哪个城市|哪个国家|哪国|地点|举办地|举行地")),
)
# Opinion and reason questions ask for a view or a cause, not a figure, whatever topic words they hold:
# 李开复怎么看大模型价格战 names 价格 but is answered by what he said, not by a sentence with a number in it.
_VIEW_OR_REASON = re.compile(r"怎么看|如何看待?|看法|观点|怎么评价|如何评价|评价如何|为什么|为何|什么原因|原因是")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_YEAR_RE = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_DATE_RE = re.compile(r"\d{1,4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?|\d{1,2}\s*月\s*\d{1,2}\s*[日号]?|"
                      r"\d{1,2}\s*[日号]|[一二三四五六七八九十]{1,3}月")


@lru_cache(maxsize=8192)
def _posseg(text: str) -> tuple[tuple[str, str], ...]:
    # Without jieba's HMM: 7x faster (1.7 vs 12 ms per news passage) and it tags 99% as many names (1,064 vs
    # 1,072 `nr` on 300 RGB passages); the HMM was 90% of the evidence stage's time.
    import jieba.posseg

    return tuple((w.word, w.flag) for w in jieba.posseg.lcut(text, HMM=False))


@dataclass(frozen=True)
class AnswerType:
    """The kind asked for (or '' when the question gives no clear cue) and the question's own text."""

    kind: str
    question: str = field(default="", repr=False)

    @classmethod
    def of(cls, question: str) -> AnswerType:
        q = normalise(question)
        if _VIEW_OR_REASON.search(q):
            return cls("", q)
        for kind, cue in _KINDS:
            if cue.search(q):
                return cls(kind, q)
        return cls("", q)

    def other_year(self, text: str) -> bool:
        """The question names a year and `text` names years, none of them the question's (2020 vs 2021)."""
        asked = set(_YEAR_RE.findall(self.question))
        if not asked:
            return False
        named = set(_YEAR_RE.findall(normalise(text)))
        return bool(named) and not named & asked

    def found(self, text: str) -> float:
        """1.0 when `text` holds something of the asked kind that the question does not contain, else 0.0."""
        if not self.kind:
            return 0.0
        t = normalise(text)
        if self.kind == "number":  # a date's digits are not a quantity: "5月15日…公布了定价" does not say the price
            t = _DATE_RE.sub(" ", t)
            return float(any(m.group(0) not in self.question for m in _NUMBER_RE.finditer(t)))
        if self.kind == "date":
            return float(any(m.group(0) not in self.question for m in _DATE_RE.finditer(t)))
        flag = "nr" if self.kind == "person" else "ns"
        return float(any(f.startswith(flag) and len(w) >= 2 and w not in self.question for w, f in _posseg(t)))


__all__ = ["AnswerType"]
