"""Issue 14, seventh round: people jieba does not know, label-and-date list items, whole-year figures beside a
quarter, counts the answer makes itself, signed table columns, trends without figures, and scores."""

from __future__ import annotations

import json
from pathlib import Path

from rag.components.llm.grounding import check_grounding, entities
from rag.settings_llm import GroundingSettings


def ok(answer: str, *chunks: str) -> bool:
    return check_grounding(answer, dict(enumerate(chunks, 1)), None, GroundingSettings()).ok


CREW = ("6月4日，经空间站阶段飞行任务总指挥部研究决定，陈冬、刘洋、蔡旭哲3名航天员将执行神舟十四号载人飞行任务，"
        "由航天员陈冬担任指令长。")


def test_people_jieba_cuts_or_coins_are_names() -> None:
    assert "王亚平" in entities("乘组另两名成员是刘洋和王亚平")  # 王/nr + 亚平/ns
    assert "吴京" in entities("最佳男主角奖由吴京凭借该片获得")  # an HMM-coined two-character word
    assert ok("神舟十四号的指令长是陈冬，乘组还有刘洋和蔡旭哲[1]。", CREW)
    assert not ok("神舟十四号的指令长是陈冬，乘组另两名成员是刘洋和王亚平[1]。", CREW)


def test_unknown_two_character_word_without_surname_is_no_person() -> None:
    chunk = "公司上半年实现营收228.72亿元，归属于上市公司股东的净利润为1.7亿元，同比减少94.79%。"
    assert "归母" not in entities("归母净利润1.7亿元")
    assert ok("公司上半年营收228.72亿元，归母净利润1.7亿元，同比减少94.79%[1]。", chunk)


def test_label_and_date_item_needs_the_date_in_the_chunk() -> None:
    chunk = "安倍晋三的国葬于9月27日下午在东京日本武道馆举行，费用由国库全额负担。"
    assert ok("国葬的基本情况：\n- **日期**：9月27日[1]\n- **地点**：东京日本武道馆[1]", chunk)
    assert not ok("国葬的基本情况：\n- **日期**：9月28日[1]\n- **地点**：东京日本武道馆[1]", chunk)


REPORT = ("今日，网易公司发布2022年第四季度及全年财报。财报显示，网易2022年Q4营收为254亿元，同比增长4%；"
          "2022年总营收为965亿元，同比增长10%。")


def test_whole_year_clause_beside_a_quarter_is_the_years() -> None:
    assert ok("网易2022年总营收为965亿元，同比增长10%[1]。", REPORT)
    assert not ok("网易2022年总营收为254亿元，同比增长4%[1]。", REPORT)  # the quarter's figures given to the year


def test_a_count_the_answer_makes_of_listed_items() -> None:
    chunk = ("预付款项31,290,450.41元，较上年减少50.36%，主要原因系预付材料款减少所致；在建工程236,864,658.04元，"
             "较上年增长122.24%，主要原因系募投项目实施所致。")
    assert ok("主要变化有两项：预付款项31,290,450.41元，减少50.36%；在建工程236,864,658.04元，增长122.24%[1]。", chunk)
    crew = "陈冬、刘洋、蔡旭哲3名航天员将执行神舟十四号载人飞行任务。"
    assert not ok("神舟十四号共有4名航天员执行任务[1]。", crew)  # a count the chunk states is still checked


TABLE = ("主要财务指标 2019年 2018年 本期比上年同期增减(%)\n"
         "基本每股收益（元／股） 0.62 0.88 -29.55\n"
         "在建工程（元） 236,864,658.04 106,574,245.10 122.24\n")


def test_signed_table_column_gives_the_direction() -> None:
    assert ok("2019年基本每股收益同比下降29.55%[1]。", TABLE)
    assert not ok("2019年基本每股收益同比增长29.55%[1]。", TABLE)
    assert ok("2019年在建工程236,864,658.04元，同比增长122.24%[1]。", TABLE)
    assert not ok("2019年在建工程236,864,658.04元，同比减少122.24%[1]。", TABLE)


def test_a_reversed_trend_without_figures_fails() -> None:
    chunk = "他预计价格战后将会有一批企业被淘汰。未来大模型在C端有望实现免费化，B端价格则会继续下探。"
    assert ok("他认为，未来B端价格还会继续下降，C端有望免费[1]。", chunk)
    assert not ok("他认为，未来B端的价格将逐步回升，C端有望免费[1]。", chunk)


def test_a_score_is_checked_whole() -> None:
    chunk = "男单决赛，李诗沣以2:0（26:24、21:5）战胜队友石宇奇，夺得冠军。"
    assert ok("李诗沣以2:0战胜石宇奇夺冠，两局比分为26:24和21:5[1]。", chunk)
    assert not ok("李诗沣以2:1战胜石宇奇夺冠[1]。", chunk)


