"""Talks to a running `rag serve` when it owns the data directory, so the CLI never opens it twice."""

from __future__ import annotations

from pathlib import Path

import httpx

from rag.services.ingest import IngestReport, expand_paths


class RemoteError(RuntimeError):
    """The server answered with an error; the message is the server's own."""


class RemoteServices:
    """The subset of `Services` the CLI uses, over HTTP."""

    def __init__(self, url: str, timeout: float = 600.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout, trust_env=False)

    def _check(self, resp: httpx.Response) -> dict:
        if resp.status_code >= 400:
            try:
                detail = resp.json().get("detail", resp.text)
            except ValueError:
                detail = resp.text
            raise RemoteError(f"{self.url} answered {resp.status_code}: {detail}")
        return resp.json()

    def ingest_paths(self, paths: list[str], progress: bool = False) -> dict:
        from tqdm import tqdm

        report = IngestReport()
        files = expand_paths(paths)
        for path in tqdm(files, desc="upload", unit="file", disable=not progress or len(files) < 2):
            if not Path(path).is_file():
                report.errors.append({"path": str(path), "error": f"{path}: no such file or directory"})
                continue
            with open(path, "rb") as fh:
                part = self._check(self._http.post("/documents", files=[("files", (Path(path).name, fh))]))
            report.merge(IngestReport(**part))
        return report.to_dict()

    def ask(self, question: str, top_k: int | None = None) -> dict:
        body: dict = {"question": question}
        if top_k:
            body["top_k"] = top_k
        return self._check(self._http.post("/ask", json=body))

    def list_documents(self) -> list[dict]:
        return self._check(self._http.get("/documents"))["documents"]

    def delete_document(self, doc_id: str) -> bool:
        resp = self._http.delete(f"/documents/{doc_id}")
        if resp.status_code == 404:
            return False
        self._check(resp)
        return True

    def close(self) -> None:
        self._http.close()
