"""How the evaluation counts a collapsed story: a group of near-duplicate copies holding a relevant document
counts as that relevant document, once (so collapsing two relevant copies into one hit costs no recall)."""

from __future__ import annotations

from rag.types import Hit


def ranked_groups(hits: list[Hit], depth: int) -> list[list[str]]:
    """Documents in order of their best chunk, each with the copies collapsed into it, up to `depth` deep."""
    out: list[list[str]] = []
    seen: set[str] = set()
    for h in hits:
        if h.chunk.doc_id in seen:
            continue
        seen.add(h.chunk.doc_id)
        out.append([h.chunk.doc_id, *h.duplicate_doc_ids])
        if len(out) == depth:
            break
    return out


def group_relevance(groups: list[list[str]], relevant: set[str]) -> tuple[list[str], set[str]]:
    """One id per ranked group (a relevant member's when it has one) and the relevant set with the other
    relevant members of those groups removed: recall then counts stories, not copies."""
    ranked: list[str] = []
    rel = set(relevant)
    for members in groups:
        hit = [d for d in members if d in relevant]
        ranked.append(hit[0] if hit else members[0])
        rel -= set(hit[1:])
    return ranked, rel
