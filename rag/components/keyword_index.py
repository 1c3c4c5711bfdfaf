"""BM25 over jieba tokens, persisted beside Chroma with the same chunk ids."""

from __future__ import annotations

import json
import logging
import math
import shutil
import sqlite3
import threading
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from rag.components.tokenize import tokenize

log = logging.getLogger(__name__)


class KeywordIndex:
    """Tokens live in SQLite (durable, incremental); the bm25s matrix is rebuilt from them when stale.

    bm25s indexes are static (no incremental add or delete), so the durable part is the token table
    and the BM25 matrix is derived. Rebuilding it costs ~14 s of CPU at 37k chunks, so each rebuild is saved
    in `<name>.bm25/` with the token generation it reflects, and a process that opens an unchanged index
    loads it instead (cold start).
    Every add or delete is one SQLite transaction (all rows or none), so a killed process never leaves a
    half-written batch; `Library.reconcile` brings the table back in step with Chroma at the next open.
    Tokens are stored space-joined and zlib-compressed (0.44 of their raw size on CRUD-RAG news); rows
    written as plain text by older versions are read as they are.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS tokens (chunk_id TEXT PRIMARY KEY, tokens TEXT NOT NULL)")
        # `generation` counts committed changes to `tokens`; the saved BM25 matrix is valid for one generation.
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        self._db.commit()
        self._snapshot = path.with_name(path.stem + ".bm25")
        self._lock = threading.Lock()
        self._bm25 = None
        self._ids: list[str] = []
        self._df: Counter[str] = Counter()
        self._stale = True
        self.before_read: Callable[[], object] | None = None

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM tokens").fetchone()[0]

    def ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT chunk_id FROM tokens")}

    def add(self, items: list[tuple[str, str]]) -> None:
        """Index (chunk_id, text) pairs; an existing id is replaced."""
        rows = [(cid, zlib.compress(" ".join(tokenize(text)).encode("utf-8"), 6)) for cid, text in items]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO tokens VALUES (?, ?)", rows)
            self._bump()
            self._db.commit()
            self._stale = True

    def delete(self, chunk_ids: list[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM tokens WHERE chunk_id = ?", [(c,) for c in chunk_ids])
            self._bump()
            self._db.commit()
            self._stale = True

    def _bump(self) -> None:
        """Within the caller's transaction: the token table changed, so any saved BM25 matrix is stale."""
        self._db.execute("INSERT INTO meta VALUES ('generation', 1) "
                         "ON CONFLICT(key) DO UPDATE SET value = value + 1")

    def _generation(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def _load_snapshot(self, generation: int) -> bool:
        """The BM25 matrix saved for this generation of the tokens, if there is one (cold start: no rebuild)."""
        import bm25s

        try:
            manifest = json.loads((self._snapshot / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("generation") != generation:
                return False
            bm25 = bm25s.BM25.load(str(self._snapshot))
            ids = json.loads((self._snapshot / "ids.json").read_text(encoding="utf-8"))
            saved_df = self._snapshot / "df.json"  # only when the matrix cannot give it (see _save_snapshot)
            df = json.loads(saved_df.read_text(encoding="utf-8")) if saved_df.exists() else _df_of(bm25)
        except FileNotFoundError:
            return False
        except Exception:  # a damaged snapshot only costs a rebuild
            log.warning("saved BM25 matrix in %s unreadable; rebuilding it", self._snapshot, exc_info=True)
            return False
        self._bm25, self._ids, self._df = bm25, ids, Counter(df)
        return True

    def _save_snapshot(self, generation: int) -> None:
        """Write the matrix beside the tokens (new directory, then swapped in; manifest written last)."""
        tmp = self._snapshot.with_name(self._snapshot.name + ".tmp")
        try:
            shutil.rmtree(tmp, ignore_errors=True)
            self._bm25.save(str(tmp), show_progress=False)
            (tmp / "ids.json").write_text(json.dumps(self._ids), encoding="utf-8")
            if _df_of(self._bm25) != self._df:  # document frequencies are the matrix's non-zeros per term
                (tmp / "df.json").write_text(json.dumps(self._df, ensure_ascii=False), encoding="utf-8")
            (tmp / "manifest.json").write_text(json.dumps({"generation": generation}), encoding="utf-8")
            shutil.rmtree(self._snapshot, ignore_errors=True)
            tmp.rename(self._snapshot)
        except OSError:  # a read-only or full disk: keep serving from memory
            log.warning("could not save the BM25 matrix to %s", self._snapshot, exc_info=True)

    def _rebuild(self) -> None:
        import bm25s

        generation = self._generation()
        if self._load_snapshot(generation):
            self._stale = False
            return
        rows = self._db.execute("SELECT chunk_id, tokens FROM tokens ORDER BY rowid").fetchall()
        self._ids = [r[0] for r in rows]
        corpus = [_tokens(r[1]) or ["\u0000"] for r in rows]
        self._df = Counter(t for toks in corpus for t in set(toks))
        if corpus:
            bm25 = bm25s.BM25()
            bm25.index(corpus, show_progress=False)
            self._bm25 = bm25
            self._save_snapshot(generation)
        else:
            self._bm25 = None
        self._stale = False

    def _ready(self) -> None:
        if self.before_read is not None:  # a shared Chroma server: catch up with other writers first
            self.before_read()
        with self._lock:
            if self._stale:
                self._rebuild()

    def search(self, query: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """(chunk_id, BM25 score) best first; chunks sharing no term with the query are left out.

        `allowed` restricts the search to those chunk ids inside BM25 scoring (bm25s' weight mask), so a
        metadata filter never empties a top-k that was cut before filtering.
        """
        self._ready()
        terms = tokenize(query)
        if self._bm25 is None or not terms:
            return []
        mask = None
        if allowed is not None:
            import numpy as np

            mask = np.fromiter((cid in allowed for cid in self._ids), dtype=np.float32, count=len(self._ids))
            if not mask.any():
                return []
        k = min(k, len(self._ids))
        docs, scores = self._bm25.retrieve([terms], k=k, show_progress=False, weight_mask=mask)
        return [(self._ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency; unseen terms get the highest weight."""
        self._ready()
        n = max(len(self._ids), 1)
        return math.log(1 + (n - self._df.get(term, 0) + 0.5) / (self._df.get(term, 0) + 0.5))

    def close(self) -> None:
        self._db.close()


def _df_of(bm25) -> Counter[str]:
    """Each term's document frequency read off a BM25 matrix (its non-zero scores), so it is not saved twice."""
    import numpy as np

    counts = np.diff(np.asarray(bm25.scores["indptr"]))
    n = len(counts)
    return Counter({t: int(counts[i]) for t, i in bm25.vocab_dict.items() if i < n and counts[i] > 0})


def _tokens(stored: bytes | str) -> list[str]:
    """A row's tokens: compressed bytes, or the plain text older versions wrote."""
    return (stored if isinstance(stored, str) else zlib.decompress(stored).decode("utf-8")).split()
