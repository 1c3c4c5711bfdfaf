"""OpenAI-compatible /v1/models and /v1/chat/completions, so any OpenAI client or chat app can ask.

The last user message is the question and the earlier turns are its history (a follow-up is rewritten into
a standalone question). The reply text carries `[n]` markers; the response adds `citations` (and `cost`,
CNY) beside the standard fields. Streaming sends `chat.completion.chunk` events and `data: [DONE]`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from rag.api.deps import bearer, services
from rag.api.schemas import ChatCompletionRequest, ChatCompletionResponse, ModelList
from rag.components.llm.tokens import estimate_tokens
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


@router.get("/models", response_model=ModelList, summary="The models this endpoint answers as")
def list_models() -> dict:
    return {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "rag-cn",
                                        "description": d} for m, d in MODELS.items()]}


@router.post("/chat/completions", response_model=ChatCompletionResponse, response_model_exclude_unset=True,
             summary="OpenAI chat completions over the indexed documents, with citations",
             description="With `stream: true` the answer comes as `chat.completion.chunk` server-sent events "
                         "ending in `data: [DONE]`; the last chunk carries `usage`, `citations` and `cost`.")
def chat_completions(body: ChatCompletionRequest, request: Request):
    if body.model not in MODELS:
        return _error(404, f"model {body.model!r} does not exist; available: {', '.join(MODELS)}",
                      "model_not_found")
    svc = services(request)
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

    def events() -> Iterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        streamed = ""
        replaced = False
        for event in svc.stream(question, body.top_k, filters, history):
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
