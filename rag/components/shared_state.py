"""State every worker must see alike: the daily LLM spend and the per-key request windows.

Counted per process, N `rag serve` workers would spend N x `llm.daily_budget_cny` and allow N x a key's rate
limit. So both live in a store all workers reach: an SQLite file (default `<data_dir>/shared_state.sqlite`;
workers on one host share it when `shared_state.path` names one file for all of them), or Redis
(`shared_state.backend: redis`) for workers on several hosts. Redis windows go through the `limits` library's
moving-window strategy; limits has no SQLite storage, so that one (a table of hit times) is written here.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rag.errors import ServiceUnavailable

if TYPE_CHECKING:
    from rag.settings import Settings

log = logging.getLogger(__name__)

KEEP_DAYS = 400
WINDOW_S = 60.0
#: seconds a reservation for a call in flight holds budget; a worker killed mid-call frees it after this
HOLD_S = 600.0


class SpendLedger(Protocol):
    """Per-day totals (CNY, calls, tokens, per provider), the same for every worker."""

    def spent(self, day: str) -> float: ...

    def day(self, day: str) -> dict[str, Any]: ...

    def record(self, day: str, provider: str, input_tokens: int, output_tokens: int, cost: float) -> None: ...

    def reserve(self, day: str, amount: float, budget: float) -> str | None:
        """Hold `amount` CNY for a call about to start, if spent + held + amount stays within `budget`
        (atomically, for every worker at once); the hold's token, or None when it does not fit."""
        ...

    def release(self, token: str) -> None:
        """Drop a hold (the call ended; what it cost was recorded)."""
        ...


class WindowLimiter(Protocol):
    """A sliding one-minute window per caller (GuardMiddleware's `limiter`)."""

    per_minute: int | None

    def retry_after(self, who: str) -> float | None:
        """None if this request may go ahead (and counts it), else seconds until it may."""
        ...


class StateUnavailable(ServiceUnavailable):
    """The configured shared store does not answer."""

    code = "shared_state_unavailable"


# ---- SQLite ----

class _Sqlite:
    """One connection per process to the shared file; WAL lets other processes read while one writes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS spend (day TEXT, provider TEXT, cost_cny REAL, calls INTEGER,"
                             " input_tokens INTEGER, output_tokens INTEGER, PRIMARY KEY (day, provider))")
            self._db.execute("CREATE TABLE IF NOT EXISTS hits (who TEXT, t REAL)")
            self._db.execute("CREATE TABLE IF NOT EXISTS holds (token TEXT PRIMARY KEY, day TEXT, amount REAL,"
                             " expires REAL)")
            self._db.execute("CREATE INDEX IF NOT EXISTS hits_who ON hits (who, t)")

    def run(self, fn):
        """`fn(db)` inside one immediate transaction (other processes wait), under this process's lock."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                out = fn(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return out

    def close(self) -> None:
        with self._lock:
            self._db.close()


