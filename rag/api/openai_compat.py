"""OpenAI-compatible /v1/models and /v1/chat/completions, so any OpenAI client or chat app can ask.

The last user message is the question and the earlier turns are its history (a follow-up is rewritten into
a standalone question). The model names the knowledge base: `rag` is the default base, `rag/<kb>` or
`rag:<kb>` another (each readable base is listed by /v1/models). The reply text carries `[n]` markers; the
response adds `citations` (and `cost`, CNY) beside the standard fields. Streaming sends `chat.completion.chunk`
events and `data: [DONE]`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from rag.api.deps import base, bearer, key_scope, knowledge_bases
from rag.api.schemas import ChatCompletionRequest, ChatCompletionResponse, ModelList
from rag.components.llm.tokens import estimate_tokens
from rag.services.knowledge_bases import DEFAULT_KB
from rag.types import DoneEvent, ResetEvent, TokenEvent

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(bearer)])

MODELS = {
    "rag": "answers through the cheapest configured LLM that answers well (extractive when none is ready)",
}
# Shown in place of text a provider streamed before it failed or its answer escalated: an OpenAI stream
# cannot take text back, so the authoritative answer follows this line.
REPLACED = "\n\n——（上面的回答已作废，以下为最终回答）——\n\n"


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "code": code}},
                        status_code=status)


def _usage(answer: dict[str, Any], prompt: str) -> dict[str, int]:
    inp = int(answer.get("input_tokens") or estimate_tokens(prompt))
    out = int(answer.get("output_tokens") or estimate_tokens(answer["answer"]))
    return {"prompt_tokens": inp, "completion_tokens": out, "total_tokens": inp + out}


def _extras(answer: dict[str, Any]) -> dict[str, Any]:
    keep = ("citations", "cost", "refused", "latency_ms", "standalone_question", "fallback_reason")
    return {"citations": answer["citations"], "answered_by": answer["model"],
            **{k: answer[k] for k in keep[1:] if k in answer}}


def model_kb(model: str) -> str | None:
    """The knowledge base a model name asks: `rag` the default, `rag/<kb>` or `rag:<kb>` base kb; else None."""
    if model in MODELS:
        return DEFAULT_KB
    for prefix in ("rag/", "rag:"):
        if model.startswith(prefix) and len(model) > len(prefix):
            return model[len(prefix):]
    return None


@router.get("/models", response_model=ModelList, summary="The models this endpoint answers as: `rag` (the "
            "default knowledge base) and `rag/<kb>` for each base the key may read")
def list_models(request: Request) -> dict:
    scope = key_scope(request)
    cards = [{"id": m, "description": d} for m, d in MODELS.items() if scope.can_read(DEFAULT_KB)]
    cards += [{"id": f"rag/{kb}", "description": f"answers within the knowledge base {kb!r}"}
              for kb in knowledge_bases(request).names() if kb != DEFAULT_KB and scope.can_read(kb)]
    return {"object": "list", "data": [{**c, "object": "model", "created": 0, "owned_by": "rag-cn"} for c in cards]}


@router.post("/chat/completions", response_model=ChatCompletionResponse, response_model_exclude_unset=True,
             summary="OpenAI chat completions over the indexed documents, with citations",
             description="With `stream: true` the answer comes as `chat.completion.chunk` server-sent events "
                         "ending in `data: [DONE]`; the last chunk carries `usage`, `citations` and `cost`.")
def chat_completions(body: ChatCompletionRequest, request: Request):
    kb = model_kb(body.model)
    if kb is None:
        return _error(404, f"model {body.model!r} does not exist; available: rag, rag/<knowledge base>",
                      "model_not_found")
    svc = base(request, kb)  # 403 outside the key's scope, 404 for an unknown base
    turns = [m for m in body.messages if m.role != "system"]
    question = turns[-1].content.strip()
    history = [m.model_dump() for m in turns[:-1]]
    filters = body.filters.to_filters() if body.filters else None
    created = int(time.time())
    cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    if not body.stream:
        answer = svc.ask(question, body.top_k, filters, history).to_dict()
        return {"id": cid, "object": "chat.completion", "created": created, "model": body.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer["answer"]},
                             "finish_reason": "stop"}],
                "usage": _usage(answer, question), **_extras(answer)}

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        payload = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": body.model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

    # Opened here, before the response starts: a base deleted by now is a real 404; one deleted later ends
    # the stream with a refusal naming the deletion (Services._stream).
    stream = svc.stream(question, body.top_k, filters, history)

    def events() -> Iterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        streamed = ""
        replaced = False
        for event in stream:
            if isinstance(event, TokenEvent) and not replaced:
                streamed += event.text
                yield chunk({"content": event.text})
            elif isinstance(event, ResetEvent) and streamed:
                replaced = True
            elif isinstance(event, DoneEvent):
                answer = event.answer.to_dict()
                if replaced or (streamed and streamed.strip() != answer["answer"].strip()):
                    yield chunk({"content": REPLACED + answer["answer"]})
                elif not streamed:
                    yield chunk({"content": answer["answer"]})
                yield chunk({}, "stop", usage=_usage(answer, question), **_extras(answer))
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
