"""Calls to one OpenAI-compatible provider through the `openai` package, with failures sorted by kind."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rag.settings_llm import ProviderSettings

# Placeholder key for local servers that need none (the client insists on a non-empty string).
NO_KEY = "no-key-needed"

_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',]+")

if TYPE_CHECKING:  # `openai` costs ~1.7 s to import: loaded only when a provider's client is built
    import openai


@dataclass
class Completion:
    """What came back: the text and the API's usage figures when it sent them (None otherwise)."""

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int = 0
    finish_reason: str | None = None


class CallFailure(Exception):
    """A failed call, classified so the router knows whether to cool down, disable or just move on."""

    # kinds: timeout, rate_limited, server_error, connection, auth, not_found, bad_request, empty, other
    def __init__(self, kind: str, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        self.message = message


def redact(text: str, secrets: list[str]) -> str:
    """Remove API keys (and anything sent as a bearer token) from text meant for logs or users."""
    for secret in secrets:
        if secret and secret != NO_KEY:
            text = text.replace(secret, "***")
    return _BEARER.sub(r"\1***", text)


def _retry_after(exc: openai.APIStatusError) -> float | None:
    try:
        value = exc.response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


def classify(exc: BaseException, secrets: list[str]) -> CallFailure:
    """Map an exception from the client (or from a stream being read) to a CallFailure with a safe message."""
    if isinstance(exc, CallFailure):
        return exc
    import openai

    if isinstance(exc, openai.APITimeoutError) or "timeout" in type(exc).__name__.lower():
        return CallFailure("timeout", "timed out")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        body = getattr(exc, "body", None)
        raw = body.get("message") if isinstance(body, dict) else None
        raw = raw or getattr(exc, "message", "")
        detail = redact(str(raw or ""), secrets)[:200]
        msg = f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
        if status == 429:
            return CallFailure("rate_limited", msg, status, _retry_after(exc))
        if status in (401, 403):
            return CallFailure("auth", msg, status)
        if status == 404:
            return CallFailure("not_found", msg, status)
        if status >= 500:
            return CallFailure("server_error", msg, status, _retry_after(exc))
        if status in (400, 413, 422):
            return CallFailure("bad_request", msg, status)
        return CallFailure("other", msg, status)
    if isinstance(exc, openai.APIConnectionError):
        return CallFailure("connection", "connection failed: " + redact(str(exc), secrets)[:200])
    return CallFailure("other", f"{type(exc).__name__}: {redact(str(exc), secrets)[:200]}")


def _usage_fields(usage: Any) -> tuple[int | None, int | None, int]:
    if usage is None:
        return None, None, 0
    cached = 0
    details = getattr(usage, "prompt_tokens_details", None)
    if details is not None and getattr(details, "cached_tokens", None):
        cached = int(details.cached_tokens)
    elif getattr(usage, "prompt_cache_hit_tokens", None):  # DeepSeek's spelling
        cached = int(usage.prompt_cache_hit_tokens)
    return getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None), cached


class ChatClient:
    """One provider's client: no automatic retries (the router falls through instead), its own timeout."""

    def __init__(self, provider: ProviderSettings, api_key: str | None):
        self.provider = provider
        import openai

        self._key = api_key or NO_KEY
        self._client = openai.OpenAI(
            api_key=self._key, base_url=provider.base_url, timeout=provider.timeout_s, max_retries=0
        )

    def _args(self, messages: list[dict[str, str]], max_tokens: int, temperature: float) -> dict[str, Any]:
        return {
            "model": self.provider.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }

    def complete(self, messages: list[dict[str, str]], max_tokens: int, temperature: float) -> Completion:
        """One non-streaming call; raises CallFailure."""
        try:
            resp = self._client.chat.completions.create(**self._args(messages, max_tokens, temperature))
        except Exception as exc:  # noqa: BLE001 - every failure is classified, none escapes raw
            raise classify(exc, [self._key]) from None
        choices = getattr(resp, "choices", None) or []
        if not choices or choices[0].message is None:
            raise CallFailure("empty", "response had no choices")
        text = choices[0].message.content or ""
        inp, out, cached = _usage_fields(getattr(resp, "usage", None))
        return Completion(text, inp, out, cached, choices[0].finish_reason)

    def stream(self, messages: list[dict[str, str]], max_tokens: int, temperature: float) -> StreamCall:
        """Start a streaming call; iterate the result for text pieces, then read `.completion`."""
        return StreamCall(self, self._args(messages, max_tokens, temperature))


class StreamCall:
    """Iterates text deltas of a streamed completion; `.completion` holds the whole text and usage after."""

    def __init__(self, client: ChatClient, args: dict[str, Any]):
        self._client = client
        self._args = args
        self.completion: Completion | None = None

    def __iter__(self) -> Iterator[str]:
        key = self._client._key
        args = dict(self._args, stream=True)
        if self._client.provider.stream_usage:
            args["stream_options"] = {"include_usage": True}
        parts: list[str] = []
        usage = None
        finish = None
        try:
            stream = self._client._client.chat.completions.create(**args)
            try:
                for chunk in stream:
                    if getattr(chunk, "usage", None) is not None:
                        usage = chunk.usage
                    for choice in chunk.choices or []:
                        piece = choice.delta.content if choice.delta is not None else None
                        if choice.finish_reason:
                            finish = choice.finish_reason
                        if piece:
                            parts.append(piece)
                            yield piece
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
        except GeneratorExit:
            raise
        except Exception as exc:  # noqa: BLE001 - classified below, never re-raised raw
            raise classify(exc, [key]) from None
        inp, out, cached = _usage_fields(usage)
        self.completion = Completion("".join(parts), inp, out, cached, finish)
