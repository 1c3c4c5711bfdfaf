"""A real OpenAI-compatible HTTP server on loopback with scripted behaviour per model name, for tests.

Behaviour is chosen by the requested model name (or set explicitly with `server.script(model, Script(...))`):

- ``cite*``     answers with the first sentence of chunk [1] (and of [2] when given), each ending in ``[n]``
- ``uncited*``  the same sentences without any ``[n]`` marker
- ``shapes*``   the same sentences cited as ``【n】`` after the full stop and as ``（资料n）`` (marker shapes
  Chinese LLMs use), under an uncited lead-in line ``根据资料，要点如下：``
- ``badcite*``  cites ``[9]``, a chunk that was never given
- ``refuse*``   ``资料中没有找到相关信息。``
- ``status-NNN*`` (e.g. ``status-503``) an OpenAI-style error with that HTTP status (401 echoes the key back,
  as a careless vendor might, so tests can check the client side redacts it)
- ``slow*``     sleeps 2 s before answering (longer than the short test timeouts)
- ``nousage*``  answers like ``cite`` but sends no ``usage`` field
- ``stall*``    streams like ``cite`` but stalls 2 s after the second piece (a mid-stream timeout)
- anything else: like ``cite``

Streaming requests get SSE ``data:`` lines like OpenAI's, ending with a usage chunk when
``stream_options.include_usage`` is set, then ``data: [DONE]``.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from rag.testing.uvicorn_thread import UvicornThread

_CHUNK = re.compile(r"^\[(\d+)\][^\n]*\n(.*?)(?=\n\n\[\d+\]|\n\n问题：|\Z)", re.S | re.M)
_FIRST_SENTENCE = re.compile(r"[^。！？!?\n]+")

REFUSAL = "资料中没有找到相关信息。"


@dataclass
class Script:
    """How the server answers one model name."""

    mode: str = "cite"  # cite | uncited | shapes | badcite | refuse | text | error
    status: int = 200
    text: str = ""  # for mode "text"
    delay_s: float = 0.0  # before the response starts
    chunk_delay_s: float = 0.0  # between streamed pieces
    stall_after: int | None = None  # streamed pieces sent before the stream stalls for `stall_s`
    stall_s: float = 2.0
    usage: bool = True
    retry_after: float | None = None  # Retry-After header on errors
    echo_auth: bool = False  # put the Authorization header into the error message


@dataclass
class Recorded:
    """One request the server received."""

    model: str
    stream: bool
    messages: list[dict[str, Any]]
    max_tokens: int | None
    authorization: str
    body: dict[str, Any] = field(default_factory=dict)


def script_for_name(model: str) -> Script:
    """The default behaviour encoded in a model name."""
    m = re.match(r"status-(\d{3})", model)
    if m:
        status = int(m.group(1))
        return Script(mode="error", status=status, echo_auth=status == 401)
    for prefix in ("uncited", "shapes", "badcite", "refuse", "nousage", "slow", "stall", "cite"):
        if model.startswith(prefix):
            if prefix == "stall":
                return Script(stall_after=2)
            if prefix == "slow":
                return Script(delay_s=2.0)
            if prefix == "nousage":
                return Script(usage=False)
            return Script(mode=prefix)
    return Script()


def _chunks(messages: list[dict[str, Any]]) -> dict[int, str]:
    user = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
    return {int(n): body.strip() for n, body in _CHUNK.findall(user)}


def compose(script: Script, messages: list[dict[str, Any]]) -> str:
    """The scripted answer text for a request."""
    if script.mode == "text":
        return script.text
    if script.mode == "refuse":
        return REFUSAL
    chunks = _chunks(messages)
    sentences: list[tuple[int, str]] = []
    for n in sorted(chunks)[:2]:
        first = _FIRST_SENTENCE.search(chunks[n])
        if first and first.group(0).strip():
            sentences.append((n, first.group(0).strip()))
    if not sentences:
        return REFUSAL
    if script.mode == "uncited":
        return "".join(f"{s}。" for _, s in sentences)
    if script.mode == "shapes":
        forms = ("{s}。【{n}】", "{s}（资料{n}）。")
        return "根据资料，要点如下：\n" + "\n".join(
            "- " + forms[i % 2].format(s=s, n=n) for i, (n, s) in enumerate(sentences))
    if script.mode == "badcite":
        return "".join(f"{s}[9]。" for _, s in sentences)
    return "".join(f"{s}[{n}]。" for n, s in sentences)


def _prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content", ""))) for m in messages) + 3 * len(messages)


class ScriptedOpenAI:
    """The FastAPI app plus the scripts and the log of requests received."""

    def __init__(self) -> None:
        self.scripts: dict[str, Script] = {}
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self._chat)
        self.app.post("/chat/completions")(self._chat)

    def behaviour(self, model: str) -> Script:
        return self.scripts.get(model) or script_for_name(model)

    def calls(self, model: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if model is None or r.model == model]

    async def _chat(self, request: Request) -> Any:
        body = await request.json()
        model = str(body.get("model", ""))
        messages = body.get("messages") or []
        stream = bool(body.get("stream"))
        auth = request.headers.get("authorization", "")
        with self._lock:
            self.requests.append(Recorded(model, stream, messages, body.get("max_tokens"), auth, body))
        script = self.behaviour(model)
        if script.delay_s:
            await asyncio.sleep(script.delay_s)
        if script.mode == "error":
            message = f"scripted failure {script.status}"
            if script.echo_auth:
                message = f"Incorrect API key provided: {auth.removeprefix('Bearer ')}"
            headers = {"retry-after": str(script.retry_after)} if script.retry_after is not None else None
            err = {"error": {"message": message, "type": "scripted", "code": script.status}}
            return JSONResponse(err, status_code=script.status, headers=headers)
        text = compose(script, messages)
        usage = {
            "prompt_tokens": _prompt_tokens(messages),
            "completion_tokens": len(text),
            "total_tokens": _prompt_tokens(messages) + len(text),
        }
        cid = "chatcmpl-" + uuid.uuid4().hex[:12]
        created = int(time.time())
        if not stream:
            out: dict[str, Any] = {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
            }
            if script.usage:
                out["usage"] = usage
            return JSONResponse(out)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and script.usage
        return StreamingResponse(
            self._sse(cid, created, model, text, usage if include_usage else None, script),
            media_type="text/event-stream",
        )

    async def _sse(
        self, cid: str, created: int, model: str, text: str, usage: dict[str, int] | None, script: Script
    ) -> AsyncIterator[bytes]:
        def event(choices: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> bytes:
            payload = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
            payload["choices"] = choices
            if extra:
                payload.update(extra)
            return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()

        yield event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        for piece, i in enumerate(range(0, len(text), 3)):
            if script.stall_after is not None and piece == script.stall_after:
                await asyncio.sleep(script.stall_s)
            if script.chunk_delay_s:
                await asyncio.sleep(script.chunk_delay_s)
            yield event([{"index": 0, "delta": {"content": text[i : i + 3]}, "finish_reason": None}])
        yield event([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        if usage is not None:
            yield event([], {"usage": usage})
        yield b"data: [DONE]\n\n"


class OpenAIServer(UvicornThread):
    """Runs a ScriptedOpenAI app with uvicorn in a background thread on a free loopback port."""

    def __init__(self) -> None:
        self.scripted = ScriptedOpenAI()
        super().__init__(self.scripted.app, lifespan="off")

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def script(self, model: str, script: Script) -> None:
        """Override the behaviour of one model name."""
        self.scripted.scripts[model] = script

    def calls(self, model: str | None = None) -> list[Recorded]:
        return self.scripted.calls(model)
