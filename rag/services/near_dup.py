"""Near-duplicate news collapsed at query time: one hit per wire story, with the other outlets' copies counted.

Groups are computed over the retrieved candidates (the top `candidates` hits of each list), not stored at
ingest:
- copies of one story score almost alike in BM25 and in the dense search, so they sit in the same candidate
  pool (`python -m eval.news_stages near-dup` compares the stage's count with index-wide MinHash groups);
- nothing is stored, so an index built before this stage opens and collapses as it is, and deleting or
  replacing a document can never leave a stale group behind;
- it costs a few milliseconds a question (median and p95 printed by the same script).
Two chunks are copies when the Jaccard index of their sets of clauses (text between punctuation, at least
`min_clause` characters, width and case folded) reaches `threshold`; pairs are found through an inverted index
of clauses, so only chunks sharing a clause are compared. Over 3,600 pairs of the shared 23k articles (pairs
sharing their first 60 characters, and random pairs) this agrees with the Jaccard of character 5-gram shingles
>= 0.5, what MinHash (datasketch) estimates, on 99.6%, at a fraction of the cost: the 5-gram sets of 90
candidates and their 4,000 pairwise comparisons took 40-60 ms a question here, over the 100 ms budget of a
whole query. The index-wide reference detector of the eval uses datasketch's MinHash LSH over 5-grams.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, OrderedDict, defaultdict
from dataclasses import replace
from itertools import combinations

from rag.types import Hit

_NOT_WORD = re.compile(r"[\W_]+", re.U)
# No ASCII . or : among them: they sit inside numbers and times (49.3%, 16:40), which stay whole.
_CLAUSE_END = re.compile(r"[，。！？；：、,!?;\s“”\"'‘’（）()《》〈〉【】\[\]—…·|/]+")
#: a clause in more chunks than this is boilerplate (分享让更多人看到), not a copy: its pairs are not counted
_COMMON_CLAUSE = 64


# Full-width ASCII forms folded by a translation table: NFKC folds the same at twice the cost (42 vs 23 us a
# chunk), which was most of the stage's time.
_FULL_WIDTH = str.maketrans({chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)})
_HAS_FULL_WIDTH = re.compile("[\uff01-\uff5e]")


def clauses(text: str, min_len: int = 6) -> frozenset[str]:
    """The text's clauses of at least `min_len` characters, without punctuation, full-width forms folded."""
    if _HAS_FULL_WIDTH.search(text):
        text = text.translate(_FULL_WIDTH)
    return frozenset(p for p in _CLAUSE_END.split(text.lower()) if len(p) >= min_len)


def shingles(text: str, k: int = 5) -> frozenset[str]:
    """Character k-grams of the text without spaces and punctuation (full-width forms folded)."""
    t = _NOT_WORD.sub("", unicodedata.normalize("NFKC", text)).lower()
    if len(t) <= k:
        return frozenset([t]) if t else frozenset()
    return frozenset(t[i : i + k] for i in range(len(t) - k + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


class NearDupCollapser:
    """Groups hits of different documents whose chunks are near-identical, and keeps the best-ranked one."""

    def __init__(self, threshold: float = 0.4, min_clause: int = 6, cache_size: int = 4096) -> None:
        self.threshold = threshold
        self.min_clause = min_clause
        self._cache: OrderedDict[str, frozenset[str]] = OrderedDict()
        self._cache_size = cache_size

    def _clauses(self, hit: Hit) -> frozenset[str]:
        # Chunk ids name immutable content (documents are keyed by content hash), so the sets can be cached.
        cid = hit.chunk.chunk_id
        got = self._cache.get(cid)
        if got is None:
            got = clauses(hit.chunk.text, self.min_clause)
            self._cache[cid] = got
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(cid)
        return got

    def groups(self, hits: list[Hit]) -> dict[str, str]:
        """doc_id -> the doc_id naming its group (the first of its members in `hits` order)."""
        parent: dict[str, str] = {}

        def find(d: str) -> str:
            while parent[d] != d:
                parent[d] = parent[parent[d]]
                d = parent[d]
            return d

        firsts: dict[str, int] = {}
        for i, h in enumerate(hits):
            parent.setdefault(h.chunk.doc_id, h.chunk.doc_id)
            firsts.setdefault(h.chunk.doc_id, i)
        sets = [self._clauses(h) for h in hits]
        postings: defaultdict[str, list[int]] = defaultdict(list)
        for i, sig in enumerate(sets):
            for c in sig:
                postings[c].append(i)
        shared: Counter[tuple[int, int]] = Counter()
        for idx in postings.values():
            if 1 < len(idx) <= _COMMON_CLAUSE:
                shared.update(pair for pair in combinations(idx, 2))
        for (i, j), n in sorted(shared.items()):
            di, dj = hits[i].chunk.doc_id, hits[j].chunk.doc_id
            if di == dj or n / (len(sets[i]) + len(sets[j]) - n) < self.threshold:
                continue
            ri, rj = find(di), find(dj)
            if ri != rj:
                # the root is the member ranked first, so a group is named by what the user sees
                if firsts[ri] <= firsts[rj]:
                    parent[rj] = ri
                else:
                    parent[ri] = rj
        return {d: find(d) for d in parent}

    def collapse(self, hits: list[Hit], groups: dict[str, str] | None = None) -> list[Hit]:
        """Hits with every copy of a story after its first member removed; the first lists the others."""
        groups = groups if groups is not None else self.groups(hits)
        members: dict[str, list[str]] = {}
        for h in hits:
            g = groups.get(h.chunk.doc_id, h.chunk.doc_id)
            docs = members.setdefault(g, [])
            if h.chunk.doc_id not in docs:
                docs.append(h.chunk.doc_id)
        out: list[Hit] = []
        shown: dict[str, str] = {}  # group -> the doc shown for it
        for h in hits:
            g = groups.get(h.chunk.doc_id, h.chunk.doc_id)
            doc = shown.setdefault(g, h.chunk.doc_id)
            if doc != h.chunk.doc_id:
                continue  # a copy from another outlet
            others = [d for d in members[g] if d != doc]
            out.append(replace(h, duplicate_doc_ids=others) if others else h)
        return out
