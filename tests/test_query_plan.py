"""The query stages around retrieval: the sub-query splitter (Chinese cases, and what must stay whole), the
covering merge, near-duplicate collapse, recency, and all of them through Services with the hash embedder."""

from __future__ import annotations

import pytest

from eval.groups import group_relevance, ranked_groups
from rag.services.near_dup import NearDupCollapser, clauses, jaccard, shingles
from rag.services.recency import asks_for_latest, prefer_recent
from rag.services.subqueries import merge_covering, split_question
from rag.types import Chunk, Citation, Hit


def hit(doc: str, text: str = "", score: float = 1.0, date: str | None = None, n: int = 0) -> Hit:
    meta = {"date": date} if date else {}
    return Hit(chunk=Chunk(f"{doc}#{n}", doc, text or f"{doc} 的正文 {n}", doc, "s", 0, 10, metadata=meta),
               score=score)


# ---- splitter ----

@pytest.mark.parametrize("question, parts", [
    ("华为和小米分别发布了什么手机？", ["华为发布了什么手机", "小米发布了什么手机"]),
    ("北京和上海的房价分别是多少？", ["北京的房价是多少", "上海的房价是多少"]),
    ("台风“杜苏芮”和“卡努”分别预计在什么时候登陆？",
     ["台风“杜苏芮”预计在什么时候登陆", "台风“卡努”预计在什么时候登陆"]),
    ("农业农村部派出的工作组和国家防总增派的工作组相比，哪个更多？",
     ["农业农村部派出的工作组", "国家防总增派的工作组"]),
    ("苹果和三星的手机有什么区别？", ["苹果的手机", "三星的手机"]),
    # two questions in one; the pronoun of the second gets the first one's name
    ("特朗普的密件案将于哪一天开审？他声称自己可能面临多少年的监禁？",
     ["特朗普的密件案将于哪一天开审", "特朗普声称自己可能面临多少年的监禁"]),
    ("韩国警方启动了什么行动，以及谁要求政府和执政党明确查核报道的真伪？",
     ["韩国警方启动了什么行动", "谁要求政府和执政党明确查核报道的真伪"]),
    # a part that names nothing of its own is given the topic of the one before
    ("毛伊岛野火已造成多少人遇难？多少人失踪？", ["毛伊岛野火已造成多少人遇难", "毛伊岛野火多少人失踪"]),
])
def test_splits_questions_about_several_things(question, parts):
    assert split_question(question) == parts


@pytest.mark.parametrize("question", [
    "中国和平发展的道路是什么？",  # 和平 is one word
    "澳门和统会强调赖清德应承认什么？",  # 和统会 (和平统一促进会) cut as 和 / 统会: no distributive cue
    "和田玉的产地在哪里？",
    "国家防总派出了多少个工作组和联合专家组？",  # one passage names both
    "波黑和意大利的促进会谴责赖清德做了什么？",
    "苹果与谷歌达成了什么协议？",  # a joint action
    "他和谁见面了？",  # a question word inside the coordination
    "大学毕业生的去向落实率和落实人数相比去年同期有什么变化？",  # both compared with last year, not each other
    "在预计有什么天气情况下，公众应该特别注意防范哪些次生灾害？",  # the first clause frames the second
    "在印第安纳州曼西市的枪击事件中，有多少人死亡？",
    "为恢复尼日尔的宪法秩序，谁被责成启动地区常备部队？",
    "香港各界表示会继续推动什么教育？",  # 各界 is not 各
    "豆包的价格是多少",
])
def test_keeps_single_questions_whole(question):
    assert split_question(question) == []


def test_split_is_capped():
    q = "甲公司营收是多少？乙公司利润是多少？丙公司员工有几人？丁公司总部在哪里？戊公司何时成立？"
    assert len(split_question(q, max_parts=3)) == 3


# ---- merge ----

def test_merge_covers_every_part_in_the_top_k():
    whole = [hit("a"), hit("b"), hit("c"), hit("d")]
    part1 = [hit("a"), hit("e")]
    part2 = [hit("f"), hit("b")]
    merged = merge_covering([whole, part1, part2], top_k=3)
    assert [h.chunk.doc_id for h in merged[:3]] == ["a", "e", "f"]
    # nothing is lost beyond the top-k, and nothing twice
    ids = [h.chunk.chunk_id for h in merged]
    assert len(ids) == len(set(ids)) and {"b#0", "c#0", "d#0"} <= set(ids)


def test_merge_skips_copies_of_a_story_already_shown():
    whole = [hit("a"), hit("b")]
    part = [hit("a2"), hit("c")]  # a2 is another outlet's copy of a
    merged = merge_covering([whole, part], top_k=2, group_of=lambda d: "a" if d == "a2" else d)
    assert [h.chunk.doc_id for h in merged[:2]] == ["a", "c"]


