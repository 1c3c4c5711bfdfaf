"""/documents: upload (multipart), list (paged), show, delete, and the index consistency check.

Each route is served twice from the same function: at `/documents...` for the `default` base (as before
knowledge bases) and at `/kbs/{kb}/documents...` for any base; the caller's key must be allowed to read the base
(list, show, check) or write it (upload, delete, repair), else 403.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from rag.api.deps import base, bearer
from rag.api.schemas import (
    ERRORS,
    Deleted,
    DocumentDetail,
    DocumentsPage,
    ErrorResponse,
    IndexCheck,
    RepairReport,
    UploadReport,
)
from rag.services.ingest import UPLOAD_ORIGIN, IngestReport
from rag.services.knowledge_bases import DEFAULT_KB
from rag.sources import without_server_path

router = APIRouter(tags=["documents"], dependencies=[Depends(bearer)])
PREFIXES = ("/documents", "/kbs/{kb}/documents")


def route(method: str, path: str, **kwargs):
    """Register the endpoint under both prefixes (`kb` is a path parameter under /kbs, else `default`)."""

    def register(func):
        for prefix in PREFIXES:
            router.add_api_route(prefix + path, func, methods=[method], **kwargs)
        return func

    return register


MAX_NAME = 200


def safe_name(filename: str | None) -> str:
    """The last path component only: `../../etc/passwd` and `C:\\x\\y.txt` become `passwd` and `y.txt`."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip().lstrip(".")
    name = "".join(ch for ch in name if ch.isprintable())
    return shorten(name) or "upload.txt"


def stored_name(filename: str | None) -> str:
    """The name an upload is stored under: its folders kept (`team-b/report.txt` is not `report.txt`), with
    `..`, `.`, roots and drive letters dropped, so a name is a label and never a place on the server."""
    parts = []
    for part in (filename or "").replace("\\", "/").split("/"):
        part = "".join(ch for ch in part if ch.isprintable()).strip().lstrip(".")
        if part and not (len(parts) == 0 and part.endswith(":")):  # `C:` of a Windows path
            parts.append(part)
    while parts and len("/".join(parts)) > MAX_NAME and len(parts) > 1:
        parts.pop(0)  # a long folder prefix goes before the file's own name is shortened
    return shorten("/".join(parts)) or "upload.txt"


def shorten(name: str, limit: int = MAX_NAME) -> str:
    """`name` cut to `limit` characters keeping its extension, so the reader is still chosen by it."""
    if len(name) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 16 or "/" in ext:
        return name[:limit]
    return stem[: limit - len(ext) - 2] + "…." + ext


def public_doc(doc: dict) -> dict:
    """A document record as the API shows it: where it came from by kind and name, never a server path."""
    origin = str(doc.get("origin") or "")
    out = {**doc, "origin": "upload" if origin.startswith(UPLOAD_ORIGIN) else "file"}
    out["source"] = without_server_path(str(doc.get("source") or ""))
    if isinstance(doc.get("metadata"), dict) and "path" in doc["metadata"]:
        out["metadata"] = {**doc["metadata"], "path": without_server_path(str(doc["metadata"]["path"]))}
    return out


@route("GET", "", response_model=DocumentsPage, responses=ERRORS,
       summary="List indexed documents, a page at a time")
def list_documents(request: Request, offset: int = Query(0, ge=0),
                   limit: int = Query(50, ge=1, le=1000), kb: str = DEFAULT_KB) -> dict:
    page = base(request, kb).list_documents(offset, limit)
    page["documents"] = [public_doc(d) for d in page["documents"]]
    return {**page, "limit": limit, "count": len(page["documents"])}


@route("GET", "/check", response_model=IndexCheck, responses=ERRORS,
       summary="Do the vector store, keyword index and registry agree?")
def check_documents(request: Request, kb: str = DEFAULT_KB) -> dict:
    return base(request, kb).check_index()


@route("POST", "/repair", response_model=RepairReport, responses=ERRORS,
       summary="Mend what /documents/check finds, then check again")
