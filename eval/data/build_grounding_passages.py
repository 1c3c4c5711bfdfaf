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


@lru_cache(maxsize=8)
def _crud_lines(name: str) -> tuple[str, ...]:
    return tuple((DATASETS / "crud_news" / name).read_text(encoding="utf-8").splitlines())


def crud_article(name: str, line: int) -> tuple[str, str]:
    """One CRUD news article (0-based line of crud_news/NAME, one article per line): its head and its body,
    split at `正文：` (each builder cuts and titles the body its own way)."""
    head, body = _crud_lines(name)[line].split("正文：", 1)
    return head, body


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
        which = "positive" if kind == "p" else "negative"
        out.append(chunk(text, r["query"], f"rgb_zh_refine.json#{rgb_id}:{which}[{i}]"))
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


@lru_cache(maxsize=64)
def pdf_page(name: str, page: int) -> str:
    """One page's text (1-based) as pdfplumber (the project's PDF reader) extracts it, hard line breaks and all."""
    import pdfplumber

    with pdfplumber.open(str(DATASETS / "real_docs" / name)) as pdf:
        return pdf.pages[page - 1].extract_text() or ""


def pdf_chunk(name: str, page: int, start: str, end: str) -> dict:
    """The text of a PDF page (1-based) from the first occurrence of start through end (inclusive)."""
    t = pdf_page(name, page)
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


def xlsx_chunk(name: str, first: int, last: int, sheet: int = 0) -> dict:
    """Rows first..last (0-based, header row 0 always prepended) of a sheet, one line per row, cells joined by ' | '."""
    import openpyxl

    wb = openpyxl.load_workbook(str(DATASETS / "real_docs" / name), read_only=True, data_only=True)
    rows = [[("" if c is None else str(c)) for c in r] for r in wb.worksheets[sheet].iter_rows(values_only=True)]
    lines = [" | ".join(rows[0])] + [" | ".join(r) for r in rows[first : last + 1]]
    return chunk("\n".join(lines), name, f"real_docs/{name}#rows{first}-{last}")


def text_chunk(name: str, start: str, end: str, title: str | None = None) -> dict:
    """A span of a plain-text real document."""
    t = (DATASETS / "real_docs" / name).read_text(encoding="utf-8")
    a = t.index(start)
    b = t.index(end, a) + len(end)
    return chunk(t[a:b], title or name, f"real_docs/{name}")


# real_docs passages used by the set: key -> how to cut it (file, page, first and last text of the span)
SF = "sifang_2019_annual_report.pdf"
HB = "ecust_student_handbook_2023.pdf"
EN = "ecust_college_english_plan.pdf"
REAL_DOCS = {
    "sf_main": lambda: pdf_chunk(SF, 11, "二、报告期内主要经营情况", "较去年同期减少28.26%。"),
    "sf_table": lambda: pdf_chunk(
        SF,
        5,
        "七、 近三年主要会计数据和财务指标",
        "总资产 2,464,948,703.85 2,051,223,456.86 20.17 1,814,418,072.20",  # noqa: E501
    ),
    "sf_tank": lambda: pdf_chunk(SF, 10, "2、罐箱积极开拓市场", "较上年同比有增长。"),
    "sf_cold": lambda: pdf_chunk(SF, 10, "1、冷冻向冷链产业延伸", "进一步提升了公司品牌影响力和竞争力。"),
    "sf_prod": lambda: pdf_chunk(SF, 12, "(2). 产销量情况分析表", "产销量情况说明"),
    "sf_margin": lambda: pdf_chunk(SF, 11, "报告期内，公司实现主营业务收入", "主营业务分产品情况"),
    "sf_info": lambda: pdf_chunk(SF, 4, "第二节 公司简介和主要财务指标", "电子信箱 zqb@ntsquare.com"),
    "sf_other": lambda: pdf_chunk(SF, 5, "六、 其他相关资料", "持续督导的期间 2016年5月19日-2019年12月31日"),
    "hb_nat": lambda: pdf_chunk(HB, 125, "第二章 奖励标准与基本条件", "（含10%）。"),
    "hb_lizhi": lambda: pdf_chunk(HB, 128, "第二章 奖励标准与基本条件", "或上海市奖学金。"),
    "hb_xuezhi": lambda: pdf_chunk(HB, 44, "第二章 学 制", "最长学习年限自学生入校之日起计算。"),
    "hb_xuefen": lambda: pdf_chunk(HB, 44, "第三章 学 分", "执行。"),
    "hb_bukao": lambda: pdf_chunk(HB, 55, "4. 补考", "进行明确标注。"),
    "hb_score": lambda: pdf_chunk(HB, 55, "第九条 成绩记载", "并在考前报教务处备案。"),
    "en_a": lambda: pdf_chunk(EN, 1, "华东理工大学《大学英语》课程教学实施方案", "度一致。"),
    "en_b": lambda: pdf_chunk(EN, 1, "A、B、C 三个级别的学生均须修满", "调整修读级别。"),
    "en_c": lambda: pdf_chunk(EN, 1, "根据《大学英语 III》期末考核", "该课程学分不计入专业培养方案总学分。"),
    "en_d": lambda: pdf_chunk(EN, 1, "全体修读《大学英语》课程的学生", "免考《大学英语》学位考试。"),
    "xl_a": lambda: xlsx_chunk("langchain-ChatGLM_closed.xlsx", 5, 9),
    "xl_b": lambda: xlsx_chunk("langchain-ChatGLM_closed.xlsx", 10, 14),
}


def real_doc_chunks(*keys: str) -> list[dict]:
    """real_docs passages by key, in [n] order."""
    return [REAL_DOCS[k]() for k in keys]


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
    elif what[:2] == ["show", "real_docs"]:
        for key in REAL_DOCS:
            c = real_doc_chunks(key)[0]
            print(key, c["source"], c["page"], "\n" + c["text"], "\n")
    elif what[:2] == ["show", "pdf"]:
        print(pdf_page(what[2], int(what[3])))


def write_labelled_set(questions: dict, out: Path) -> None:
    """Write `{qid: (origin, question, chunks, [(good, style, answer), ...])}` as the labelled JSONL
    `rag eval grounding` reads (one row per answer, ids `<qid>-a<n>`); shared by the set builders."""
    rows = [{"id": f"{qid}-a{i}", "question": question, "origin": origin, "chunks": chunks, "answer": answer,
             "good": good, "style": style, "note": ""}
            for qid, (origin, question, chunks, answers) in questions.items()
            for i, (good, style, answer) in enumerate(answers, start=1)]
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    goods = sum(r["good"] for r in rows)
    print(f"wrote {len(rows)} answers ({goods} good, {len(rows) - goods} bad) over {len(questions)} questions to {out}")