# ---- near-duplicates ----

WIRE = ("新华社北京8月1日电 国家防总办公室、应急管理部1日组织防汛专题视频会商调度，研判华北黄淮等地强降雨发展态势，"
        "部署重点地区防汛抢险救援工作。国家防总决定将河北防汛应急响应提升至二级，并派出工作组协助指导。")


def test_clauses_and_shingles_fold_width_and_punctuation():
    assert clauses("ＰＭＩ为４９．３％，环比上升０．３个百分点。") == clauses("PMI为49.3%, 环比上升0.3个百分点")
    assert clauses("PMI为49.3%，环比上升0.3个百分点") == {"pmi为49.3%", "环比上升0.3个百分点"}
    assert shingles("ＡＢＣ，一二三四五") == shingles("abc一二三四五")
    other = "台风卡努预计11日夜间移入我国东北地区，黄海北部风力可达7级。"
    for sig in (clauses, shingles):
        assert jaccard(sig(WIRE), sig(WIRE + "（责任编辑：王某）")) > 0.7
        assert jaccard(sig(WIRE), sig(other)) < 0.05


def test_collapse_keeps_the_best_ranked_copy_and_counts_the_others():
    copy = "来源：某日报 " + WIRE.replace("1日组织", "1日上午组织")
    hits = [hit("x", WIRE, 3.0), hit("y", "台风卡努预计11日夜间移入我国东北地区。", 2.0), hit("z", copy, 1.0)]
    out = NearDupCollapser().collapse(hits)
    assert [h.chunk.doc_id for h in out] == ["x", "y"]
    assert out[0].duplicate_doc_ids == ["z"] and out[1].duplicate_doc_ids == []


def test_collapse_keeps_several_chunks_of_one_document():
    hits = [hit("x", WIRE, n=0), hit("x", WIRE, n=1)]  # the same document is never its own copy
    assert len(NearDupCollapser().collapse(hits)) == 2


def test_a_collapsed_group_counts_as_relevant_once():
    hits = [hit("other"), hit("gold1", WIRE)]
    hits[1].duplicate_doc_ids = ["gold2"]
    ranked, rel = group_relevance(ranked_groups(hits, 10), {"gold1", "gold2"})
    assert ranked == ["other", "gold1"] and rel == {"gold1"}
    hits[1].duplicate_doc_ids, hits[1].chunk.doc_id = ["gold2"], "copy"  # a non-relevant copy shown for it
    ranked, rel = group_relevance(ranked_groups(hits, 10), {"gold2"})
    assert ranked == ["other", "gold2"] and rel == {"gold2"}


def test_citation_duplicates_round_trip():
    c = Citation(1, "d", "t", "s", None, "text", 0.5, duplicates=2)
    assert c.to_dict()["duplicates"] == 2
    assert Citation(1, "d", "t", "s", None, "text", 0.5).to_dict()["duplicates"] == 0
    assert Citation(**{**c.to_dict(), "duplicates": None}).duplicates == 0


# ---- recency ----

def test_recency_cues():
    assert asks_for_latest("国内成品油价格最近经历了什么？") and asks_for_latest("美联储最新的加息决定")
    assert asks_for_latest("今年的CPI涨了多少") and not asks_for_latest("美联储7月的加息决定")


def test_recency_prefers_later_dates_among_close_hits():
    hits = [hit("old", score=1.0, date="2023-07-01"), hit("new", score=0.9, date="2023-08-20 10:00"),
            hit("weak", score=0.0, date="2023-08-21"), hit("undated", score=0.95)]
    out = [h.chunk.doc_id for h in prefer_recent(hits, weight=0.3, half_life_days=30)]
    assert out[0] == "new" and out[-1] == "weak"  # the newest but weakest hit is not pulled up
    same_day = [hit("a", score=1.0, date="2023-08-01"), hit("b", score=0.9, date="2023-08-01")]
    assert prefer_recent(same_day) == same_day  # nothing to prefer


# ---- through Services (hash embedder) ----

