"""Per-provider health: cooldowns after transient failures, disabling after auth failures, rpm windows."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _State:
    cooling_until: float = 0.0
    cooling_reason: str = ""
    failures: int = 0
    disabled_reason: str = ""
    calls: deque[float] = field(default_factory=deque)


class ProviderStates:
    """Thread-safe bookkeeping of which providers may be called right now, and why not."""

    def __init__(self, cooldown_s: float, max_cooldown_s: float, clock: Callable[[], float] = time.monotonic):
        self.cooldown_s = cooldown_s
        self.max_cooldown_s = max(max_cooldown_s, cooldown_s)
        self.clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, _State] = {}

    def _get(self, name: str) -> _State:
        return self._states.setdefault(name, _State())

    def unavailable_reason(self, name: str, rpm: int | None) -> str | None:
        """Why the provider may not be called now (disabled, cooling down, over its rpm), else None."""
        now = self.clock()
        with self._lock:
            st = self._get(name)
            if st.disabled_reason:
                return f"disabled: {st.disabled_reason}"
            if st.cooling_until > now:
                return f"cooling down for {st.cooling_until - now:.1f}s after {st.cooling_reason}"
            if rpm is not None:
                while st.calls and st.calls[0] <= now - 60.0:
                    st.calls.popleft()
                if len(st.calls) >= rpm:
                    return f"rate limit: {rpm} requests per minute reached"
        return None

    def note_call(self, name: str) -> None:
        """Count a request against the provider's per-minute window."""
        with self._lock:
            self._get(name).calls.append(self.clock())

    def note_success(self, name: str) -> None:
        with self._lock:
            self._get(name).failures = 0

    def cool_down(self, name: str, reason: str, retry_after: float | None = None) -> float:
        """Start a cooldown (doubling on consecutive failures, honouring Retry-After); returns its seconds."""
        with self._lock:
            st = self._get(name)
            st.failures += 1
            seconds = min(self.cooldown_s * 2 ** (st.failures - 1), self.max_cooldown_s)
            if retry_after is not None and retry_after > 0:
                seconds = min(max(seconds, retry_after), max(self.max_cooldown_s, retry_after))
            st.cooling_until = max(st.cooling_until, self.clock() + seconds)
            st.cooling_reason = reason
            return seconds

    def disable(self, name: str, reason: str) -> None:
        """Stop using the provider until restart (bad or unauthorised key)."""
        with self._lock:
            self._get(name).disabled_reason = reason

    def snapshot(self, name: str) -> dict[str, object]:
        """Health fields for one provider."""
        now = self.clock()
        with self._lock:
            st = self._get(name)
            out: dict[str, object] = {"consecutive_failures": st.failures}
            if st.disabled_reason:
                out["disabled_reason"] = st.disabled_reason
            if st.cooling_until > now:
                out["cooling_down_s"] = round(st.cooling_until - now, 1)
                out["cooling_reason"] = st.cooling_reason
            out["calls_last_minute"] = sum(1 for t in st.calls if t > now - 60.0)
            return out