class SqliteLedger:
    """The spend ledger in an SQLite file; a legacy JSON ledger (llm.ledger_file) is imported once."""

    def __init__(self, path: Path, legacy_json: Path | None = None) -> None:
        self._db = _Sqlite(path)
        if legacy_json is not None and legacy_json.is_file():
            self._import(legacy_json)

    def _import(self, legacy: Path) -> None:
        try:
            days = (json.loads(legacy.read_text(encoding="utf-8")) or {}).get("days", {})
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("LLM ledger %s unreadable (%s); not imported", legacy, exc)
            return

        def load(db: sqlite3.Connection) -> None:
            if db.execute("SELECT 1 FROM spend LIMIT 1").fetchone():
                return  # imported before (or already in use)
            for day, entry in days.items():
                for provider, p in (entry.get("providers") or {}).items():
                    db.execute("INSERT OR REPLACE INTO spend VALUES (?, ?, ?, ?, ?, ?)",
                               (day, provider, float(p.get("cost_cny", 0)), int(p.get("calls", 0)),
                                int(p.get("input_tokens", 0)), int(p.get("output_tokens", 0))))

        self._db.run(load)

    def spent(self, day: str) -> float:
        row = self._db.run(lambda db: db.execute("SELECT SUM(cost_cny) FROM spend WHERE day = ?", (day,)).fetchone())
        return round(float(row[0] or 0.0), 8)

    def day(self, day: str) -> dict[str, Any]:
        rows = self._db.run(lambda db: db.execute(
            "SELECT provider, cost_cny, calls, input_tokens, output_tokens FROM spend WHERE day = ?",
            (day,)).fetchall())
        if not rows:
            return {}
        providers = {p: {"cost_cny": round(c, 8), "calls": n, "input_tokens": i, "output_tokens": o}
                     for p, c, n, i, o in rows}
        total = {k: sum(v[k] for v in providers.values()) for k in ("calls", "input_tokens", "output_tokens")}
        return {"cost_cny": round(sum(v["cost_cny"] for v in providers.values()), 8), **total, "providers": providers}

    def record(self, day: str, provider: str, input_tokens: int, output_tokens: int, cost: float) -> None:
        def add(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO spend VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (day, provider) DO UPDATE SET "
                       "cost_cny = cost_cny + excluded.cost_cny, calls = calls + 1, "
                       "input_tokens = input_tokens + excluded.input_tokens, "
                       "output_tokens = output_tokens + excluded.output_tokens",
                       (day, provider, cost, input_tokens, output_tokens))
            days = [r[0] for r in db.execute("SELECT DISTINCT day FROM spend ORDER BY day DESC LIMIT -1 OFFSET ?",
                                              (KEEP_DAYS,))]
            for old in days:
                db.execute("DELETE FROM spend WHERE day = ?", (old,))

        try:
            self._db.run(add)
        except sqlite3.Error as exc:
            log.warning("could not write the LLM ledger %s: %s", self._db.path, exc)

    def reserve(self, day: str, amount: float, budget: float) -> str | None:
        token = uuid.uuid4().hex
        now = time.time()

        def hold(db: sqlite3.Connection) -> str | None:
            db.execute("DELETE FROM holds WHERE expires <= ?", (now,))
            spent = db.execute("SELECT COALESCE(SUM(cost_cny), 0) FROM spend WHERE day = ?", (day,)).fetchone()[0]
            held = db.execute("SELECT COALESCE(SUM(amount), 0) FROM holds WHERE day = ?", (day,)).fetchone()[0]
            if spent + held + amount > budget + 1e-12:
                return None
            db.execute("INSERT INTO holds VALUES (?, ?, ?, ?)", (token, day, amount, now + HOLD_S))
            return token

        return self._db.run(hold)

    def release(self, token: str) -> None:
        self._db.run(lambda db: db.execute("DELETE FROM holds WHERE token = ?", (token,)))


class SqliteRateLimiter:
    """Sliding one-minute windows per key in an SQLite table, checked and counted in one transaction."""

    def __init__(self, path: Path, per_minute: int | None, clock=time.time) -> None:
        self.per_minute = per_minute
        self._db = _Sqlite(path)
        self._clock = clock

    def retry_after(self, who: str) -> float | None:
        if not self.per_minute:
            return None
        now = self._clock()
        limit = self.per_minute

        def hit(db: sqlite3.Connection) -> float | None:
            db.execute("DELETE FROM hits WHERE who = ? AND t <= ?", (who, now - WINDOW_S))
            n, first = db.execute("SELECT COUNT(*), MIN(t) FROM hits WHERE who = ?", (who,)).fetchone()
            if n >= limit:
                return WINDOW_S - (now - first)
            db.execute("INSERT INTO hits VALUES (?, ?)", (who, now))
            return None

        return self._db.run(hit)


# ---- Redis ----

