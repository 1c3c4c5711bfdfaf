"""The hand-written grounding set (eval/data/grounding_set.jsonl) keeps the shape `rag eval grounding` reads."""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path

import pytest

SET = Path(__file__).resolve().parents[1] / "eval" / "data" / "grounding_set.jsonl"
GOOD_STYLES = {
    "ideal",
    "paragraph",
    "combined",
    "marker_shapes",
    "list_leadin",
    "paraphrase_numbers",
    "paraphrase",
    "refusal",
}
BAD_STYLES = {
    "wrong_number",
    "other_entity_number",
    "swapped_numbers",
    "invented_sentence",
    "invented_entity",
    "false_refusal",
    "hedged_refusal",
    "wrong_citation",
}
ORIGINS = {"seed", "rgb", "cmrc", "real_docs"}
CITING_BAD = {"wrong_citation", "wrong_number", "other_entity_number", "swapped_numbers", "invented_sentence"}
# Every citation shape the set uses: [n] [n,m] [n、m] [n-m] [n–m] 【n】 ［n］ ^[n] [^n] [citation:n]
# (资料n) （资料n） [资料n] [来源n]
MARKER = re.compile(
    r"[\[【［]\s*(?:\^|citation:|资料|来源)?\s*(\d+(?:\s*[,，、\-–]\s*\d+)*)\s*[\]】］]|[(（]资料\s*(\d+)[)）]"
)


def cited(answer: str) -> set[int]:
    """Chunk numbers an answer's markers point at (ranges expanded)."""
    out: set[int] = set()
    for m in MARKER.finditer(answer):
        body = m.group(1) or m.group(2)
        for part in re.split(r"\s*[,，、]\s*", body):
            ends = [int(x) for x in re.split(r"\s*[\-–]\s*", part)]
            out.update(range(ends[0], ends[-1] + 1))
    return out


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_rows_have_the_shared_format(rows: list[dict]) -> None:
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    for r in rows:
        assert set(r) >= {"id", "question", "origin", "chunks", "answer", "good", "style", "note"}, r["id"]
        assert r["origin"] in ORIGINS, r["id"]
        assert r["style"] in GOOD_STYLES | BAD_STYLES, r["id"]
        assert r["good"] is (r["style"] in GOOD_STYLES), r["id"]
        assert 2 <= len(r["chunks"]) <= 6, r["id"]
        for c in r["chunks"]:
            assert set(c) >= {"text", "title", "source", "page"} and len(c["text"]) >= 40, r["id"]
        assert r["question"].strip() and r["answer"].strip(), r["id"]


def test_sizes_balance_and_coverage(rows: list[dict]) -> None:
    questions = {r["id"].rsplit("-a", 1)[0] for r in rows}
    assert len(rows) >= 300 and len(questions) >= 60
    good = sum(r["good"] for r in rows)
    assert 0.4 <= good / len(rows) <= 0.6
    styles = Counter(r["style"] for r in rows)
    assert set(styles) == GOOD_STYLES | BAD_STYLES
    assert min(styles.values()) >= 12, styles
    per_origin = Counter(r["origin"] for r in {r["id"].rsplit("-a", 1)[0]: r for r in rows}.values())
    assert set(per_origin) == ORIGINS and per_origin["seed"] >= 10 and per_origin["real_docs"] >= 10, per_origin
    # every question's answers see the same chunks
    by_q: dict[str, list[dict]] = {}
    for r in rows:
        by_q.setdefault(r["id"].rsplit("-a", 1)[0], []).append(r)
    for q, rs in by_q.items():
        assert all(r["chunks"] == rs[0]["chunks"] and r["question"] == rs[0]["question"] for r in rs), q


def test_markers_point_at_existing_chunks(rows: list[dict]) -> None:
    for r in rows:
        nums = cited(r["answer"])
        assert all(1 <= n <= len(r["chunks"]) for n in nums), (r["id"], nums)
        if r["good"] and r["style"] != "refusal":
            assert nums, f"{r['id']}: a good answer must cite a chunk"
        if r["style"] in CITING_BAD:
            assert nums, f"{r['id']}: a bad {r['style']} answer carries a citation"


