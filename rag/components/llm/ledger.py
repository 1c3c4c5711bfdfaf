"""Legacy daily spend ledger (JSON); superseded by rag/components/shared_state.py, which imports it once."""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

KEEP_DAYS = 400


class DailyLedger:
    """Per-day totals (CNY, calls, tokens, per provider) in `<dir>/<file>`; writes are atomic."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._days: dict[str, dict[str, Any]] = self._load()

    def _load(self) -> dict[str, dict[str, Any]]:
        if not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("LLM ledger %s unreadable (%s); starting a new one", self.path, exc)
            return {}
        days = data.get("days", {}) if isinstance(data, dict) else {}
        return days if isinstance(days, dict) else {}

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for old in sorted(self._days)[:-KEEP_DAYS]:
            del self._days[old]
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"days": self._days}, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)

    def spent(self, day: str) -> float:
        with self._lock:
            return float(self._days.get(day, {}).get("cost_cny", 0.0))

    def day(self, day: str) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self._days.get(day, {})))

    def record(self, day: str, provider: str, input_tokens: int, output_tokens: int, cost: float) -> None:
        """Add one call to the day's totals and persist."""
        with self._lock:
            entry = self._days.setdefault(
                day, {"cost_cny": 0.0, "calls": 0, "input_tokens": 0, "output_tokens": 0, "providers": {}}
            )
            for target in (entry, entry["providers"].setdefault(provider, {})):
                target["cost_cny"] = round(float(target.get("cost_cny", 0.0)) + cost, 8)
                target["calls"] = int(target.get("calls", 0)) + 1
                target["input_tokens"] = int(target.get("input_tokens", 0)) + input_tokens
                target["output_tokens"] = int(target.get("output_tokens", 0)) + output_tokens
            try:
                self._save()
            except OSError as exc:
                log.warning("could not write LLM ledger %s: %s", self.path, exc)
