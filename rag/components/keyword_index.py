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
from itertools import chain, count
from pathlib import Path
from typing import NamedTuple

from rag.components.tokenize import tokenize

log = logging.getLogger(__name__)


class KeywordIndex:
    """Tokens live in SQLite (durable, incremental); the bm25s matrix is rebuilt from them when stale.

    bm25s indexes are static (no incremental add or delete), so the durable part is the token table
    and the BM25 matrix is derived. Rebuilding it costs ~6 s of CPU at 38k chunks (`_build`), so writers rebuild
    it at the end of a write batch (`refresh`, called by `Library.batch`) rather than the next search, and each
    rebuild is saved in `<name>.bm25/` with the token generation it reflects, so a process that opens an
    unchanged index loads it instead (cold start).
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
        self._lock = threading.Lock()  # guards the token table and the swap of the matrix
        self._build_lock = threading.Lock()  # one rebuild at a time; held while a writer rebuilds
        self._matrix = _Matrix(None, [], Counter())
        self._built = False  # a matrix (possibly stale) exists, so searches need not wait for a rebuild
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

    def generation(self) -> int:
        """How many committed changes the token table has seen (a cheap "did anything change?")."""
        return self._generation()

    def _generation(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def _load_snapshot(self, generation: int) -> _Matrix | None:
        """The BM25 matrix saved for this generation of the tokens, if there is one (cold start: no rebuild)."""
        import bm25s

        try:
            manifest = json.loads((self._snapshot / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("generation") != generation:
                return None
            bm25 = bm25s.BM25.load(str(self._snapshot))
            ids = json.loads((self._snapshot / "ids.json").read_text(encoding="utf-8"))
            saved_df = self._snapshot / "df.json"  # written by versions that saved it beside the matrix
            df = json.loads(saved_df.read_text(encoding="utf-8")) if saved_df.exists() else _df_of(bm25)
        except FileNotFoundError:
            return None
        except Exception:  # a damaged snapshot only costs a rebuild
            log.warning("saved BM25 matrix in %s unreadable; rebuilding it", self._snapshot, exc_info=True)
            return None
        return _Matrix(bm25, ids, Counter(df))

    def _save_snapshot(self, matrix: _Matrix, generation: int) -> None:
        """Write the matrix beside the tokens (new directory, then swapped in; manifest written last)."""
        tmp = self._snapshot.with_name(self._snapshot.name + ".tmp")
        try:
            shutil.rmtree(tmp, ignore_errors=True)
            matrix.bm25.save(str(tmp), show_progress=False)
            # No df.json: document frequencies are the matrix's non-zeros per term (`_df_of`), which is how
            # `_build` computes them in the first place.
            (tmp / "ids.json").write_text(json.dumps(matrix.ids), encoding="utf-8")
            (tmp / "manifest.json").write_text(json.dumps({"generation": generation}), encoding="utf-8")
            shutil.rmtree(self._snapshot, ignore_errors=True)
            tmp.rename(self._snapshot)
        except OSError:  # a read-only or full disk: keep serving from memory
            log.warning("could not save the BM25 matrix to %s", self._snapshot, exc_info=True)

    def refresh(self) -> None:
        """Bring the matrix up to date with the tokens (writers call it after a batch, not the next search).

        The new matrix is built beside the old one and swapped in under the lock, so concurrent searches
        keep using the old matrix until then and never see a half-built one.
        """
        with self._build_lock:
            with self._lock:  # the rows and their generation are read together, between writes
                if not self._stale:
                    return
                generation = self._generation()
                matrix = self._load_snapshot(generation)
                rows = None if matrix is not None else self._db.execute(
                    "SELECT chunk_id, tokens FROM tokens ORDER BY rowid").fetchall()
            if matrix is None:
                matrix = _build(rows)
                if matrix.bm25 is not None:
                    self._save_snapshot(matrix, generation)
            with self._lock:
                self._matrix = matrix
                self._built = True
                self._stale = self._generation() != generation  # a write during the build: stale again

    def _ready(self) -> _Matrix:
        if self.before_read is not None:  # a shared Chroma server: catch up with other writers first
            self.before_read()
        if self._stale and not (self._built and self._build_lock.locked()):
            self.refresh()  # no writer is rebuilding: correctness first, this search rebuilds
        return self._matrix  # while a writer rebuilds, its predecessor answers until the swap

    def search(self, query: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """(chunk_id, BM25 score) best first; chunks sharing no term with the query are left out.

        `allowed` restricts the search to those chunk ids inside BM25 scoring (bm25s' weight mask), so a
        metadata filter never empties a top-k that was cut before filtering.
        """
        m = self._ready()
        terms = tokenize(query)
        if m.bm25 is None or not terms:
            return []
        mask = None
        if allowed is not None:
            import numpy as np

            mask = np.fromiter((cid in allowed for cid in m.ids), dtype=np.float32, count=len(m.ids))
            if not mask.any():
                return []
        k = min(k, len(m.ids))
        docs, scores = m.bm25.retrieve([terms], k=k, show_progress=False, weight_mask=mask)
        return [(m.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency; unseen terms get the highest weight."""
        m = self._ready()
        n = max(len(m.ids), 1)
        return math.log(1 + (n - m.df.get(term, 0) + 0.5) / (m.df.get(term, 0) + 0.5))

    def close(self) -> None:
        self._db.close()


class _Matrix(NamedTuple):
    """One BM25 matrix with the chunk id of each row and each term's document frequency (swapped as one)."""

    bm25: object | None
    ids: list[str]
    df: Counter[str]


def _build(rows: list[tuple[str, bytes | str]]) -> _Matrix:
    """The bm25s matrix of these (chunk_id, tokens) rows, computed with numpy/scipy in bm25s' float order.

    bm25s' own `index` counts terms in Python loops (12 s at 38k chunks); this computes the same lucene
    scores, term for term and bit for bit (tests/test_bm25_rebuild.py), from one sparse count matrix.
    """
    import bm25s
    import numpy as np
    import scipy.sparse as sp

    if not rows:
        return _Matrix(None, [], Counter())
    docs = [_tokens(r[1]) or ["\u0000"] for r in rows]
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    total = int(lengths.sum())
    # One hashing pass: each term maps to the position of its first occurrence; those positions, kept in
    # insertion order, are renumbered 0..V-1 through a lookup table.
    first: dict[str, int] = {}
    seen_at = np.fromiter(map(first.setdefault, chain.from_iterable(docs), count()), dtype=np.int64, count=total)
    number = np.zeros(total, dtype=np.int32)
    number[np.fromiter(first.values(), dtype=np.int64, count=len(first))] = np.arange(len(first), dtype=np.int32)
    term = number[seen_at]
    vocab = {t: i for i, t in enumerate(first)}
    doc = np.repeat(np.arange(len(docs), dtype=np.int32), lengths)
    counts = sp.csc_matrix((np.ones(total, dtype=np.float32), (doc, term)), shape=(len(docs), len(vocab)))
    counts.sum_duplicates()
    bm25 = bm25s.BM25()
    if (bm25.method, bm25.idf_method) != ("lucene", "lucene"):
        raise RuntimeError(f"bm25s default changed to {bm25.method}; _build computes lucene scores")
    df = np.diff(counts.indptr)
    # idf as bm25s computes it: math.log per distinct document frequency, stored as float32
    n = len(docs)
    distinct = np.unique(df)
    idf_of = np.array([math.log(1 + (n - int(f) + 0.5) / (int(f) + 0.5)) for f in distinct], dtype=np.float32)
    idf = idf_of[np.searchsorted(distinct, df)]
    avg_len = lengths.mean()
    norm = bm25.k1 * ((1 - bm25.b) + bm25.b * lengths.astype(np.float64) / avg_len)  # per document
    tf = counts.data.astype(np.float64)
    rows_of = counts.indices
    tfc = tf / (norm[rows_of] + tf)
    data = (np.repeat(idf, df).astype(np.float64) * tfc).astype(np.float32)
    bm25.scores = {"data": data, "indices": rows_of.astype(np.int32), "indptr": counts.indptr.astype(np.int32),
                   "num_docs": n}
    bm25.vocab_dict = vocab | {"": len(vocab)}  # bm25s' empty token, for queries with no known term
    bm25.nonoccurrence_array = None
    bm25.unique_token_ids_set = set(bm25.vocab_dict.values())
    inv = list(vocab)
    return _Matrix(bm25, [r[0] for r in rows], Counter({inv[i]: int(c) for i, c in enumerate(df)}))


def _df_of(bm25) -> Counter[str]:
    """Each term's document frequency read off a BM25 matrix (its non-zero scores), so it is not saved twice."""
    import numpy as np

    counts = np.diff(np.asarray(bm25.scores["indptr"]))
    n = len(counts)
    return Counter({t: int(counts[i]) for t, i in bm25.vocab_dict.items() if i < n and counts[i] > 0})


def _tokens(stored: bytes | str) -> list[str]:
    """A row's tokens: compressed bytes, or the plain text older versions wrote."""
    return (stored if isinstance(stored, str) else zlib.decompress(stored).decode("utf-8")).split()
