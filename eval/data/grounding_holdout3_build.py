# ruff: noqa: E501  (hand-written answers: wide CJK lines are data)
"""Write eval/data/grounding_holdout3.jsonl: a third held-out set for the grounding check, written at the start
of the sixth round (before any change of that round) and not read while developing it; docs/grounding.md reports
its figures measured before and after that round.

Its questions are new (in none of the other grounding sets); the passages are cut from ../shared/ by
build_grounding_passages.py; the answers are written by hand the way Qwen, Doubao, ERNIE, GLM and DeepSeek write
(lists with bold labels, lead-ins, markers before or after punctuation, other marker shapes, paraphrase, Chinese
numerals), half good and half bad. Run `python eval/data/grounding_holdout3_build.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from build_grounding_passages import rgb_chunks, write_labelled_set  # noqa: E402

OUT = Path(__file__).parent / "grounding_holdout3.jsonl"
G, B = True, False

QUESTIONS: dict[str, tuple[str, str, list[dict], list[tuple[bool, str, str]]]] = {
    "h3-01": ("rgb", "神舟十四号的指令长是谁？乘组还有哪些人？", rgb_chunks(95, [("p", 0), ("p", 1), ("n", 0)]), [
        (G, "ideal", "神舟十四号的指令长是洛阳籍航天员陈冬[1]。与他一同执行任务的还有刘洋和蔡旭哲[1]。"),
        (G, "list_leadin", "根据资料，神舟十四号乘组如下：\n\n1. **指令长**：陈冬（44岁）[2]\n2. **航天员**：刘洋，与陈冬同龄[2]\n3. **航天员**：蔡旭哲，46岁，首次出征[2]"),
        (G, "paraphrase_numbers", "担任指令长的是陈冬。他二〇一六年十月十七日曾和景海鹏一起乘神舟十一号进入太空，这次是他第二次飞天[1][2]。"),
        (B, "wrong_number", "神舟十四号指令长陈冬，今年48岁，是“最年轻乘组”的指令长[2]。"),
        (B, "invented_entity", "神舟十四号指令长是陈冬，乘组另两名成员是刘洋和王亚平[1]。"),
        (B, "false_refusal", "抱歉，资料中没有提到神舟十四号的指令长是谁。"),
    ]),
    "h3-02": ("rgb", "安倍晋三的国葬在什么时间、什么地点举行？", rgb_chunks(105, [("p", 0), ("p", 1), ("n", 0)]), [
        (G, "ideal", "安倍晋三的国葬于日本时间9月27日下午2点在东京的日本武道馆举行[2]。这是日本战后第二次为前首相举行国葬[2]。"),
        (G, "list_leadin", "国葬的基本情况：\n- **日期**：9月27日【1】\n- **地点**：东京日本武道馆【1】\n- **费用**：由国库全额负担【1】"),
        (G, "combined", "7月14日，首相岸田文雄敲定为安倍举行国葬，最终于9月27日在东京日本武道馆举行，国内外约4300人出席，其中包括约700名政要[1][2]。"),
        (B, "wrong_number", "安倍国葬于9月27日在日本武道馆举行，国内外约7300人出席[2]。"),
        (B, "invented_sentence", "安倍国葬于9月27日在东京日本武道馆举行[2]。美国总统拜登亲自出席并致悼词[2]。"),
        (B, "wrong_citation", "安倍国葬的费用将在12亿日元左右，比最初估计的省了4亿[2]。"),
    ]),
    "h3-02n": ("rgb", "安倍国葬的安保出动了多少名警察？", rgb_chunks(105, [("p", 0), ("p", 1)]), [
        (G, "refusal", "资料只提到国葬费用中包含八亿日元的保安费，没有说明出动了多少名警察，因此无法回答。"),
        (G, "refusal", "检索到的内容中没有关于安保警力人数的信息。"),
        (B, "hedged_refusal", "资料没有给出确切数字，但据估计约有2万名警察参与安保[1]。"),
    ]),
    "h3-03": ("rgb", "2022年百花奖的最佳影片和主要个人奖项是哪些？", rgb_chunks(110, [("p", 0), ("p", 1)]), [
        (G, "list_leadin", "第三十六届大众电影百花奖主要获奖名单如下[1]：\n\n* 最佳影片奖：《长津湖》\n* 最佳导演奖：文牧野（《奇迹·笨小孩》）\n* 最佳男主角奖：张译（《悬崖之上》）\n* 最佳女主角奖：袁泉（《中国医生》）"),
        (G, "paraphrase", "拿下最佳影片的是以抗美援朝长津湖战役为背景的《长津湖》，而获得六项提名的《你好，李焕英》拿到了优秀影片奖。[2]"),
        (G, "marker_shapes", "最佳影片奖为《长津湖》[citation:1]，文牧野凭《奇迹·笨小孩》获最佳导演奖[citation:1]。"),
        (B, "swapped_entities", "最佳男主角奖是张译（影片：中国医生），最佳女主角奖是袁泉（影片：悬崖之上）[1]。"),
        (B, "invented_entity", "最佳影片奖为《长津湖》，最佳男主角奖由吴京凭借该片获得[1]。"),
        (B, "wrong_number", "《你好，李焕英》获得本届百花奖九项提名，最终获得优秀影片奖[2]。"),
    ]),
    "h3-04": ("rgb", "2022世界5G大会在哪里举办？由谁主办？", rgb_chunks(120, [("p", 0), ("p", 1)]), [
        (G, "ideal", "2022世界5G大会于8月10日至12日在黑龙江哈尔滨举行，由黑龙江省人民政府、国家发展和改革委员会、科学技术部、工业和信息化部共同主办[2]。"),
        (G, "paraphrase", "今年的大会放在了哈尔滨；此前三届分别在北京、广州和北京召开[1]。"),
        (B, "wrong_entity", "2022世界5G大会在广州举行[1]，由工业和信息化部单独主办[2]。"),
        (B, "false_refusal", "根据提供的资料，无法确定2022世界5G大会的举办地点。"),
        (G, "marker_shapes", "举办地为哈尔滨（资料1、资料2）。"),
    ]),
    "h3-05": ("rgb", "一汽解放2022年上半年业绩和中重卡销量如何？", rgb_chunks(130, [("p", 0), ("p", 1), ("n", 0)]), [
        (G, "ideal", "一汽解放2022年上半年营业收入228.72亿元，同比减少70.90%；归母净利润1.7亿元，同比减少94.79%[1]。同期实现中重卡销售8.5万辆，终端市场份额25.6%，较2021年提升1.7个百分点[1]。"),
        (G, "list_leadin", "2022年上半年一汽解放主要数据[2]：\n\n| 指标 | 数值 |\n| --- | --- |\n| 营业收入 | 228.72亿元 |\n| 归母净利润 | 1.7亿元 |\n| 中重卡销量 | 8.5万辆 |\n| 终端市场份额 | 25.6% |"),
        (G, "paraphrase_numbers", "上半年公司卖出了八万五千辆中重卡，海外市场销售接近一万辆，同比增长42%[1]。"),
        (B, "direction", "一汽解放2022年上半年营业收入228.72亿元，同比增长70.90%[1]。"),
        (B, "other_entity_number", "一汽解放2022年上半年中重卡销售43.7万辆，同比下降62.1%[2]。"),
        (B, "wrong_number", "上半年一汽解放实现中重卡销售8.5万辆，终端市场份额35.6%[1]。"),
        (G, "combined", "上半年商用车行业销量170.2万辆，同比下降41.2%；在此背景下，一汽解放仍实现中重卡销售8.5万辆，保持行业领先[2]。"),
        (B, "invented_sentence", "一汽解放上半年中重卡销量8.5万辆[1]。公司计划下半年推出三款新能源重卡以扭转颓势[1]。"),
    ]),
    "h3-06": ("rgb", "电视剧《不期而至》由谁主演？讲的是什么故事？", rgb_chunks(160, [("p", 0), ("p", 1)]), [
        (G, "ideal", "《不期而至》由蔡文静、彭冠英领衔主演，闫宇彤执导[1]。剧中蔡文静饰演“小公主”阮真真，在遭遇突如其来的困境后遇到神秘律师高峻（彭冠英饰），两人由猜忌走向信任，携手共克难关[2]。"),
        (G, "paragraph", "这部剧于11月2日在优酷独家播出，由蔡文静和彭冠英领衔主演，王劲松、李乃文、岳旸特别主演。它根据真实事件改编，是继《阳光之下》之后两人的第二次合作。[1][2]"),
        (B, "swapped_entities", "《不期而至》中，彭冠英饰演阮真真，蔡文静饰演律师高峻[2]。"),
        (B, "invented_entity", "《不期而至》由蔡文静、彭冠英领衔主演，导演是郑晓龙[1]。"),
        (B, "wrong_number", "该剧定档12月2日在优酷独家播出[1]。"),
    ]),
    "h3-07": ("rgb", "谁获得了2022亚瑟士青少年网球巡回赛广州站U14组男单冠军？", rgb_chunks(140, [("p", 0), ("p", 1)]), [
        (G, "ideal", "冠军是被称为“背篓少年”的王发[1]。他在半决赛中以6-3战胜冠军热门人选，决赛又以6-2战胜对手，捧起冠军奖杯[1]。"),
        (G, "paraphrase", "夺冠的是背着背篓上赛场的少年王发，他皮肤黝黑、笑容憨厚，背篓里装着心爱的球拍和网球 [1]。"),
        (B, "swapped_numbers", "王发在半决赛中以6-2取胜，决赛中以6-3战胜对手夺冠[1]。"),
        (B, "invented_entity", "王发夺得U14组男单冠军，他来自云南昭通，师从前国手李娜[1]。"),
        (G, "marker_shapes", "U14组男单冠军是王发[^1]。"),
    ]),
    "h3-08": ("rgb", "谷歌Minerva模型在MATH数据集上的准确率是多少？", rgb_chunks(100, [("p", 0)]), [
        (G, "ideal", "Minerva在MATH上的准确率高达50%；在GSM8K和MMLU上的准确率接近80%[1]。"),
        (G, "paraphrase", "借助多数投票——让模型提出100种答案并选出最常见的那个——Minerva在MATH上答对了一半的题目[1]。"),
        (B, "swapped_numbers", "Minerva在MATH上的准确率接近80%，在GSM8K上达到50%[1]。"),
        (B, "wrong_number", "Minerva在MATH数据集上的准确率为58.8%[1]。"),
        (B, "invented_sentence", "Minerva在MATH上的准确率高达50%[1]。它基于GPT-4模型微调而来[1]。"),
    ]),
}


def main() -> None:
    write_labelled_set(QUESTIONS, OUT)


if __name__ == "__main__":
    main()