def repair_documents(request: Request, kb: str = DEFAULT_KB) -> dict:
    return base(request, kb, write=True).repair_index()


@route("GET", "/{doc_id}", response_model=DocumentDetail, responses={404: {"model": ErrorResponse}, **ERRORS},
       summary="One document: its record and its chunks")
def get_document(doc_id: str, request: Request, kb: str = DEFAULT_KB) -> dict:
    doc = base(request, kb).get_document(doc_id)
    if doc is None:
        raise HTTPException(404, f"no document with id {doc_id!r}")
    return public_doc(doc)


@route("DELETE", "/{doc_id}", response_model=Deleted, responses={404: {"model": ErrorResponse}, **ERRORS},
       summary="Remove a document and its chunks from both indexes")
def delete_document(doc_id: str, request: Request, kb: str = DEFAULT_KB) -> dict:
    if not base(request, kb, write=True).delete_document(doc_id):
        raise HTTPException(404, f"no document with id {doc_id!r}")
    return {"deleted": doc_id}


@route("POST", "", summary="Upload files (field `files`): txt, md, html, pdf, docx, xlsx, csv, pptx, "
                                    "epub, eml, images (OCR), news records",
       response_model=UploadReport, responses={400: {"model": UploadReport}, 413: {"model": UploadReport},
                                               **ERRORS},
       description="Each file is ingested on its own; the answer lists the new and already-indexed "
                   "document ids and one status per file. A file named like an indexed document with "
                   "other content is kept beside it (`report (2).txt`, see `stored_as`) unless the form "
                   "field `replace` is true, which replaces the document of that name (`replaced`). "
                   "200 when at least one file was indexed or was already there; 413 when every file "
                   "was over the size limit; 400 otherwise. `skipped` lists files of an unsupported type "
                   "(with why) and `skipped_count` counts them.")
async def upload_documents(files: list[UploadFile], request: Request, replace: bool = Form(False),
                           kb: str = DEFAULT_KB) -> JSONResponse:
    svc = await run_in_threadpool(base, request, kb, True)  # may open the base: off the event loop
    limit = int(svc.settings.server.max_upload_mb * 1024 * 1024)
    report = IngestReport()
    statuses: list[dict] = []
    too_large = 0
    for f in files:
        name, stored = safe_name(f.filename), stored_name(f.filename)
        data = await f.read(limit + 1)
        if len(data) > limit:
            too_large += 1
            error = f"{name}: over the {limit / 2**20:g} MB upload limit (server.max_upload_mb)"
            report.errors.append({"path": name, "error": error})
            statuses.append({"file": name, "status": "error", "error": error, "ids": []})
            continue
        part = await run_in_threadpool(svc.ingest_bytes, data, stored, replace)
        report.merge(part)
        ids = [a["doc_id"] for a in part.added] + part.unchanged_ids
        if part.errors and not ids:
            statuses.append({"file": name, "status": "error", "error": part.errors[0]["error"], "ids": []})
        else:
            statuses.append({"file": name, "status": "added" if part.added else "unchanged", "ids": ids,
                             "chunks": part.chunks, **({"errors": part.errors} if part.errors else {}),
                             **outcome(stored, part)})
    ids = [i for s in statuses for i in s["ids"]]
    body = {"ids": ids, "files": statuses, **report.to_dict(), "skipped_count": len(report.skipped)}
    if ids or not files:
        return JSONResponse(body)
    code = 413 if too_large == len(files) else 400
    detail = "; ".join(s["error"] for s in statuses)
    return JSONResponse({"detail": detail, **body}, status_code=code)


def outcome(asked: str, part: IngestReport) -> dict:
    """What happened to one upload: `action` added / unchanged / renamed / replaced, the name it is stored
    under, and the ids of the documents it replaced."""
    stored = part.stored_as or asked
    if part.removed:
        action = "replaced"
    elif not part.added:
        action = "unchanged"
    else:
        action = "renamed" if stored != asked else "added"
    return {"action": action, "stored_as": stored, "replaced": list(part.removed)}
