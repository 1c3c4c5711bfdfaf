"""Thumbs up/down on answers, kept in SQLite beside the index so answer quality can be reviewed later."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT PRIMARY KEY,
    rating INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    model TEXT NOT NULL,
    details TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_updated ON feedback(updated_at);
"""


class FeedbackStore:
    """One row per rated answer (keyed by the answer's id): a new vote replaces the old, withdrawing deletes it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per call: the store is written a few times a minute at most, and nothing stays open.
        db = sqlite3.connect(str(self.path), timeout=10)
        try:
            with db:  # commits, or rolls back on error
                yield db
        finally:
            db.close()

    def record(self, answer_id: str, liked: bool, question: str, answer: str, citations: list[dict[str, Any]],
               model: str = "", details: dict[str, Any] | None = None) -> None:
        """Store (or replace) the vote on one answer, with what was asked, answered and cited."""
        if not answer_id:
            raise ValueError("answer_id must not be empty")
        now = time.time()
        row = (answer_id, 1 if liked else -1, question, answer, json.dumps(citations, ensure_ascii=False),
               model, json.dumps(details or {}, ensure_ascii=False, default=str), now, now)
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT INTO feedback VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(answer_id) DO UPDATE SET "
                "rating=excluded.rating, updated_at=excluded.updated_at",
                row,
            )

    def withdraw(self, answer_id: str) -> bool:
        """Remove the vote on one answer (the user clicked the same thumb again); False if there was none."""
        with self._lock, self._connect() as db:
            return db.execute("DELETE FROM feedback WHERE answer_id=?", (answer_id,)).rowcount > 0

    def get(self, answer_id: str) -> dict[str, Any] | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM feedback WHERE answer_id=?", (answer_id,)).fetchone()
        return _as_dict(row) if row else None

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest votes, newest first."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM feedback ORDER BY updated_at DESC LIMIT ?", (limit,)).fetchall()
        return [_as_dict(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._connect() as db:
            up, down = db.execute(
                "SELECT COALESCE(SUM(rating > 0), 0), COALESCE(SUM(rating < 0), 0) FROM feedback"
            ).fetchone()
        return {"up": int(up), "down": int(down)}


def _as_dict(row: tuple) -> dict[str, Any]:
    return {
        "answer_id": row[0],
        "liked": row[1] > 0,
        "question": row[2],
        "answer": row[3],
        "citations": json.loads(row[4]),
        "model": row[5],
        "details": json.loads(row[6]),
        "created_at": row[7],
        "updated_at": row[8],
    }
