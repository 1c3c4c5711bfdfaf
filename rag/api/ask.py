"""POST /ask and POST /ask/stream (server-sent events), within one knowledge base or several."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.sse import EventSourceResponse

from rag.api.deps import base, bearer, knowledge_bases
from rag.api.schemas import ERRORS, AskRequest, AskResponse, StreamEventOut
from rag.services.knowledge_bases import KbNotFound
from rag.types import Answer, DoneEvent

router = APIRouter(tags=["ask"], dependencies=[Depends(bearer)])


def _bases(body: AskRequest, request: Request) -> list[str]:
    """The bases the question names, each checked against the key's scope (403) and opened (404).

    A dependency, so it runs before a stream's first byte: its errors are real 403/404 responses."""
    names = body.bases()
    for name in names:
        base(request, name)
    return names


Bases = Annotated[list[str], Depends(_bases)]


@router.post("/ask", response_model=AskResponse, response_model_exclude_unset=True, responses=ERRORS,
             summary="Answer a question with citations, model and cost")
def ask(body: AskRequest, request: Request, names: Bases) -> dict:
    filters = body.filters.to_filters() if body.filters else None
    return knowledge_bases(request).ask(names, body.question, body.top_k, filters, body.history_dicts()).to_dict()


@router.post("/ask/stream", response_class=EventSourceResponse, response_model_exclude_unset=True,
             summary="Stream the answer: `token` events, then `done` with citations and cost",
             description="Events: optional `rewrite` (the standalone question), `token` (text), `reset` "
                         "(discard the text so far: a provider failed or the answer escalated), `done` "
                         "(the authoritative answer with citations, model, cost, latency).")
def ask_stream(body: AskRequest, request: Request, names: Bases) -> Iterator[StreamEventOut]:
    filters = body.filters.to_filters() if body.filters else None
    try:
        for event in knowledge_bases(request).stream(names, body.question, body.top_k, filters,
                                                     body.history_dicts()):
            yield event.to_dict()
    except KbNotFound as exc:
        # Deleted between the dependency's check and the stream's first byte: the status is sent already, so
        # the stream ends with a refusal naming the deletion (as one deleted mid-answer does), not a cut-off.
        yield DoneEvent(Answer(answer=exc.message, citations=[], model="none", refused=True)).to_dict()
