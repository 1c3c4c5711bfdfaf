"""How a Library keeps its keyword index and registry in step with the vector store: two small strategies.

`LocalMode` (a private store, embedded Chroma): every write is bracketed by a marker file, and an open that
finds the marker (or chunk counts that disagree) repairs what a killed writer left. `MirrorMode` (a store
other processes write too, a Chroma server): the server is the truth and the local stores mirror it
(rag/services/mirror.py). Library asks its mode at each point where the two differ, instead of branching.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rag.components.doc_registry import LAYOUT
from rag.services.mirror import ChromaMirror
from rag.types import Chunk, Document

if TYPE_CHECKING:
    from rag.services.library import Library


class IndexMode(Protocol):
    """The points where a private and a shared vector store are kept in step differently."""

    keeps_text: bool  # whether the registry stores chunk text (else the vector store does)

    def open(self, repair: bool) -> None: ...

    def writing(self) -> AbstractContextManager[None]: ...

    def reconcile(self) -> dict[str, int]: ...

    def annotate(self, items: list[tuple[Document, list[Chunk]]], origin: str, chunks: list[Chunk]) -> list[Chunk]:
        ...

    def before_read(self) -> None: ...

    def catch_up(self) -> None: ...

    def missing_text(self) -> int: ...

    def owners(self) -> dict[str, tuple[str, int, str]]: ...


class LocalMode:
    """A private store: write marker, repair at open and after a failed write; the registry keeps the text."""

    keeps_text = True

    def __init__(self, library: Library) -> None:
        self.lib = library
        self._depth = 0
        self._failed = False

    def open(self, repair: bool) -> None:
        lib = self.lib
        if lib.registry.layout() < LAYOUT:
            lib._move_text_out_of_chroma()
        if repair and lib.needs_reconcile():
            lib.reconcile()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """The marker is on disk before the first store changes and gone once all three have committed."""
        marker = self.lib._marker
        if self._depth == 0 and not marker.exists():
            marker.touch()
            fsync_dir(self.lib.data_dir)
        self._depth += 1
        try:
            yield
        except BaseException:
            self._failed = True  # stores may disagree: the marker stays for the next open's reconcile
            raise
        finally:
            self._depth -= 1
            if self._depth == 0 and not self._failed:
                marker.unlink(missing_ok=True)

    def reconcile(self) -> dict[str, int]:
        with self.lib._writing():  # a repair that touched the keywords rebuilds BM25 now, not at a search
            fixed = self.lib._reconcile()
            fixed.update(self.lib._settle_replacement())  # a same-name replacement a kill interrupted
            self._failed = False  # every store is in step again
        return fixed

    def annotate(self, items: list[tuple[Document, list[Chunk]]], origin: str, chunks: list[Chunk]) -> list[Chunk]:
        return chunks

    def before_read(self) -> None:
        return None

    def catch_up(self) -> None:
        return None

    def missing_text(self) -> int:
        return len(self.lib.registry.chunk_ids_without_text())

    def owners(self) -> dict[str, tuple[str, int, str]]:
        keys = self.lib.registry.chunk_keys()  # an unregistered chunk gets a key of its own (never a duplicate)
        return {cid: (doc, *keys.get(cid, (-1, cid))) for cid, doc in self.lib.vectors.doc_ids().items()}


class MirrorMode:
    """A shared store: it is the whole truth; the local keyword index and registry mirror it."""

    keeps_text = False

    def __init__(self, library: Library, interval_s: float) -> None:
        self.lib = library
        self.mirror = ChromaMirror(library, interval_s)

    def open(self, repair: bool) -> None:
        self.lib.keywords.before_read = self.mirror.sync
        self.mirror.sync(force=True)

    @contextmanager
    def writing(self) -> Iterator[None]:
        yield  # no marker: another process may be writing too; the mirror catches up instead

    def reconcile(self) -> dict[str, int]:
        return self.mirror.sync(force=True)

    def annotate(self, items: list[tuple[Document, list[Chunk]]], origin: str, chunks: list[Chunk]) -> list[Chunk]:
        return self.mirror.annotate(items, origin)  # other processes register documents from these fields

    def before_read(self) -> None:
        self.mirror.sync()

    def catch_up(self) -> None:
        self.mirror.sync(force=True)

    def missing_text(self) -> int:
        return 0  # the server holds the text

    def owners(self) -> dict[str, tuple[str, int, str]]:
        return self.lib.vectors.chunk_owners()


def fsync_dir(path: Path) -> None:
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


__all__ = ["IndexMode", "LocalMode", "MirrorMode", "fsync_dir"]
