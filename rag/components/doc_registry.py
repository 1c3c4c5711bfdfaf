"""Which documents are indexed, from which source, with which chunks and their text (SQLite beside Chroma)."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rag.types import Chunk, Filters

#: 2: chunk text and offsets live in the `chunks` table (embedded Chroma keeps only ids, vectors and doc_id);
#: 1 (older data dirs): they lived in Chroma only, and `Library` copies them here once at open.
LAYOUT = 2
_PARAMS = 500  # SQLite caps bound parameters per statement
_SQLITE_MAX_INT = 2**63 - 1


def pack_text(text: str) -> bytes:
    """Chunk text as stored: zlib-compressed UTF-8 (0.59 of the raw bytes on CRUD-RAG news chunks)."""
    return zlib.compress(text.encode("utf-8"), 6)


def unpack_text(blob: bytes | str) -> str:
    return blob if isinstance(blob, str) else zlib.decompress(blob).decode("utf-8")


@dataclass
class DocRecord:
    doc_id: str
    title: str
    source: str
    n_chunks: int
    chars: int
    added_at: float
    metadata: dict
    origin: str = ""

    def to_dict(self) -> dict:
        ingested = datetime.fromtimestamp(self.added_at, tz=UTC).isoformat(timespec="seconds")
        return {"doc_id": self.doc_id, "title": self.title, "source": self.source, "chunks": self.n_chunks,
                "chars": self.chars, "ingested_at": ingested, "origin": self.origin, "metadata": self.metadata}


class DocRegistry:
    """Documents, their chunk ids and (embedded mode) the chunks' text; the truth for replace and delete.

    A document's record and all its chunk rows, text included, are written in one SQLite transaction, so a
    registered chunk always has its text (`add` with `chunks`). On a shared Chroma server the registry is a
    mirror that records chunk ids only (Chroma keeps the text there).
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._lock = threading.Lock()
        fresh = self._db.execute("SELECT 1 FROM sqlite_master WHERE name='documents'").fetchone() is None
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS documents (
                doc_id TEXT PRIMARY KEY, title TEXT, source TEXT, n_chunks INTEGER, chars INTEGER,
                added_at REAL, metadata TEXT, origin TEXT);
            CREATE INDEX IF NOT EXISTS documents_origin ON documents(origin);
            CREATE TABLE IF NOT EXISTS chunks (chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL,
                start_char INTEGER, end_char INTEGER, page INTEGER, text BLOB);
            CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """
        )
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(chunks)")}
        for col, kind in (("start_char", "INTEGER"), ("end_char", "INTEGER"), ("page", "INTEGER"), ("text", "BLOB")):
            if col not in columns:  # a registry from before chunk text moved here (layout 1)
                self._db.execute(f"ALTER TABLE chunks ADD COLUMN {col} {kind}")
        if fresh:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('layout', ?)", (str(LAYOUT),))
        self._db.commit()

    def layout(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='layout'").fetchone()
        return int(row[0]) if row else 1

    def set_layout(self, layout: int) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('layout', ?)", (str(layout),))
            self._db.commit()

    def _rec(self, row: tuple) -> DocRecord:
        return DocRecord(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6] or "{}"), row[7] or "")

    def has(self, doc_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM documents WHERE doc_id=?", (doc_id,)).fetchone() is not None

    def get(self, doc_id: str) -> DocRecord | None:
        row = self._db.execute("SELECT * FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        return self._rec(row) if row else None

    def by_origin(self, origin: str) -> list[str]:
        """Documents that came from one file (or upload name), for replacing them when it changes."""
        return [r[0] for r in self._db.execute("SELECT doc_id FROM documents WHERE origin=?", (origin,))]

    def list(self) -> list[DocRecord]:
        return [self._rec(r) for r in self._db.execute("SELECT * FROM documents ORDER BY added_at, doc_id")]

    def page(self, offset: int = 0, limit: int = 50) -> list[DocRecord]:
        """One page of documents, oldest first (stable order for paging); an offset past the end gives []."""
        offset = min(offset, _SQLITE_MAX_INT)  # SQLite integers are 64-bit; no table has more rows than that
        rows = self._db.execute("SELECT * FROM documents ORDER BY added_at, doc_id LIMIT ? OFFSET ?",
                                (limit, offset))
        return [self._rec(r) for r in rows]

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]

    def matching(self, filters: Filters) -> list[str]:
        """Ids of the documents passing `filters` (a scan of the registry: metadata lives here as JSON)."""
        rows = self._db.execute("SELECT doc_id, source, metadata FROM documents")
        return [r[0] for r in rows if filters.matches(r[0], r[1] or "", json.loads(r[2] or "{}"))]

    def industries(self) -> list[str]:
        """Distinct 行业 values (split on the separators news records use), for filter pickers."""
        found: set[str] = set()
        for (meta,) in self._db.execute("SELECT metadata FROM documents"):
            value = json.loads(meta or "{}").get("industry") or ""
            found.update(p.strip() for p in re.split(r"[,，、;；/|\s]+", str(value)) if p.strip())
        return sorted(found)

    def chunk_ids(self, doc_id: str) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT chunk_id FROM chunks WHERE doc_id=?", (doc_id,))]

    def chunk_ids_for(self, doc_ids: list[str]) -> set[str]:
        out: set[str] = set()
        for i in range(0, len(doc_ids), _PARAMS):
            part = doc_ids[i : i + _PARAMS]
            marks = ",".join("?" * len(part))
            out.update(r[0] for r in self._db.execute(f"SELECT chunk_id FROM chunks WHERE doc_id IN ({marks})", part))
        return out

    def all_chunk_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT chunk_id FROM chunks")}

    def chunk_count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    def chunk_docs(self) -> dict[str, str]:
        """chunk id -> doc id for every registered chunk (one scan, for reconcile)."""
        return dict(self._db.execute("SELECT chunk_id, doc_id FROM chunks"))

    def docs_without_text(self) -> set[str]:
        """Documents with a chunk whose text is not stored here (a layout-1 registry, or a mirror's)."""
        return {r[0] for r in self._db.execute("SELECT DISTINCT doc_id FROM chunks WHERE text IS NULL")}

    def chunk_ids_without_text(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT chunk_id FROM chunks WHERE text IS NULL")]

    def chunk_keys(self) -> dict[str, tuple[int, str]]:
        """chunk id -> (start, digest of the text) for chunks with text: two ids with one key are a duplicate."""
        rows = self._db.execute("SELECT chunk_id, start_char, text FROM chunks WHERE text IS NOT NULL")
        return {cid: (int(start or 0), hashlib.sha1(unpack_text(blob).encode()).hexdigest())
                for cid, start, blob in rows}

    def chunks(self, chunk_ids: list[str]) -> dict[str, Chunk]:
        """Registered chunks with their text, title, source, offsets and metadata, as ingest made them."""
        out: dict[str, Chunk] = {}
        metas: dict[str, dict] = {}
        for i in range(0, len(chunk_ids), _PARAMS):
            part = chunk_ids[i : i + _PARAMS]
            marks = ",".join("?" * len(part))
            with self._lock:  # queries read while an ingest writes: never mid-transaction on this connection
                rows = self._db.execute(
                    "SELECT c.chunk_id, c.doc_id, c.start_char, c.end_char, c.page, c.text, d.title, d.source, "
                    f"d.metadata FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE c.chunk_id IN ({marks}) "
                    "AND c.text IS NOT NULL", part).fetchall()
            for cid, doc_id, start, end, page, blob, title, source, meta in rows:
                if doc_id not in metas:
                    metas[doc_id] = json.loads(meta or "{}")
                out[cid] = Chunk(chunk_id=cid, doc_id=doc_id, text=unpack_text(blob), title=title or "",
                                 source=source or "", start=int(start or 0), end=int(end or 0), page=page,
                                 metadata=dict(metas[doc_id]))
        return out

    def set_texts(self, chunks: list[Chunk]) -> None:
        """Store text and offsets for already-registered chunks (moving a layout-1 index's text out of Chroma)."""
        with self._lock:
            self._db.executemany(
                "UPDATE chunks SET start_char=?, end_char=?, page=?, text=? WHERE chunk_id=?",
                [(c.start, c.end, c.page, pack_text(c.text), c.chunk_id) for c in chunks])
            self._db.commit()

    def add(self, doc_id: str, title: str, source: str, chars: int, metadata: dict, chunk_ids: list[str],
            origin: str = "", chunks: list[Chunk] | None = None) -> None:
        """Register a document and its chunk ids; with `chunks`, their text and offsets in the same transaction."""
        if chunks is not None:
            rows = [(c.chunk_id, doc_id, c.start, c.end, c.page, pack_text(c.text)) for c in chunks]
            if [r[0] for r in rows] != list(chunk_ids):
                raise ValueError(f"{doc_id}: chunk ids and chunks disagree")
        else:
            rows = [(c, doc_id, None, None, None, None) for c in chunk_ids]
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO documents VALUES (?,?,?,?,?,?,?,?)",
                (doc_id, title, source, len(chunk_ids), chars, time.time(),
                 json.dumps(metadata, ensure_ascii=False), origin),
            )
            self._db.executemany("INSERT OR REPLACE INTO chunks VALUES (?,?,?,?,?,?)", rows)
            self._db.commit()

    def remove(self, doc_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
            self._db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
            self._db.commit()

    def close(self) -> None:
        self._db.close()
