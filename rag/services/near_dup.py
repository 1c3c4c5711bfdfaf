"""Near-duplicate news collapsed at query time: one hit per wire story, with the other outlets' copies counted.

Groups are computed over the retrieved candidates (the top `candidates` hits), not stored at ingest:
- copies of one story score almost alike in BM25 and in the dense search, so they sit in the same candidate
  pool (over 3,000 shared articles, `python -m eval.news_stages near-dup` compares the count with index-wide
  MinHash groups);
- nothing is stored, so an index built before this stage opens and collapses as it is, and deleting or
  replacing a document can never leave a stale group behind;
- it costs a few milliseconds a question (the stage's median and p95 are printed by the same script).
Similarity is the exact Jaccard index of character 5-gram shingles of the chunk texts. MinHash or SimHash
(datasketch) estimate exactly this for collections too large to compare pairwise; 30 candidates are 435 pairs
of small sets, which Python compares exactly in less time than it takes to hash 30 MinHash signatures.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from dataclasses import replace

from rag.types import Hit

_NOT_WORD = re.compile(r"[\W_]+", re.U)


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

    def __init__(self, threshold: float = 0.5, shingle: int = 5, cache_size: int = 4096) -> None:
        self.threshold = threshold
        self.k = shingle
        self._cache: OrderedDict[str, frozenset[str]] = OrderedDict()
        self._cache_size = cache_size

    def _shingles(self, hit: Hit) -> frozenset[str]:
        # Chunk ids name immutable content (documents are keyed by content hash), so the sets can be cached.
        cid = hit.chunk.chunk_id
        got = self._cache.get(cid)
        if got is None:
            got = shingles(hit.chunk.text, self.k)
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
        sets = [self._shingles(h) for h in hits]
        sizes = [len(s) for s in sets]
        t = self.threshold
        for i in range(len(hits)):
            for j in range(i + 1, len(hits)):
                di, dj = hits[i].chunk.doc_id, hits[j].chunk.doc_id
                if di == dj or not sizes[i] or not sizes[j]:
                    continue
                # Jaccard >= t needs the smaller set to be at least t of the larger: skip the rest cheaply.
                if min(sizes[i], sizes[j]) < t * max(sizes[i], sizes[j]):
                    continue
                ri, rj = find(di), find(dj)
                if ri != rj and jaccard(sets[i], sets[j]) >= t:
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
