"""Citation markers as Chinese LLMs write them, parsed and normalised to `[n]` (what the UI links).

Shapes: `[1]`, `[1][2]`, `[1,2]`, `[1、2]`, `[1-3]`, `[1–3]`, `【1】`, `［1］`, `^[1]`, `[^1]`, `[citation:1]`,
`(资料1)`, `（资料2）`, `[资料1]`, `[来源1]`, `【文档1、2】`, `[1, 资料3]`, `[1†source]`, `<sup>1</sup>`,
and a source named in words (`据资料1，…`, normalised to `据资料[1]`). Round brackets count only with a label
(资料/来源/…), since `（1）` is usually a list number. Written by hand: no library parses these shapes.
"""

from __future__ import annotations

import re

#: chunk numbers above this are not citations (a year or a price in brackets is not a marker)
MAX_CHUNK = 99
#: a range wider than this is not a citation range (`[2023-2024]`)
MAX_RANGE = 12

_LABEL = (r"(?:参考资料|参考文献|参考|资料|来源|文档|文献|材料|片段|段落|引用|引文|上下文|"
          r"citation|cite|ref|source|doc|context)")
_NUM = r"(?:[1-9]\d?)"
_SEP = r"\s*(?:[,，、;；/]|和|及|与|\]\s*\[)\s*"
_RANGE = r"\s*[-–—~～至到]\s*"
_ITEM = rf"(?:{_LABEL}\s*[:：#]?\s*)?{_NUM}(?:{_RANGE}(?:{_LABEL}\s*[:：#]?\s*)?{_NUM})?"
_ITEMS = rf"{_ITEM}(?:{_SEP}{_ITEM})*"
# a source note after the number (`[1†source]`, `【3†L1-L8】`, as some chat front-ends write) is part of it
_NOTE = r"(?:\s*†[^\]】］〕\n]{0,20})?"
_SQUARE = rf"\^?[\[【［〔]\s*\^?\s*(?P<sq>{_ITEMS}){_NOTE}\s*[\]】］〕]"
_ROUND = rf"[(（]\s*(?:见|据|引自|出自)?\s*(?P<rd>{_LABEL}\s*[:：#]?\s*{_ITEMS})\s*[)）]"
# superscripts: `<sup>1</sup>`, `<sup>[1]</sup>` (`^1^` is left alone: 2^10^ is a power)
_SUP = rf"<sup>\s*\[?(?P<hs>{_ITEMS})\]?\s*</sup>"
# a source named in words: 据资料1，… / 根据文档2 / 参见材料3 (the label stays, the number becomes a marker)
_MENTION_LABEL = r"(?:参考资料|资料|文档|材料|来源|片段)"
_MENTION = (rf"(?:(?<=据)|(?<=根据)|(?<=依据)|(?<=参考)|(?<=参见)|(?<=见)|(?<=按照)){_MENTION_LABEL}"
            rf"\s*(?P<mn>{_NUM}(?:\s*[、,，和及]\s*{_NUM})*)(?!\d|[.．]\d)")
#: one marker of any supported shape
MARKER = re.compile(rf"{_SQUARE}|{_ROUND}|{_SUP}|{_MENTION}", re.I)
_NUM_RE = re.compile(r"\d+")
_PARTIAL_LABEL = r"(?:参考?资?料?|资料?|文档?|材料?|来源?|片段?)"
#: the end of a streamed buffer that may yet become a source named in words (据, 根据资, 据资料1)
_MENTION_TAIL = re.compile(rf"(?:(?:根据?|依据?|据|参[考见]?|见|按照?){_PARTIAL_LABEL}?|{_PARTIAL_LABEL})"
                           rf"(?:\s*\d{{1,2}}(?:\s*[、,，和及]\s*\d{{0,2}})*)?\s*$")
_RANGE_RE = re.compile(rf"({_NUM}){_RANGE}(?:{_LABEL}\s*[:：#]?\s*)?({_NUM})", re.I)
_OPENERS = "[【［〔(（^<"


