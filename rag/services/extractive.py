"""Tier-0 answerer: quotes the retrieved sentences that best match the question, each with its [n]."""

from __future__ import annotations

import re
from collections.abc import Callable

from ingest.chunking import split_sentences
from rag.components.answer_types import AnswerType
from rag.components.keyword_index import KeywordIndex
from rag.components.tokenize import content_terms, normalise
from rag.settings import AnswerSettings
from rag.types import Answer, Citation, Hit

REFUSAL = "资料中没有找到能回答这个问题的内容。"
EMPTY_INDEX = "资料库中还没有文档，请先导入资料。"
#: longest quoted sentence; a longer one is cut to its best-matching run of clauses
MAX_SENTENCE_CHARS = 200
#: a further sentence is quoted only when it scores at least this share of the best one
KEEP_RATIO = 0.6
_CLAUSE_RE = re.compile(r"[^，,；;：:]+[，,；;：:]?")
_DIGIT_RE = re.compile(r"\d")


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def clip_sentence(sent: str, score: Callable[[str], float], limit: int = MAX_SENTENCE_CHARS) -> str:
    """`sent` if short enough, else the contiguous run of its clauses (within `limit`) that scores best."""
    if len(sent) <= limit:
        return sent
    clauses = _CLAUSE_RE.findall(sent) or [sent]
    best, best_score = sent[:limit], float("-inf")
    for i in range(len(clauses)):
        window = ""
        for clause in clauses[i:]:
            if len(window) + len(clause) > limit:
                break
            window += clause
        window = window or clauses[i][:limit]
        sc = score(window)
        if sc > best_score:
            best, best_score = window, sc
    return best


class ExtractiveAnswerer:
    """Scores sentences by IDF-weighted coverage of the question's jieba terms; refuses on weak evidence."""

    def __init__(self, keywords: KeywordIndex, settings: AnswerSettings) -> None:
        self.keywords = keywords
        self.settings = settings

    def _terms(self, question: str) -> tuple[list[str], list[float]]:
        # content words only: question and function words (怎么, 原来, 之后, 这轮) are no evidence of an answer
        terms = list(content_terms(question))
        return terms, [self.keywords.idf(t) for t in terms]

    @staticmethod
    def _coverage(text: str, terms: list[str], weights: list[float]) -> float:
        total = sum(weights)
        if total <= 0:
            return 0.0
        low = normalise(text).lower()
        return sum(w for t, w in zip(terms, weights, strict=True) if t in low) / total

    def evidence(self, question: str, hits: list[Hit]) -> float:
        """Best share of the question's keyword weight that one retrieved chunk covers, in [0, 1]."""
        return self._evidence(hits, *self._terms(question))

    def sentence_evidence(self, question: str, hits: list[Hit]) -> float:
        """Best share of the question's content-word weight that one retrieved sentence covers, in [0, 1]: what
        makes a refusal wrong (the answer plainly stated in one sentence), unlike a chunk that only shares
        the topic. Measured on the labelled grounding set (docs/grounding.md)."""
        terms, weights = self._terms(question)
        if not hits or not terms:
            return 0.0
        return max((self._coverage(s, terms, weights) for h in hits for s in split_sentences(h.chunk.text)),
                   default=0.0)

    def _evidence(self, hits: list[Hit], terms: list[str], weights: list[float]) -> float:
        if not hits or not terms:
            return 0.0
        return max(self._coverage(h.chunk.text, terms, weights) for h in hits)

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        if not hits:
            return Answer(answer=EMPTY_INDEX if self.keywords.count() == 0 else REFUSAL, citations=[],
                          model="extractive", refused=True, details={"evidence": 0.0})
        terms, weights = self._terms(question)
        evidence = self._evidence(hits, terms, weights)
        if evidence < self.settings.min_evidence:
            return Answer(answer=REFUSAL, citations=[], model="extractive", refused=True,
                          details={"evidence": round(evidence, 3)})
        atype = AnswerType.of(question)
        candidates: list[tuple[float, int, str]] = []
        for rank, hit in enumerate(hits, start=1):
            for sent in split_sentences(hit.chunk.text):
                sent = sent.strip()
                if len(sent) < 6 or sent == hit.chunk.title.strip():
                    continue

                def score(text: str, rank: int = rank) -> float:
                    # Question words covered, plus a bonus when the text holds the kind of thing asked for
                    # (a number, a date, a name, a place) beyond what the question itself says, minus a cut
                    # when it names only other years than the question's (it is about another period).
                    return (self._coverage(text, terms, weights) + 0.05 / rank
                            + self.settings.type_bonus * atype.found(text)
                            - self.settings.year_penalty * atype.other_year(text))

                sent = clip_sentence(sent, score)
                candidates.append((score(sent), rank, sent))
        candidates.sort(key=lambda c: (-c[0], c[1]))
        chosen: list[tuple[float, int, str]] = []
        for cand in candidates:
            if len(chosen) >= self.settings.max_sentences:
                break
            if chosen and cand[0] < KEEP_RATIO * chosen[0][0]:
                break
            grams = _bigrams(cand[2])
            if any(len(grams & _bigrams(c[2])) > 0.6 * max(1, min(len(grams), len(_bigrams(c[2])))) for c in chosen):
                continue  # near-duplicate of a sentence already quoted
            chosen.append(cand)
        if not chosen:
            return Answer(answer=REFUSAL, citations=[], model="extractive", refused=True,
                          details={"evidence": round(evidence, 3)})
        text = "".join(f"{sent}[{rank}]" for _, rank, sent in chosen)
        cited = sorted({rank for _, rank, _ in chosen})
        quoted = {}
        for _, rank, sent in chosen:
            quoted.setdefault(rank, sent)
        return Answer(answer=text, citations=[citation(n, hits[n - 1], quoted.get(n)) for n in cited],
                      model="extractive",
                      details={"evidence": round(evidence, 3)})


def citation(n: int, hit: Hit, quote: str | None = None) -> Citation:
    """The citation of a hit; with `quote` (the sentence quoted from it) its page is that sentence's page."""
    c = hit.chunk
    at = c.text.find(quote) if quote else -1
    page = c.page_at(at) if at >= 0 else c.page
    return Citation(n=n, doc_id=c.doc_id, title=c.title, source=c.source, page=page, text=c.text,
                    score=round(float(hit.score), 4))
