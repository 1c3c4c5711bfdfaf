"""`rag eval grounding`: the real grounding check over a labelled set of LLM answers, and what the cascade costs.

Each record (format: eval/data/README_grounding.md) holds a question, the numbered chunks the answerer saw,
an answer written the way Chinese LLMs write, whether it is good, and its style. The check is the one /ask
uses (`LLMAnswerService.check`), with the retrieval evidence the service computes (`ExtractiveAnswerer.evidence`
over the record's chunks, IDF from all the set's chunks) and the configured embedder's sentence similarity.

Reported: accepted/escalated per label and per style, the false-escalation rate (good answers escalated), the
miss rate (bad answers accepted), both over all records and over the even and odd ids (tune on one half, read
the other), and the cost per 1,000 answers of the cascade (the cheap model answers every question; an
escalated one is answered again by the strong model) against always asking the strong model.
"""

from __future__ import annotations

import json
import tempfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rag.components.llm.pricing import BEIJING, call_cost
from rag.components.llm.prompt import pack_prompt
from rag.components.llm.similarity import embedder_similarity
from rag.settings import EmbeddingSettings, Settings, load_settings
from rag.settings_llm import ProviderSettings
from rag.types import Chunk, Document, Hit

#: prices are read at a weekday noon in Beijing (no off-peak discount)
_DAYTIME = datetime(2026, 3, 2, 12, 0, tzinfo=BEIJING)
DEFAULT_SET = Path(__file__).parent / "data" / "grounding_set.jsonl"


@dataclass
class GroundingRecord:
    """One labelled answer."""

    id: str
    question: str
    chunks: list[dict[str, Any]]
    answer: str
    good: bool
    style: str
    origin: str = ""

    @property
    def question_id(self) -> str:
        return self.id.rsplit("-", 1)[0]


@dataclass
class Verdict:
    """The check's verdict on one record."""

    record: GroundingRecord
    accepted: bool
    refused: bool
    evidence: float
    problems: list[str]
    sentences: list[dict[str, Any]] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0


