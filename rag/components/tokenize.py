"""jieba tokenisation shared by the keyword index and the answerer, so both see the same terms."""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

import jieba

jieba.setLogLevel(logging.WARNING)

# Function words and question words: they carry no evidence of an answer.
STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 或 也 都 就 而 但 并 被 把 对 从 以 于 为 其 这 那 这个 那个 之 个 等 中 上 下 "
    "吗 呢 吧 啊 呀 么 什么 多少 哪 哪些 哪个 哪里 哪儿 谁 怎么 怎样 怎么样 如何 为什么 为何 几 几个 是否 "
    "有没有 是不是 请问 请 一下 告诉 我 你 他 她 它 我们 你们 他们 有 没有 会 能 可以 要 该 给 让 "
    "a an the of to in on for and or is are was were be what which who how why when where".split()
)
_PUNCT_RE = re.compile(r"^[\W_]+$", re.U)


def normalise(text: str) -> str:
    """Full-width letters, digits and punctuation to half-width (ＡＢＣ１２３，→ ABC123,)."""
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=4096)
def _cut_cached(text: str) -> tuple[str, ...]:
    return tuple(jieba.lcut_for_search(text))


def tokenize(text: str, drop_stopwords: bool = True) -> list[str]:
    """Search-mode jieba terms, lower-cased, without punctuation (and stopwords unless asked)."""
    text = normalise(text).lower()
    cut = _cut_cached(text) if len(text) < 200 else tuple(jieba.lcut_for_search(text))
    out = []
    for tok in cut:
        tok = tok.strip()
        if not tok or _PUNCT_RE.match(tok):
            continue
        if drop_stopwords and tok in STOPWORDS:
            continue
        out.append(tok)
    return out


# Part-of-speech classes of jieba's dictionary that carry no evidence of an answer: pronouns and question
# pronouns (怎么, 哪些, 这), adverbs (原来, 已经), locatives (之后, 以来), prepositions, conjunctions, particles,
# modal and interjection words, measure words, numeral words (多少, 一些).
FUNCTION_TAGS = frozenset("r rr rz ry d f p c u uj ul uz ug uv ud y e o zg q m mq".split())
# Verbs that frame a question rather than name what it is about (李开复怎么看…, 如何看待…, 请介绍…).
FRAME_VERBS = frozenset("看 看待 看法 评价 认为 觉得 谈 谈谈 说说 讲讲 介绍 解释 分析 理解 知道 了解 问 问题".split())


@lru_cache(maxsize=1)
def _tag_table() -> dict[str, str]:
    import jieba.posseg

    jieba.posseg.dt.tokenizer.check_initialized()
    return jieba.posseg.dt.word_tag_tab


# Characters of numeral words and question numerals (多少, 一些, 几个): a measure term made only of these asks
# for a quantity without naming what it counts.
_NUMERAL_CHARS = frozenset("多少几些若干一二三四五六七八九十百千万亿两每个")


def _names_a_unit(term: str) -> bool:
    """Whether a numeral/measure term names a unit (万辆, 亿元, 千瓦时): the answer states the quantity in it."""
    return any(ch not in _NUMERAL_CHARS for ch in term)


@lru_cache(maxsize=4096)
def content_terms(text: str) -> tuple[str, ...]:
    """`tokenize` terms of a question without its question and function words: a term is dropped when its
    dictionary part of speech is a function class (FUNCTION_TAGS) or it is a framing verb, and a word jieba's
    dictionary lacks is dropped when it straddles a dropped word (这轮 over 这, 看大 over 看)."""
    import jieba.posseg

    terms = list(dict.fromkeys(tokenize(text)))
    low = normalise(text).lower()
    tags = _tag_table()
    dropped: list[tuple[int, int]] = []
    pos = 0
    for w in jieba.posseg.lcut(low, HMM=False):
        start = low.find(w.word, pos)
        if start < 0:
            continue
        pos = start + len(w.word)
        if (w.flag in FUNCTION_TAGS and w.flag not in ("m", "mq", "q")) or w.word in FRAME_VERBS:
            dropped.append((start, pos))  # numerals and measures stay: 混元 straddles 元 (m)
    out = []
    for t in terms:
        tag = tags.get(t)
        if t in FRAME_VERBS or (tag in FUNCTION_TAGS and not any(ch.isdigit() for ch in t)
                                and not (tag in ("m", "mq", "q") and _names_a_unit(t))):
            continue
        if tag is None:
            at = low.find(t)
            if at >= 0 and any(a < at + len(t) and at < b for a, b in dropped):
                continue
        out.append(t)
    return tuple(out) or tuple(terms)
