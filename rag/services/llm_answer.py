"""Answer a question through the cheapest adequate LLM, with citation checks, escalation and a cost ledger.

Flow per request: rank the configured providers by the estimated cost of this very prompt (free ones cost 0,
so they go first), call the cheapest, fall through on timeouts / 429 / 5xx (cooling that provider down) and
on 401 / 403 (disabling it), check the answer's citations, escalate once to a higher tier when the check
fails, and fall back to the extractive answerer (tier 0) when nothing is configured or everything failed.

`Answer.citations` holds only the chunks the answer cites, numbered as they were given to the model (n is the
position of the hit in `hits`, 1-based). `Answer.cost` is the CNY spent on every call made for the answer
(an escalated-from call included); `Answer.usage` totals the tokens over those calls too, and each entry of
`Answer.attempts` has its own figures.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rag.components.llm.citations import MarkerStream, normalise_markers
from rag.components.llm.client import CallFailure, ChatClient, Completion
from rag.components.llm.grounding import GroundingResult, Similarity, check_grounding
from rag.components.llm.pricing import BEIJING, call_cost
from rag.components.llm.provider_state import ProviderStates
from rag.components.llm.router import (
    Candidate,
    api_key,
    escalation_targets,
    not_configured_reason,
    rank,
)
from rag.components.llm.tokens import estimate_tokens
from rag.components.shared_state import SpendLedger, SqliteLedger
from rag.settings_llm import LLMSettings, ProviderSettings
from rag.types import Answer, Attempt, Budget, Citation, DoneEvent, Hit, ResetEvent, StreamEvent, TokenEvent, Usage

log = logging.getLogger(__name__)

Fallback = Callable[[str, list[Hit]], Answer]
Evidence = Callable[[str, list[Hit]], float]

# Failure kinds that cool a provider down (transient); "auth" disables it; the rest just fall through.
_COOL_DOWN = {"timeout", "rate_limited", "server_error", "connection", "not_found"}


@dataclass
class _Attempt:
    """One successful call: the candidate, its completion, tokens, cost and grounding verdict."""

    cand: Candidate
    completion: Completion
    input_tokens: int
    output_tokens: int
    usage_estimated: bool
    cost: float
    grounding: GroundingResult


@dataclass
class _Run:
    """Bookkeeping for one request."""

    tried: list[Attempt] = field(default_factory=list)
    cost: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    question: str = ""  # what the grounding check reads the answer against


class LLMAnswerService:
    """Routes each question to the cheapest adequate provider and returns a cited, costed Answer."""

    def __init__(
        self,
        settings: LLMSettings,
        fallback: Fallback,
        ledger_dir: Path,
        evidence: Evidence | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] | None = None,
        ledger: SpendLedger | None = None,
        similarity: Similarity | None = None,
    ) -> None:
        """`ledger`: the spend ledger all workers share (default: SQLite in `ledger_dir`)."""
        self.settings = settings
        self.similarity = similarity  # sentence similarity for the grounding check (None: lexical only)
        self.fallback = fallback
        self.evidence = evidence
        self.ledger = ledger if ledger is not None else SqliteLedger(
            Path(ledger_dir) / "shared_state.sqlite", legacy_json=Path(ledger_dir) / settings.ledger_file)
        self.states = ProviderStates(settings.cooldown_s, settings.max_cooldown_s, clock)
        self._now = now or (lambda: datetime.now(BEIJING))
        self._clients: dict[str, tuple[str | None, ChatClient]] = {}
        self._lock = threading.Lock()

    # ---- public API -------------------------------------------------------------------------------------

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        """Route, check and cascade; falls back to the extractive answerer with `fallback_reason` set."""
        result: Answer | None = None
        for event in self._run(question, hits, streaming=False):
            if isinstance(event, DoneEvent):
                result = event.answer
        assert result is not None
        return result

    def stream(self, question: str, hits: list[Hit]) -> Iterator[StreamEvent]:
        """Yield TokenEvents, then a DoneEvent carrying the Answer.

        If a provider fails mid-stream, or its streamed answer fails the citation check and the request
        escalates, a ResetEvent says to discard the text streamed so far; the DoneEvent's answer text is
        always the authoritative one.
        """
        yield from self._run(question, hits, streaming=True)

    def health(self) -> dict[str, Any]:
        """Per provider: status (ready, inactive, disabled, cooling down) and why; spend and budget."""
        wall = self._now()
        providers = []
        for p in self.settings.providers:
            entry: dict[str, Any] = {
                "name": p.name,
                "model": p.model,
                "tier": p.effective_tier,
                "price_input": p.price_input,
                "price_output": p.price_output,
                "context_window": p.context_window,
            }
            inert = not_configured_reason(p)
            if inert:
                entry["status"] = "inactive"
                entry["reason"] = inert
            else:
                snap = self.states.snapshot(p.name)
                entry.update(snap)
                if "disabled_reason" in snap:
                    entry["status"] = "disabled"
                    entry["reason"] = snap["disabled_reason"]
                elif "cooling_down_s" in snap:
                    entry["status"] = "cooling down"
                    entry["reason"] = snap["cooling_reason"]
                    until = wall + timedelta(seconds=float(snap["cooling_down_s"]))  # type: ignore[arg-type]
                    entry["cooling_until"] = until.isoformat(timespec="seconds")
                elif p.rpm is not None and int(snap["calls_last_minute"]) >= p.rpm:  # type: ignore[call-overload]
                    entry["status"] = "rate limited"
                    entry["reason"] = f"{p.rpm} requests per minute reached"
                else:
                    entry["status"] = "ready"
            providers.append(entry)
        day = self._day()
        spent = self.ledger.spent(day)
        budget = self.settings.daily_budget_cny
        return {
            "providers": providers,
            "ready": sum(1 for e in providers if e["status"] == "ready"),
            "budget": {
                "day": day,
                "spent_cny": round(spent, 6),
                "daily_budget_cny": budget,
                "left_cny": None if budget is None else round(max(budget - spent, 0.0), 6),
                "calls": self.ledger.day(day).get("calls", 0),
                "only_free": budget is not None and spent >= budget,
            },
        }

    def complete_cheapest(self, messages: list[dict[str, str]], max_tokens: int) -> dict[str, Any] | None:
        """A small side task (e.g. rewriting a follow-up question) on the cheapest ready provider.

        Returns {"text", "provider", "cost", "input_tokens", "output_tokens"}, or None when no provider is
        ready or every one failed; failures cool providers down exactly as answering does.
        """
        when = self._now()
        ready = [p for p in self.settings.providers
                 if not not_configured_reason(p) and not self.states.unavailable_reason(p.name, p.rpm)]
        est_in = estimate_tokens("".join(m["content"] for m in messages))
        ready.sort(key=lambda p: call_cost(p, est_in, max_tokens, when))
        budget = self._budget_left()
        for provider in ready:
            if budget is not None and call_cost(provider, est_in, max_tokens, when) > max(budget, 0.0):
                continue
            self.states.note_call(provider.name)
            try:
                done = self._client(provider).complete(messages, max_tokens, self.settings.temperature)
            except CallFailure as failure:
                self._handle_failure(provider, failure, _Run())
                continue
            self.states.note_success(provider.name)
            inp = done.input_tokens if done.input_tokens is not None else est_in
            out = done.output_tokens if done.output_tokens is not None else estimate_tokens(done.text)
            cost = call_cost(provider, inp, out, when, done.cached_tokens)
            self.ledger.record(self._day(), provider.name, inp, out, cost)
            return {"text": done.text, "provider": provider.name, "cost": cost, "input_tokens": inp,
                    "output_tokens": out}
        return None

    def check(self, text: str, given: dict[int, str], evidence: float | None, question: str = "") -> GroundingResult:
        """The grounding verdict on one answer text (what decides accept or escalate; `rag eval grounding` too)."""
        if not self.settings.grounding.enabled:
            return GroundingResult(True, False)
        return check_grounding(text, given, evidence, self.settings.grounding, self.similarity, question)

    # ---- internals ----------------------------------------------------------------------------------------

    def _day(self) -> str:
        return self._now().astimezone(BEIJING).date().isoformat()

    def _client(self, provider: ProviderSettings) -> ChatClient:
        key = api_key(provider)
        with self._lock:
            cached = self._clients.get(provider.name)
            if cached is None or cached[0] != key or cached[1].provider is not provider:
                cached = (key, ChatClient(provider, key))
                self._clients[provider.name] = cached
            return cached[1]

    def _evidence(self, question: str, hits: list[Hit]) -> float | None:
        if self.evidence is None:
            return None
        try:
            return float(self.evidence(question, hits))
        except Exception as exc:  # noqa: BLE001 - a broken evidence scorer must not break answering
            log.warning("evidence scorer failed (%s); refusals are not checked against evidence", exc)
            return None

    def _budget_left(self) -> float | None:
        if self.settings.daily_budget_cny is None:
            return None
        return self.settings.daily_budget_cny - self.ledger.spent(self._day())

    def _fallback(self, question: str, hits: list[Hit], reason: str, run: _Run, started: float) -> Answer:
        ans = self.fallback(question, hits)
        log.info("LLM answer fell back to the extractive answerer: %s", reason)
        return Answer(
            answer=ans.answer,
            citations=ans.citations,
            model=ans.model,
            cost=round(ans.cost + run.cost, 8),
            latency_ms=(time.perf_counter() - started) * 1000,
            refused=ans.refused,
            details=dict(ans.details),
            evidence=ans.evidence,
            provider="extractive",
            fallback_reason=reason,
            attempts=run.tried,
            usage=Usage(run.input_tokens, run.output_tokens),
        )

    def _handle_failure(self, provider: ProviderSettings, failure: CallFailure, run: _Run) -> None:
        name = provider.name
        entry = Attempt(provider=name, model=provider.model, outcome="failed", reason=failure.message)
        if failure.kind == "auth":
            env = provider.api_key_env
            self.states.disable(name, f"{failure.message} (check ${env})" if env else failure.message)
            entry.reason = f"{failure.message}; provider disabled"
        elif failure.kind in _COOL_DOWN:
            seconds = self.states.cool_down(name, failure.message, failure.retry_after)
            entry.reason = f"{failure.message}; cooling down {seconds:.0f}s"
        run.tried.append(entry)
        log.warning("LLM provider %s failed: %s", name, entry.reason)

    def _call(
        self, cand: Candidate, streaming: bool, run: _Run, evidence: float | None, sink: list[_Attempt]
    ) -> Iterator[StreamEvent]:
        """Hold the call's estimated cost in the shared ledger (so workers together never pass the daily
        budget), then call; a call the budget has no room for is skipped, and the next candidate is tried."""
        budget = self.settings.daily_budget_cny
        token = None
        if budget is not None and cand.est_cost > 0:
            token = self.ledger.reserve(self._day(), cand.est_cost, budget)
            if token is None:
                run.tried.append(Attempt(cand.provider.name, cand.provider.model, "skipped",
                                         f"estimated cost {cand.est_cost:.6f} CNY does not fit the daily budget "
                                         "left once calls in flight are counted"))
                return
        try:
            yield from self._call_held(cand, streaming, run, evidence, sink)
        finally:
            if token is not None:
                self.ledger.release(token)

    def _call_held(
        self, cand: Candidate, streaming: bool, run: _Run, evidence: float | None, sink: list[_Attempt]
    ) -> Iterator[StreamEvent]:
        """Call one provider (streaming tokens as events); append an _Attempt or nothing to `sink`."""
        provider = cand.provider
        client = self._client(provider)
        self.states.note_call(provider.name)
        emitted = False
        try:
            if streaming:
                call = client.stream(cand.prompt.messages, cand.output_tokens, self.settings.temperature)
                markers = MarkerStream()  # stream citation markers as [n], like the final answer text
                for piece in call:
                    out = markers.feed(piece)
                    if out:
                        emitted = True
                        yield TokenEvent(out)
                rest = markers.flush()
                if rest:
                    emitted = True
                    yield TokenEvent(rest)
                assert call.completion is not None
                completion = call.completion
            else:
                completion = client.complete(
                    cand.prompt.messages, cand.output_tokens, self.settings.temperature
                )
            if not completion.text.strip():
                raise CallFailure("empty", "empty answer")
        except CallFailure as failure:
            self._handle_failure(cand.provider, failure, run)
            if emitted:
                yield ResetEvent(f"{provider.name} failed mid-stream: {failure.message}")
            return
        self.states.note_success(provider.name)
        estimated = completion.input_tokens is None or completion.output_tokens is None
        inp = completion.input_tokens if completion.input_tokens is not None else cand.prompt.input_tokens
        out = (
            completion.output_tokens
            if completion.output_tokens is not None
            else estimate_tokens(completion.text)
        )
        cost = call_cost(provider, inp, out, self._now(), completion.cached_tokens)
        self.ledger.record(self._day(), provider.name, inp, out, cost)
        run.cost += cost
        run.input_tokens += inp
        run.output_tokens += out
        given = {n: hit.chunk.text for n, hit in cand.prompt.given.items()}
        verdict = self.check(completion.text, given, evidence, run.question)
        sink.append(_Attempt(cand, completion, inp, out, estimated, cost, verdict))

    def _attempt_entry(self, att: _Attempt, outcome: str, reason: str = "") -> Attempt:
        return Attempt(provider=att.cand.provider.name, model=att.cand.provider.model, outcome=outcome, reason=reason,
                       input_tokens=att.input_tokens, output_tokens=att.output_tokens,
                       usage_estimated=att.usage_estimated, cost=att.cost)

    def _try_in_order(
        self, cands: list[Candidate], streaming: bool, run: _Run, evidence: float | None
    ) -> Generator[StreamEvent, None, _Attempt | None]:
        """Call candidates cheapest first until one answers; yields events and returns the _Attempt if any."""
        for cand in cands:
            sink: list[_Attempt] = []
            # re-check: an earlier call in this request may have exhausted the rpm window
            reason = self.states.unavailable_reason(cand.provider.name, cand.provider.rpm)
            if reason:
                run.tried.append(Attempt(cand.provider.name, cand.provider.model, "skipped", reason))
                continue
            yield from self._call(cand, streaming, run, evidence, sink)
            if sink:
                return sink[0]
        return None

    def _run(self, question: str, hits: list[Hit], streaming: bool) -> Iterator[StreamEvent]:
        started = time.perf_counter()
        run = _Run(question=question)
        usable = [p for p in self.settings.providers if not not_configured_reason(p)]
        if not usable:
            yield from self._emit_fallback(question, hits, "no provider configured", run, started, streaming)
            return
        if not hits:
            reason = "no retrieved chunks to ground an LLM answer on"
            yield from self._emit_fallback(question, hits, reason, run, started, streaming)
            return
        evidence = self._evidence(question, hits)
        cands, skipped = rank(self.settings, question, hits, self.states, self._budget_left(), self._now())
        for s in skipped:
            run.tried.append(Attempt(s.provider.name, s.provider.model, "skipped", s.reason))
        first = yield from self._try_in_order(cands, streaming, run, evidence)
        if first is None:
            problems = (
                "; ".join(f"{t.provider}: {t.reason}" for t in run.tried) or "none could be ranked"
            )
            yield from self._emit_fallback(
                question, hits, f"all providers failed: {problems}", run, started, streaming
            )
            return
        final = first
        extra: dict[str, Any] = {}
        if first.grounding.ok:
            run.tried.append(self._attempt_entry(first, "answered"))
        else:
            why = "; ".join(first.grounding.problems)
            after = cands[cands.index(first.cand) + 1 :]
            targets = escalation_targets(first.cand, after)
            if not targets:
                run.tried.append(self._attempt_entry(first, "answered", f"ungrounded: {why}"))
                extra["escalation_reason"] = f"{why} (no stronger provider available to escalate to)"
                extra["warning"] = "the answer failed the citation check and could not be escalated"
            else:
                first_entry = self._attempt_entry(first, "escalated", why)
                run.tried.append(first_entry)
                extra["escalated_from"] = first.cand.provider.name
                extra["escalation_reason"] = why
                log.info("escalating from %s: %s", first.cand.provider.name, why)
                if streaming:
                    yield ResetEvent(f"escalating from {first.cand.provider.name}: {why}")
                second = yield from self._try_in_order(targets, streaming, run, evidence)
                if second is None:
                    extra.pop("escalated_from")
                    first_entry.outcome, first_entry.reason = "answered", f"ungrounded: {why}"
                    extra["escalation_reason"] = f"{why} (escalation failed; kept {first.cand.provider.name})"
                    extra["warning"] = "the answer failed the citation check and escalation failed"
                    if streaming:
                        yield ResetEvent("escalation failed; returning the first answer")
                        yield TokenEvent(normalise_markers(first.completion.text))
                else:
                    final = second
                    reason = (
                        "" if second.grounding.ok else "ungrounded: " + "; ".join(second.grounding.problems)
                    )
                    run.tried.append(self._attempt_entry(second, "answered", reason))
                    if not second.grounding.ok:
                        extra["warning"] = "the escalated answer also failed the citation check"
        yield DoneEvent(self._build(final, run, extra, started))

    def _emit_fallback(
        self, question: str, hits: list[Hit], reason: str, run: _Run, started: float, streaming: bool
    ) -> Iterator[StreamEvent]:
        ans = self._fallback(question, hits, reason, run, started)
        if streaming and ans.answer:
            yield TokenEvent(ans.answer)
        yield DoneEvent(ans)

    def _build(self, att: _Attempt, run: _Run, extra: dict[str, Any], started: float) -> Answer:
        given = att.cand.prompt.given
        citations = [
            Citation(
                n=n,
                doc_id=given[n].chunk.doc_id,
                title=given[n].chunk.title,
                source=given[n].chunk.source,
                page=given[n].chunk.page,
                text=given[n].chunk.text,
                score=given[n].score,
            )
            for n in att.grounding.cited
            if n in given
        ]
        return Answer(
            answer=normalise_markers(att.completion.text).strip(),
            citations=citations,
            model=att.cand.provider.model,
            cost=round(run.cost, 8),
            latency_ms=(time.perf_counter() - started) * 1000,
            refused=att.grounding.refused,
            provider=att.cand.provider.name,
            tier=att.cand.provider.effective_tier,
            usage=Usage(run.input_tokens, run.output_tokens, att.usage_estimated),
            estimated_cost=att.cand.est_cost,
            attempts=run.tried,
            grounding=att.grounding.to_dict(),
            chunks_given=len(given),
            budget=Budget(round(self.ledger.spent(self._day()), 6), self.settings.daily_budget_cny),
            truncated_output=True if att.completion.finish_reason == "length" else None,
            details=extra,  # escalated_from, escalation_reason, warning: lifted into their fields
        )
