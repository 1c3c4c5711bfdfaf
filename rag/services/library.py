"""The indexed corpus: Chroma vectors, BM25 tokens and the document registry, kept consistent."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.components.doc_registry import LAYOUT, DocRecord, DocRegistry
from rag.components.embedders import Embedder
from rag.components.keyword_index import KeywordIndex
from rag.components.vector_store import ChromaVectorStore
from rag.services.mirror import ChromaMirror
from rag.settings import VectorStoreSettings
from rag.types import Chunk, Document, Filters

log = logging.getLogger(__name__)
#: present while a write is under way: a process killed mid-write leaves it, and the next open reconciles
WRITE_MARKER = "write-in-progress"


class Library:
    """Adds and removes documents in all three stores in an order that `reconcile` can repair.

    Embedded mode: Chroma holds ids, vectors and doc_id; the registry holds documents and chunk text.
    """

    def __init__(self, data_dir: Path, embedder: Embedder, vector_store: VectorStoreSettings | None = None,
                 repair: bool = True, read_only: bool = False) -> None:
        """`repair=False` opens without mending (for `rag docs check`, which must see the damage);
        `read_only` also leaves the vector store as it is (an evaluation over a shared server's index)."""
        self.data_dir = data_dir
        self.embedder = embedder
        embedder.warm_up()
        vs = vector_store or VectorStoreSettings()
        self.registry = DocRegistry(data_dir / "documents.sqlite")
        # A shared server keeps the text in Chroma (other processes rebuild from it); embedded Chroma does not.
        self.vectors = ChromaVectorStore(data_dir / "chroma", space=embedder.space, dim=embedder.dim,
                                         backend=vs.backend, host=vs.host, port=vs.port,
                                         texts=None if vs.backend == "http" else self.registry,
                                         collection=vs.collection, read_only=read_only)
        self.keywords = KeywordIndex(data_dir / "keywords.sqlite")
        self._marker = data_dir / WRITE_MARKER
        self._write_lock = threading.RLock()
        self._depth = 0
        self._failed = False
        self._batches = threading.local()  # per thread: how deep in `batch()`, so nested writes rebuild once
        # On a shared Chroma server other processes write too: the local stores mirror the server.
        self._mirror = ChromaMirror(self, vs.sync_interval_s) if vs.backend == "http" else None
        if self._mirror is not None:
            self.keywords.before_read = self._mirror.sync
            self._mirror.sync(force=True)
            return
        if self.registry.layout() < LAYOUT:
            self._move_text_out_of_chroma()
        if repair and self.needs_reconcile():
            self.reconcile()

    def needs_reconcile(self) -> bool:
        """Cheap at open: a write marker left by a killed writer, or stores whose chunk counts disagree."""
        if self._marker.exists():
            return True
        return not self.registry.chunk_count() == self.vectors.count() == self.keywords.count()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Mark the data dir as mid-write until every store has committed (nested writes share one marker).

        Inside a `batch`, so a write that changed the keywords rebuilds BM25 once the write lock is released.
        """
        with self.batch(), self._write_lock:
            if self._mirror is not None:
                yield
                return
            if self._depth == 0 and not self._marker.exists():
                self._marker.touch()
                _fsync_dir(self.data_dir)  # the marker is on disk before the first store changes
            self._depth += 1
            try:
                yield
            except BaseException:
                self._failed = True  # stores may disagree: the marker stays for the next open's reconcile
                raise
            finally:
                self._depth -= 1
                if self._depth == 0 and not self._failed:
                    self._marker.unlink(missing_ok=True)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Writes inside rebuild the BM25 matrix once, when the outermost batch ends (not on the next search).

        The rebuild runs in the writing thread after the write lock is released; searches meanwhile keep
        using the previous matrix until the new one is swapped in.
        """
        depth = getattr(self._batches, "depth", 0)
        before = self.keywords.generation() if depth == 0 else None
        self._batches.depth = depth + 1
        try:
            yield
        finally:
            self._batches.depth = depth
        if depth == 0 and self.keywords.generation() != before:  # nothing written: nothing to rebuild
            self.keywords.refresh()

    def _move_text_out_of_chroma(self) -> None:
        """An index from before chunk text moved to the registry: copy it there once (Chroma's copy stays)."""
        with self._writing():
            missing = self.registry.chunk_ids_without_text()
            for i in range(0, len(missing), 2000):
                self.registry.set_texts(list(self.vectors.stored_chunks(missing[i : i + 2000]).values()))
            self.registry.set_layout(LAYOUT)
        if missing:
            log.warning("moved the text of %d chunks from Chroma into %s", len(missing), self.data_dir)

    def reconcile(self) -> dict[str, int]:
        """Repair what an interrupted write left: Chroma is the truth for chunks, the registry for documents."""
        if self._mirror is not None:  # a shared server: Chroma is the whole truth, local stores mirror it
            return self._mirror.sync(force=True)
        with self._writing():  # a repair that touched the keywords rebuilds BM25 now, not at a search
            fixed = self._reconcile()
            self._failed = False  # every store is in step again
        return fixed

    def _reconcile(self) -> dict[str, int]:
        in_chroma = set(self.vectors.all_ids())
        # Registered, but a chunk is not in Chroma (or has no text): dropped, so re-ingesting adds it again.
        missing_docs = {doc for c, doc in self.registry.chunk_docs().items() if c not in in_chroma}
        missing_docs |= self.registry.docs_without_text()
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
        keep_text = self._mirror is None  # embedded: the registry holds the text, in the document's transaction
        with self._writing():
            self.vectors.add(chunks, vecs)
            self.keywords.add([(c.chunk_id, c.text) for c in chunks])
            for doc, cs in items:
                self.registry.add(doc.doc_id, doc.title, doc.source, len(doc.text), doc.metadata,
                                  [c.chunk_id for c in cs], origin=origin, chunks=cs if keep_text else None)

    def remove(self, doc_id: str) -> bool:
        ids = self.registry.chunk_ids(doc_id)
        if not self.registry.has(doc_id):
            return False
        with self._writing():
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
        owners = self._owners()  # chunk id -> (doc_id, start, text digest)
        in_chroma = set(owners)
        # Embedded mode: every registered chunk has its text in the registry.
        no_text = 0 if self._mirror is not None else len(self.registry.chunk_ids_without_text())
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
            "missing_text": no_text,
        }
        return {"documents": len(docs), "chunks": len(in_chroma), "keyword_chunks": len(in_keywords),
                "duplicates": duplicates, **problems,
                "consistent": duplicates == 0 and not any(problems.values())}

    def repair(self) -> dict:
        """Mend what `check` finds (the same repair that runs at every open), then check again."""
        fixed = self.reconcile()
        owners = self._owners()
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

    def _owners(self) -> dict[str, tuple[str, int, str]]:
        """Every chunk in Chroma -> (doc_id, start, digest of its text): two ids with one key are a duplicate."""
        if self._mirror is not None:
            return self.vectors.chunk_owners()
        keys = self.registry.chunk_keys()  # an unregistered chunk gets a key of its own (never a duplicate)
        return {cid: (doc, *keys.get(cid, (-1, cid))) for cid, doc in self.vectors.doc_ids().items()}

    def stats(self) -> dict[str, int]:
        return {"documents": self.registry.count(), "chunks": self.vectors.count(),
                "keyword_chunks": self.keywords.count()}

    def close(self) -> None:
        self.keywords.close()
        self.registry.close()


def _fsync_dir(path: Path) -> None:
    """Make a new directory entry durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
