"""What every router needs: the in-process services the app factory built, and the caller's key scope."""

from __future__ import annotations

from fastapi import Request
from fastapi.security import HTTPBearer

from rag.api.scopes import ALL, NOTHING, KeyScope, scope_for_fingerprint
from rag.container import Services
from rag.services.knowledge_bases import DEFAULT_KB, KbNotFound, KnowledgeBases

# Declared on the protected routers so the OpenAPI page offers "Authorize"; GuardMiddleware enforces it.
bearer = HTTPBearer(auto_error=False, description="server.api_keys (required when auth is on)")


def services(request: Request) -> Services:
    """The default base (the routes from before knowledge bases, and /health)."""
    return request.app.state.services


def knowledge_bases(request: Request) -> KnowledgeBases:
    return request.app.state.kbs


def key_scope(request: Request) -> KeyScope:
    """The bases the request's key may read and write (every base when auth is off)."""
    if not request.app.state.auth:
        return ALL
    fp = getattr(request.state, "key_fingerprint", None)  # set by GuardMiddleware once the key matched
    return NOTHING if fp is None else scope_for_fingerprint(request.app.state.settings, fp)


def base(request: Request, kb: str | None = None, write: bool = False) -> Services:
    """Base `kb` (default: `default`) for this caller: 403 outside its key's scope (checked before whether
    the base exists, so a key learns nothing of bases it may not see), 404 when there is no such base."""
    name = kb or DEFAULT_KB
    scope = key_scope(request)
    scope.require_write(name) if write else scope.require_read(name)
    kbs = knowledge_bases(request)
    try:
        return kbs.get(name)
    except KbNotFound:  # the hint names only the bases this key may read
        raise kbs.not_found(name, [n for n in kbs.names() if scope.can_read(n)]) from None