def test_a_closing_source_note_is_no_claim() -> None:
    chunk = "国家统计局4月18日发布数据，2023年一季度国内生产总值284997亿元，同比增长4.5%。"
    assert ok("2023年一季度国内生产总值284997亿元，同比增长4.5%[1]。\n\n（以上数据来源：资料1）", chunk)
    assert ok("2023年一季度国内生产总值284997亿元，同比增长4.5%[1]。以上信息来自资料1。", chunk)
    assert not ok("来自国家统计局的数据显示，一季度国内生产总值同比增长5.4%[1]。", chunk)  # a claim, not a note


def test_a_sentence_going_on_from_the_one_before_is_read_with_it() -> None:
    chunk = ("国家统计局4月18日发布数据显示，2023年一季度国内生产总值284997亿元，同比增长4.5%，比上年四季度加快2.6个"
             "百分点。分产业看，第一产业增加值11575亿元，同比增长3.7%；第三产业增加值同比增长5.4%。")
    assert ok("2023年一季度国内生产总值284997亿元[1]。同比增长4.5%，比上年四季度加快2.6个百分点[1]。", chunk)
    assert not ok("2023年一季度国内生产总值284997亿元[1]。同比增长5.4%，比上年四季度加快2.6个百分点[1]。", chunk)


def test_a_lead_in_naming_someone_the_chunks_do_not_fails() -> None:
    chunk = "特斯拉在2022年总共交付131万辆新车，同比增长40%；第四季度交付405278辆。"
    assert ok("根据资料，特斯拉2022年的交付情况如下：\n\n- 全年交付：131万辆[1]\n- 第四季度交付：405278辆[1]", chunk)
    assert not ok("根据资料，比亚迪2022年的交付情况如下：\n\n- 全年交付：131万辆[1]\n- 第四季度交付：405278辆[1]",
                  chunk)


def test_a_change_word_whose_neighbour_the_passage_changes_the_other_way() -> None:
    chunk = "肖仰华也提到，未来持续降低大模型成本、降低使用门槛还是必然现象，普惠是长期趋势。"
    assert ok("肖仰华认为，持续降低大模型成本、降低使用门槛是必然现象[1]。", chunk)
    assert not ok("肖仰华认为，持续提高大模型成本、降低使用门槛是必然现象[1]。", chunk)


