"""Which documents are indexed, from which source, with which chunk ids (SQLite beside Chroma)."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rag.types import Filters


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
    """Documents and their chunk ids; the ingest service's source of truth for replace and delete."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._lock = threading.Lock()
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS documents (
                doc_id TEXT PRIMARY KEY, title TEXT, source TEXT, n_chunks INTEGER, chars INTEGER,
                added_at REAL, metadata TEXT, origin TEXT);
            CREATE INDEX IF NOT EXISTS documents_origin ON documents(origin);
            CREATE TABLE IF NOT EXISTS chunks (chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
            """
        )
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
        """One page of documents, oldest first (stable order for paging)."""
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
        for i in range(0, len(doc_ids), 500):  # SQLite caps bound parameters per statement
            part = doc_ids[i : i + 500]
            marks = ",".join("?" * len(part))
            out.update(r[0] for r in self._db.execute(f"SELECT chunk_id FROM chunks WHERE doc_id IN ({marks})", part))
        return out

    def all_chunk_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT chunk_id FROM chunks")}

    def add(self, doc_id: str, title: str, source: str, chars: int, metadata: dict, chunk_ids: list[str],
            origin: str = "") -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO documents VALUES (?,?,?,?,?,?,?,?)",
                (doc_id, title, source, len(chunk_ids), chars, time.time(),
                 json.dumps(metadata, ensure_ascii=False), origin),
            )
            self._db.executemany("INSERT OR REPLACE INTO chunks VALUES (?,?)", [(c, doc_id) for c in chunk_ids])
            self._db.commit()

    def remove(self, doc_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
            self._db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
            self._db.commit()

    def close(self) -> None:
        self._db.close()
