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


_MONTH_DAY = re.compile(r"^\s*(\d{1,2})[-/](\d{1,2})(?!\d)")


def _day(hit: Hit) -> date | None:
    key = _date_key(hit.chunk.metadata.get("date"))
    if key is None:
        return None
    try:
        return date.fromisoformat(key)
    except ValueError:
        return None


def _month_day(hit: Hit, newest: date) -> date | None:
    """A date without its year (`08-16 00:17`, as some news lines give it) in the year of the candidates' newest
    full date, or the year before when that would put it more than two months after it."""
    m = _MONTH_DAY.match(str(hit.chunk.metadata.get("date") or ""))
    if not m:
        return None
    try:
        day = date(newest.year, int(m.group(1)), int(m.group(2)))
        return day if (day - newest).days <= 61 else date(newest.year - 1, day.month, day.day)
    except ValueError:
        return None


def prefer_recent(hits: list[Hit], weight: float = 0.5, half_life_days: float = 7.0, top_n: int = 10) -> list[Hit]:
    """Re-order the first `top_n` hits by their min-max normalised score + `weight` x 0.5^(age / half-life),
    the age counted in days from the newest dated hit among them; undated hits get no bonus. Fewer than two
    distinct dates among them: unchanged (nothing to prefer)."""
    head, tail = hits[:top_n], hits[top_n:]
    days = [_day(h) for h in head]
    full = [d for d in days if d is not None]
    if full:
        newest_full = max(full)
        for i, d in enumerate(days):
            if d is None:
                days[i] = _month_day(head[i], newest_full)
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
