"""The indexed corpus: Chroma vectors, BM25 tokens and the document registry, kept consistent."""

from __future__ import annotations

import logging
from pathlib import Path

from rag.components.doc_registry import DocRecord, DocRegistry
from rag.components.embedders import Embedder
from rag.components.keyword_index import KeywordIndex
from rag.components.vector_store import ChromaVectorStore
from rag.types import Chunk, Document, Filters

log = logging.getLogger(__name__)


class Library:
    """Adds and removes documents in all three stores in an order that `reconcile` can repair."""

    def __init__(self, data_dir: Path, embedder: Embedder) -> None:
        self.data_dir = data_dir
        self.embedder = embedder
        embedder.warm_up()
        self.vectors = ChromaVectorStore(data_dir / "chroma", space=embedder.space, dim=embedder.dim)
        self.keywords = KeywordIndex(data_dir / "keywords.sqlite")
        self.registry = DocRegistry(data_dir / "documents.sqlite")
        self.reconcile()

    def reconcile(self) -> dict[str, int]:
        """Repair what an interrupted write left: Chroma is the truth for chunks, the registry for documents."""
        registered = self.registry.all_chunk_ids()
        in_chroma = set(self.vectors.all_ids())
        orphans = in_chroma - registered  # written to Chroma, never registered (crash mid-ingest)
        if orphans:
            self.vectors.delete(sorted(orphans))
        missing_docs = {
            rec.doc_id for rec in self.registry.list()
            if any(c not in in_chroma for c in self.registry.chunk_ids(rec.doc_id))
        }
        for doc_id in missing_docs:
            self.registry.remove(doc_id)
        live = self.registry.all_chunk_ids() & in_chroma
        kw = self.keywords.ids()
        stale_kw = kw - live
        if stale_kw:
            self.keywords.delete(sorted(stale_kw))
        absent_kw = sorted(live - kw)
        if absent_kw:
            self.keywords.add([(c.chunk_id, c.text) for c in self.vectors.get(absent_kw)])
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

    def documents(self) -> list[DocRecord]:
        return self.registry.list()

    def stats(self) -> dict[str, int]:
        return {"documents": self.registry.count(), "chunks": self.vectors.count(),
                "keyword_chunks": self.keywords.count()}

    def close(self) -> None:
        self.keywords.close()
        self.registry.close()
