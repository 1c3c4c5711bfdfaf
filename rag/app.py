"""FastAPI app factory: settings are loaded here, never at import time."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse

from rag.api.routes import router
from rag.container import Services
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


def create_app(settings: Settings | None = None, services: Services | None = None, ui: bool = True) -> FastAPI:
    """Build the service graph (taking the data-directory lock), the routes and the Gradio UI at /ui."""
    settings = settings or load_settings()
    services = services or Services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        services.close()

    app = FastAPI(title="资料问答 RAG service", version="0.1.0", lifespan=lifespan,
                  description="Cited answers over Chinese reports and news, through the cheapest adequate model.")
    app.state.services = services
    app.include_router(router)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        return JSONResponse(status_code=422, content={"detail": _explain(errors),
                                                      "errors": [{k: e.get(k) for k in ("loc", "msg", "type")}
                                                                 for e in errors]})

    @app.get("/", include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse("/ui/" if ui else "/docs")

    if ui:
        import gradio as gr

        from ui.chat import build_chat

        app = gr.mount_gradio_app(app, build_chat(services), path="/ui")
    return app
