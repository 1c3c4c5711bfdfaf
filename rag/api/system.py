"""GET /health: open without a key, so load balancers and people can see the service is up.

Without a key it says only that the service is up and how big the index is. The details (embedder,
providers and why each is inactive, spend, the data directory) are for a caller with a valid key when auth
is on. With auth off (the loopback default) there is no key to show: the details come without the data
directory and without the providers' reasons, which name key variables and carry raw provider errors.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from rag.api.deps import services
from rag.api.guard import key_matches
from rag.api.schemas import HealthResponse

router = APIRouter(tags=["system"])
PUBLIC = ("status", "documents", "chunks", "keyword_chunks")
PRIVATE_KEYS = {"data_dir", "reason", "error", "errors", "last_error", "path", "key_env"}


def _redacted(value: Any) -> Any:
    """`value` without the PRIVATE_KEYS entries, at any depth."""
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items() if k not in PRIVATE_KEYS}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


@router.get("/health", response_model=HealthResponse, response_model_exclude_unset=True,
            summary="Up, and the index size; with a key: embedder, providers and today's spend")
def health(request: Request) -> dict:
    full = services(request).health()
    if not request.app.state.auth:
        return _redacted(full)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    keys = services(request).settings.server.plain_keys()
    if scheme.lower() == "bearer" and key_matches(token.strip(), keys) is not None:
        return full
    if token:  # a wrong key counts as a failed try (rag/api/throttle.py), as on every other route
        request.state.key_failed = True
    return {k: full[k] for k in PUBLIC if k in full}
