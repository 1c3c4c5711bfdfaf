"""/ask, /ask/stream, /health and /documents."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse

from rag.api.schemas import AskRequest, AskResponse
from rag.container import Services
from rag.services.ingest import IngestReport

router = APIRouter()


def _services(request: Request) -> Services:
    return request.app.state.services


@router.post("/ask", response_model=AskResponse, summary="Answer a question with citations")
def ask(body: AskRequest, request: Request) -> dict:
    return _services(request).ask(body.question, body.top_k).to_dict()


@router.post("/ask/stream", response_class=EventSourceResponse, summary="Stream the answer as SSE events")
def ask_stream(body: AskRequest, request: Request) -> Iterator[dict]:
    yield from _services(request).answers.stream(body.question, body.top_k)


@router.get("/health", summary="Index size, embedder and LLM provider state")
def health(request: Request) -> dict:
    return _services(request).health()


@router.get("/documents", summary="List indexed documents")
def list_documents(request: Request) -> dict:
    docs = _services(request).list_documents()
    return {"count": len(docs), "documents": docs}


@router.delete("/documents/{doc_id}", summary="Remove a document and its chunks from both indexes")
def delete_document(doc_id: str, request: Request) -> dict:
    if not _services(request).delete_document(doc_id):
        raise HTTPException(404, f"no document with id {doc_id!r}")
    return {"deleted": doc_id}


@router.get("/documents/check", summary="Do the vector store, keyword index and registry agree?")
def check_documents(request: Request) -> dict:
    return _services(request).library.check()


@router.post("/documents/repair", summary="Mend what /documents/check finds, then check again")
def repair_documents(request: Request) -> dict:
    services = _services(request)
    with services._write:
        return services.library.repair()


@router.post("/documents", summary="Upload files to ingest (txt, md, html, pdf, docx, news records)")
async def upload_documents(files: list[UploadFile], request: Request) -> dict:
    services = _services(request)
    limit = int(services.settings.server.max_upload_mb * 1024 * 1024)
    declared = int(request.headers.get("content-length") or 0)
    if declared > limit + 64 * 1024 * len(files):
        raise HTTPException(413, f"upload of {declared / 2**20:.1f} MB is over the "
                                 f"{limit / 2**20:.0f} MB limit (server.max_upload_mb)")
    report = IngestReport()
    for f in files:
        data = await f.read(limit + 1)
        name = f.filename or "upload.txt"
        if len(data) > limit:
            report.errors.append({"path": name, "error": f"{name}: over the {limit / 2**20:.0f} MB upload "
                                                          "limit (server.max_upload_mb)"})
            continue
        report.merge(await run_in_threadpool(services.ingest_bytes, data, name))
    return report.to_dict()
