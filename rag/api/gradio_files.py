"""Files reach the UI's handlers only through Gradio's upload route, never as a path named in an event.

Gradio's event payloads carry files as `FileData` objects whose `path` the client chooses. Gradio checks that
path against its upload folder only once `blocks.has_launched` is set, which `launch()` does and
`mount_gradio_app` does not; and a `path` that is an http(s) URL is downloaded by the server. So every JSON
body posted under /ui is checked here, before Gradio parses it, whatever the launch flag or auth says; and
`configure_paths` sets the path controls `launch()` would have set, as a second line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

UI_PREFIX = "/ui/"
# Routes whose bodies are forms or multipart uploads: Gradio writes those into its own upload folder.
FORM_ROUTES = ("/ui/gradio_api/upload", "/ui/login", "/ui/gradio_api/process_recording")


def upload_folder() -> Path:
    """Gradio's upload cache (GRADIO_TEMP_DIR or <tmp>/gradio), resolved."""
    from gradio.utils import get_upload_folder

    return Path(os.path.realpath(get_upload_folder()))


def is_uploaded(path: str | os.PathLike[str]) -> bool:
    """Whether `path` is a file inside Gradio's upload cache (symlinks and `..` resolved first)."""
    text = str(path)
    if not text or "://" in text or text.startswith("data:"):
        return False
    real = Path(os.path.realpath(text))
    folder = upload_folder()
    return real != folder and folder in real.parents


def _file_paths(value: Any) -> Iterator[str]:
    """Every `path` of a FileData-like object (any dict with a string `path`) anywhere in a JSON value."""
    if isinstance(value, dict):
        path = value.get("path")
        if isinstance(path, str):
            yield path
        for item in value.values():
            yield from _file_paths(item)
    elif isinstance(value, list):
        for item in value:
            yield from _file_paths(item)


TOO_DEEP = "\0too-deep"


def refused_path(body: bytes) -> str | None:
    """The first file path in a JSON body that is not an upload (None when there is none, or no JSON);
    TOO_DEEP for JSON nested past Python's recursion limit, which Gradio's parser would fail on with a 500."""
    try:
        data = json.loads(body)
    except RecursionError:
        return TOO_DEEP
    except (ValueError, UnicodeDecodeError):
        return None  # not JSON: Gradio's own parser refuses it too
    try:
        return next((p for p in _file_paths(data) if not is_uploaded(p)), None)
    except RecursionError:
        return TOO_DEEP


class GradioFileGuard:
    """400 for a /ui JSON request naming a file that was not uploaded through Gradio's upload route."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") != "POST" or not path.startswith(UI_PREFIX) \
                or path.rstrip("/") in FORM_ROUTES:
            await self.app(scope, receive, send)
            return
        # The body is small here: BodyLimitMiddleware, outside, already cut it at server.max_body_kb.
        parts: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away (or the body limit answered)
            parts.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(parts)
        bad = refused_path(body)
        if bad is not None:
            reason = "refused: the request body is JSON nested too deeply" if bad == TOO_DEEP else \
                ("refused: files can only be given by uploading them (Gradio's upload route); "
                 f"{os.path.basename(bad)[:80]!r} was not uploaded")
            detail = json.dumps({"detail": reason}, ensure_ascii=False).encode()
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"application/json; charset=utf-8"),
                                    (b"content-length", str(len(detail)).encode())]})
            await send({"type": "http.response.body", "body": detail})
            return
        await self.app(scope, replay_body(body, receive), send)


def configure_paths(blocks: Any, blocked: list[Path]) -> None:
    """Gradio's own path check, on for a mounted app: nothing is served or preprocessed from outside its
    upload cache (no extra allowed paths) and never from `blocked` (the data directory)."""
    blocks.allowed_paths = []
    blocks.blocked_paths = [str(Path(p).resolve()) for p in blocked]
    # `_check_allowed` skips itself until this is set; `launch()` sets it, `mount_gradio_app` does not.
    blocks.has_launched = True


def replay_body(body: bytes, original: Callable) -> Callable:
    """Hands the buffered body to the app once, then the real channel (so disconnects are still seen)."""
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return await original()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