def test_services_answer_through_the_stages(services, tmp_path):
    other = "台风卡努预计11日夜间移入我国东北地区，黄海北部部分海域风力可达7级。"
    lines = [f"2023-08-01 10:00，正文：{WIRE}", f"2023-08-01 11:00，正文：转自新华社。{WIRE}",
             f"2023-08-09 09:00，正文：{other}"]
    (tmp_path / "news.txt").write_text("\n".join(lines), encoding="utf-8")
    services.ingest_paths([str(tmp_path / "news.txt")])
    hits = services.planner.retrieve("国家防总把河北防汛应急响应提升至几级？", top_k=3)
    assert len({h.chunk.doc_id for h in hits}) == 2  # the two copies are one hit
    assert sorted(len(h.duplicate_doc_ids) for h in hits) == [0, 1]
    ans = services.ask("国家防总把河北防汛应急响应提升至几级？")
    wire = [c for c in ans.citations if "国家防总" in c.text]
    assert wire and wire[0].duplicates == 1
    assert [c["duplicates"] for c in ans.to_dict()["citations"]] == [c.duplicates for c in ans.citations]
    plan = services.planner.plan("国家防总提升了河北哪一级响应？台风卡努预计何时移入东北？", top_k=2)
    assert len(plan.parts) == 2 and {"split", "retrieve", "subqueries", "near_dup", "recency"} <= set(plan.ms)
    assert len({h.chunk.doc_id for h in plan.hits}) == 2  # both stories in the top 2


def test_recency_dates_a_line_without_its_year_by_the_others():
    hits = [hit("old", score=1.0, date="2023-08-01"), hit("noyear", score=0.95, date="08-16 00:17"),
            hit("weak", score=0.0, date="2023-07-01")]
    assert [h.chunk.doc_id for h in prefer_recent(hits)] == ["noyear", "old", "weak"]


@pytest.mark.parametrize("head, date", [
    ("2023-08-11 15:10", "2023-08-11 15:10"), ("[ 2023-07-28 16：40 ]", "2023-07-28 16:40"),
    ("2023年08月09日", "2023-08-09"), ("202308/13 14:15:55", "2023-08-13 14:15"),
    ("来源：新华网  |  2023年08月13日 10:12", "2023-08-13 10:12"), ("[2023/08/03  17:28]", "2023-08-03 17:28"),
    ("08/16  13:50", "08/16 13:50"), ("", None),
])
def test_news_lines_keep_their_dates(head, date):
    from ingest.formats.text import parse_crud_lines

    (doc,) = parse_crud_lines(f"{head}，正文：国家防总将河北防汛应急响应提升至二级。", "news.txt")
    assert doc.metadata.get("date") == date


# ---- the LLM split, against the scripted OpenAI-compatible server ----

def test_llm_splits_what_the_rules_leave_whole(tmp_path, llm_server, monkeypatch):
    from rag.container import Services
    from rag.testing.openai_server import Script
    from tests.conftest import make_settings, scripted_provider

    monkeypatch.setenv("SPLIT_KEY", "k")
    s = make_settings(tmp_path / "data")
    s.llm.providers = [scripted_provider(llm_server, "splitter", "split-text", 1.0, "cheap", "SPLIT_KEY")]
    s.query_plan.subqueries.llm = True
    question = "华为和小米的新手机叫什么？"  # no 分别: the rules keep it whole
    assert split_question(question) == []
    with Services(s) as svc:
        llm_server.script("split-text", Script(mode="text", text="1. 华为的新手机叫什么\n2. 小米的新手机叫什么"))
        plan = svc.planner.plan(question)
        assert plan.parts == ["华为的新手机叫什么", "小米的新手机叫什么"] and plan.split_by == "llm"
        assert plan.cost > 0 and plan.provider == "splitter"
        llm_server.script("split-text", Script(mode="text", text="无"))
        assert svc.planner.plan(question).parts == []
        # parts sharing nothing with the question are an invented topic: not used
        llm_server.script("split-text", Script(mode="text", text="苹果股价是多少\n特斯拉销量是多少"))
        assert svc.planner.plan(question).parts == []
        calls = len(llm_server.calls("split-text"))
        assert svc.planner.plan("豆包的价格是多少？").parts == [] and len(llm_server.calls("split-text")) == calls


def test_the_ui_card_says_how_many_outlets_carried_the_story():
    from ui.render import citations_panel

    cite = {"n": 1, "doc_id": "d", "title": "t", "source": "a.txt", "page": None, "text": "国家防总提升响应。",
            "score": 0.5, "duplicates": 2}
    turn = {"question": "q", "answer": {"answer": "提升响应[1]。", "citations": [cite]}}
    assert "另有 2 篇相同报道" in citations_panel([turn])
    assert "相同报道" not in citations_panel([{**turn, "answer": {**turn["answer"],
                                                               "citations": [{**cite, "duplicates": 0}]}}])


def test_merge_after_its_turns_ranks_the_rest_by_agreement_of_the_lists():
    whole = [hit("a"), hit("b"), hit("c"), hit("d")]
    part1 = [hit("e"), hit("d")]
    part2 = [hit("f"), hit("d")]
    merged = merge_covering([whole, part1, part2], top_k=6, rounds=1)
    # one turn covers every part; then d, which all three lists rank, before b and c
    assert [h.chunk.doc_id for h in merged] == ["a", "e", "f", "d", "b", "c"]
