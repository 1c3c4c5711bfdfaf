"""Talks to a running `rag serve` when it owns the data directory, so the CLI never opens it twice."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import httpx

from rag.errors import RagError
from rag.services.ingest import IngestReport, scan_paths
from rag.services.knowledge_bases import KbInfo
from rag.types import Answer, Filters


class RemoteError(RagError):
    """The server answered with an error (or none); the message is the server's own."""

    code = "remote_error"
    status = 502


class RemoteServices:
    """The operations of `Services` the CLI uses (rag/protocols.py: IndexServices), over HTTP."""

    def __init__(self, url: str, timeout: float = 600.0, api_key: str | None = None, kb: str | None = None) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=self.url, timeout=timeout, trust_env=False, headers=headers)
        self.kb = kb
        # the default base keeps the routes from before knowledge bases (older servers answer them too)
        self._docs = "/documents" if kb in (None, "default") else f"/kbs/{quote(kb, safe='')}/documents"

    def _check(self, resp: httpx.Response) -> dict:
        if resp.status_code >= 400:
            hint = None
            try:
                body = resp.json()
                error = body.get("error") if isinstance(body.get("error"), dict) else {}
                detail = error.get("message") or body.get("detail", resp.text)
                hint = error.get("hint")
            except ValueError:
                detail = resp.text
            raise RemoteError(f"{self.url} answered {resp.status_code}: {detail}", hint=hint)
        return resp.json()

    def ingest_paths(self, paths: list[str], progress: bool = False) -> dict:
        from tqdm import tqdm

        report = IngestReport()
        files, report.skipped = scan_paths(paths)
        for path in tqdm(files, desc="upload", unit="file", disable=not progress or len(files) < 2):
            if not Path(path).is_file():
                report.errors.append({"path": str(path), "error": f"{path}: no such file or directory"})
                continue
            with open(path, "rb") as fh:
                resp = self._http.post(self._docs, files=[("files", (Path(path).name, fh))])
            if resp.status_code in (400, 413) and "errors" in resp.json():
                part = resp.json()  # every file refused: the body is still a full report
            else:
                part = self._check(resp)
            report.merge(IngestReport(**{k: v for k, v in part.items() if k in IngestReport.__dataclass_fields__}))
        return report

    def ask(self, question: str, top_k: int | None = None, filters: Filters | None = None,
            history: list[dict[str, str]] | None = None) -> Answer:
        body: dict = {"question": question}
        if top_k:
            body["top_k"] = top_k
        if filters is not None and not filters.is_empty():
            body["filters"] = filters.to_dict()
        if history:
            body["history"] = history
        if self.kb not in (None, "default"):
            body["kb"] = self.kb
        return Answer.from_dict(self._check(self._http.post("/ask", json=body)))

    def check_index(self) -> dict:
        return self._check(self._http.get(f"{self._docs}/check"))

    def repair_index(self) -> dict:
        return self._check(self._http.post(f"{self._docs}/repair"))

    def list_documents(self, offset: int = 0, limit: int | None = None) -> dict:
        params = {"offset": offset, **({"limit": limit} if limit else {"limit": 1000})}
        first = self._check(self._http.get(self._docs, params=params))
        if limit is None:  # the CLI lists everything: follow the pages
            while len(first["documents"]) < first["total"] - offset:
                more = self._check(self._http.get(self._docs, params={
                    "offset": offset + len(first["documents"]), "limit": 1000}))
                if not more["documents"]:
                    break
                first["documents"] += more["documents"]
        return first

    def delete_document(self, doc_id: str) -> bool:
        resp = self._http.delete(f"{self._docs}/{quote(doc_id, safe='')}")
        if resp.status_code == 404:
            return False
        self._check(resp)
        return True

    def close(self) -> None:
        self._http.close()


class RemoteKnowledgeBases:
    """The knowledge-base operations of KnowledgeBases the CLI uses, over the server's /kbs routes."""

    def __init__(self, url: str, timeout: float = 600.0, api_key: str | None = None) -> None:
        self._args = (url, timeout, api_key)
        self._admin = RemoteServices(url, timeout, api_key)
        self._open: list[RemoteServices] = [self._admin]

    def infos(self) -> list[KbInfo]:
        body = self._admin._check(self._admin._http.get("/kbs"))
        return [KbInfo(k["name"], k["documents"], k["chunks"]) for k in body["kbs"]]

    def names(self) -> list[str]:
        return [k.name for k in self.infos()]

    def get(self, name: str | None = None) -> RemoteServices:
        svc = RemoteServices(*self._args, kb=name)
        self._open.append(svc)
        return svc

    def create(self, name: str) -> KbInfo:
        k = self._admin._check(self._admin._http.post("/kbs", json={"name": name}))
        return KbInfo(k["name"], k["documents"], k["chunks"])

    def rename(self, old: str, new: str) -> KbInfo:
        k = self._admin._check(self._admin._http.post(f"/kbs/{quote(old, safe='')}/rename", json={"name": new}))
        return KbInfo(k["name"], k["documents"], k["chunks"])

    def delete(self, name: str, confirm: bool = False) -> None:
        self._admin._check(self._admin._http.delete(f"/kbs/{quote(name, safe='')}",
                                                    params={"confirm": str(confirm).lower()}))

    def close(self) -> None:
        for svc in self._open:
            svc.close()
