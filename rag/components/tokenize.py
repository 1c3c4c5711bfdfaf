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