def numbers_of(body: str) -> list[int]:
    """The chunk numbers one marker's inside names, ranges expanded (`1-3` -> 1, 2, 3)."""
    out: list[int] = []
    pos = 0
    for m in _RANGE_RE.finditer(body):
        out.extend(int(n) for n in _NUM_RE.findall(body[pos : m.start()]))
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo <= hi and hi - lo <= MAX_RANGE:
            out.extend(range(lo, hi + 1))
        else:  # not a sensible range: read both ends as plain numbers
            out.extend([lo, hi])
        pos = m.end()
    out.extend(int(n) for n in _NUM_RE.findall(body[pos:]))
    return [n for n in out if 1 <= n <= MAX_CHUNK]


def _body(m: re.Match[str]) -> str:
    return next(m.group(k) for k in ("sq", "rd", "hs", "mn") if m.group(k) is not None)


def markers_in(text: str) -> list[int]:
    """Every chunk number cited in `text`, in order of first appearance."""
    seen: list[int] = []
    for m in MARKER.finditer(text):
        for n in numbers_of(_body(m)):
            if n not in seen:
                seen.append(n)
    return seen


def strip_markers(text: str) -> str:
    """`text` without its citation markers."""
    return MARKER.sub("", text)


def normalise_markers(text: str) -> str:
    """Every marker rewritten as plain `[n]` runs (`【1-3】` -> `[1][2][3]`), so the UI can link them."""

    def one(m: re.Match[str]) -> str:
        nums = list(dict.fromkeys(numbers_of(_body(m))))
        if not nums:
            return m.group(0)
        label = re.match(_MENTION_LABEL, m.group(0)) if m.group("mn") is not None else None
        return (label.group(0) if label else "") + "".join(f"[{n}]" for n in nums)

    return MARKER.sub(one, text)


class MarkerStream:
    """Normalises markers in streamed text: holds back a possibly unfinished marker until it closes.

    The concatenated output equals `normalise_markers` of the concatenated input, so a streamed answer and
    the final answer text agree.
    """

    #: a pending opener further back than this is not a marker; release it
    HOLD = 32

    def __init__(self) -> None:
        self._buf = ""

    def feed(self, piece: str) -> str:
        self._buf += piece
        cut = self._safe_cut(self._buf)
        out, self._buf = self._buf[:cut], self._buf[cut:]
        return normalise_markers(out) if out else ""

    def flush(self) -> str:
        out, self._buf = self._buf, ""
        return normalise_markers(out) if out else ""

    def _safe_cut(self, buf: str) -> int:
        # cut before the earliest opener in the tail that may start a marker not yet closed (one that is part
        # of a complete marker, such as the closing ^ of ^2^, starts nothing)
        start = max(0, len(buf) - self.HOLD)
        covered = {i for m in MARKER.finditer(buf) for i in range(m.start(), m.end())}
        for i in range(start, len(buf)):
            ch = buf[i]
            if ch not in _OPENERS or i in covered:
                continue
            rest = buf[i:]
            if ch == "<":
                if "<sup>".startswith(rest[:5]) or (rest.startswith("<sup>") and "</sup>" not in rest):
                    return i
            elif ch == "^":  # only ^[1] starts with ^
                if rest == "^" or (rest.startswith("^[") and "]" not in rest):
                    return i
            elif not re.search(r"[\]】］〕)）]", rest[1:]):
                return i
        # a source named in words may still be growing (据 -> 据资料 -> 据资料1 -> 据资料1、2): hold it, with the
        # word before it that decides whether it is one (据/根据/参考…)
        tail = _MENTION_TAIL.search(buf)
        if tail and tail.start() >= start and tail.start() not in covered:
            return tail.start()
        return len(buf)


__all__ = ["MARKER", "MarkerStream", "markers_in", "normalise_markers", "numbers_of", "strip_markers"]
