"""Questions asking for the latest (最新, 最近, 近日, 今年…) prefer later document dates among close hits."""

from __future__ import annotations

import re
from datetime import date

from rag.types import Hit, _date_key

# 今年 cannot be compared with the documents' years (the clock of the question is not the corpus's), so it
# only says "the newest first", like the others.
RECENCY_CUES = re.compile(r"最新|最近|近日|近期|日前|今年|这几天|latest|most recent", re.I)


def asks_for_latest(question: str) -> bool:
    return RECENCY_CUES.search(question) is not None


def _day(hit: Hit) -> date | None:
    key = _date_key(hit.chunk.metadata.get("date"))
    if key is None:
        return None
    try:
        return date.fromisoformat(key)
    except ValueError:
        return None


def prefer_recent(hits: list[Hit], weight: float = 0.3, half_life_days: float = 30.0, top_n: int = 10) -> list[Hit]:
    """Re-order the first `top_n` hits by their min-max normalised score + `weight` x 0.5^(age / half-life),
    the age counted in days from the newest dated hit among them; undated hits get no bonus. Fewer than two
    distinct dates among them: unchanged (nothing to prefer)."""
    head, tail = hits[:top_n], hits[top_n:]
    days = [_day(h) for h in head]
    known = [d for d in days if d is not None]
    if len(set(known)) < 2 or weight <= 0:
        return hits
    newest = max(known)
    lo, hi = min(h.score for h in head), max(h.score for h in head)
    span = hi - lo

    def blended(i: int) -> float:
        base = (head[i].score - lo) / span if span > 1e-12 else 1.0
        d = days[i]
        fresh = 0.5 ** ((newest - d).days / half_life_days) if d is not None else 0.0
        return base + weight * fresh

    order = sorted(range(len(head)), key=lambda i: (-blended(i), i))
    return [head[i] for i in order] + tail
