"""API keys, per-key rate limits and request-size limits, enforced before any route runs.

A pure ASGI middleware rather than a FastAPI dependency, so that nothing answers without a key: not the
OpenAPI page, not unknown paths, not a malformed body (which a dependency would see only after FastAPI
parsed it), and streaming responses pass through untouched. The chat UI under /ui is protected by Gradio's
own login (the key is the password), since a browser cannot send a Bearer header.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from rag.api.json_reply import send_json
from rag.errors import RagError

if TYPE_CHECKING:
    from rag.components.shared_state import WindowLimiter

log = logging.getLogger(__name__)

OPEN_PATHS = {"/health", "/", "/favicon.ico"}
UI_PREFIX = "/ui"


def key_matches(given: str, keys: list[str]) -> str | None:
    """The matching key's short fingerprint, or None; compares against every key in constant time."""
    found = None
    given_b = given.encode()
    for key in keys:
        if hmac.compare_digest(given_b, key.encode()):
            found = key
    return None if found is None else hashlib.sha256(found.encode()).hexdigest()[:12]


async def _reply(send: Callable, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    await send_json(send, status, {"detail": detail}, headers)


async def reply_error(send: Callable, exc: RagError) -> None:
    """A known error raised inside a middleware, as the app's handler would answer it (the handlers of
    `create_app` run inside the routes, so an error raised out here would otherwise be a bare 500)."""
    await send_json(send, exc.status, {"error": exc.to_dict(), "detail": str(exc)},
                    {"retry-after": "5"} if exc.status == 503 else None)


def limiter_wait(limiter: WindowLimiter, who: str) -> float | RagError | None:
    """The limiter's answer, or the error of a shared store that does not answer (Redis down: 503, not 500)."""
    try:
        return limiter.retry_after(who)
    except RagError as exc:
        log.warning("rate limit store unavailable: %s", exc)
        return exc


class GuardMiddleware:
    """Checks the Bearer key and the caller's rate of every HTTP request (body sizes are rag/api/body_limit.py's,
    which runs before this, outermost)."""

    def __init__(self, app: Callable, *, keys: list[str], auth: bool, limiter: WindowLimiter) -> None:
        self.app = app
        self.keys = keys
        self.auth = auth
        self.limiter = limiter

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path in OPEN_PATHS or path == UI_PREFIX or path.startswith(UI_PREFIX + "/") \
                or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.auth:
            scheme, _, token = headers.get("authorization", "").partition(" ")
            fingerprint = key_matches(token.strip(), self.keys) if scheme.lower() == "bearer" else None
            if fingerprint is None:
                reason = "missing API key" if not token else "invalid API key"
                await _reply(send, 401, f"{reason}: send `Authorization: Bearer <key>` (server.api_keys)",
                             {"WWW-Authenticate": "Bearer"})
                return
            # Routes read it (request.state.key_fingerprint) for the key's knowledge-base scope (rag/api/scopes.py).
            scope.setdefault("state", {})["key_fingerprint"] = fingerprint
            wait = limiter_wait(self.limiter, fingerprint)
            if isinstance(wait, RagError):
                await reply_error(send, wait)
                return
            if wait is not None:
                seconds = max(1, math.ceil(wait))
                await _reply(send, 429, f"rate limit of {self.limiter.per_minute} requests per minute per key "
                                        f"reached; retry in {seconds} s", {"Retry-After": str(seconds)})
                return
        await self.app(scope, receive, send)
