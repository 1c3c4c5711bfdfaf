"""What every router needs: the in-process services the app factory built."""

from __future__ import annotations

from fastapi import Request
from fastapi.security import HTTPBearer

from rag.container import Services

# Declared on the protected routers so the OpenAPI page offers "Authorize"; GuardMiddleware enforces it.
bearer = HTTPBearer(auto_error=False, description="server.api_keys (required when auth is on)")


def services(request: Request) -> Services:
    return request.app.state.services
