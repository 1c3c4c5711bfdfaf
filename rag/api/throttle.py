"""Key guessing is throttled per client address, and a UI session is rate-limited by the key it logged in with.

`GuardMiddleware` (rag/api/guard.py) checks API keys; this middleware sits outside it and watches outcomes:
a request that presented a wrong key (401) or a failed /ui/login counts against the caller's address, and
after `max_failures` in a minute that address gets 429 with Retry-After until the window frees up. The UI
cannot send a Bearer header, so its password is the key: the login callback notes which key matched, the
session cookie Gradio sets is tied to that key's fingerprint, and the UI's event calls are then counted in
the same per-key window (rag/components/shared_state.py) as the API's requests.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING

from rag.api.guard import OPEN_PATHS, key_matches, limiter_wait, reply_error
from rag.api.json_reply import send_json
from rag.errors import RagError

if TYPE_CHECKING:
    from rag.components.shared_state import WindowLimiter

LOGIN_PATHS = ("/ui/login",)
# Event calls of the UI: what a script hammering the UI posts (page assets and heartbeats are not counted).
UI_CALLS = ("/ui/gradio_api/queue/join", "/ui/gradio_api/call/", "/ui/gradio_api/run/", "/ui/gradio_api/api/",
            "/ui/gradio_api/upload")
MAX_SESSIONS = 10_000
_login: ContextVar[dict | None] = ContextVar("rag_ui_login", default=None)


class FailureThrottle:
    """Sliding one-minute window of failed credentials per client address."""

    def __init__(self, max_failures: int | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _window(self, who: str, now: float) -> deque[float]:
        window = self._seen.setdefault(who, deque())
        while window and now - window[0] >= 60:
            window.popleft()
        if not window:
            self._seen.pop(who, None)
        return window

    def retry_after(self, who: str) -> float | None:
        """Seconds until `who` may try again, or None when it may try now."""
        if not self.max_failures:
            return None
        now = self._clock()
        with self._lock:
            window = self._window(who, now)
            return 60 - (now - window[0]) if len(window) >= self.max_failures else None

    def failed(self, who: str) -> None:
        if not self.max_failures:
            return
        now = self._clock()
        with self._lock:
            window = self._window(who, now)
            window.append(now)
            self._seen[who] = window


def ui_login(keys: list[str]) -> Callable[[str, str], bool]:
    """Gradio's `auth` callback: the password must be an API key; notes the key's fingerprint for the session."""

    def check(_user: str, password: str) -> bool:
        fingerprint = key_matches(password or "", keys)
        box = _login.get()
        if box is not None:
            box["fingerprint"] = fingerprint
        return fingerprint is not None

    return check


async def _reply(send: Callable, status: int, detail: str, retry: int) -> None:
    await send_json(send, status, {"detail": detail}, {"retry-after": str(retry)})


def _session_tokens(headers: list[tuple[bytes, bytes]]) -> list[str]:
    """Values of Gradio's access-token cookies in a request."""
    out = []
    for k, v in headers:
        if k.lower() != b"cookie":
            continue
        jar = SimpleCookie()
        try:
            jar.load(v.decode("latin-1"))
        except Exception:  # noqa: BLE001 - a malformed cookie is simply not a session
            continue
        out += [m.value for name, m in jar.items() if name.startswith("access-token")]
    return out


def _set_tokens(headers: list[tuple[bytes, bytes]]) -> list[str]:
    """Values of the access-token cookies a response sets."""
    out = []
    for k, v in headers:
        if k.lower() == b"set-cookie":
            name, _, rest = v.decode("latin-1").partition("=")
            if name.strip().startswith("access-token"):
                out.append(rest.split(";", 1)[0].strip())
    return out


class UiSessions:
    """Gradio session token -> the fingerprint of the key it logged in with (the newest MAX_SESSIONS kept).

    Shared by the middleware (which fills it at login) and the app (whose UI asks which key a session used,
    for its knowledge-base scope: `fingerprint_of(request.cookies.values())`)."""

    def __init__(self) -> None:
        self._sessions: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, session: str, fingerprint: str) -> None:
        with self._lock:
            self._sessions[session] = fingerprint
            self._sessions.move_to_end(session)
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)

    def fingerprint_of(self, tokens: Iterable[str]) -> str | None:
        with self._lock:
            return next((self._sessions[t] for t in tokens if t in self._sessions), None)


class ThrottleMiddleware:
    """429 for addresses that keep failing credentials, and for UI sessions over their key's rate."""

    def __init__(self, app: Callable, *, auth: bool, failures: FailureThrottle, limiter: WindowLimiter,
                 sessions: UiSessions | None = None) -> None:
        self.app = app
        self.auth = auth
        self.failures = failures
        self.limiter = limiter
        self.sessions = sessions if sessions is not None else UiSessions()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or not self.auth or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        headers = scope.get("headers", [])
        client = (scope.get("client") or ("?", 0))[0]
        login = path.rstrip("/") in LOGIN_PATHS and scope.get("method") == "POST"
        presented = any(k.lower() == b"authorization" for k, _ in headers)
        api = not path.startswith("/ui") and (path not in OPEN_PATHS or path == "/health")
        if login or (api and presented):
            wait = self.failures.retry_after(client)
            if wait is not None:
                seconds = max(1, math.ceil(wait))
                await _reply(send, 429, f"too many failed keys or logins from {client}: "
                                        f"{self.failures.max_failures} a minute; retry in {seconds} s", seconds)
                return
        if path.startswith(UI_CALLS) and scope.get("method") == "POST":
            fingerprint = self._fingerprint(headers)
            wait = limiter_wait(self.limiter, fingerprint) if fingerprint else None
            if isinstance(wait, RagError):
                await reply_error(send, wait)
                return
            if wait is not None:
                seconds = max(1, math.ceil(wait))
                await _reply(send, 429, f"rate limit of {self.limiter.per_minute} requests per minute per key "
                                        f"reached; retry in {seconds} s", seconds)
                return
        box: dict = {}
        token = _login.set(box) if login else None

        async def watch(message: dict) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                if login and status != 200:
                    self.failures.failed(client)
                elif login and box.get("fingerprint"):
                    for value in _set_tokens(message.get("headers", [])):
                        self._remember(value, box["fingerprint"])
                elif api and presented and status == 401:
                    self.failures.failed(client)
            await send(message)

        state = scope.setdefault("state", {})  # /health says so here when it was sent a wrong key
        try:
            await self.app(scope, receive, watch)
        finally:
            if token is not None:
                _login.reset(token)
        if state.get("key_failed"):
            self.failures.failed(client)

    def _remember(self, session: str, fingerprint: str) -> None:
        self.sessions.remember(session, fingerprint)

    def _fingerprint(self, headers: list[tuple[bytes, bytes]]) -> str | None:
        return self.sessions.fingerprint_of(_session_tokens(headers))
