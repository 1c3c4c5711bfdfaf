# ruff: noqa: E501  (hand-written answers: wide CJK lines are data)
"""Write eval/data/grounding_holdout2.jsonl: a second held-out set for the grounding check, written at the start
of the fifth round (before any change of that round) and not read while developing it; docs/grounding.md reports
its figures measured before and after that round.

Its questions are new (in none of grounding_set, grounding_dev or grounding_holdout); the passages are cut from
../shared/ by build_grounding_passages.py; the answers are written by hand the way Qwen, Doubao, ERNIE, GLM and
DeepSeek write (numbered, dashed, bold-label and nested lists, lead-ins with and without markers, markers before
or after the punctuation, deep paraphrase, other number forms), half good and half bad, with the main set's
styles. Run `python eval/data/grounding_holdout2_build.py`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from build_grounding_passages import SF, cmrc_chunks, pdf_chunk, rgb_chunks, seed_chunks  # noqa: E402

OUT = Path(__file__).parent / "grounding_holdout2.jsonl"
G, B = True, False


def sf_certs() -> list[dict]:
    """The 2019 annual report's page 10: the company's qualifications and certifications, then its tank business."""
    return [pdf_chunk(SF, 10, "公司拥有美国机械工程师协会", "具备\n了向全球范围提供产品的资质。"),
            pdf_chunk(SF, 10, "2、罐箱积极开拓市场", "较上年同比有增长。")]


QUESTIONS: dict[str, tuple[str, str, list[dict], list[tuple[bool, str, str]]]] = {
    "h2-01": ("rgb", "首趟RCEP班列从哪里出发？开往哪里？", rgb_chunks(3, [("p", 0), ("p", 1), ("n", 0)]), [
        (G, "ideal", "首趟RCEP班列是X9101次集装箱班列，于2022年1月1日零点刚过从南宁国际铁路港开出[1]。它满载800多吨货物，终点站是越南河内[1]。"),
        (G, "list_leadin", "根据检索到的资料，首趟RCEP班列的基本情况如下：\n\n1. **出发地**：南宁国际铁路港[1]\n2. **终点站**：越南河内[1]\n3. **发车时间**：2022年1月1日零点刚过[1]\n4. **货物**：满载800多吨货物[1]"),
        (G, "paraphrase_numbers", "这趟班列在2022年元旦零点后不久由南宁国际铁路港发车，载货八百余吨，目的地是越南河内[1]。RCEP生效后，南宁至河内班列的运行时间由原来的72小时压缩到约24小时，缩短了四十多个小时[2]。"),
        (B, "wrong_number", "首趟RCEP班列于2022年1月1日从南宁国际铁路港开出，满载1800多吨货物，开往越南河内[1]。"),
        (B, "invented_entity", "首趟RCEP班列从南宁国际铁路港出发，开往越南河内[1]。该班列由中国国家铁路集团与越南铁路总公司联合运营[1]。"),
        (B, "false_refusal", "很抱歉，提供的资料中没有提到首趟RCEP班列的出发地和目的地。"),
    ]),
    "h2-02": ("rgb", "RCEP生效后南宁到河内的班列运行时间有什么变化？", rgb_chunks(3, [("p", 1), ("p", 0)]), [
        (G, "paragraph", "RCEP协定生效后，进出口货物的成本降低，运输时间也缩短了。中国南宁—越南河内班列过去需要运行72小时，现在只需约24小时，运行时长减少了40多个小时，基本实现次日可达。[1]"),
        (G, "paraphrase", "变化很明显：以前这条线要跑整整三天，如今大约一天就能到，基本做到了第二天就送达[1]。"),
        (G, "marker_shapes", "南宁—河内班列运行时间由72小时缩短至约24小时，基本实现了次日可达（资料1）。"),
        (B, "swapped_numbers", "中国南宁—越南河内班列运行时间之前需要24小时，目前仅需约72小时[1]。"),
        (B, "invented_sentence", "南宁—河内班列运行时间由72小时缩短至约24小时[1]。此外，班列每周开行班次也从2班增加到了7班[1]。"),
    ]),
    "h2-03": ("rgb", "10月29日索马里首都汽车炸弹爆炸造成了多少伤亡？", rgb_chunks(27, [("p", 0), ("n", 0), ("n", 1)]), [
        (G, "ideal", "据索马里政府官员10月31日通报，29日在首都摩加迪沙发生的汽车炸弹爆炸已造成119人死亡、324人受伤，另有10人失踪[1]。索马里“青年党”宣称对事件负责[1]。"),
        (G, "list_leadin", "伤亡情况如下[1]：\n- 死亡：119人\n- 受伤：324人\n- 失踪：10人\n\n这是自2017年10月17日摩加迪沙爆炸案以来索马里伤亡最大的一次袭击[1]。"),
        (G, "paraphrase_numbers", "这次爆炸导致一百一十九人遇难、三百二十四人受伤，还有十人下落不明。[1]"),
        (B, "other_entity_number", "10月29日的汽车炸弹爆炸造成至少587人死亡，316人受伤[1]。"),
        (B, "wrong_citation", "10月29日摩加迪沙汽车炸弹爆炸造成119人死亡、324人受伤[2]。"),
        (B, "hedged_refusal", "资料中没有给出最终的伤亡统计。据推测，死亡人数可能超过150人，联合国已派出医疗队协助救治[1]。"),
    ]),
    "h2-04": ("rgb", "谁宣称对索马里10月29日的汽车炸弹爆炸负责？", rgb_chunks(27, [("p", 0), ("n", 0)]), [
        (G, "combined", "索马里“青年党”宣称对这次汽车炸弹爆炸负责，该组织是与基地组织有关联的极端组织，近年来在索马里及其邻国多次发动恐怖袭击[1][2]。"),
        (G, "paraphrase", "出来认领这起袭击的是索马里“青年党”——一个和基地组织有牵连、多年来在索马里及周边国家频繁制造恐袭的极端团体[1]。"),
        (B, "invented_entity", "索马里“青年党”和“伊斯兰国”索马里分支共同宣称对这次爆炸负责[1]。"),
        (B, "false_refusal", "根据所给资料，无法得知是谁对这次爆炸负责。"),
    ]),
    "h2-05": ("rgb", "海底捞的新任CEO是谁？同时还有哪些人事任命？", rgb_chunks(57, [("p", 0), ("p", 1), ("n", 0)]), [
        (G, "ideal", "海底捞的新任CEO是杨利娟[1]。同时，李瑜出任海底捞中国大陆地区首席运营官，王金平出任港澳台及海外地区首席运营官[2]。"),
        (G, "list_leadin", "据资料[2]，此次人事任命主要包括：\n\n- **首席执行官（CEO）**：杨利娟\n- **中国大陆地区首席运营官**：李瑜\n- **港澳台及海外地区首席运营官**：王金平"),
        (G, "paragraph", "2021年8月底，海底捞董事会新增7名执行董事，其中包括新任CEO杨利娟、中国内地COO李瑜和产品委员会主任宋青等。变动后董事会成员达到15位，包括10位执行董事和5位独立非执行董事。[1]"),
        (G, "marker_shapes", "新任CEO为杨利娟[^1]。此外，李瑜出任中国大陆地区首席运营官，王金平出任港澳台及海外地区首席运营官[^2]。"),
        (B, "swapped_numbers", "变动后海底捞董事会成员达到15位，包括5位执行董事和10位独立非执行董事[1]。"),
        (B, "invented_sentence", "海底捞新任CEO是杨利娟[1]。创始人张勇将同时卸任董事会主席，由宋青接任[2]。"),
        (B, "other_entity_number", "海底捞新任CEO杨利娟，2000年8月加入海底捞做服务员[3]。"),
    ]),
    "h2-06": ("rgb", "李家超在第六任行政长官选举中得了多少票？", rgb_chunks(81, [("p", 0), ("p", 1), ("n", 0)]), [
        (G, "ideal", "李家超作为唯一候选人，在2022年5月8日举行的第六届行政长官选举中获得1416票当选，得票率99.16%[2]。"),
        (G, "paraphrase_numbers", "他拿到了一千四百一十六张支持票，得票率约99%，创下历史新高[1][2]。"),
        (G, "combined", "2022年5月8日，选举在香港会议展览中心举行，唯一候选人李家超获得1416票当选，得票率达99%[1-2]。"),
        (B, "wrong_number", "李家超获得1461张支持票，得票率99.16%[2]。"),
        (B, "invented_sentence", "李家超获得1416张支持票当选[2]。投票率为97.74%，共有1428名选委投票[2]。"),
    ]),
    "h2-06n": ("rgb", "第六任行政长官选举共有多少名选委投票？", rgb_chunks(81, [("p", 0), ("p", 1)]), [
        (G, "refusal", "资料中只提到李家超获得1416张支持票、得票率99.16%，并没有说明共有多少名选委投票，因此无法回答这个问题。"),
        (G, "refusal", "抱歉，检索到的内容未包含投票选委的总人数。"),
        (B, "hedged_refusal", "资料没有直接给出投票人数。不过按1416票、得票率99.16%推算，大约有1500名选委参加了投票[2]。"),
    ]),
    "h2-07": ("rgb", "2022年春运首日的火车票什么时候开售？除夕当天的票哪天能买？", rgb_chunks(9, [("p", 0), ("p", 1), ("n", 0)]), [
        (G, "ideal", "按照15天预售期，春运首日的火车票1月3日开售[1]。1月17日可以购买1月31日除夕当天的火车票[1]。"),
        (G, "list_leadin", "时间安排如下：\n\n1. 春运时间：1月17日至2月25日，共40天[2]\n2. 春运首日车票：1月3日开售[2]\n3. 除夕（1月31日）车票：1月17日可购买[2]"),
        (G, "paraphrase_numbers", "春运首日（1/17）的车票于1/3开售；除夕是1月31日（腊月二十九），其车票在春运首日即1月17日就能买到[2]。"),
        (G, "paraphrase", "因为车票提前15天预售，所以春运第一天的票在元月三号就开始卖了；今年没有大年三十，除夕那天的票要到春运开始当天才能买[2]。"),
        (B, "wrong_number", "春运首日火车票1月5日开售，1月17日可以购买除夕当日的火车票[1]。"),
        (B, "swapped_numbers", "1月15日可以购买1月30日的火车票，1月16日可以购买1月29日的火车票[1]。"),
        (B, "false_refusal", "资料只介绍了北京火车站的测温和健康码要求，未说明春运火车票的开售时间。"),
    ]),
    "h2-08": ("cmrc", "固始站离西安站和南京站各有多远？年旅客量是多少？", cmrc_chunks([("DEV_33", -1), ("DEV_8", -1)]), [
        (G, "ideal", "固始站距西安站822公里，距南京站333公里[1]。车站年发送旅客6.5万人次、到达旅客8.5万人次[1]。"),
        (G, "list_leadin", "关于固始站[1]：\n* 距固始县城：约30公里\n* 距西安站：822公里\n* 距南京站：333公里\n* 年发送旅客：6.5万人次\n* 年到达旅客：8.5万人次"),
        (G, "paraphrase_numbers", "固始站到西安站有八百二十二公里，到南京站三百三十三公里；每年发送约65,000人次、到达约85,000人次[1]。"),
        (B, "swapped_numbers", "固始站距西安站333公里，距南京站822公里[1]。"),
        (B, "wrong_number", "固始站年发送旅客6.5万人次、到达旅客9.5万人次[1]。"),
        (B, "invented_sentence", "固始站距西安站822公里[1]。2018年车站完成了改扩建，新增了2座高架候车室[1]。"),
    ]),
    "h2-09": ("cmrc", "固始县对固始站采取了什么补贴政策？效果如何？", cmrc_chunks([("DEV_33", -1)]), [
        (G, "paragraph", "自2016年9月17日起，固始县财政开始对固始站乘降旅客进行现金补贴。政策施行后车站客流增幅明显，10月7日国庆节返程日发送旅客1124人，创下历史记录。[1]"),
        (G, "paraphrase", "从2016年9月中旬开始，县财政给在这个站上下车的旅客发现金补贴；此后客流明显上涨，国庆返程那天单日发送了1124名旅客，刷新了纪录【1】。"),
        (B, "wrong_number", "自2016年9月17日起，固始县财政对乘降旅客进行现金补贴，10月7日发送旅客2124人，创历史记录[1]。"),
        (B, "invented_sentence", "固始县财政对固始站乘降旅客进行现金补贴[1]。每位旅客每次可获得20元补贴[1]。"),
    ]),
    "h2-10": ("cmrc", "底特律第二浸信会是怎么成立的？在废奴运动中做了什么？", cmrc_chunks([("DEV_47", -1), ("DEV_33", -1)]), [
        (G, "ideal", "1836年3月，3名因受歧视而离开第一浸信会的前奴隶成立了底特律第二浸信会[1]。从成立直到内战结束，教堂充当地下铁路的一个“车站”，收容过大约5000名奴隶，帮助他们逃往加拿大[1]。"),
        (G, "list_leadin", "底特律第二浸信会在废奴运动中的作用主要有：\n1. 协助成立Amherstburg浸信会协会和加拿大反奴役浸信会协会两个废奴团体；\n2. 作为地下铁路的“车站”，收容过约5000名奴隶；\n3. 1839年开办该市第一所黑人学校，并在1843年和1865年主办“全州有色人种公民大会”，为黑人争取选举权。[1]"),
        (G, "paraphrase_numbers", "教会创立于1836年，创始人是三位受歧视后离开第一浸信会的前奴隶；它在内战结束前接纳过约五千名逃亡奴隶，帮他们去往加拿大[1]。"),
        (B, "other_entity_number", "1839年，3名前奴隶成立了底特律第二浸信会[1]。"),
        (B, "invented_entity", "底特律第二浸信会由牧师威廉·门罗与3名前奴隶于1836年共同成立[1]，弗雷德里克·道格拉斯曾在此发表废奴演讲[1]。"),
        (B, "wrong_number", "从成立到内战结束，教堂收容过大约15000名奴隶[1]。"),
    ]),
    "h2-11": ("cmrc", "于乐的职业生涯中有哪些转会经历？", cmrc_chunks([("DEV_8", -1), ("DEV_33", -1)]), [
        (G, "ideal", "于乐出身于北京国安，2006年以2万元转会到河南建业[1]。2012年2月，他以自由转会方式加盟深圳红钻，签约3年[1]。"),
        (G, "list_leadin", "于乐的转会经历：\n\n- **2006年**：以2万元从北京国安转会至河南建业\n- **2012年2月**：自由转会加盟深圳红钻，签约3年，合同到期后深圳红钻有续约1年的优先权\n\n以上信息来自资料[1]。"),
        (G, "marker_shapes", "于乐2006年以2万元从北京国安转会到河南建业，2012年2月自由转会加盟深圳红钻[citation:1]。"),
        (B, "wrong_number", "于乐2006年以20万元从北京国安转会到河南建业[1]。"),
        (B, "invented_entity", "于乐2006年转会到河南建业，2015年又转会加盟天津泰达[1]。"),
        (B, "false_refusal", "提供的资料中没有关于于乐转会经历的信息。"),
    ]),
    "h2-12": ("seed", "GPT-4o发布后OpenAI采取了什么策略？业内怎么看？", seed_chunks(3, 6), [
        (G, "ideal", "5月14日发布的GPT-4o多模态大模型宣布将向所有用户免费开放[1]。有业内人士指出，OpenAI选择卷入免费模式的竞争，说明GPT的用户和收入增长都已经碰到瓶颈[1]。"),
        (G, "paraphrase", "OpenAI在推出GPT-4o时决定对全部用户免费。业内有人认为，连它都加入免费竞争，意味着GPT在用户和营收上的增长已经遇到天花板。[1]"),
        (B, "invented_sentence", "GPT-4o发布后宣布向所有用户免费开放[1]。同时OpenAI把GPT-4的API价格下调了80%[1]。"),
        (B, "wrong_citation", "GPT-4o于5月14日发布，并宣布向所有用户免费开放[2]。"),
    ]),
    "h2-13": ("seed", "字节的豆包大模型已经在哪些行业落地？", seed_chunks(8, 1), [
        (G, "list_leadin", "字节方面表示，豆包大模型和火山方舟2.0目前已经在以下行业实践落地：\n\n- 金融\n- 汽车\n- 智能终端\n- 电商零售\n- 教育科研\n\n[1]"),
        (G, "paragraph", "字节方面表示，豆包大模型和火山方舟2.0已在金融、汽车、智能终端、电商零售、教育科研等多个行业实践落地。相比之下，腾讯的行业大模型已在20多个行业落地。[1]"),
        (G, "marker_shapes", "豆包大模型和火山方舟2.0已在金融、汽车、智能终端、电商零售、教育科研等行业落地。[1]"),
        (B, "other_entity_number", "字节的豆包大模型已在金融、医疗、教育、汽车、能源等20多个行业落地[1]。"),
        (B, "invented_entity", "豆包大模型已在金融、汽车、电商零售等行业落地，并与招商银行、比亚迪达成了合作[1]。"),
    ]),
    "h2-14": ("real_docs", "四方科技的罐式集装箱符合哪些标准、通过了哪些认证？", sf_certs(), [
        (G, "list_leadin", "根据年报，四方科技的罐式集装箱：\n\n1. **符合的标准**：ISO、ASME、EN、GB标准\n2. **通过的认证**：\n   - 英国劳氏船级社\n   - 法国必维船级社\n   - 挪威船级社\n   - 俄罗斯船级社\n   - 中国船级社\n\n因此具备了向全球范围提供产品的资质[1]。"),
        (G, "paraphrase", "公司的罐箱按ISO、ASME、EN和GB几套标准生产，拿到了英国劳氏、法国必维、挪威、俄罗斯和中国等多家船级社的产品认证，所以可以卖到全世界[1]。"),
        (G, "combined", "四方科技的罐式集装箱符合ISO、ASME、EN、GB标准，并通过了英国劳氏船级社、法国必维船级社、中国船级社等多项认证；2019年其罐式集装箱销量全球市场占有率达到15.55%[1,2]。"),
        (B, "invented_entity", "四方科技的罐式集装箱符合ISO、ASME标准，并通过了美国船级社（ABS）和日本海事协会的认证[1]。"),
        (B, "wrong_number", "公司罐式集装箱通过了多项船级社认证[1]，2019年销量全球市场占有率达到25.55%[2]。"),
        (B, "false_refusal", "抱歉，资料中没有提到四方科技罐式集装箱的标准和认证情况。"),
        (B, "wrong_citation", "四方科技的罐式集装箱符合ISO、ASME、EN、GB标准，并通过了英国劳氏船级社等多项产品认证[2]。"),
    ]),
    "h2-13n": ("seed", "豆包大模型在医疗行业的客户有哪些？", seed_chunks(8, 1), [
        (G, "refusal", "根据提供的资料，无法回答豆包大模型在医疗行业有哪些客户。资料只说豆包已在金融、汽车、智能终端、电商零售、教育科研等行业落地。[1]"),
        (G, "refusal", "资料里没有提到豆包大模型在医疗行业的客户。"),
        (B, "hedged_refusal", "资料未列出具体客户名单。不过豆包已与多家三甲医院合作，开展病历辅助生成试点[1]。"),
    ]),
}


def main() -> None:
    rows = []
    for qid, (origin, question, chunks, answers) in QUESTIONS.items():
        for i, (good, style, answer) in enumerate(answers, 1):
            rows.append({"id": f"{qid}-a{i}", "question": question, "origin": origin, "chunks": chunks,
                         "answer": answer, "good": good, "style": style, "note": ""})
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} answers ({sum(r['good'] for r in rows)} good) over {len(QUESTIONS)} questions -> {OUT}")


if __name__ == "__main__":
    main()
