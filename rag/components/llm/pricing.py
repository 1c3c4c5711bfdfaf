"""Cost of a call in CNY from a provider's price table, including cache-hit and off-peak prices."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from rag.settings_llm import ProviderSettings

BEIJING = timezone(timedelta(hours=8))


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def in_off_peak(provider: ProviderSettings, when: datetime) -> bool:
    """Whether `when` falls in the provider's discount window (Beijing time; windows may wrap midnight)."""
    if provider.off_peak is None:
        return False
    local = when.astimezone(BEIJING)
    now = local.hour * 60 + local.minute
    start, end = _minutes(provider.off_peak.start), _minutes(provider.off_peak.end)
    return start <= now < end if start <= end else (now >= start or now < end)


def prices(provider: ProviderSettings, when: datetime) -> tuple[float, float]:
    """(input, output) CNY per million tokens at time `when`."""
    if in_off_peak(provider, when):
        assert provider.off_peak is not None
        return provider.off_peak.price_input, provider.off_peak.price_output
    return provider.price_input, provider.price_output


def call_cost(
    provider: ProviderSettings, input_tokens: int, output_tokens: int, when: datetime, cached_tokens: int = 0
) -> float:
    """CNY for one call; cached prompt tokens use the cache-hit price when the vendor has one."""
    p_in, p_out = prices(provider, when)
    cached = min(max(cached_tokens, 0), input_tokens) if provider.price_input_cached is not None else 0
    p_cached = min(provider.price_input_cached or 0.0, p_in)
    total = (input_tokens - cached) * p_in + cached * p_cached + output_tokens * p_out
    return round(total / 1_000_000, 8)
