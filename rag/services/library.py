"""The indexed corpus: Chroma vectors, BM25 tokens and the document registry, kept consistent."""

from __future__ import annotations

import logging
from pathlib import Path

from rag.components.doc_registry import DocRecord, DocRegistry
from rag.components.embedders import Embedder
from rag.components.keyword_index import KeywordIndex
from rag.components.vector_store import ChromaVectorStore
from rag.services.mirror import ChromaMirror
from rag.settings import VectorStoreSettings
from rag.types import Chunk, Document, Filters

log = logging.getLogger(__name__)


class Library:
    """Adds and removes documents in all three stores in an order that `reconcile` can repair."""

    def __init__(self, data_dir: Path, embedder: Embedder, vector_store: VectorStoreSettings | None = None,
                 repair: bool = True) -> None:
        """`repair=False` opens without mending (for `rag docs check`, which must see the damage)."""
        self.data_dir = data_dir
        self.embedder = embedder
        embedder.warm_up()
        vs = vector_store or VectorStoreSettings()
        self.vectors = ChromaVectorStore(data_dir / "chroma", space=embedder.space, dim=embedder.dim,
                                         backend=vs.backend, host=vs.host, port=vs.port)
        self.keywords = KeywordIndex(data_dir / "keywords.sqlite")
        self.registry = DocRegistry(data_dir / "documents.sqlite")
        # On a shared Chroma server other processes write too: the local stores mirror the server.
        self._mirror = ChromaMirror(self, vs.sync_interval_s) if vs.backend == "http" else None
        if self._mirror is not None:
            self.keywords.before_read = self._mirror.sync
            self._mirror.sync(force=True)
        elif repair:
            self.reconcile()

    def reconcile(self) -> dict[str, int]:
        """Repair what an interrupted write left: Chroma is the truth for chunks, the registry for documents."""
        if self._mirror is not None:  # a shared server: Chroma is the whole truth, local stores mirror it
            return self._mirror.sync(force=True)
        in_chroma = set(self.vectors.all_ids())
        missing_docs = {  # registered, but a chunk is not in Chroma: dropped, so re-ingesting adds it again
            rec.doc_id for rec in self.registry.list()
            if any(c not in in_chroma for c in self.registry.chunk_ids(rec.doc_id))
        }
        for doc_id in missing_docs:
            self.registry.remove(doc_id)
        registered = self.registry.all_chunk_ids()
        orphans = in_chroma - registered  # written to Chroma, never registered (crash mid-ingest)
        if orphans:
            self.vectors.delete(sorted(orphans))
        live = registered & in_chroma
        kw = self.keywords.ids()
        stale_kw = kw - live
        if stale_kw:
            self.keywords.delete(sorted(stale_kw))
        absent_kw = sorted(live - kw)
        if absent_kw:
            for i in range(0, len(absent_kw), 1000):
                self.keywords.add([(c.chunk_id, c.text) for c in self.vectors.get(absent_kw[i : i + 1000])])
        fixed = {"orphan_vectors": len(orphans), "incomplete_docs": len(missing_docs),
                 "stale_keywords": len(stale_kw), "missing_keywords": len(absent_kw)}
        if any(fixed.values()):
            log.warning("index repaired: %s", fixed)
        return fixed

    def add_many(self, items: list[tuple[Document, list[Chunk]]], origin: str = "") -> None:
        """Embed and store documents' chunks; registered last, so a crash leaves repairable orphans."""
        chunks = [c for _, cs in items for c in cs]
        if not chunks:
            return
        vecs = self.embedder.embed_passages([c.text for c in chunks])
        if self._mirror is not None:  # other processes rebuild their registry from what Chroma holds
            chunks = self._mirror.annotate(items, origin)
        self.vectors.add(chunks, vecs)
        self.keywords.add([(c.chunk_id, c.text) for c in chunks])
        for doc, cs in items:
            self.registry.add(doc.doc_id, doc.title, doc.source, len(doc.text), doc.metadata,
                              [c.chunk_id for c in cs], origin=origin)

    def remove(self, doc_id: str) -> bool:
        ids = self.registry.chunk_ids(doc_id)
        if not self.registry.has(doc_id):
            return False
        self.registry.remove(doc_id)
        self.keywords.delete(ids)
        self.vectors.delete(ids)
        return True

    def scope(self, filters: Filters | None) -> tuple[list[str], set[str]] | None:
        """Documents and chunk ids a filtered search may return; None when nothing is filtered."""
        if filters is None or filters.is_empty():
            return None
        doc_ids = self.registry.matching(filters)
        return doc_ids, self.registry.chunk_ids_for(doc_ids)

    def has(self, doc_id: str) -> bool:
        return self.registry.has(doc_id)

    def documents(self, offset: int = 0, limit: int | None = None) -> list[DocRecord]:
        """All documents, or one page of them (paged in SQLite, not by loading every record)."""
        if self._mirror is not None:
            self._mirror.sync()
        return self.registry.list() if limit is None else self.registry.page(offset, limit)

    def check(self) -> dict:
        """Do Chroma, the keyword index and the registry hold exactly the same chunks of known documents?"""
        if self._mirror is not None:
            self._mirror.sync(force=True)
        docs = {rec.doc_id for rec in self.registry.list()}
        registered = self.registry.all_chunk_ids()
        owners = self.vectors.chunk_owners()  # chunk id -> (doc_id, start, text digest) as stored in Chroma
        in_chroma = set(owners)
        in_keywords = self.keywords.ids()
        seen: set[tuple] = set()
        duplicates = 0
        for key in owners.values():
            duplicates += key in seen
            seen.add(key)
        problems = {
            "vector_only": len(in_chroma - in_keywords),
            "keyword_only": len(in_keywords - in_chroma),
            "unregistered": len(in_chroma - registered),
            "missing_vectors": len(registered - in_chroma),
            "unknown_document": sum(1 for d, _, _ in owners.values() if d not in docs),
        }
        return {"documents": len(docs), "chunks": len(in_chroma), "keyword_chunks": len(in_keywords),
                "duplicates": duplicates, **problems,
                "consistent": duplicates == 0 and not any(problems.values())}

    def repair(self) -> dict:
        """Mend what `check` finds (the same repair that runs at every open), then check again."""
        fixed = self.reconcile()
        owners = self.vectors.chunk_owners()
        seen: set[tuple] = set()
        dupes = []
        for cid, key in sorted(owners.items()):
            if key in seen:
                dupes.append(cid)
            seen.add(key)
        for doc_id in {owners[c][0] for c in dupes}:
            self.remove(doc_id)  # stored twice under different chunk ids: dropped whole, re-ingesting restores it
        if dupes:
            self.reconcile()
        return {"repaired": {**fixed, "duplicate_chunks": len(dupes)}, **self.check()}

    def stats(self) -> dict[str, int]:
        return {"documents": self.registry.count(), "chunks": self.vectors.count(),
                "keyword_chunks": self.keywords.count()}

    def close(self) -> None:
        self.keywords.close()
        self.registry.close()
