"""/kbs: list, create, rename and delete knowledge bases (each base's documents are under /kbs/{kb}/documents,
served by rag/api/documents.py). Who may do what is the key's scope (rag/api/scopes.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from rag.api.deps import base, bearer, key_scope, knowledge_bases
from rag.api.schemas import ERRORS, KbCreate, KbDeleted, KbList, KbOut, KbRename
from rag.services.knowledge_bases import KbNotFound

router = APIRouter(prefix="/kbs", tags=["knowledge bases"], dependencies=[Depends(bearer)])


@router.get("", response_model=KbList, responses=ERRORS, summary="The knowledge bases this key may read")
def list_kbs(request: Request) -> dict:
    scope = key_scope(request)
    kbs = knowledge_bases(request)
    readable = [n for n in kbs.names() if scope.can_read(n)]
    out = []
    for name in readable:
        try:
            out.append(kbs.info(name).to_dict())
        except KbNotFound:  # deleted meanwhile: simply not listed
            continue
    return {"kbs": out}


@router.post("", response_model=KbOut, responses=ERRORS,
             summary="Create an empty knowledge base (the key needs write on its name)")
async def create_kb(body: KbCreate, request: Request) -> dict:
    key_scope(request).require_write(body.name.strip())
    info = await run_in_threadpool(knowledge_bases(request).create, body.name)
    return info.to_dict()


def _rename(kb: str, body: KbRename, request: Request) -> dict:
    scope = key_scope(request)
    scope.require_write(kb)
    scope.require_write(body.name.strip())
    base(request, kb, write=True)  # 404 before anything changes
    return knowledge_bases(request).rename(kb, body.name).to_dict()


@router.post("/{kb}/rename", response_model=KbOut, responses=ERRORS,
             summary="Rename a knowledge base (write on the old and the new name)")
def rename_kb(kb: str, body: KbRename, request: Request) -> dict:
    return _rename(kb, body, request)


@router.patch("/{kb}", response_model=KbOut, responses=ERRORS, summary="Rename a knowledge base (body: {name})")
def patch_kb(kb: str, body: KbRename, request: Request) -> dict:
    return _rename(kb, body, request)


@router.get("/{kb}", response_model=KbOut, responses=ERRORS, summary="One knowledge base's size")
def get_kb(kb: str, request: Request) -> dict:
    base(request, kb)
    return knowledge_bases(request).info(kb).to_dict()


@router.delete("/{kb}", response_model=KbDeleted, responses=ERRORS,
               summary="Delete a knowledge base with its documents (non-empty ones need confirm=true)")
def delete_kb(kb: str, request: Request, confirm: bool = Query(False)) -> dict:
    base(request, kb, write=True)
    knowledge_bases(request).delete(kb, confirm=confirm)
    return {"deleted": kb}