def test_rewrite_harness_runs_and_meaning_keeping_rewrites_stay_accepted(capsys) -> None:
    from eval.grounding_perturb import main

    fixture = Path(__file__).parent / "fixtures" / "grounding_fixture.jsonl"
    assert main(["--dataset", str(fixture), "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table, "no rewrite applied to the fixture"
    for name in ("markers 【n】", "polite closing", "a closing source note"):
        assert table[name]["keeps_meaning"] and table[name]["answers"] > 0
        assert table[name]["misjudged"] == 0, name
    assert not table["a figure changed by 25%"]["keeps_meaning"]


def test_a_refusal_with_high_evidence_and_half_its_missing_thing_given_fails() -> None:
    chunk = "2022年亚太经合组织第二十九次领导人非正式会议于11月18日至19日在泰国曼谷举行，主题为“开放、联通、平衡”。"
    settings = GroundingSettings()
    refusal = "提供的资料中没有关于2022年APEC领导人会议举办城市的信息。"
    assert not check_grounding(refusal, {1: chunk}, 0.85, settings).ok
    assert check_grounding(refusal, {1: chunk}, 0.5, settings).ok  # weak evidence: the refusal stands
    off = settings.model_copy(update={"refusal_joint_evidence": 1.0})
    assert check_grounding(refusal, {1: chunk}, 0.85, off).ok


def test_phrases_and_mis_cuts_that_name_no_one() -> None:
    assert "统一安排" not in entities("其余由村和镇政府统一安排，廊坊市第17中学是集中安置点")
    assert "镇政府" in entities("其余由村和镇政府统一安排")
    assert "天蓬" not in entities("据报道，暑运这16天蓬长集团运送旅客约61.9万人次")


def test_a_count_pointing_at_some_of_the_listed_items() -> None:
    chunk = ("大商道共有四条被执行信息：5月24日立案，执行标的8308.61万元；6月7日立案，执行标的10.51亿元；"
             "7月12日立案一条，执行标的5.245亿元；同日又立案一条，执行标的同为5.245亿元。")
    assert ok("后两条立案时间和执行标的相同，均为5.245亿元[1]。", chunk)
    assert not ok("大商道共有五条被执行信息[1]。", chunk)


def test_a_closing_note_of_the_period_needs_its_dates() -> None:
    chunk = "7月10日至25日，蓬长集团16天共发送旅客61.92万人次，较去年同期增长110.07%。"
    table = "| 指标 | 16天累计 |\n| --- | --- |\n| 旅客 | 61.92万人次 |\n\n"
    assert ok(table + "以上为7月10日至25日的统计数据[1]。", chunk)
    assert not ok(table + "以上为7月1日至25日的统计数据[1]。", chunk)


def test_an_issue_number_is_an_identifier() -> None:
    chunk = ("问题 #55：旧版 langchain 下无法引入 RetrievalQA，新版没有问题。"
             "问题 #65：requirements 中 langchain 的版本写错了。")
    assert ok("相关的是 #55（旧版无法引入 RetrievalQA）和 #65（requirements 中版本写错）[1]。", chunk)
    assert not ok("相关的是 #57（旧版无法引入 RetrievalQA）[1]。", chunk)


def test_a_lead_in_counts_the_list_below_it() -> None:
    chunk = "论坛由科技部、国家发展改革委、工业和信息化部共同主办，5月25日在北京开幕。"
    items = "\n\n- 科技部\n- 国家发展改革委\n- 工业和信息化部"
    assert ok("论坛5月25日在北京开幕，主办单位有以下三家[1]：" + items, chunk)
    assert not ok("论坛5月25日在北京开幕，主办单位有以下四家[1]：" + items, chunk)


def test_a_table_row_without_its_header_may_hold_percentages() -> None:
    chunk = ("预付款项 31,290,450.41 1.27 63,036,652.76 3.07 -50.36\n"
             "在建工程 236,864,658.04 9.61 106,578,620.77 5.20 122.24\n")
    assert ok("在建工程期末余额为236,864,658.04元，占比9.61%[1]。", chunk)
    assert not ok("在建工程期末余额为236,864,658.04元，占比9.16%[1]。", chunk)


def test_two_names_saying_each_others_things() -> None:
    chunk = "第36届大众电影百花奖揭晓：张译凭借《悬崖之上》获最佳男主角奖，袁泉凭借《中国医生》获最佳女主角奖。"
    assert ok("张译凭借《悬崖之上》获得最佳男主角奖，袁泉凭借《中国医生》获得最佳女主角奖[1]。", chunk)
    assert not ok("张译凭借《中国医生》获得最佳女主角奖，袁泉凭借《悬崖之上》获得最佳男主角奖[1]。", chunk)


def test_a_name_with_a_word_glued_to_it_by_jieba() -> None:
    chunk = "电视剧《炽道》的主演是金晨、王安宇。经济学家盘和林认为，C端有望实现免费化，B端价格则会继续下探。"
    assert ok("《炽道》由金晨、王安宇主演[1]。", chunk)
    assert ok("盘和林预计未来C端有望实现免费化，B端价格则会继续下探[1]。", chunk)
    assert not ok("《炽道》由赵丽颖、王安宇主演[1]。", chunk)


def test_a_bare_year_clause_dates_the_clauses_after_it() -> None:
    chunk = ("上半年，公司营业收入1.96亿元，同比下降39.66%。2022年，公司营业收入5.42亿元，同比下降1.80%；"
             "归属于上市公司股东的净利润6415.49万元。")
    assert ok("2022年联合化学营收5.42亿元，同比降1.80%[1]。", chunk)
    assert not ok("2022年联合化学营收1.96亿元，同比降39.66%[1]。", chunk)


def test_rows_inheriting_only_citations_of_chunks_never_given_fail() -> None:
    chunk = "2019年公司营业收入1,175,301,047.35元，比上年减少4.49%。"
    table = "| 指标 | 2019年 | 同比 |\n| --- | --- | --- |\n| 营业收入 | 1,175,301,047.35元 | -4.49% |\n\n"
    assert ok(table + "以上数据见[1]。", chunk)
    assert not ok(table + "以上数据见[9]。", chunk)  # seen over HTTP: the rows were accepted unchecked


def test_a_serialised_table_row_gives_each_value_its_own_columns_year() -> None:
    # the ingest writes a PDF table row as `header: value | header: value` (seen on the real annual report)
    chunk = ("主要会计数据: 营业收入 | 2019年: 1,175,301,047.35 | 2018年: 1,230,552,167.47 | "
             "本期比上年同期增减(%): -4.49 | 2017年: 1,121,640,387.32\n"
             "主要会计数据: 归属于上市公司股东的净利润 | 2019年: 129,465,020.68 | 2018年: 182,215,553.21 | "
             "本期比上年同期增减(%): -28.95 | 2017年: 160,049,876.91")
    assert ok("2019年归属于上市公司股东的净利润为129,465,020.68元[1]。", chunk)
    assert ok("2019年营业收入为1,175,301,047.35元，同比减少4.49%[1]。", chunk)
    assert ok("2018年营业收入为1,230,552,167.47元[1]。", chunk)
    assert not ok("2019年归属于上市公司股东的净利润为182,215,553.21元[1]。", chunk)  # 2018's figure
    assert not ok("2019年营业收入为1,175,301,047.35元，同比增长4.49%[1]。", chunk)
