"""The indexed corpus: Chroma vectors, BM25 tokens and the document registry, kept consistent."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.components.doc_registry import LAYOUT, DocRecord, DocRegistry
from rag.components.embedders import Embedder
from rag.components.keyword_index import KeywordIndex
from rag.components.vector_stores import VectorStore, build_vector_store
from rag.services.index_modes import IndexMode, LocalMode, MirrorMode, fsync_dir
from rag.settings import VectorStoreSettings
from rag.types import Chunk, Document, Filters

log = logging.getLogger(__name__)
#: present while a write is under way: a process killed mid-write leaves it, and the next open reconciles
WRITE_MARKER = "write-in-progress"
#: present while a replacement is under way: the old version's ids and the new one's, for `reconcile`
REPLACE_INTENT = "replace-in-progress.json"


class Library:
    """Adds and removes documents in all three stores in an order that `reconcile` can repair.

    Embedded mode: Chroma holds ids, vectors and doc_id; the registry holds documents and chunk text. How the
    local stores are kept in step with the vector store is the mode's (rag/services/index_modes.py): a private
    store is repaired from write markers, a shared one is mirrored.
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
        self.vectors: VectorStore = build_vector_store(vs, data_dir, embedder.space, embedder.dim, self.registry,
                                                       read_only=read_only)
        self.keywords = KeywordIndex(data_dir / "keywords.sqlite")
        self._marker = data_dir / WRITE_MARKER
        self._intent = data_dir / REPLACE_INTENT
        self._write_lock = threading.RLock()
        self._batches = threading.local()  # per thread: how deep in `batch()`, so nested writes rebuild once
        # On a shared server other processes write too: the local stores mirror it. Otherwise they are repaired.
        self._mode: IndexMode = MirrorMode(self, vs.sync_interval_s) if self.vectors.shared else LocalMode(self)
        self._mode.open(repair)

    def needs_reconcile(self) -> bool:
        """Cheap at open: a write marker left by a killed writer, or stores whose chunk counts disagree."""
        if self._marker.exists() or self._intent.exists():
            return True
        return not self.registry.chunk_count() == self.vectors.count() == self.keywords.count()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Mark the data dir as mid-write until every store has committed (nested writes share one marker).

        Inside a `batch`, so a write that changed the keywords rebuilds BM25 once the write lock is released.
        """
        with self.batch(), self._write_lock, self._mode.writing():
            yield

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
        return self._mode.reconcile()

    @contextmanager
    def replacing(self, old: list[str], new: list[str]) -> Iterator[None]:
        """Writes inside add the new version of a file; the old documents go only after the block, so one of
        the two versions is always searchable. An intent file names both while it runs: a process killed
        meanwhile is settled by the next open's `reconcile` (new version complete: the old goes; otherwise
        what was registered of the new one goes and the old stays)."""
        if not old:
            yield
            return
        durable = not self.vectors.shared  # a shared server has no local truth to settle at open
        if durable:
            tmp = self._intent.with_suffix(".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"old": old, "new": new}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._intent)
            fsync_dir(self.data_dir)  # the intent is on disk before the new version's first write
        try:
            yield
        finally:
            if durable:
                with self._writing():
                    self._settle_replacement()
            elif all(self.registry.has(d) for d in new):
                for doc_id in old:
                    self.remove(doc_id)

    def _settle_replacement(self) -> dict[str, int]:
        """Finish or undo the replacement an intent file describes (see `replacing`)."""
        try:
            intent = json.loads(self._intent.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):  # written before the rename only: nothing was replaced yet
            self._intent.unlink(missing_ok=True)
            return {}
        complete = all(self.registry.has(d) for d in intent.get("new", []))
        gone = intent.get("old", []) if complete else [d for d in intent.get("new", []) if self.registry.has(d)]
        for doc_id in gone:
            self.remove(doc_id)
        self._intent.unlink(missing_ok=True)
        fsync_dir(self.data_dir)
        return {"replaced_docs" if complete else "undone_replacements": len(gone)}

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
        chunks = self._mode.annotate(items, origin, chunks)  # shared: what other processes register from
        keep_text = self._mode.keeps_text  # private: the registry holds the text, in the document's transaction
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

    def dense_search(self, question: str, k: int, doc_ids: list[str] | None = None,
                     vector=None) -> list[tuple[Chunk, float]]:
        """The question's nearest chunks by embedding (cosine), restricted to `doc_ids` inside the search.

        `vector` is the question's embedding when the caller has it (a second search embeds nothing)."""
        return self.vectors.query(self.embedder.embed_query(question) if vector is None else vector, k,
                                  doc_ids=doc_ids)

    def doc_similarities(self, vector, doc_ids: list[str]) -> list[tuple[str, str, float]]:
        """(chunk_id, doc_id, cosine) of every chunk of these documents (adaptive fusion's score completion)."""
        return self.vectors.similarities(vector, sorted(self.registry.chunk_ids_for(doc_ids)))

    def embed_query(self, question: str):
        """The question's embedding, for several dense searches of one question."""
        return self.embedder.embed_query(question)

    def keyword_search(self, question: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """BM25 (jieba terms) chunk ids and scores, restricted to `allowed` chunk ids."""
        return self.keywords.search(question, k, allowed=allowed)

    def chunks(self, chunk_ids: list[str]) -> list[Chunk]:
        """The chunks with these ids that exist, in the order asked."""
        return self.vectors.get(chunk_ids)

    def idf(self, term: str) -> float:
        """The keyword index's weight of a term (rarer terms weigh more)."""
        return self.keywords.idf(term)

    def has(self, doc_id: str) -> bool:
        return self.registry.has(doc_id)

    def documents(self, offset: int = 0, limit: int | None = None) -> list[DocRecord]:
        """All documents, or one page of them (paged in SQLite, not by loading every record)."""
        self._mode.before_read()
        return self.registry.list() if limit is None else self.registry.page(offset, limit)

    def check(self) -> dict:
        """Do Chroma, the keyword index and the registry hold exactly the same chunks of known documents?"""
        self._mode.catch_up()
        docs = {rec.doc_id for rec in self.registry.list()}
        registered = self.registry.all_chunk_ids()
        owners = self._owners()  # chunk id -> (doc_id, start, text digest)
        in_chroma = set(owners)
        no_text = self._mode.missing_text()  # embedded: every registered chunk has its text in the registry
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
        return self._mode.owners()

    def stats(self) -> dict[str, int]:
        return {"documents": self.registry.count(), "chunks": self.vectors.count(),
                "keyword_chunks": self.keywords.count()}

    def close(self) -> None:
        self.keywords.close()
        self.registry.close()


_fsync_dir = fsync_dir  # the old name
