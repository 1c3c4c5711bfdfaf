"""One request-body size rule for every route (the API, Gradio's queue, login and upload routes alike).

The outermost middleware, so a body is measured before authentication, before Gradio and before any parser:
the bytes are counted as they arrive (a padded, missing or lying Content-Length changes nothing), the 413 is
sent from here, and the app then sees the client as gone. Duplicate or non-numeric Content-Length, or one
beside Transfer-Encoding, is a 400.

FastAPI's own `FastAPI(max_body_size=...)` (Starlette's RequestBodyLimitMiddleware) also counts streamed
bytes and refused every bypass of issue 16 when measured (benchmarks/body_limit_probe.py), but it has one
limit for the whole app, mounted Gradio included, and per-route limits only for routes we declare: Gradio's
queue and login routes would get the upload limit (50 MB of JSON parsed before Gradio's login check). Hence
this small middleware, with a limit per path and an answer that names the setting.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rag.api.json_reply import send_json

UPLOAD_PATHS = ("/documents", "/ui/gradio_api/upload", "/ui/upload")
# A knowledge base's own upload route (rag/api/documents.py serves it as /documents): a base name has no `/`.
KB_UPLOAD = re.compile(r"/kbs/[^/]+/documents")
MULTIPART_SLACK = 2**20  # form boundaries and part headers around an upload at the size limit


@dataclass(frozen=True)
class BodyLimits:
    """Bytes a request body may have: uploads (`server.max_upload_mb`) and everything else (`max_body_kb`)."""

    upload: int
    other: int

    def for_path(self, path: str) -> tuple[int, str]:
        """The limit for a request path and the setting that sets it."""
        path = path.rstrip("/")
        if path in UPLOAD_PATHS or KB_UPLOAD.fullmatch(path):
            return self.upload, "server.max_upload_mb"
        return self.other, "server.max_body_kb"


async def _reply(send: Callable, status: int, detail: str) -> None:
    await send_json(send, status, {"detail": detail}, {"connection": "close"})


def _declared(headers: list[tuple[bytes, bytes]]) -> tuple[int | None, str | None]:
    """The declared Content-Length, or why the framing headers are refused (duplicates, non-digits, both
    Content-Length and Transfer-Encoding: the shapes request smuggling and limit bypasses use)."""
    lengths = [v for k, v in headers if k.lower() == b"content-length"]
    chunked = any(k.lower() == b"transfer-encoding" for k, _ in headers)
    if not lengths:
        return None, None
    if chunked:
        return None, "both Content-Length and Transfer-Encoding are set"
    values = {v.strip(b" \t") for v in lengths}
    if len(values) != 1 or len(lengths) != 1:
        return None, "more than one Content-Length header"
    value = values.pop()
    if not value.isdigit():
        return None, f"Content-Length {value[:40].decode('latin-1')!r} is not a number"
    return int(value), None


class BodyLimitMiddleware:
    """413 for any body over its path's limit, whatever Content-Length says; 400 for malformed framing."""

    def __init__(self, app: Callable, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = self.limits.for_path(scope.get("path", ""))
        declared, malformed = _declared(scope.get("headers", []))
        if malformed:
            await _reply(send, 400, f"malformed request: {malformed}")
            return
        if declared is not None and declared > limit:
            await _reply(send, 413, f"request body of {declared / 1024:.0f} KB is over the "
                                    f"{limit / 1024:.0f} KB limit ({setting})")
            return
        state = {"size": 0, "over": False, "started": False}

        async def counted_receive() -> dict:
            if state["over"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["size"] += len(message.get("body", b""))
                if state["size"] > limit:
                    state["over"] = True
                    if not state["started"]:
                        state["started"] = True
                        await _reply(send, 413, f"request body is over the {limit / 1024:.0f} KB limit "
                                                f"({setting})")
                    return {"type": "http.disconnect"}  # the app stops reading: the client is "gone"
            return message

        async def guarded_send(message: dict) -> None:
            if state["over"]:
                return  # the 413 is the answer; whatever the app says after it is dropped
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not state["over"]:
                raise
            # The app failed on the cut-off body (ClientDisconnect and the like): the client has its 413.
