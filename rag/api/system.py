"""GET /health: open without a key, so load balancers and people can see the service is up."""

from __future__ import annotations

from fastapi import APIRouter, Request

from rag.api.deps import services
from rag.api.schemas import HealthResponse

router = APIRouter(tags=["system"])


@router.get("/health", response_model=HealthResponse, response_model_exclude_unset=True,
            summary="Index size, embedder, configured providers (no keys) and today's spend")
def health(request: Request) -> dict:
    return services(request).health()
