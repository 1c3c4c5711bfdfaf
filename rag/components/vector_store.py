"""Chroma-backed vector store (the `embedded` and `http` backends); the only module that imports chromadb."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from rag.errors import RagError, ServiceUnavailable
from rag.types import Chunk, ChunkSource

log = logging.getLogger(__name__)

COLLECTION = "chunks"


class EmbeddingSpaceMismatch(RagError):
    """The index was built with another embedding model; its vectors cannot be compared."""

    code = "embedder_mismatch"
    status = 409


class VectorStoreUnavailable(ServiceUnavailable):
    """The configured Chroma server does not answer."""

    code = "vector_store_unavailable"


class VectorStoreEmpty(RagError):
    """A read-only open found no collection to read."""

    code = "no_index"
    status = 404


class _Guarded:
    """A Chroma collection whose failures surface as the errors above: a server that stopped answering as
    VectorStoreUnavailable naming its address, vectors of another size as EmbeddingSpaceMismatch."""

    def __init__(self, col: object, address: str | None) -> None:
        self._col = col
        self._address = address

    def __getattr__(self, name: str):
        attr = getattr(self._col, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            import httpx

            try:
                return attr(*args, **kwargs)
            except (httpx.TransportError, ConnectionError) as exc:
                if self._address is None:
                    raise
                raise VectorStoreUnavailable(f"the Chroma server at {self._address} does not answer ({exc})",
                                             hint=_START_HINT) from None
            except Exception as exc:
                if "expecting embedding with dimension" not in str(exc):
                    raise
                raise EmbeddingSpaceMismatch(f"the vector index holds vectors of another size than the configured "
                                             f"embedder's ({exc})", hint=_MISMATCH_HINT) from None

        return call


_START_HINT = "start it with `chroma run --path DIR --port PORT`, or set vector_store.backend: embedded"
_MISMATCH_HINT = "switch embedding.backend back, or delete the data directory and ingest again"


def _meta(chunk: Chunk) -> dict:
    # Chroma metadata values must be scalars; extras travel as one JSON string.
    return {
        "doc_id": chunk.doc_id,
        "title": chunk.title,
        "source": chunk.source,
        "start": chunk.start,
        "end": chunk.end,
        "page": chunk.page if chunk.page is not None else -1,
        "extra": json.dumps(chunk.metadata, ensure_ascii=False),
    }


def _chunk(chunk_id: str, text: str, meta: dict) -> Chunk:
    page = meta.get("page", -1)
    return Chunk(chunk_id=chunk_id, doc_id=meta["doc_id"], text=text, title=meta.get("title", ""),
                 source=meta.get("source", ""), start=int(meta.get("start", 0)), end=int(meta.get("end", 0)),
                 page=None if page is None or page < 0 else int(page), metadata=_public(meta.get("extra")))


def _public(extra: str | None) -> dict:
    """The document's metadata without the `_`-prefixed bookkeeping keys a shared server carries."""
    return {k: v for k, v in json.loads(extra or "{}").items() if not k.startswith("_")}


#: HNSW search breadth. Chroma's default (100) missed 550 of the exact top-30 neighbours (2 of the top-1) over
#: 3,219 CMRC questions on a 1,087-chunk index, and the misses change from build to build (multi-threaded
#: inserts), so evals wobbled by ~0.001 MRR between identical runs; 300 missed 8 (none at top 1).
EF_SEARCH = 300
EF_CONSTRUCTION = 200


