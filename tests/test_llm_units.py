"""Unit tests of the LLM routing pieces that need no server: tokens, packing, grounding, pricing, ranking."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from rag.components.llm.client import classify, redact
from rag.components.llm.grounding import check_grounding, is_refusal, markers_in, split_sentences, support
from rag.components.llm.pricing import BEIJING, call_cost, in_off_peak
from rag.components.llm.prompt import pack_prompt
from rag.components.llm.provider_state import ProviderStates
from rag.components.llm.router import rank
from rag.components.llm.tokens import estimate_tokens, truncate_to_tokens
from rag.settings import DEFAULT_SETTINGS_FILE, load_settings
from rag.settings_llm import GroundingSettings, LLMSettings, ProviderSettings
from rag.types import Chunk, Hit

CHUNK1 = "2024年全国新能源汽车销量达到1286.6万辆，同比增长35.5%。其中纯电动汽车占比约六成。"
CHUNK2 = "国家统计局数据显示，2024年国内生产总值增长5.0%，经济运行总体平稳。"


def hits() -> list[Hit]:
    return [
        Hit(Chunk("c1", "d1", CHUNK1, "新能源汽车年报", "news.cn", 0, len(CHUNK1)), 0.9),
        Hit(Chunk("c2", "d2", CHUNK2, "统计公报", "stats.gov.cn", 0, len(CHUNK2)), 0.5),
    ]


def provider(name: str, price: float, **kw: object) -> ProviderSettings:
    data: dict[str, object] = dict(
        name=name, base_url="http://127.0.0.1:9/v1", model=name, price_input=price, price_output=price
    )
    data.update(kw)
    return ProviderSettings.model_validate(data)


def test_token_estimate_counts_chinese_characters_one_each() -> None:
    assert estimate_tokens("新能源汽车") == 5
    assert estimate_tokens("abcdefgh") == 2
    assert estimate_tokens("") == 0
    cut = truncate_to_tokens("一二三四五六七八九十", 4)
    assert cut == "一二三四"


def test_pack_prompt_numbers_chunks_and_fits_the_window() -> None:
    packed = pack_prompt("销量是多少？", hits(), context_window=4096, output_tokens=500, reserve=64)
    assert packed is not None
    assert set(packed.given) == {1, 2}
    user = packed.messages[1]["content"]
    assert "[1] 《新能源汽车年报》" in user and "[2]" in user and "问题：销量是多少？" in user
    assert "[n]" not in packed.messages[0]["content"]
    assert "资料中没有找到" in packed.messages[0]["content"]
    # a window with room for about one chunk keeps only the first (base prompt ~290 tokens, a chunk ~56)
    small = pack_prompt("销量是多少？", hits(), context_window=500 + 64 + 380, output_tokens=500, reserve=64)
    assert small is not None and set(small.given) == {1}
    assert pack_prompt("销量是多少？", hits(), context_window=600, output_tokens=500, reserve=64) is None


def test_pack_prompt_truncates_a_huge_first_chunk() -> None:
    big = Hit(Chunk("c", "d", "长" * 5000, "大报告", "x", 0, 5000), 1.0)
    packed = pack_prompt("问题？", [big], context_window=2000, output_tokens=500, reserve=64)
    assert packed is not None and packed.truncated and packed.input_tokens <= 2000 - 500


def test_markers_and_sentences() -> None:
    assert markers_in("甲[1]。乙[2][3]，丙【4】，丁[1, 5]。") == [1, 2, 3, 4, 5]
    assert split_sentences("销量增长。[1]利润下降[2]。") == ["销量增长[1]。", "利润下降[2]。"]


def test_grounding_accepts_cited_supported_answer() -> None:
    given = {1: CHUNK1, 2: CHUNK2}
    ans = "2024年新能源汽车销量达到1286.6万辆，同比增长35.5%[1]。2024年国内生产总值增长5.0%[2]。"
    res = check_grounding(ans, given, 0.9, GroundingSettings())
    assert res.ok, res.problems
    assert res.cited == [1, 2]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("2024年新能源汽车销量达到1286.6万辆，同比增长35.5%。", "without citation"),
        ("2024年新能源汽车销量达到1286.6万辆[7]。", "not given"),
        ("人工智能大模型推动了芯片产业的快速发展[1]。", "does not support"),
        ("2024年新能源汽车销量达到1500万辆[1]。", "number"),
    ],
)
def test_grounding_flags_problems(answer: str, problem: str) -> None:
    res = check_grounding(answer, {1: CHUNK1, 2: CHUNK2}, None, GroundingSettings())
    assert not res.ok
    assert any(problem in p for p in res.problems), res.problems


def test_refusal_is_fine_on_weak_evidence_and_fails_on_strong() -> None:
    assert is_refusal("资料中没有找到相关信息。")
    weak = check_grounding("资料中没有找到相关信息。", {1: CHUNK1}, 0.1, GroundingSettings())
    assert weak.ok and weak.refused
    strong = check_grounding("资料中没有找到相关信息。", {1: CHUNK1}, 1.0, GroundingSettings())
    assert not strong.ok and strong.refused and "strong" in strong.problems[0]


def test_support_is_bigram_recall() -> None:
    assert support("新能源汽车销量", CHUNK1) == 1.0
    assert support("芯片产业链", CHUNK1) == 0.0


def test_pricing_free_is_zero_cache_and_off_peak() -> None:
    noon = datetime(2026, 3, 1, 12, 0, tzinfo=BEIJING)
    night = datetime(2026, 3, 1, 2, 0, tzinfo=BEIJING)
    assert call_cost(provider("free", 0), 10_000, 1_000, noon) == 0.0
    p = provider(
        "p",
        2.0,
        price_output=8.0,
        price_input_cached=0.5,
        off_peak={"start": "00:30", "end": "08:30", "price_input": 1.0, "price_output": 4.0},
    )
    assert call_cost(p, 1_000_000, 0, noon) == pytest.approx(2.0)
    assert call_cost(p, 1_000_000, 1_000_000, noon, cached_tokens=500_000) == pytest.approx(0.25 + 1.0 + 8.0)
    assert in_off_peak(p, night) and not in_off_peak(p, noon)
    assert call_cost(p, 1_000_000, 1_000_000, night) == pytest.approx(5.0)


def test_rank_puts_free_first_and_skips_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K_OK", "x")
    monkeypatch.delenv("K_MISSING", raising=False)
    settings = LLMSettings(
        providers=[
            provider("strong", 2.0, tier="strong"),
            provider("cheap", 0.3),
            provider("free", 0.0),
            provider("nokey", 0.0, api_key_env="K_MISSING"),
            provider("keyed", 0.1, api_key_env="K_OK"),
            provider("off", 0.0, enabled=False),
            provider("tiny", 0.01, context_window=900),
            provider("unset", 0.0, model="SET-ME-model"),
        ]
    )
    states = ProviderStates(60, 600)
    when = datetime(2026, 3, 1, 12, 0, tzinfo=BEIJING)
    cands, skipped = rank(settings, "销量？", hits(), states, None, when)
    assert [c.provider.name for c in cands] == ["free", "keyed", "cheap", "strong"]
    assert cands[0].est_cost == 0.0
    assert [(s.provider.name, "context window" in s.reason) for s in skipped] == [("tiny", True)]
    # budget spent: only the free one is left
    cands, skipped = rank(settings, "销量？", hits(), states, 0.0, when)
    assert [c.provider.name for c in cands] == ["free"]
    assert all("budget" in s.reason for s in skipped if s.provider.name != "tiny")


def test_provider_states_cooldown_doubles_and_disable() -> None:
    t = [100.0]
    states = ProviderStates(10, 25, clock=lambda: t[0])
    assert states.unavailable_reason("a", None) is None
    assert states.cool_down("a", "HTTP 503") == 10
    assert "cooling down" in (states.unavailable_reason("a", None) or "")
    t[0] += 11
    assert states.unavailable_reason("a", None) is None
    assert states.cool_down("a", "HTTP 503") == 20
    assert states.cool_down("a", "HTTP 503") == 25
    assert states.cool_down("b", "HTTP 429", retry_after=40) == 40
    states.disable("c", "HTTP 401")
    assert "disabled" in (states.unavailable_reason("c", None) or "")
    states.note_call("d")
    assert "rate limit" in (states.unavailable_reason("d", 1) or "")
    t[0] += 61
    assert states.unavailable_reason("d", 1) is None


def test_redact_and_classify_never_show_the_key() -> None:
    key = "sk-unit-SECRET-123456"
    assert key not in redact(f"bad key {key} and Bearer {key}", [key])
    assert "Bearer ***" in redact("Authorization: Bearer abcdef", [])
    failure = classify(RuntimeError(f"boom {key}"), [key])
    assert key not in str(failure) and failure.kind == "other"


def test_default_settings_ship_inert_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(DEFAULT_SETTINGS_FILE)
    llm = settings.llm
    names = {p.name for p in llm.providers}
    vendors = ("doubao", "qwen", "ernie", "hunyuan", "spark", "glm", "deepseek", "kimi", "gpt-4o-mini")
    vendors += ("ollama", "llama-cpp")
    for expected in vendors:
        assert any(expected in n for n in names), expected
    for p in llm.providers:
        if p.api_key_env:
            monkeypatch.delenv(p.api_key_env, raising=False)
        else:
            assert not p.enabled, f"local provider {p.name} must be off by default"
        assert "deepseek-chat" not in p.model and "deepseek-reasoner" not in p.model
    from rag.components.llm.router import not_configured_reason

    assert all(not_configured_reason(p) for p in llm.providers)
    json.dumps(llm.model_dump())