def test_marker_parser_reads_every_shape() -> None:
    assert cited("a[1][2]b[3,4]c[5、6]") == {1, 2, 3, 4, 5, 6}
    assert cited("x[1-3]y[4–5]") == {1, 2, 3, 4, 5}
    assert cited("【1】［2］^[3][^4][citation:5](资料6)（资料7）[资料8][来源9]") == set(range(1, 10))
    assert cited("没有引用。") == set()


def _builder():
    """The passage cutter, loaded by path (eval/data is data, not a package)."""
    spec = importlib.util.spec_from_file_location(
        "build_grounding_passages", SET.parent / "build_grounding_passages.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_chunks_are_verbatim_passages_of_the_shared_data(rows: list[dict]) -> None:
    bp = _builder()
    if not bp.DATASETS.is_dir() or not bp.SEED.is_file():
        pytest.skip(f"shared data not found at {bp.SHARED} (the set's chunks are checked against it)")
    seed = bp.seed_passages()
    rgb = bp.rgb_rows()
    cmrc = bp.cmrc_paragraphs()
    seen: set[str] = set()
    for r in rows:
        for c in r["chunks"]:
            key = c["source"] + "\0" + c["text"]
            if key in seen:
                continue
            seen.add(key)
            src, text = c["source"], c["text"]
            if r["origin"] == "seed":
                assert text in seed, r["id"]
            elif src.startswith("rgb_zh_refine.json#"):
                rid, which = src.split("#", 1)[1].split(":")
                kind, idx = which.rstrip("]").split("[")
                assert rgb[int(rid)][kind][int(idx)].strip() == text, r["id"]
            elif src.startswith("cmrc2018_dev.json#"):
                assert text in cmrc[src.split("#", 1)[1]]["context"], r["id"]
            elif src.endswith(".pdf"):
                assert text in bp.pdf_page(src.split("/", 1)[1], c["page"]), r["id"]
            else:
                assert src.split("#", 1)[0].startswith("real_docs/"), r["id"]
    keys = {c["text"] for r in rows if r["origin"] == "real_docs" for c in r["chunks"]}
    assert keys <= {bp.real_doc_chunks(k)[0]["text"] for k in bp.REAL_DOCS}


HOLDOUT = SET.with_name("grounding_holdout.jsonl")


def test_the_holdout_set_is_new_balanced_and_covers_every_style(rows: list[dict]) -> None:
    held = [json.loads(line) for line in HOLDOUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = {r["question"] for r in held}
    assert len(held) >= 80 and len(questions) >= 16
    assert not questions & {r["question"] for r in rows}  # no question of the main set
    good = sum(r["good"] for r in held)
    assert abs(2 * good - len(held)) <= 4
    assert {r["style"] for r in held} == GOOD_STYLES | BAD_STYLES
    assert {r["origin"] for r in held} == ORIGINS
    assert all(r["good"] == (r["style"] in GOOD_STYLES) for r in held)
    assert len({r["id"] for r in held}) == len(held)


def test_the_dev_set_asks_questions_of_neither_other_set(rows: list[dict]) -> None:
    dev = [json.loads(line) for line in SET.with_name("grounding_dev.jsonl").read_text(encoding="utf-8").splitlines()
           if line.strip()]
    held = [json.loads(line) for line in HOLDOUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = {r["question"] for r in dev}
    assert len(dev) >= 30 and not questions & ({r["question"] for r in rows} | {r["question"] for r in held})
    assert all(r["good"] == (r["style"] in GOOD_STYLES) for r in dev)


def test_the_second_holdout_set_is_new_and_covers_every_style(rows: list[dict]) -> None:
    def read(name: str) -> list[dict]:
        return [json.loads(line) for line in SET.with_name(name).read_text(encoding="utf-8").splitlines()
                if line.strip()]

    held2 = read("grounding_holdout2.jsonl")
    earlier = {r["question"] for r in [*rows, *read("grounding_holdout.jsonl"), *read("grounding_dev.jsonl")]}
    questions = {r["question"] for r in held2}
    assert len(held2) >= 60 and len(questions) >= 12 and not questions & earlier
    good = sum(r["good"] for r in held2)
    assert abs(2 * good - len(held2)) <= 0.15 * len(held2)
    assert {r["style"] for r in held2} == GOOD_STYLES | BAD_STYLES
    assert {r["origin"] for r in held2} == ORIGINS
    assert all(r["good"] == (r["style"] in GOOD_STYLES) for r in held2)
    assert len({r["id"] for r in held2}) == len(held2)


def test_the_third_holdout_set_is_new_balanced_and_cites_existing_chunks(rows: list[dict]) -> None:
    def read(name: str) -> list[dict]:
        return [json.loads(line) for line in SET.with_name(name).read_text(encoding="utf-8").splitlines()
                if line.strip()]

    held3 = read("grounding_holdout3.jsonl")
    earlier = {r["question"] for name in ("grounding_holdout.jsonl", "grounding_holdout2.jsonl", "grounding_dev.jsonl")
               for r in read(name)} | {r["question"] for r in rows}
    questions = {r["question"] for r in held3}
    assert len(held3) >= 40 and len(questions) >= 8 and not questions & earlier
    good = sum(r["good"] for r in held3)
    assert abs(2 * good - len(held3)) <= 0.1 * len(held3)
    assert {r["style"] for r in held3 if r["good"]} <= GOOD_STYLES
    assert not {r["style"] for r in held3 if not r["good"]} & GOOD_STYLES
    assert len({r["style"] for r in held3}) >= 12 and len({r["id"] for r in held3}) == len(held3)
    assert all(cited(r["answer"]) <= set(range(1, len(r["chunks"]) + 1)) for r in held3)


@pytest.mark.parametrize(("name", "min_answers", "min_questions"),
                         [("grounding_holdout4.jsonl", 90, 18), ("grounding_holdout5.jsonl", 60, 12)])
def test_the_fourth_and_fifth_holdout_sets_are_new_balanced_and_cite_existing_chunks(
    rows: list[dict], name: str, min_answers: int, min_questions: int
) -> None:
    def read(n: str) -> list[dict]:
        return [json.loads(line) for line in SET.with_name(n).read_text(encoding="utf-8").splitlines()
                if line.strip()]

    held = read(name)
    others = sorted(p.name for p in SET.parent.glob("grounding_*.jsonl") if p.name != name)
    earlier = {r["question"] for n in others for r in read(n)} | {r["question"] for r in rows}
    questions = {r["question"] for r in held}
    assert len(held) >= min_answers and len(questions) >= min_questions and not questions & earlier
    good = sum(r["good"] for r in held)
    assert abs(2 * good - len(held)) <= 0.1 * len(held)
    by_label = {label: {r["style"] for r in held if r["good"] is label} for label in (True, False)}
    assert not by_label[True] & by_label[False]  # a style name means one label
    assert {"refusal", "paraphrase_numbers", "list_leadin", "ideal"} <= by_label[True]
    assert {"wrong_number", "number_other_entity", "invented_sentence", "hedged_refusal"} <= by_label[False]
    assert {r["origin"] for r in held} >= {"rgb", "cmrc", "real_docs", "crud"}
    assert len({r["id"] for r in held}) == len(held)
    assert all(2 <= len(r["chunks"]) <= 4 for r in held)
    assert all(cited(r["answer"]) <= set(range(1, len(r["chunks"]) + 1)) for r in held)
    shapes = ["【", "［", "^[", "[^", "[citation:", "资料", "[来源", "、", ",", "-", "–"]
    used = [s for s in shapes if any(s in m.group(0) for r in held for m in MARKER.finditer(r["answer"]))]
    assert len(used) >= 6, used
    # unanswerable questions (every good answer a refusal) are about a tenth of the questions
    per_q: dict[str, list[dict]] = {}
    for r in held:
        per_q.setdefault(r["question"], []).append(r)
    unanswerable = [q for q, rs in per_q.items() if all(r["style"] == "refusal" for r in rs if r["good"])]
    assert 1 <= len(unanswerable) <= 0.2 * len(per_q)


@pytest.mark.parametrize("name", [f"grounding_holdout{n}" for n in (4, 5, 6, 7, 8, 9)])
def test_the_later_holdout_builders_reproduce_their_sets(name: str, tmp_path: Path) -> None:
    bp = _builder()
    if not (bp.DATASETS / "crud_news").is_dir() or not (bp.DATASETS / "real_docs").is_dir() or not bp.SEED.is_file():
        pytest.skip(f"shared data not found at {bp.SHARED} (the sets' chunks are cut from it)")
    import sys

    sys.path.insert(0, str(SET.parent))
    try:
        spec = importlib.util.spec_from_file_location(name + "_build", SET.parent / f"{name}_build.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(SET.parent))
    out = tmp_path / f"{name}.jsonl"
    bp.write_labelled_set(mod.QUESTIONS, out)
    assert out.read_text(encoding="utf-8") == SET.with_name(f"{name}.jsonl").read_text(encoding="utf-8")


_BASE_GOOD = {"refusal", "paraphrase_numbers", "list_leadin", "ideal", "marker_shapes", "range"}
_BASE_BAD = {"wrong_number", "number_other_entity", "invented_sentence", "hedged_refusal", "false_refusal"}
#: each set's required styles beyond the base ones, its sources, and whether it may reuse the seed's passages
_LATER_SETS = {
    "grounding_holdout6.jsonl": (set(), set(), {"rgb", "cmrc", "real_docs", "crud"}, False),
    "grounding_holdout7.jsonl": ({"paraphrase", "combined", "one_per_paragraph", "table"},
                                 {"invented_entity", "wrong_citation", "reversed_direction", "wrong_date"},
                                 {"seed", "rgb", "cmrc", "real_docs", "crud"}, True),
    "grounding_holdout8.jsonl": ({"paraphrase", "combined", "one_per_paragraph", "table", "quote", "restate",
                                  "terse"},
                                 {"invented_entity", "wrong_citation", "reversed_direction", "wrong_date",
                                  "swapped_entities", "unsupported_cause"},
                                 {"seed", "rgb", "cmrc", "real_docs", "crud"}, True),
    "grounding_holdout9.jsonl": ({"paraphrase", "combined", "one_per_paragraph", "table", "quote", "terse"},
                                 {"invented_entity", "reversed_direction", "wrong_date", "swapped_entities",
                                  "swapped_numbers", "unsupported_cause"},
                                 {"rgb", "cmrc", "real_docs", "crud"}, False),
}


@pytest.mark.parametrize("name", sorted(_LATER_SETS))
def test_the_later_holdout_sets_are_new_balanced_and_cite_existing_chunks(rows: list[dict], name: str) -> None:
    def read(n: str) -> list[dict]:
        return [json.loads(line) for line in SET.with_name(n).read_text(encoding="utf-8").splitlines()
                if line.strip()]

    good_styles, bad_styles, origins, seed_reused = _LATER_SETS[name]
    held = read(name)
    others = sorted(p.name for p in SET.parent.glob("grounding_*.jsonl") if p.name != name)
    earlier = [r for n in others for r in read(n)] + rows
    questions = {r["question"] for r in held}
    assert len(held) >= 100 and len(questions) >= 20 and not questions & {r["question"] for r in earlier}
    # its passages are new too (the seed article's excepted where the set says so: few of them are unused)
    assert not {c["text"] for r in held if not (seed_reused and r["origin"] == "seed") for c in r["chunks"]} & \
        {c["text"] for r in earlier for c in r["chunks"]}
    good = sum(r["good"] for r in held)
    assert abs(2 * good - len(held)) <= 0.1 * len(held)
    by_label = {label: {r["style"] for r in held if r["good"] is label} for label in (True, False)}
    assert not by_label[True] & by_label[False]  # a style name means one label
    assert _BASE_GOOD | good_styles <= by_label[True]
    assert _BASE_BAD | bad_styles <= by_label[False]
    assert {r["origin"] for r in held} >= origins
    assert len({r["id"] for r in held}) == len(held)
    assert all(2 <= len(r["chunks"]) <= 4 for r in held)
    assert all(cited(r["answer"]) <= set(range(1, len(r["chunks"]) + 1)) for r in held)
    assert all(cited(r["answer"]) for r in held if r["good"] and r["style"] != "refusal")
    shapes = ["【", "［", "[^", "[citation:", "资料", "[来源", "、", ",", "-"]
    used = [s for s in shapes if any(s in m.group(0) for r in held for m in MARKER.finditer(r["answer"]))]
    assert used == shapes and any("^[" in r["answer"] for r in held), used
    per_q: dict[str, list[dict]] = {}
    for r in held:
        per_q.setdefault(r["question"], []).append(r)
    assert all(4 <= len(rs) <= 7 for rs in per_q.values())
    unanswerable = [q for q, rs in per_q.items() if all(r["style"] == "refusal" for r in rs if r["good"])]
    assert 0.1 * len(per_q) <= len(unanswerable) <= 0.2 * len(per_q)