def load_records(path: str | Path, limit: int | None = None) -> list[GroundingRecord]:
    """Records of a JSONL file; a malformed line is an error naming the line."""
    out: list[GroundingRecord] = []
    for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(GroundingRecord(id=str(row["id"]), question=row["question"], chunks=row["chunks"],
                                       answer=row["answer"], good=bool(row["good"]), style=row["style"],
                                       origin=row.get("origin", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}:{i}: not a grounding record ({exc})") from exc
    return out[:limit] if limit else out


def _half(record: GroundingRecord) -> str:
    """'even' or 'odd' by a stable hash of the question id (all answers of a question fall in one half)."""
    return "even" if zlib.crc32(record.question_id.encode()) % 2 == 0 else "odd"


def _hits(record: GroundingRecord) -> list[Hit]:
    return [Hit(Chunk(f"{record.id}#{k}", record.question_id, c["text"], c.get("title") or "", c.get("source") or "",
                      0, len(c["text"]), c.get("page")), 1.0)
            for k, c in enumerate(record.chunks)]


def pick_providers(settings: Settings, cheap: str | None, strong: str | None) -> tuple[ProviderSettings,
                                                                                      ProviderSettings]:
    """The first tier that answers (default: the cheapest paid `cheap` provider) and the strong one it
    escalates to (default: the cheapest `strong` provider), from the configured providers."""
    providers = settings.llm.providers

    def named(name: str) -> ProviderSettings:
        for p in providers:
            if p.name == name:
                return p
        raise ValueError(f"no provider named {name!r}; configured: {', '.join(p.name for p in providers)}")

    def cheapest(tier: str) -> ProviderSettings:
        pool = [p for p in providers if p.effective_tier == tier and (p.price_input or p.price_output)]
        if not pool:
            raise ValueError(f"no paid provider of tier {tier!r} configured; name one with --cheap/--strong")
        return min(pool, key=lambda p: (p.price_input + p.price_output, p.name))

    return (named(cheap) if cheap else cheapest("cheap")), (named(strong) if strong else cheapest("strong"))


def run_checks(records: list[GroundingRecord], settings: Settings | None = None,
               embedding: EmbeddingSettings | None = None) -> list[Verdict]:
    """The service's own check on every record (IDF over the set's chunks; similarity from `embedding`)."""
    from rag.components.embedders import build_embedder
    from rag.components.embedders.cache import CachedEmbedder
    from rag.components.llm.tokens import estimate_tokens
    from rag.container import Services

    base = settings or load_settings()
    emb = embedding or base.embedding
    out: list[Verdict] = []
    with tempfile.TemporaryDirectory() as tmp:
        s = base.model_copy(update={"data_dir": Path(tmp), "embedding": EmbeddingSettings(backend="hash")}, deep=True)
        s.retrieval.fusion = "keyword"
        svc = Services(s)
        try:
            seen: set[str] = set()
            docs = []
            for r in records:
                for c in r.chunks:
                    if c["text"] not in seen:
                        seen.add(c["text"])
                        docs.append(Document(f"g{len(docs)}", c["text"], c.get("title") or "t", "grounding"))
            svc.ingester.ingest_documents(docs, origin="grounding-eval")
            if emb.backend != "hash" and s.llm.grounding.semantic:
                svc.llm.similarity = embedder_similarity(CachedEmbedder(build_embedder(emb)))
            for r in records:
                hits = _hits(r)
                evidence = svc.llm._evidence(r.question, hits)
                given = {n: h.chunk.text for n, h in enumerate(hits, start=1)}
                verdict = svc.llm.check(r.answer, given, evidence, r.question)
                prompt = pack_prompt(r.question, hits, 128000, s.llm.max_output_tokens, s.llm.prompt_reserve_tokens)
                inp = prompt.input_tokens if prompt is not None else estimate_tokens(
                    r.question + "".join(c["text"] for c in r.chunks))
                out.append(Verdict(r, verdict.ok, verdict.refused, float(evidence), verdict.problems,
                                   [c.to_dict() for c in verdict.sentences], inp, estimate_tokens(r.answer)))
        finally:
            svc.close()
    return out


def _rates(verdicts: Iterable[Verdict]) -> dict[str, Any]:
    vs = list(verdicts)
    good = [v for v in vs if v.record.good]
    bad = [v for v in vs if not v.record.good]
    fe = sum(not v.accepted for v in good)
    miss = sum(v.accepted for v in bad)
    return {"answers": len(vs), "good": len(good), "bad": len(bad),
            "good_accepted": len(good) - fe, "good_escalated": fe, "bad_accepted": miss,
            "bad_escalated": len(bad) - miss,
            "false_escalation_rate": round(fe / len(good), 4) if good else None,
            "miss_rate": round(miss / len(bad), 4) if bad else None}


def summarise(verdicts: list[Verdict], cheap: ProviderSettings, strong: ProviderSettings) -> dict[str, Any]:
    """Rates overall, per half and per style; the cascade's cost per 1,000 answers against the strong tier."""
    by_style: dict[str, list[Verdict]] = defaultdict(list)
    for v in verdicts:
        by_style[v.record.style].append(v)
    styles = {}
    for style, vs in sorted(by_style.items()):
        good = vs[0].record.good
        acc = sum(v.accepted for v in vs)
        styles[style] = {"good": good, "answers": len(vs), "accepted": acc, "escalated": len(vs) - acc,
                         ("false_escalation_rate" if good else "miss_rate"):
                             round((len(vs) - acc if good else acc) / len(vs), 4)}
    cascade = strong_only = first_only = 0.0
    for v in verdicts:
        c1 = call_cost(cheap, v.input_tokens, v.output_tokens, _DAYTIME)
        c2 = call_cost(strong, v.input_tokens, v.output_tokens, _DAYTIME)
        first_only += c1
        cascade += c1 + (0.0 if v.accepted else c2)
        strong_only += c2
    n = max(len(verdicts), 1)
    escalated = sum(not v.accepted for v in verdicts)
    return {
        "overall": _rates(verdicts),
        "halves": {h: _rates(v for v in verdicts if _half(v.record) == h) for h in ("even", "odd")},
        "styles": styles,
        "questions": len({v.record.question_id for v in verdicts}),
        "origins": dict(Counter(v.record.origin for v in verdicts)),
        "cost": {"cheap": cheap.name, "strong": strong.name,
                 "escalation_rate": round(escalated / n, 4),
                 "cascade_cny_per_1000": round(1000 * cascade / n, 4),
                 "cheap_only_cny_per_1000": round(1000 * first_only / n, 4),
                 "strong_only_cny_per_1000": round(1000 * strong_only / n, 4),
                 "cascade_vs_strong": round(cascade / strong_only, 4) if strong_only else None},
        "targets": _targets(verdicts, styles),
    }


def _targets(verdicts: list[Verdict], styles: dict[str, dict]) -> dict[str, Any]:
    o = _rates(verdicts)
    worst = max((s["false_escalation_rate"] for s in styles.values() if s["good"]), default=0.0)
    return {"false_escalation_le_5pct": (o["false_escalation_rate"] or 0) <= 0.05,
            "every_good_style_le_10pct": worst <= 0.10,
            "miss_le_10pct": (o["miss_rate"] or 0) <= 0.10}


def evaluate_grounding(path: str | Path = DEFAULT_SET, limit: int | None = None, embedding: str | None = None,
                       cheap: str | None = None, strong: str | None = None,
                       settings: Settings | None = None) -> dict[str, Any]:
    """Run the check over a labelled set; returns the summary plus each escalation/miss for reading."""
    s = settings or load_settings()
    records = load_records(path, limit)
    emb = s.embedding if embedding is None else EmbeddingSettings(**{**s.embedding.model_dump(), "backend": embedding})
    first, second = pick_providers(s, cheap, strong)
    verdicts = run_checks(records, s, emb)
    out = summarise(verdicts, first, second)
    out["dataset"] = str(path)
    out["embedding"] = emb.backend if s.llm.grounding.semantic else f"{emb.backend} (semantic support off: lexical)"
    out["errors"] = [{"id": v.record.id, "style": v.record.style, "good": v.record.good,
                      "evidence": round(v.evidence, 3),
                      "problems": v.problems[:4]}
                     for v in verdicts if v.accepted != v.record.good]
    return out


def format_grounding(result: dict[str, Any]) -> str:
    """A terminal report of `evaluate_grounding`'s result."""
    o = result["overall"]
    lines = [f"grounding check on {result['dataset']} ({o['answers']} answers, {result['questions']} questions, "
             f"embedding {result['embedding']})",
             f"  good: {o['good_accepted']} accepted, {o['good_escalated']} escalated -> false-escalation "
             f"{100 * (o['false_escalation_rate'] or 0):.1f}%",
             f"  bad:  {o['bad_escalated']} escalated, {o['bad_accepted']} accepted -> miss "
             f"{100 * (o['miss_rate'] or 0):.1f}%"]
    for h, r in result["halves"].items():
        lines.append(f"  {h} half ({r['answers']}): false-escalation {100 * (r['false_escalation_rate'] or 0):.1f}%, "
                     f"miss {100 * (r['miss_rate'] or 0):.1f}%")
    lines.append("  style                 label  answers  accepted  escalated  rate")
    for style, st in result["styles"].items():
        rate = st.get("false_escalation_rate", st.get("miss_rate"))
        lines.append(f"  {style:<21} {'good' if st['good'] else 'bad':<5}  {st['answers']:>7}  {st['accepted']:>8}  "
                     f"{st['escalated']:>9}  {100 * rate:.1f}%")
    c = result["cost"]
    lines.append(f"  cost per 1,000 answers: cascade {c['cheap']}->{c['strong']} {c['cascade_cny_per_1000']:.4f} CNY "
                 f"(escalating {100 * c['escalation_rate']:.1f}%) vs always {c['strong']} "
                 f"{c['strong_only_cny_per_1000']:.4f} CNY ({c['cascade_vs_strong']}x); {c['cheap']} alone "
                 f"{c['cheap_only_cny_per_1000']:.4f}")
    t = result["targets"]
    lines.append("  targets: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in t.items()))
    return "\n".join(lines)


__all__ = ["GroundingRecord", "Verdict", "evaluate_grounding", "format_grounding", "load_records", "run_checks",
           "summarise"]
