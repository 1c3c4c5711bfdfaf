"""On a shared Chroma server, each process's keyword index and registry are mirrors of what the server holds."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import defaultdict
from typing import TYPE_CHECKING

from rag.types import Chunk, Document

if TYPE_CHECKING:
    from rag.services.library import Library

FULL_RESYNC_S = 30.0  # even with an unchanged chunk count, diff the ids this often (a delete plus an add)
_KEYS = ("_origin", "_doc_chars", "_doc_chunks")


class ChromaMirror:
    """Brings the local BM25 tokens and document registry in step with the Chroma server.

    Several API workers and ingest processes share one Chroma server; only Chroma is shared. Each chunk
    carries its document's bookkeeping (`_origin`, `_doc_chars`, `_doc_chunks`) in its metadata, so any
    process can rebuild the registry and the keyword index from the server alone. A check costs one
    `count()` call at most every `interval_s`; a changed count (or FULL_RESYNC_S) triggers an id diff.
    """

    def __init__(self, library: Library, interval_s: float) -> None:
        self.library = library
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._checked = 0.0
        self._full = 0.0
        self._count = -1

    def annotate(self, items: list[tuple[Document, list[Chunk]]], origin: str) -> list[Chunk]:
        """The chunks to store, each carrying what another process needs to register its document."""
        out = []
        for doc, chunks in items:
            extra = {"_origin": origin, "_doc_chars": len(doc.text), "_doc_chunks": len(chunks)}
            out += [dataclasses.replace(c, metadata={**c.metadata, **extra}) for c in chunks]
        return out

    def sync(self, force: bool = False) -> dict[str, int]:
        """Catch up with other processes' writes; returns what changed locally."""
        now = time.monotonic()
        if not force and now - self._checked < self.interval_s:
            return {}
        with self._lock:
            self._checked = time.monotonic()
            count = self.library.vectors.count()
            if not force and count == self._count and self._checked - self._full < FULL_RESYNC_S:
                return {}
            changed = self._resync()
            self._count, self._full = count, self._checked
            return changed

    def _resync(self) -> dict[str, int]:
        lib = self.library
        by_doc: dict[str, list[tuple[str, dict]]] = defaultdict(list)
        for cid, meta, _ in lib.vectors.iter_records():
            by_doc[meta["doc_id"]].append((cid, meta))
        server_ids = {cid for recs in by_doc.values() for cid, _ in recs}
        local = lib.keywords.ids()
        gone = sorted(local - server_ids)
        if gone:
            lib.keywords.delete(gone)
        new = sorted(server_ids - local)
        for i in range(0, len(new), 1000):
            lib.keywords.add([(c.chunk_id, c.text) for c in lib.vectors.get(new[i : i + 1000])])
        registered = {rec.doc_id for rec in lib.registry.list()}
        complete = {}
        for doc_id, recs in by_doc.items():
            extra = recs[0][1]["extra"]
            if len(recs) >= int(extra.get("_doc_chunks", len(recs))):  # a writer may be half-way through
                complete[doc_id] = recs
        dropped = registered - set(complete)
        for doc_id in dropped:
            lib.registry.remove(doc_id)
        added = 0
        for doc_id in set(complete) - registered:
            recs = complete[doc_id]
            meta = recs[0][1]
            extra = meta["extra"]
            lib.registry.add(doc_id, meta.get("title", ""), meta.get("source", ""),
                             int(extra.get("_doc_chars", 0)),
                             {k: v for k, v in extra.items() if k not in _KEYS},
                             [cid for cid, _ in recs], origin=str(extra.get("_origin", "")))
            added += 1
        return {"keywords_added": len(new), "keywords_removed": len(gone), "documents_added": added,
                "documents_removed": len(dropped)}