class RedisLedger:
    """The spend ledger as one Redis hash per day (atomic HINCRBYFLOAT / HINCRBY)."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._prefix = prefix
        self._url = url

    def _key(self, day: str) -> str:
        return f"{self._prefix}:spend:{day}"

    def _call(self, fn):
        import redis

        try:
            return fn()
        except redis.RedisError as exc:
            raise StateUnavailable(f"the shared state store at {_safe(self._url)} does not answer ({exc})",
                                   hint="start redis-server, or set shared_state.backend: sqlite") from None

    def spent(self, day: str) -> float:
        value = self._call(lambda: self._redis.hget(self._key(day), "cost_cny"))
        return round(float(value or 0.0), 8)

    def day(self, day: str) -> dict[str, Any]:
        raw = {k.decode(): v.decode() for k, v in self._call(lambda: self._redis.hgetall(self._key(day))).items()}
        if not raw:
            return {}
        out: dict[str, Any] = {"cost_cny": round(float(raw.get("cost_cny", 0)), 8), "providers": {}}
        for field in ("calls", "input_tokens", "output_tokens"):
            out[field] = int(float(raw.get(field, 0)))
        for key, value in raw.items():
            if key.startswith("p:"):
                _, provider, field = key.split(":", 2)
                entry = out["providers"].setdefault(provider, {})
                entry[field] = round(float(value), 8) if field == "cost_cny" else int(float(value))
        return out

    def record(self, day: str, provider: str, input_tokens: int, output_tokens: int, cost: float) -> None:
        key = self._key(day)

        def add() -> None:
            pipe = self._redis.pipeline()
            for prefix in ("", f"p:{provider}:"):
                pipe.hincrbyfloat(key, f"{prefix}cost_cny", cost)
                pipe.hincrby(key, f"{prefix}calls", 1)
                pipe.hincrby(key, f"{prefix}input_tokens", input_tokens)
                pipe.hincrby(key, f"{prefix}output_tokens", output_tokens)
            pipe.expire(key, KEEP_DAYS * 86400)
            pipe.execute()

        self._call(add)

    # Check and hold in one step on the server: spent (the day's hash) + live holds (a sorted set scored by
    # expiry, members "token:amount") + amount must stay within the budget.
    _RESERVE = """
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
    local spent = tonumber(redis.call('HGET', KEYS[1], 'cost_cny') or '0')
    local held = 0
    for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
        held = held + tonumber(string.match(m, ':(.*)$'))
    end
    if spent + held + tonumber(ARGV[2]) > tonumber(ARGV[3]) + 1e-12 then return 0 end
    redis.call('ZADD', KEYS[2], tonumber(ARGV[1]) + tonumber(ARGV[5]), ARGV[4] .. ':' .. ARGV[2])
    redis.call('EXPIRE', KEYS[2], 86400)
    return 1
    """

    def reserve(self, day: str, amount: float, budget: float) -> str | None:
        token = uuid.uuid4().hex
        ok = self._call(lambda: self._redis.eval(self._RESERVE, 2, self._key(day), f"{self._key(day)}:holds",
                                                 time.time(), repr(float(amount)), repr(float(budget)), token, HOLD_S))
        if not ok:
            return None
        return f"{day}|{token}:{float(amount)!r}"

    def release(self, token: str) -> None:
        day, _, member = token.partition("|")
        self._call(lambda: self._redis.zrem(f"{self._key(day)}:holds", member))


class RedisRateLimiter:
    """Moving one-minute windows per key in Redis, through the `limits` library."""

    def __init__(self, url: str, prefix: str, per_minute: int | None) -> None:
        from limits import RateLimitItemPerMinute, storage, strategies

        self.per_minute = per_minute
        self._url = url
        self._prefix = prefix
        self._storage = storage.storage_from_string(url)
        self._limiter = strategies.MovingWindowRateLimiter(self._storage)
        self._item = RateLimitItemPerMinute(per_minute) if per_minute else None

    def retry_after(self, who: str) -> float | None:
        if self._item is None:
            return None
        try:
            if self._limiter.hit(self._item, self._prefix, who):
                return None
            stats = self._limiter.get_window_stats(self._item, self._prefix, who)
        except Exception as exc:  # noqa: BLE001 - limits wraps the redis client's errors in its own
            raise StateUnavailable(f"the shared state store at {_safe(self._url)} does not answer ({exc})",
                                   hint="start redis-server, or set shared_state.backend: sqlite") from None
        return max(0.001, stats.reset_time - time.time())


def _safe(url: str) -> str:
    """A store URL without its password."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rsplit('@', 1)[-1]}" if sep else url


# ---- from settings ----

def state_path(settings: Settings) -> Path:
    """The SQLite file: shared_state.path (relative to data_dir), default <data_dir>/shared_state.sqlite."""
    path = Path(settings.shared_state.path or "shared_state.sqlite")
    return path if path.is_absolute() else Path(settings.data_dir) / path


def build_ledger(settings: Settings) -> SpendLedger:
    s = settings.shared_state
    if s.backend == "redis":
        return RedisLedger(s.url, s.prefix)
    return SqliteLedger(state_path(settings), legacy_json=Path(settings.data_dir) / settings.llm.ledger_file)


def build_rate_limiter(settings: Settings) -> WindowLimiter:
    s = settings.shared_state
    per_minute = settings.server.rate_limit_per_minute
    if s.backend == "redis":
        return RedisRateLimiter(s.url, s.prefix, per_minute)
    return SqliteRateLimiter(state_path(settings), per_minute)


__all__ = ["RedisLedger", "RedisRateLimiter", "SpendLedger", "SqliteLedger", "SqliteRateLimiter",
           "StateUnavailable", "WindowLimiter", "build_ledger", "build_rate_limiter", "state_path"]
