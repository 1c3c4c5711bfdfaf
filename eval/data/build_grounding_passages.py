"""Cut the real passages that the questions of eval/data/grounding_set.jsonl show the answerer.

The answers in grounding_set.jsonl are written by hand; this only makes the chunk texts reproducible from
../shared/ (the seed record, RGB zh, CMRC 2018 dev and real_docs/). Run `python build_grounding_passages.py show
seed|rgb ID|cmrc ID|pdf FILE PAGE` to print passages while writing answers.
"""

from __future__ import annotations

import json
import re
import sys
from functools import lru_cache
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SEED = SHARED / "seeds" / "000_7126e4b4749e442d.txt"
DATASETS = SHARED / "datasets"
SEED_TITLE = "降价!免费!全面免费!国内大模型开打“刺刀见红”价格战"


def chunk(text: str, title: str, source: str, page: int | None = None) -> dict:
    """One numbered passage as the answerer saw it."""
    return {"text": text.strip(), "title": title, "source": source, "page": page}


def pack_sentences(text: str, limit: int = 450) -> list[str]:
    """Greedy packing of whole sentences (split after 。！？ and a closing quote) into passages of <= limit chars."""
    sents = re.findall(r"[^。！？]*[。！？]+[”」]?|[^。！？]+$", text)
    out: list[str] = []
    cur = ""
    for s in sents:
        if cur and len(cur) + len(s) > limit:
            out.append(cur)
            cur = ""
        cur += s
    if cur.strip():
        out.append(cur)
    return [p.strip() for p in out if p.strip()]


@lru_cache(maxsize=1)
def seed_passages() -> list[str]:
    """The seed article's body, cut at its section headings, then packed by sentence: 10 passages."""
    raw = SEED.read_text(encoding="utf-8")
    body = raw.split("总结: ", 1)[1].split("\n关键词:")[0].split("红星新闻记者")[0]
    out: list[str] = []
    for sec in re.split(r"(?=（[一二三四]）（[一二三四]）)", body):
        out.extend(pack_sentences(sec))
    return out


def seed_chunks(*idx: int) -> list[dict]:
    """Seed passages in the given order (the order is the [n] numbering)."""
    ps = seed_passages()
    return [chunk(ps[i], SEED_TITLE, SEED.name) for i in idx]


@lru_cache(maxsize=1)
def rgb_rows() -> dict[int, dict]:
    rows = [json.loads(line) for line in (DATASETS / "rgb_zh_refine.json").open(encoding="utf-8") if line.strip()]
    return {int(r["id"]): r for r in rows}


def rgb_chunks(rgb_id: int, order: list[tuple[str, int]]) -> list[dict]:
    """RGB passages: order is a list of ("p", i) positives / ("n", i) negatives, in [n] order."""
    r = rgb_rows()[rgb_id]
    out = []
    for kind, i in order:
        text = (r["positive"] if kind == "p" else r["negative"])[i]
        out.append(chunk(text, r["query"], f"rgb_zh_refine.json#{rgb_id}:{'positive' if kind == 'p' else 'negative'}[{i}]"))
    return out


@lru_cache(maxsize=1)
def cmrc_paragraphs() -> dict[str, dict]:
    d = json.loads((DATASETS / "cmrc2018_dev.json").read_text(encoding="utf-8"))
    out = {}
    for art in d["data"]:
        for p in art["paragraphs"]:
            out[p["id"]] = {"title": art["title"], "context": p["context"], "qas": p["qas"]}
    return out


def cmrc_chunks(specs: list[tuple[str, int]], limit: int = 450) -> list[dict]:
    """CMRC passages: (paragraph id, part index) after packing the context by sentence; part -1 = the whole context."""
    out = []
    for pid, part in specs:
        p = cmrc_paragraphs()[pid]
        text = p["context"] if part < 0 else pack_sentences(p["context"], limit)[part]
        out.append(chunk(text, p["title"], f"cmrc2018_dev.json#{pid}"))
    return out


@lru_cache(maxsize=8)
def pdf_pages(name: str) -> list[str]:
    from pypdf import PdfReader

    return [pg.extract_text() or "" for pg in PdfReader(str(DATASETS / "real_docs" / name)).pages]


def pdf_chunk(name: str, page: int, start: str, end: str) -> dict:
    """The text of a PDF page (1-based) from the first occurrence of start through end (inclusive)."""
    t = pdf_pages(name)[page - 1]
    a = t.index(start)
    b = t.index(end, a) + len(end)
    return chunk(t[a:b], name, f"real_docs/{name}", page)


@lru_cache(maxsize=8)
def docx_paragraphs(name: str) -> list[str]:
    import docx

    d = docx.Document(str(DATASETS / "real_docs" / name))
    paras = [p.text for p in d.paragraphs if p.text.strip()]
    for t in d.tables:
        for row in t.rows:
            paras.append(" | ".join(c.text.strip() for c in row.cells))
    return paras


def text_chunk(name: str, start: str, end: str, title: str | None = None) -> dict:
    """A span of a plain-text real document."""
    t = (DATASETS / "real_docs" / name).read_text(encoding="utf-8")
    a = t.index(start)
    b = t.index(end, a) + len(end)
    return chunk(t[a:b], title or name, f"real_docs/{name}")


if __name__ == "__main__":
    what = sys.argv[1:]
    if what[:2] == ["show", "seed"]:
        for i, p in enumerate(seed_passages()):
            print(i, len(p), p, "\n")
    elif what[:2] == ["show", "rgb"]:
        r = rgb_rows()[int(what[2])]
        print(r["query"], r["answer"])
        for k in ("positive", "negative"):
            for i, p in enumerate(r[k]):
                print(k[0], i, len(p), p.replace("\n", " "), "\n")
    elif what[:2] == ["show", "cmrc"]:
        p = cmrc_paragraphs()[what[2]]
        print(p["title"])
        for i, s in enumerate(pack_sentences(p["context"])):
            print(i, len(s), s, "\n")
        for qa in p["qas"]:
            print(qa["question"], "->", qa["answers"][0]["text"])
    elif what[:2] == ["show", "pdf"]:
        print(pdf_pages(what[2])[int(what[3]) - 1])
