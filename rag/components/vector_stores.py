"""The vector-store interface and its registry of backends (as haystack's DocumentStore protocol is).

A backend is one module with a class that has the methods of `VectorStore`, plus one `register` call below (or
in that module) naming a factory. `shared` says whether other processes write the same store: a private store
(embedded Chroma) is kept in step with the keyword index and registry by write markers and repair at open; a
shared one (a Chroma server) is the truth that each process mirrors (rag/services/index_modes.py). Only
backend modules import their client library (chromadb for rag/components/vector_store.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from rag.errors import SettingsError
from rag.types import Chunk, ChunkSource

if TYPE_CHECKING:
    from rag.settings import VectorStoreSettings


@runtime_checkable
class VectorStore(Protocol):
    """Chunks by id with their vectors; nearest-neighbour search restricted to documents inside the search."""

    #: whether other processes write this store too (then it is the truth, mirrored locally)
    shared: bool

    def count(self) -> int: ...

    def add(self, chunks: list[Chunk], vectors: np.ndarray) -> None: ...

    def delete(self, chunk_ids: list[str]) -> None: ...

    def query(self, vector: np.ndarray, k: int, doc_ids: list[str] | None = None) -> list[tuple[Chunk, float]]:
        """Nearest chunks with their cosine similarity, only from `doc_ids` when given."""
        ...

    def similarities(self, vector: np.ndarray, chunk_ids: list[str]) -> list[tuple[str, str, float]]:
        """(chunk_id, doc_id, cosine similarity to `vector`) of the stored chunks among `chunk_ids`."""
        ...

    def get(self, chunk_ids: list[str]) -> list[Chunk]: ...

    def stored_chunks(self, chunk_ids: list[str]) -> dict[str, Chunk]:
        """The chunks with the text the store itself holds (ids it lacks, or holds without text, left out)."""
        ...

    def all_ids(self) -> list[str]: ...

    def iter_records(self, with_text: bool = False, batch: int = 2000) -> Iterator[tuple[str, dict, str | None]]:
        """(chunk_id, metadata with its `extra` dict, text or None) for every stored chunk."""
        ...

    def doc_ids(self) -> dict[str, str]: ...

    def chunk_owners(self) -> dict[str, tuple[str, int, str]]:
        """chunk id -> (doc_id, start, digest of the text): two ids with one key are a duplicate."""
        ...

    def drop(self) -> None:
        """Delete the whole collection (throw-away stores only)."""
        ...


Factory = Callable[["VectorStoreSettings", Path, str, int, ChunkSource, bool], VectorStore]


@dataclass(frozen=True)
class Backend:
    """A registered backend: how to open it, and one line for the error that lists the alternatives."""

    factory: Factory
    about: str


BACKENDS: dict[str, Backend] = {}


class UnknownVectorStore(SettingsError):
    """vector_store.backend names no registered backend."""

    code = "unknown_vector_store"


def register(name: str, factory: Factory, about: str) -> None:
    """Make `vector_store.backend: <name>` open stores with `factory`."""
    BACKENDS[name] = Backend(factory, about)


def build_vector_store(settings: VectorStoreSettings, data_dir: Path, space: str, dim: int, texts: ChunkSource,
                       read_only: bool = False) -> VectorStore:
    """Open the configured backend; an unknown name is refused with every registered one listed."""
    backend = BACKENDS.get(settings.backend)
    if backend is None:
        known = "; ".join(f"{n} ({b.about})" for n, b in BACKENDS.items())
        raise UnknownVectorStore(f"unknown vector_store.backend {settings.backend!r}", hint=f"choose one of: {known}")
    return backend.factory(settings, data_dir, space, dim, texts, read_only)


def _embedded(settings: VectorStoreSettings, data_dir: Path, space: str, dim: int, texts: ChunkSource,
              read_only: bool) -> VectorStore:
    from rag.components.vector_store import ChromaVectorStore

    # Embedded Chroma keeps ids, vectors and doc_id; the registry (`texts`) keeps the chunk text.
    return ChromaVectorStore(data_dir / "chroma", space=space, dim=dim, texts=texts, collection=settings.collection,
                             read_only=read_only)


def _http(settings: VectorStoreSettings, data_dir: Path, space: str, dim: int, texts: ChunkSource,
          read_only: bool) -> VectorStore:
    from rag.components.vector_store import ChromaVectorStore

    # A shared server keeps the text in Chroma too: other processes rebuild their stores from it.
    return ChromaVectorStore(data_dir / "chroma", space=space, dim=dim, backend="http", host=settings.host,
                             port=settings.port, collection=settings.collection, read_only=read_only)


register("embedded", _embedded, "Chroma files in data_dir, one owner")
register("http", _http, "a shared `chroma run` server at vector_store.host:port")

__all__ = ["BACKENDS", "ChunkSource", "UnknownVectorStore", "VectorStore", "build_vector_store", "register"]
