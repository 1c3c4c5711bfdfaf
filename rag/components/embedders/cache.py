"""On-disk embedding cache, so re-running evals and benchmarks over the same texts never re-embeds them.

Usage (any `Embedder` can be wrapped; the wrapper is an `Embedder` too)::

    from rag.components.embedders.cache import CachedEmbedder
    emb = CachedEmbedder(build_embedder(settings.embedding))          # default path, see default_path()
    emb = CachedEmbedder(inner, "/tmp/emb.sqlite")                     # explicit file

A vector is keyed by the inner embedder's model id (its `space` plus the runtime it reports in
`describe()`, since e.g. int8 ONNX vectors differ slightly from fp32 ones), the role (`query` or
`passage`, because e5 prefixes them differently) and the SHA-256 of the text. Entries live in one
SQLite file (WAL mode: several processes may read and write it at once). `stats` counts hits/misses.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np

from rag.components.embedders.base import Embedder

#: file name inside the cache directory
CACHE_FILE = "embeddings.sqlite"


def default_path() -> Path:
    """`$RAG_EMBED_CACHE` (a file, or a directory to hold `embeddings.sqlite`), else ~/.cache/rag-cn/emb-cache."""
    env = os.environ.get("RAG_EMBED_CACHE")
    base = Path(env).expanduser() if env else Path.home() / ".cache" / "rag-cn" / "emb-cache"
    return base if base.suffix in (".sqlite", ".db") else base / CACHE_FILE


def model_id(embedder: Embedder) -> str:
    """What identifies the vectors an embedder produces: its space and its runtime."""
    info = embedder.describe()
    return f"{embedder.space}|{info.get('runtime', type(embedder).__name__)}|{embedder.dim}"


class CachedEmbedder(Embedder):
    """Wraps an embedder; looks every text up in the cache first and embeds only the misses, in one batch."""

    def __init__(self, inner: Embedder, path: str | os.PathLike[str] | None = None) -> None:
        self.inner = inner
        self.path = Path(path) if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, model TEXT NOT NULL, vec BLOB NOT NULL)")
        self._db.commit()
        self._lock = threading.Lock()
        self._model: str | None = None
        self.stats = {"hits": 0, "misses": 0}

    # The inner embedder's identity, so an index built through the cache is the inner's index.
    @property
    def space(self) -> str:  # type: ignore[override]
        return self.inner.space

    @property
    def dim(self) -> int:  # type: ignore[override]
        return self.inner.dim

    def describe(self) -> dict[str, str]:
        return {**self.inner.describe(), "cache": str(self.path)}

    def warm_up(self) -> None:
        """Nothing: the inner model loads only when a text misses the cache."""

    def _key(self, role: str, text: str) -> str:
        if self._model is None:
            self._model = model_id(self.inner)
        return hashlib.sha256(f"{self._model}\x00{role}\x00{text}".encode()).hexdigest()

    def _lookup(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        uniq = list(dict.fromkeys(keys))
        with self._lock:
            for start in range(0, len(uniq), 500):
                part = uniq[start : start + 500]
                marks = ",".join("?" * len(part))
                for key, blob in self._db.execute(f"SELECT key, vec FROM emb WHERE key IN ({marks})", part):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def _store(self, rows: list[tuple[str, np.ndarray]]) -> None:
        model = self._model or model_id(self.inner)
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?, ?)",
                                 [(k, model, np.asarray(v, dtype=np.float32).tobytes()) for k, v in rows])
            self._db.commit()

    def _cached(self, role: str, texts: list[str]) -> np.ndarray:
        keys = [self._key(role, t) for t in texts]
        found = self._lookup(keys)
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        self.stats["hits"] += len(keys) - sum(1 for k in keys if k not in found)
        self.stats["misses"] += len(missing)
        if missing:
            wanted = set(missing)
            first = {k: t for k, t in zip(keys, texts, strict=True) if k in wanted}
            todo = [first[k] for k in missing]
            if role == "query":
                vecs = np.stack([self.inner.embed_query(t) for t in todo])
            else:
                vecs = self.inner.embed_passages(todo)
            self._store(list(zip(missing, vecs, strict=True)))
            found.update({k: np.asarray(v, dtype=np.float32) for k, v in zip(missing, vecs, strict=True)})
        return np.stack([found[k] for k in keys]).astype(np.float32)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._cached("passage", texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._cached("query", [text])[0]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Many queries at once (misses are embedded one by one, as `embed_query` would)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._cached("query", texts)

    def close(self) -> None:
        self._db.close()


__all__ = ["CACHE_FILE", "CachedEmbedder", "default_path", "model_id"]
