"""A JSON response sent straight through ASGI, for the middlewares that answer before any route runs."""

from __future__ import annotations

import json
from collections.abc import Callable


async def send_json(send: Callable, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
    """`payload` as the whole response, with `headers` (lower-cased) beside the content type and length."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    raw = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
