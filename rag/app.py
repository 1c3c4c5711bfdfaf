"""FastAPI app factory: settings are loaded here, never at import time."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse

from rag.api import ask, documents, kbs, openai_compat, system
from rag.api.body_limit import MULTIPART_SLACK, BodyLimitMiddleware, BodyLimits
from rag.api.gradio_files import GradioFileGuard, configure_paths
from rag.api.guard import GuardMiddleware
from rag.api.scopes import ALL, NOTHING, KeyScope, scope_for_fingerprint
from rag.api.throttle import FailureThrottle, ThrottleMiddleware, UiSessions, ui_login
from rag.components.shared_state import build_rate_limiter
from rag.container import Services
from rag.errors import RagError, SettingsError
from rag.services.knowledge_bases import KnowledgeBases
from rag.settings import Settings, load_settings


def _explain(errors: list[dict]) -> str:
    """One readable sentence from pydantic's error list (e.g. 'question: question must not be empty')."""
    parts = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        if err.get("type") == "json_invalid":
            parts.append("the request body is not valid JSON")
        elif err.get("type") == "missing":
            parts.append(f"{loc or 'body'}: field required")
        else:
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid request"


def error_response(exc: RagError) -> JSONResponse:
    """A known error as `{"error": {"code", "message", "hint"?}}` with its status (`detail` kept for old clients)."""
    return JSONResponse(status_code=exc.status, content={"error": exc.to_dict(), "detail": str(exc)})


class AuthWithoutKeys(SettingsError):
    """Auth is required (non-loopback bind or auth: on) but no API key is configured."""

    code = "auth_without_keys"


def check_auth_settings(settings: Settings, host: str | None = None) -> bool:
    """Whether keys are required on `host`; raises AuthWithoutKeys when they are but none is configured."""
    server = settings.server
    auth = server.auth_enabled(host)
    if auth and not server.api_keys:
        raise AuthWithoutKeys(
            f"API keys are required when serving on {host or server.host} (server.auth: {server.auth}) but "
            "server.api_keys is empty", hint="set RAG_SERVER__API_KEYS='[\"<key>\"]', bind to 127.0.0.1, "
            "or set server.auth: off")
    return auth


def create_app(settings: Settings | None = None, services: Services | None = None, ui: bool = True,
               host: str | None = None, knowledge_bases: KnowledgeBases | None = None) -> FastAPI:
    """Build the service graph (taking the data-directory lock), the routes and the Gradio UI at /ui.

    `host` is the address the server will bind (default: server.host); it decides whether API keys are
    required when server.auth is `auto`. `services` is an open default base (the other bases open beside it,
    on first use); `knowledge_bases` an open library of bases.
    """
    settings = settings or load_settings()
    server = settings.server
    auth = check_auth_settings(settings, host)
    if knowledge_bases is None:
        knowledge_bases = KnowledgeBases(settings, default=services)
    bases = knowledge_bases
    services = bases.get()
    sessions = UiSessions()  # a UI login's key, for the UI's knowledge-base scope

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        bases.close()

    app = FastAPI(title="资料问答 RAG service", version="0.1.0", lifespan=lifespan,
                  description="Cited answers over Chinese reports and news, through the cheapest adequate model.")
    app.state.services = services
    app.state.kbs = bases
    app.state.settings = settings
    app.state.auth = auth
    for module in (ask, documents, kbs, openai_compat, system):
        app.include_router(module.router)
    limiter = build_rate_limiter(settings)  # shared by every worker (rag/components/shared_state.py)
    limits = BodyLimits(upload=int(server.max_upload_mb * 2**20) + MULTIPART_SLACK,
                        other=int(server.max_body_kb * 1024))
    app.add_middleware(GuardMiddleware, keys=server.plain_keys(), auth=auth, limiter=limiter)
    # Outside the key check: failed keys and logins per address, and the UI's calls under its key's limit.
    app.add_middleware(ThrottleMiddleware, auth=auth, limiter=limiter,
                       failures=FailureThrottle(server.auth_failures_per_minute), sessions=sessions)
    app.add_middleware(GradioFileGuard)  # /ui events may name only files uploaded through Gradio
    # Always added, even with no origins, so Gradio's own CORS layer (any localhost origin, with
    # credentials) stands aside for the mounted UI and server.cors_origins rules /ui as it rules the API.
    # Outside the key check: preflight requests carry no key.
    app.add_middleware(CORSMiddleware, allow_origins=server.cors_origins,
                       allow_methods=["GET", "POST", "PATCH", "DELETE"],
                       allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(BodyLimitMiddleware, limits=limits)  # outermost: before auth, CORS and any parser

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        content = {"detail": _explain(errors), "errors": [{k: e.get(k) for k in ("loc", "msg", "type")}
                                                          for e in errors]}
        if request.url.path.startswith("/v1/"):  # OpenAI clients read error.message
            content["error"] = {"message": content["detail"], "type": "invalid_request_error", "code": None}
        return JSONResponse(status_code=422, content=content)

    @app.exception_handler(RagError)
    async def _known(request: Request, exc: RagError) -> JSONResponse:
        return error_response(exc)

    @app.get("/", include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse("/ui/" if ui else "/docs")

    if ui:
        import gradio as gr

        from ui.page import build_ui

        def scope_of(request: gr.Request | None) -> KeyScope:
            """The UI session's scope: the key its login used (every base with auth off, none without a login)."""
            if not auth:
                return ALL
            cookies = getattr(request, "cookies", None) or {}
            fp = sessions.fingerprint_of(cookies.values())
            return NOTHING if fp is None else scope_for_fingerprint(settings, fp)

        blocks = build_ui(bases, scope_of)
        app = gr.mount_gradio_app(app, blocks, path="/ui", auth=ui_login(server.plain_keys()) if auth else None,
                                  auth_message="用户名任意，密码填写 API key。" if auth else None,
                                  allowed_paths=[], blocked_paths=[str(services.data_dir.resolve())])
        configure_paths(blocks, blocked=[services.data_dir])
    return app
