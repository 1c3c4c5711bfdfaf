"""Citation markers as Chinese LLMs write them, parsed and normalised to `[n]` (what the UI links).

Shapes: `[1]`, `[1][2]`, `[1,2]`, `[1、2]`, `[1-3]`, `[1–3]`, `【1】`, `［1］`, `^[1]`, `[^1]`, `[citation:1]`,
`(资料1)`, `（资料2）`, `[资料1]`, `[来源1]`, `【文档1、2】`, `[1, 资料3]`. Round brackets count only with a label
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
_SQUARE = rf"\^?[\[【［〔]\s*\^?\s*(?P<sq>{_ITEMS})\s*[\]】］〕]"
_ROUND = rf"[(（]\s*(?:见|据|引自|出自)?\s*(?P<rd>{_LABEL}\s*[:：#]?\s*{_ITEMS})\s*[)）]"
#: one marker of any supported shape
MARKER = re.compile(rf"{_SQUARE}|{_ROUND}", re.I)
_NUM_RE = re.compile(r"\d+")
_RANGE_RE = re.compile(rf"({_NUM}){_RANGE}(?:{_LABEL}\s*[:：#]?\s*)?({_NUM})", re.I)
_OPENERS = "[【［〔(（^"


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
    return m.group("sq") if m.group("sq") is not None else m.group("rd")


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
        return "".join(f"[{n}]" for n in nums) if nums else m.group(0)

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
        # cut before the earliest opener in the tail that is not yet followed by a closer
        start = max(0, len(buf) - self.HOLD)
        for i in range(start, len(buf)):
            if buf[i] in _OPENERS and not re.search(r"[\]】］〕)）]", buf[i:]):
                return i
        # everything is closed; still hold a trailing `^` or a closer that a `[`/`^` may follow... nothing to hold
        return len(buf)


__all__ = ["MARKER", "MarkerStream", "markers_in", "normalise_markers", "numbers_of", "strip_markers"]