class ChromaVectorStore:
    """One collection of chunks: embedded Chroma in `<data_dir>/chroma`, or a Chroma server (`backend="http"`).

    With `texts` (embedded mode), Chroma keeps only ids, vectors and the `doc_id` its `where` filter needs;
    chunk text and the document's fields come from `texts` (the registry's SQLite), because Chroma would keep
    the text four times (the document, a string index, a full-text table and its index). On a shared server
    (`texts=None`) every chunk carries its text and metadata, so other processes can rebuild their stores.
    """

    def __init__(self, path: Path, space: str, dim: int, backend: str = "embedded", host: str = "127.0.0.1",
                 port: int = 8001, texts: ChunkSource | None = None, collection: str = COLLECTION,
                 read_only: bool = False) -> None:
        """`read_only`: open an existing collection as it is (no create, no configuration change)."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if backend == "http":
            try:
                self._client = chromadb.HttpClient(host=host, port=port, settings=chroma_settings)
                self._client.heartbeat()
            except Exception as exc:
                raise VectorStoreUnavailable(
                    f"cannot reach the Chroma server at http://{host}:{port} ({exc})",
                    hint=f"start it with `chroma run --path DIR --port {port}`, or set vector_store.backend: "
                         "embedded") from None
        else:
            path.mkdir(parents=True, exist_ok=True)
            self._client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        address = f"http://{host}:{port}" if backend == "http" else None
        self.collection = collection
        self.shared = backend == "http"  # a server other processes write too (rag/components/vector_stores.py)
        if read_only:
            self._col = _Guarded(self._existing(collection, address or str(path)), address)
        else:
            self._col = _Guarded(self._client.get_or_create_collection(
                collection,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine", "ef_search": EF_SEARCH,
                                        "ef_construction": EF_CONSTRUCTION}},
                metadata={"embedding_space": space, "dim": dim},
            ), address)
            self._raise_ef_search()
        stored = (self._col.metadata or {}).get("embedding_space")
        if stored and stored != space and self._col.count() > 0:
            raise EmbeddingSpaceMismatch(
                f"the index in {path} holds vectors from {stored!r} but the configured embedder produces "
                f"{space!r}", hint=_MISMATCH_HINT)
        self._batch = max(1, min(self._client.get_max_batch_size(), 2000))
        self._texts = texts

    def _existing(self, name: str, where: str):
        try:
            return self._client.get_collection(name, embedding_function=None)
        except Exception as exc:  # chromadb raises NotFoundError (or ValueError in older releases)
            if "does not exist" not in str(exc) and type(exc).__name__ != "NotFoundError":
                raise
            raise VectorStoreEmpty(f"{where} holds no collection {name!r}: nothing is indexed there",
                                   hint="ingest documents first, or check vector_store.collection") from None

    def close(self) -> None:
        """Let go of the client (its files and connections once no other client in this process shares them),
        so a knowledge base's directory can be renamed or removed and a new one opened at the same path."""
        close = getattr(self._client, "close", None)
        if close is not None:
            close()

    def drop(self) -> None:
        """Delete this whole collection (only for throw-away collections, such as an evaluation's)."""
        self._client.delete_collection(self.collection)

    def _raise_ef_search(self) -> None:
        """Indexes created before EF_SEARCH was set get it now; Chroma applies it from the next open."""
        hnsw = (getattr(self._col, "configuration", None) or {}).get("hnsw") or {}
        if hnsw.get("ef_search", EF_SEARCH) < EF_SEARCH:
            try:
                self._col.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
            except Exception:  # noqa: BLE001 - a server that refuses the change keeps its own search breadth
                log.warning("could not raise the Chroma collection's ef_search to %d", EF_SEARCH, exc_info=True)

    def count(self) -> int:
        return self._col.count()

    def add(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        for i in range(0, len(chunks), self._batch):
            part = chunks[i : i + self._batch]
            if self._texts is not None:  # the text and the document's fields are stored by `texts`
                self._col.upsert(ids=[c.chunk_id for c in part], embeddings=vectors[i : i + self._batch].tolist(),
                                 metadatas=[{"doc_id": c.doc_id} for c in part])
                continue
            self._col.upsert(
                ids=[c.chunk_id for c in part],
                embeddings=vectors[i : i + self._batch].tolist(),
                documents=[c.text for c in part],
                metadatas=[_meta(c) for c in part],
            )

    def delete(self, chunk_ids: list[str]) -> None:
        for i in range(0, len(chunk_ids), self._batch):
            self._col.delete(ids=chunk_ids[i : i + self._batch])

    def query(self, vector: np.ndarray, k: int, doc_ids: list[str] | None = None) -> list[tuple[Chunk, float]]:
        """Nearest chunks with cosine similarity (1 - cosine distance), optionally only from `doc_ids`.

        The restriction is a Chroma `where` clause, so it applies inside the nearest-neighbour search.
        """
        n = self.count()
        if n == 0 or (doc_ids is not None and not doc_ids):
            return []
        where = None
        if doc_ids is not None:
            where = {"doc_id": doc_ids[0]} if len(doc_ids) == 1 else {"doc_id": {"$in": list(doc_ids)}}
        if self._texts is not None:  # ids from Chroma, chunks from our store (an unregistered id is skipped)
            res = self._col.query(query_embeddings=[vector.tolist()], n_results=min(k, n), where=where,
                                  include=["distances"])
            found = self._texts.chunks(res["ids"][0])
            return [(found[cid], 1.0 - float(dist)) for cid, dist in zip(res["ids"][0], res["distances"][0],
                                                                           strict=True) if cid in found]
        res = self._col.query(query_embeddings=[vector.tolist()], n_results=min(k, n), where=where,
                              include=["documents", "metadatas", "distances"])
        return [
            (_chunk(cid, text, meta), 1.0 - float(dist))
            for cid, text, meta, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0],
                                            res["distances"][0], strict=True)
        ]

    def similarities(self, vector: np.ndarray, chunk_ids: list[str]) -> list[tuple[str, str, float]]:
        """(chunk_id, doc_id, cosine) of these chunks against `vector`, from their stored vectors, exactly.

        What a `where`-restricted `query` over their documents returns, ~10x cheaper (3 against 31 ms for the
        chunks of 30 documents among 38k): the restricted query filters Chroma's metadata first.
        """
        if not chunk_ids:
            return []
        res = self._col.get(ids=list(chunk_ids), include=["embeddings", "metadatas"])
        if not len(res["ids"]):
            return []
        vecs = np.asarray(res["embeddings"], dtype=np.float32)
        norms = np.linalg.norm(vecs, axis=1) * (float(np.linalg.norm(vector)) or 1.0)
        sims = vecs @ np.asarray(vector, dtype=np.float32) / np.where(norms > 0, norms, 1.0)
        return [(cid, str((meta or {}).get("doc_id", "")), float(sc))
                for cid, meta, sc in zip(res["ids"], res["metadatas"], sims, strict=True)]

    def get(self, chunk_ids: list[str]) -> list[Chunk]:
        by_id = self._texts.chunks(chunk_ids) if self._texts is not None else self.stored_chunks(chunk_ids)
        return [by_id[c] for c in chunk_ids if c in by_id]

    def stored_chunks(self, chunk_ids: list[str]) -> dict[str, Chunk]:
        """The chunks as Chroma itself holds them (a server's, or an index from before text left Chroma).

        Ids Chroma lacks, or holds without text, are left out.
        """
        out: dict[str, Chunk] = {}
        for i in range(0, len(chunk_ids), self._batch):
            res = self._col.get(ids=chunk_ids[i : i + self._batch], include=["documents", "metadatas"])
            out.update((cid, _chunk(cid, t, m)) for cid, t, m in zip(res["ids"], res["documents"], res["metadatas"],
                                                                      strict=True) if t is not None)
        return out

    def all_ids(self) -> list[str]:
        ids: list[str] = []
        offset = 0
        while True:
            res = self._col.get(include=[], limit=5000, offset=offset)
            ids.extend(res["ids"])
            if len(res["ids"]) < 5000:
                return ids
            offset += 5000

    def iter_records(self, with_text: bool = False, batch: int = 2000):
        """(chunk_id, metadata, text or None) for every stored chunk, raw bookkeeping keys included."""
        include = ["metadatas", "documents"] if with_text else ["metadatas"]
        offset = 0
        while True:
            res = self._col.get(include=include, limit=batch, offset=offset)
            texts = res["documents"] if with_text else [None] * len(res["ids"])
            for cid, meta, text in zip(res["ids"], res["metadatas"], texts, strict=True):
                yield cid, {**meta, "extra": json.loads(meta.get("extra") or "{}")}, text
            if len(res["ids"]) < batch:
                return
            offset += batch

    def doc_ids(self) -> dict[str, str]:
        """chunk id -> doc_id as Chroma's metadata records it, for every stored chunk."""
        return {cid: meta["doc_id"] for cid, meta, _ in self.iter_records()}

    def chunk_owners(self) -> dict[str, tuple[str, int, str]]:
        """chunk id -> (doc_id, start, digest of the text): two ids with one key are a duplicate chunk."""
        return {cid: (meta["doc_id"], int(meta.get("start", 0)), hashlib.sha1((text or "").encode()).hexdigest())
                for cid, meta, text in self.iter_records(with_text=True)}
