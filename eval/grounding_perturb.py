"""Stress the grounding check with rewrites of good labelled answers it accepts: rewrites that keep the meaning
must stay accepted, rewrites that break one fact must be escalated.

Hand-written sets are small, and a check tuned to them fits their writers. This applies each rewrite to every
good answer it fits, so a rule that holds only for the phrasings it was written from shows up as a rate, per
rewrite, over hundreds of answers:

    python -m eval.grounding_perturb --dataset eval/data/grounding_set.jsonl --dataset eval/data/grounding_dev.jsonl

Keep the held-out sets that are still unread out of it: it prints rewritten answers' verdicts per rewrite.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace

from eval.grounding_eval import GroundingRecord, load_records, run_checks
from rag.components.llm.citations import markers_in
from rag.components.llm.grounding import entities
from rag.components.numbers import quantities
from rag.settings import EmbeddingSettings

Rewrite = Callable[[GroundingRecord, random.Random], str | None]

_MARK = re.compile(r"\[(\d{1,2})\]")


def _marks(shape: str) -> Rewrite:
    def run(r: GroundingRecord, _: random.Random) -> str | None:
        if not _MARK.search(r.answer):
            return None
        return _MARK.sub(lambda m: shape.format(m.group(1)), r.answer)
    return run


def _closing(r: GroundingRecord, _: random.Random) -> str | None:
    return r.answer.rstrip() + "\n\n希望以上信息对您有帮助！如需了解更多细节，欢迎继续提问。"


def _lead_in(r: GroundingRecord, _: random.Random) -> str | None:
    return None if r.answer.startswith(("根据", "据")) else "根据提供的资料，" + r.answer


_SENT = re.compile(r"[^。！？\n]+[。！？]?(?:\s*\[\d+\])*")


def _as_list(r: GroundingRecord, _: random.Random) -> str | None:
    if "\n" in r.answer.strip():
        return None
    parts = [p.strip() for p in _SENT.findall(r.answer) if p.strip()]
    if len(parts) < 2:
        return None
    return "主要信息如下：\n\n" + "\n".join(f"- {p}" for p in parts)


def _claim_figures(r: GroundingRecord) -> list:
    return [q for q in quantities(r.answer) if q.kind in ("number", "percent", "money") and q.value >= 10
            and re.fullmatch(r"[\d.,]+(?:%|万|亿|元|万元|亿元)?", q.text)]


def _number_format(r: GroundingRecord, rng: random.Random) -> str | None:
    """One figure written another way that means the same: 1234 -> 1,234; 45% -> 百分之四十五; 125万 -> 1,250,000."""
    for q in _claim_figures(r):
        t = q.text
        m = re.fullmatch(r"(\d+)%", t)
        if m and int(m.group(1)) <= 99:
            n = int(m.group(1))
            digits = "零一二三四五六七八九"
            cn = (("" if n < 20 else digits[n // 10]) + "十" if n >= 10 else "") + (digits[n % 10] if n % 10 else "")
            return r.answer[: q.start] + "百分之" + cn + r.answer[q.start + len(t):]
        m = re.fullmatch(r"(\d{4,})", t)
        if m:
            return r.answer[: q.start] + f"{int(m.group(1)):,}" + r.answer[q.start + len(t):]
        m = re.fullmatch(r"(\d+)万", t)
        if m and not r.answer[q.start + len(t):].startswith(("亿", "元")):
            return r.answer[: q.start] + f"{int(m.group(1)) * 10000:,}" + r.answer[q.start + len(t):]
    return None


def _fmt_like(value: float, like: str) -> str:
    decimals = len(like.split(".")[1]) if "." in like else 0
    return f"{value:.{decimals}f}"


def _number_shift(r: GroundingRecord, rng: random.Random) -> str | None:
    """One figure changed by a quarter, written the same way (a wrong figure with the same citation)."""
    text = "\n".join(c["text"] for c in r.chunks)
    for q in _claim_figures(r):
        m = re.match(r"[\d.]+", q.text.replace(",", ""))
        if not m or "," in q.text:
            continue
        new = _fmt_like(float(m.group(0)) * 1.25, m.group(0))
        if new in text or new == m.group(0):
            continue
        return r.answer[: q.start] + new + q.text[len(m.group(0)):] + r.answer[q.start + len(q.text):]
    return None


def _after(text: str, start: int, length: int) -> str:
    return text[start + length : start + length + 1]


def _number_other(r: GroundingRecord, rng: random.Random) -> str | None:
    """One figure replaced by another figure the cited chunks state elsewhere, of the same kind, written with the
    same unit and measure word, and not within 5% of it (another row's, year's or entity's figure)."""
    cited = [r.chunks[n - 1]["text"] for n in markers_in(r.answer) if 0 < n <= len(r.chunks)]
    for q in _claim_figures(r):
        suffix = re.sub(r"[\d.,]+", "", q.text)
        measure = _after(r.answer, q.start, len(q.text))
        pool = sorted({x.text for t in cited for x in quantities(t) if x.kind == q.kind and x.text != q.text
                       and re.fullmatch(r"[\d.,]+" + re.escape(suffix), x.text) and x.text not in r.answer
                       and _after(t, x.start, len(x.text)) == measure
                       and abs(x.value - q.value) > 0.05 * max(abs(q.value), 1e-9)})
        if pool:
            return r.answer[: q.start] + rng.choice(pool) + r.answer[q.start + len(q.text):]
    return None


_FLIPS = {"增长": "下降", "下降": "增长", "增加": "减少", "减少": "增加", "上升": "下降", "提高": "降低",
          "降低": "提高", "上涨": "下跌", "下跌": "上涨", "下滑": "增长", "提升": "下降"}


def _direction(r: GroundingRecord, rng: random.Random) -> str | None:
    """One change word turned the other way (增长 -> 下降)."""
    m = re.search("|".join(_FLIPS), r.answer)
    return None if not m else r.answer[: m.start()] + _FLIPS[m.group(0)] + r.answer[m.end():]


def _entity_swap(r: GroundingRecord, rng: random.Random) -> str | None:
    """Two names of one sentence swapped (张译…悬崖之上，袁泉…中国医生 -> each other's)."""
    text = "\n".join(c["text"] for c in r.chunks)
    for sent in _SENT.findall(r.answer):
        names = [n for n in entities(sent) if n in text and len(n) >= 2]
        names = [n for n in names if not any(n != o and n in o for o in names)]
        if len(names) >= 2 and names[0] not in names[1] and names[1] not in names[0]:
            a, b = names[0], names[1]
            swapped = sent.replace(a, "\0").replace(b, a).replace("\0", b)
            if swapped != sent:
                return r.answer.replace(sent, swapped, 1)
    return None


def _entity_invent(pool: list[str]) -> Rewrite:
    def run(r: GroundingRecord, rng: random.Random) -> str | None:
        text = "\n".join(c["text"] for c in r.chunks)
        names = [n for n in entities(r.answer) if n in text and len(n) >= 2]
        others = [p for p in pool if p not in text and p not in r.answer]
        if not names or not others:
            return None
        return r.answer.replace(names[0], rng.choice(others), 1)
    return run


def _marker_before_stop(r: GroundingRecord, _: random.Random) -> str | None:
    """…。[1] -> …[1]。 and the other way round."""
    if re.search(r"[。！？](?:\[\d+\])+", r.answer):
        return re.sub(r"([。！？])((?:\[\d+\])+)", r"\2\1", r.answer)
    if re.search(r"(?:\[\d+\])+[。！？]", r.answer):
        return re.sub(r"((?:\[\d+\])+)([。！？])", r"\2\1", r.answer)
    return None


def _paragraph_citation(r: GroundingRecord, _: random.Random) -> str | None:
    """Every marker of a one-paragraph answer moved to its end (one citation per paragraph)."""
    if "\n" in r.answer.strip() or len(_SENT.findall(r.answer)) < 2:
        return None
    refs = list(dict.fromkeys(markers_in(r.answer)))
    if not refs:
        return None
    bare = _MARK.sub("", r.answer).rstrip()
    return bare + "".join(f"[{n}]" for n in refs)


def _combined_markers(r: GroundingRecord, _: random.Random) -> str | None:
    """[1][2] -> [1,2]."""
    if not re.search(r"\[\d+\]\[\d+\]", r.answer):
        return None
    return re.sub(r"\[(\d+)\]\[(\d+)\]", r"[\1,\2]", r.answer)


def _bold_figures(r: GroundingRecord, _: random.Random) -> str | None:
    """Each figure in bold (**965亿元**), as chat models mark key numbers."""
    figs = _claim_figures(r)
    if not figs or "**" in r.answer:
        return None
    out = r.answer
    for q in sorted(figs, key=lambda x: -x.start):
        out = out[: q.start] + f"**{q.text}**" + out[q.start + len(q.text):]
    return out


def _yi_as_wan(r: GroundingRecord, _: random.Random) -> str | None:
    """12.3亿元 -> 123,000万元: the same amount in another unit."""
    m = re.search(r"(?<![\d.,])(\d+(?:\.\d{1,2})?)亿元", r.answer)
    if not m:
        return None
    wan = round(float(m.group(1)) * 10000)
    return r.answer[: m.start()] + f"{wan:,}万元" + r.answer[m.end():]


def _split_at_comma(r: GroundingRecord, _: random.Random) -> str | None:
    """A long sentence cut into two at its middle comma, each keeping the citation."""
    for sent in _SENT.findall(r.answer):
        refs = _MARK.findall(sent)
        body = _MARK.sub("", sent).rstrip("。！？ ")
        commas = [i for i, ch in enumerate(body) if ch == "，"]
        if refs and len(body) > 40 and commas:
            cut = min(commas, key=lambda i: abs(i - len(body) / 2))
            marks = "".join(f"[{n}]" for n in dict.fromkeys(refs))
            new = f"{body[:cut]}{marks}。{body[cut + 1:]}{marks}。"
            return r.answer.replace(sent, new, 1)
    return None


def _source_note(r: GroundingRecord, _: random.Random) -> str | None:
    refs = list(dict.fromkeys(markers_in(r.answer)))
    return None if not refs else r.answer.rstrip() + f"\n\n（以上数据来源：资料{refs[0]}）"


def rewrites(records: list[GroundingRecord]) -> dict[str, tuple[bool, Rewrite]]:
    """Name -> (keeps the meaning?, rewrite)."""
    pool = sorted({n for r in records for c in r.chunks for n in entities(c["text"]) if 2 <= len(n) <= 4})
    return {
        "markers 【n】": (True, _marks("【{}】")),
        "markers [^n]": (True, _marks("[^{}]")),
        "markers （资料n）": (True, _marks("（资料{}）")),
        "polite closing": (True, _closing),
        "lead-in 根据提供的资料": (True, _lead_in),
        "sentences as a list": (True, _as_list),
        "a figure written another way": (True, _number_format),
        "marker before / after the full stop": (True, _marker_before_stop),
        "one citation at the paragraph's end": (True, _paragraph_citation),
        "[1][2] as [1,2]": (True, _combined_markers),
        "figures in bold": (True, _bold_figures),
        "亿元 written as 万元": (True, _yi_as_wan),
        "a long sentence cut in two": (True, _split_at_comma),
        "a closing source note": (True, _source_note),
        "a figure changed by 25%": (False, _number_shift),
        "a figure from elsewhere in the chunk": (False, _number_other),
        "a change word reversed": (False, _direction),
        "two names swapped": (False, _entity_swap),
        "a name replaced by another passage's": (False, _entity_invent(pool)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", action="append", required=True, help="JSONL of labelled answers (repeatable)")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--show", default="", help="print the misjudged rewrites of this rewrite name")
    args = ap.parse_args(argv)
    records = [r for d in args.dataset for r in load_records(d)]
    good = [r for r in records if r.good and not r.style.startswith("refusal")]
    rng = random.Random(args.seed)
    made: list[tuple[str, bool, GroundingRecord]] = []
    for name, (keeps, fn) in rewrites(records).items():
        for r in good:
            new = fn(r, rng)
            if new and new != r.answer:
                made.append((name, keeps, replace(r, id=f"{r.id}~{len(made)}", answer=new, good=keeps)))
    # only answers the check accepts as written: a rewrite of one it already escalates tells nothing
    first = run_checks(good, embedding=EmbeddingSettings(backend="hash"))
    accepted = {v.record.id for v in first if v.accepted}
    made = [m for m in made if m[2].id.split("~")[0] in accepted]
    verdicts = run_checks([r for _, _, r in made], embedding=EmbeddingSettings(backend="hash"))
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    wrong: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
    for (name, keeps, r), v in zip(made, verdicts, strict=True):
        rows[name][0] += 1
        if v.accepted != keeps:
            rows[name][1] += 1
            wrong[name].append((r.answer, v.problems))
    table = {name: {"keeps_meaning": rewrites_keep, "answers": n, "misjudged": bad, "rate": round(bad / n, 4)}
             for name, (rewrites_keep, _) in rewrites(records).items() if (n := rows[name][0]) for bad in
             [rows[name][1]]}
    if args.json:
        print(json.dumps(table, ensure_ascii=False, indent=1))
    else:
        print(f"{'rewrite':40s} {'keeps meaning':>13s} {'answers':>8s} {'misjudged':>10s} {'rate':>7s}")
        for name, row in table.items():
            print(f"{name:40s} {str(row['keeps_meaning']):>13s} {row['answers']:8d} {row['misjudged']:10d} "
                  f"{row['rate']:7.1%}")
        print(f"over the {len(accepted)} good answers (of {len(good)}) the check accepts as written; misjudged: a "
              "meaning-keeping rewrite escalated, or a fact-breaking one accepted")
    for answer, problems in wrong.get(args.show, []):
        print("--", answer.replace("\n", " / ")[:300], "|", [p[:120] for p in problems])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["main", "rewrites"]
