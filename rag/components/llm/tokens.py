"""Token estimates for routing and packing, since vendors' tokenizers are not available offline."""

from __future__ import annotations

import math
import re

# CJK ideographs, kana, hangul and full-width punctuation: about one token each on Chinese-aware tokenizers.
_WIDE = re.compile(
    r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]"
)

# Chat formatting overhead per message (role markers, separators), as in OpenAI's own estimates.
MESSAGE_OVERHEAD = 4


def estimate_tokens(text: str) -> int:
    """About one token per Chinese character and one per four other non-space characters (rounded up)."""
    wide = len(_WIDE.findall(text))
    other = len(text) - wide - text.count(" ") - text.count("\n")
    return wide + math.ceil(max(other, 0) / 4)


def estimate_messages_tokens(messages: list[dict[str, str]]) -> int:
    """Prompt tokens of a chat request: every message's content plus a small per-message overhead."""
    return sum(estimate_tokens(m.get("content", "")) + MESSAGE_OVERHEAD for m in messages) + 2


def truncate_to_tokens(text: str, budget: int) -> str:
    """Longest prefix of `text` whose estimate fits `budget` (binary search; estimates are monotone)."""
    if estimate_tokens(text) <= budget:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if estimate_tokens(text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]
