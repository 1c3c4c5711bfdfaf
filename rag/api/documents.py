"""/documents: upload (multipart), list (paged), show, delete, and the index consistency check."""

from __future__ import annotations

from pathlib import PurePosixPath

from fastapi import APIRouter, Depends, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from rag.api.deps import bearer, services
from rag.services.ingest import IngestReport

router = APIRouter(tags=["documents"], dependencies=[Depends(bearer)])


def safe_name(filename: str | None) -> str:
    """The last path component only: `../../etc/passwd` and `C:\\x\\y.txt` become `passwd` and `y.txt`."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip().lstrip(".")
    name = "".join(ch for ch in name if ch.isprintable())[:200]
    return name or "upload.txt"


@router.get("/documents", summary="List indexed documents, a page at a time")
def list_documents(request: Request, offset: int = Query(0, ge=0),
                   limit: int = Query(50, ge=1, le=1000)) -> dict:
    page = services(request).list_documents(offset, limit)
    return {**page, "limit": limit, "count": len(page["documents"])}


@router.get("/documents/check", summary="Do the vector store, keyword index and registry agree?")
def check_documents(request: Request) -> dict:
    return services(request).check_index()


@router.post("/documents/repair", summary="Mend what /documents/check finds, then check again")
def repair_documents(request: Request) -> dict:
    return services(request).repair_index()


@router.get("/documents/{doc_id}", summary="One document: its record and its chunks")
def get_document(doc_id: str, request: Request) -> dict:
    doc = services(request).get_document(doc_id)
    if doc is None:
        raise HTTPException(404, f"no document with id {doc_id!r}")
    return doc


@router.delete("/documents/{doc_id}", summary="Remove a document and its chunks from both indexes")
def delete_document(doc_id: str, request: Request) -> dict:
    if not services(request).delete_document(doc_id):
        raise HTTPException(404, f"no document with id {doc_id!r}")
    return {"deleted": doc_id}


@router.post("/documents", summary="Upload files (field `files`): txt, md, html, pdf, docx, xlsx, csv, pptx, "
                                    "epub, eml, images (OCR), news records",
             description="Each file is ingested on its own; the answer lists the new and already-indexed "
                         "document ids and one status per file; `skipped` lists files of an unsupported type "
                         "(with why) and `skipped_count` counts them. 200 when at least one file was indexed or "
                         "was already there; 413 when every file was over the size limit; 400 otherwise.")
async def upload_documents(files: list[UploadFile], request: Request) -> JSONResponse:
    svc = services(request)
    limit = int(svc.settings.server.max_upload_mb * 1024 * 1024)
    report = IngestReport()
    statuses: list[dict] = []
    too_large = 0
    for f in files:
        name = safe_name(f.filename)
        data = await f.read(limit + 1)
        if len(data) > limit:
            too_large += 1
            error = f"{name}: over the {limit / 2**20:g} MB upload limit (server.max_upload_mb)"
            report.errors.append({"path": name, "error": error})
            statuses.append({"file": name, "status": "error", "error": error, "ids": []})
            continue
        part = await run_in_threadpool(svc.ingest_bytes, data, name)
        report.merge(part)
        ids = [a["doc_id"] for a in part.added] + part.unchanged_ids
        if part.errors and not ids:
            statuses.append({"file": name, "status": "error", "error": part.errors[0]["error"], "ids": []})
        else:
            statuses.append({"file": name, "status": "added" if part.added else "unchanged", "ids": ids,
                             "chunks": part.chunks, **({"errors": part.errors} if part.errors else {})})
    ids = [i for s in statuses for i in s["ids"]]
    body = {"ids": ids, "files": statuses, **report.to_dict(), "skipped_count": len(report.skipped)}
    if ids or not files:
        return JSONResponse(body)
    code = 413 if too_large == len(files) else 400
    detail = "; ".join(s["error"] for s in statuses)
    return JSONResponse({"detail": detail, **body}, status_code=code)
