# ruff: noqa: E501  (hand-written answers: wide CJK lines are data)
"""Write eval/data/grounding_dev.jsonl: a small development set for the grounding check's fourth round, written
after the held-out set's second measurement by the same hand as the held-out set, to new questions (in neither
grounding_set.jsonl nor grounding_holdout.jsonl), so that mechanisms can be fitted to new writing without
reading the held-out answers. Run `python eval/data/grounding_dev_build.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from build_grounding_passages import cmrc_chunks, rgb_chunks, seed_chunks, write_labelled_set  # noqa: E402

OUT = Path(__file__).parent / "grounding_dev.jsonl"
G, B = True, False

QUESTIONS: dict[str, tuple[str, str, list[dict], list[tuple[bool, str, str]]]] = {
    "dv-01": ("rgb", "2022年一季度中国经济增长率是多少", rgb_chunks(78, [("p", 0), ("p", 1), ("n", 0)]), [
        (G, "ideal", "2022年一季度，我国国内生产总值（GDP）为270178亿元，同比增长4.8%[1]。增速比2021年四季度高0.8个百分点，环比增长1.3%[1]。"),
        (G, "paraphrase_numbers", "2022年第一季度中国GDP约27.02万亿元，同比增长百分之四点八，比上一季度的增速快了0.8个百分点[1]。"),
        (G, "list_leadin", "2022年各季度GDP同比增速如下：\n\n- 一季度：4.8%\n- 二季度：0.4%\n- 三季度：3.9%\n- 四季度：2.9%\n\n全年增长3%[2]。"),
        (B, "other_entity_number", "2022年一季度中国GDP同比增长3.9%，环比增长1.3%[1][2]。"),
        (B, "false_refusal", "抱歉，提供的资料里只有2022年全年的经济数据，没有单独给出一季度的增长率。"),
        (B, "swapped_numbers", "2022年一季度我国GDP同比增长4.8%，二季度增长3.9%，三季度增长0.4%[2]。"),
    ]),
    "dv-02": ("rgb", "iPhone SE 3的起售价是多少？", rgb_chunks(63, [("p", 0), ("p", 1), ("n", 0)]), [
        (G, "ideal", "iPhone SE 3起售价为429美元，国行版3499元起，比上一代涨了200元[1]。"),
        (G, "list_leadin", "iPhone SE 3国行各版本价格如下[2]：\n1. 64GB：3499元\n2. 128GB：3899元\n3. 256GB：4699元"),
        (G, "paraphrase_numbers", "国行iPhone SE 3最低售价三千四百九十九元（美版429美元），比上一代贵了两百元[1]。"),
        (G, "marker_shapes", "iPhone SE 3国行起售价3499元，3月11日开启预定，3月18日正式发售【2】。"),
        (B, "wrong_number", "iPhone SE 3国行起售价为3299元，比上一代便宜了200元[1]。"),
        (B, "invented_sentence", "iPhone SE 3国行起售价3499元[1]。苹果还宣布学生购买可享受500元教育优惠[1]。"),
    ]),
    "dv-03": ("rgb", "坠毁的MU5735航班上有多少人", rgb_chunks(67, [("p", 0), ("p", 1)]), [
        (G, "ideal", "MU5735航班上共有132人，其中乘客123名、机组人员9名，全部罹难[2]。"),
        (G, "paragraph", "2022年3月21日，东航MU5735客机从昆明飞往广州途中坠毁于广西梧州藤县。搜寻工作进行六天后，应急处置指挥部宣布机上132人全部罹难。[1][2]"),
        (G, "paraphrase", "飞机上一共有132个人——123位乘客和9名机组成员，无人生还[2]。"),
        (B, "other_entity_number", "MU5735航班上共有132人，其中乘客123名、机组人员12名[2]。"),
        (B, "false_refusal", "资料中没有提到MU5735航班上的人数。"),
    ]),
    "dv-03n": ("rgb", "MU5735航班的机长叫什么名字？", rgb_chunks(67, [("p", 0), ("p", 1)]), [
        (G, "refusal", "资料里没有给出MU5735航班机长的姓名，只提到机上132人全部罹难，因此无法回答[2]。"),
        (G, "refusal", "根据所提供的内容，我无法确定MU5735航班机长的名字。"),
        (B, "hedged_refusal", "资料没有直接写明机长姓名。不过据公开报道，该航班机长名叫杨红达，飞行经验超过6000小时[2]。"),
    ]),
    "dv-04": ("cmrc", "剃刀嘴凤冠雉体长多少？最后的野外个体是何时被杀的？", cmrc_chunks([("DEV_364", -1), ("DEV_277", -1)]), [
        (G, "ideal", "剃刀嘴凤冠雉体长可达89厘米[1]。最后的野外剃刀嘴凤冠雉于1984年（也可能是1987年或1988年）被杀[1]。"),
        (G, "paraphrase_numbers", "这种鸟身长将近九十厘米（89厘米）；野外最后一只在1984年前后（一说1987或1988年）被猎杀[1]。"),
        (G, "list_leadin", "根据资料[1]：\n- 体长：约89厘米\n- 最后的野外个体：1984年被杀（或为1987年、1988年）"),
        (B, "wrong_number", "剃刀嘴凤冠雉体长约98厘米，最后的野外个体于1984年被杀[1]。"),
        (B, "invented_sentence", "剃刀嘴凤冠雉体长可达89厘米[1]，巴西目前在圣保罗动物园保存着约40只人工繁育个体[1]。"),
    ]),
    "dv-05": ("cmrc", "首届欧盟－拉美国家首脑会议在哪里举行？有多少国家参加？", cmrc_chunks([("DEV_277", -1), ("DEV_364", -1)]), [
        (G, "ideal", "首届欧盟－拉美国家首脑会议于1999年6月28日至29日在巴西里约热内卢举行[1]，来自拉美32个国家和欧盟15个国家的元首或政府首脑参加[1]。"),
        (G, "paraphrase_numbers", "第一届会议在巴西里约热内卢召开，共有47个国家（拉美32国、欧盟15国）的领导人出席[1]。"),
        (G, "combined", "首届会议1999年在巴西里约热内卢举行，拉美32国和欧盟15国首脑通过了《里约热内卢声明》和《行动计划》[1, 2]。"),
        (B, "swapped_numbers", "首届欧盟－拉美国家首脑会议在巴西里约热内卢举行，来自拉美15个国家和欧盟32个国家的元首参加[1]。"),
        (B, "other_entity_number", "首届欧盟－拉美国家首脑会议于2002年5月在巴西里约热内卢举行[1]。"),
    ]),
    "dv-06": ("seed", "肖仰华希望大模型企业关注什么？", seed_chunks(9, 2), [
        (G, "ideal", "肖仰华希望更多的大模型企业关注数据工程和数据科学，尽快借助国家发展数据要素的重大契机，在数据方面形成竞争优势[1]。"),
        (G, "paraphrase", "他呼吁大模型公司重视数据工程与数据科学，抓住国家推动数据要素市场发展的机遇，把数据变成自己的竞争优势[1]。"),
        (B, "false_refusal", "资料中没有提到肖仰华对大模型企业的具体建议。"),
        (B, "invented_entity", "肖仰华希望大模型企业关注数据工程[1]，并建议它们与国家数据局合作建设行业数据集[1]。"),
    ]),
    "dv-07": ("seed", "国内大模型目前面临什么局面？", seed_chunks(0, 5), [
        (G, "ideal", "红星资本局在采访中了解到，目前国内大模型仍面临产品趋同的局面，整个市场在等待杀手级应用的出现[1]。"),
        (G, "paragraph", "5月以来，国内多个大模型下调了价格，甚至有厂商打出“永久免费”的口号。巨头再掀价格战，除了抢占市场份额，背后也有对应用落地的焦虑。目前国内大模型仍面临产品趋同的局面，市场在等待杀手级应用。[1]"),
        (G, "paraphrase", "各家产品差别不大，大家都在等一款真正的杀手级应用出现[1]。"),
        (B, "invented_sentence", "国内大模型仍面临产品趋同的局面[1]。据统计，目前已有超过200家厂商发布了大模型产品[1]。"),
        (B, "hedged_refusal", "资料没有完整描述行业局面。但据行业分析，预计今年年底前将有三成大模型厂商退出市场[2]。"),
    ]),
}


def main() -> None:
    write_labelled_set(QUESTIONS, OUT)


if __name__ == "__main__":
    main()
