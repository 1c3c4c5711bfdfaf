"""Settings: one source of defaults, a user file merged over it, env over both, unknown keys refused (issue 15)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rag.errors import SettingsError
from rag.settings import DEFAULT_SETTINGS_FILE, Settings, load_settings, settings_report
from rag.settings_sources import flatten
from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def _no_rag_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("RAG_"):
            monkeypatch.delenv(name)


def _write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_model_defaults_agree_with_the_shipped_yaml():
    models = flatten(Settings().model_dump(mode="json"))
    shipped = flatten(load_settings(DEFAULT_SETTINGS_FILE).model_dump(mode="json"))
    assert models == shipped
    # Every key the YAML writes is a field the models know, and the other way round, section by section.
    raw = flatten(yaml.safe_load(DEFAULT_SETTINGS_FILE.read_text(encoding="utf-8")))
    assert set(raw) == set(models)
    assert len(Settings().llm.providers) >= 10 and Settings().retrieval.evidence_weight > 0


def test_a_file_naming_one_field_keeps_every_other_shipped_value(tmp_path):
    user = _write(tmp_path / "mine.yaml", {"server": {"port": 9123}})
    shipped = load_settings().model_dump(mode="json")
    mine = load_settings(user).model_dump(mode="json")
    assert mine["server"].pop("port") == 9123
    shipped["server"].pop("port")
    assert mine == shipped


def test_settings_show_json_of_a_partial_file_differs_only_in_that_field(tmp_path):
    """The issue's "done when": through the CLI, as a user would check it."""
    user = _write(tmp_path / "mine.yaml", {"server": {"port": 9123}})
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")} | {"PYTHONPATH": str(ROOT)}

    def show(*extra: str) -> dict:
        out = subprocess.run([sys.executable, "-m", "rag.cli", *extra, "settings", "show", "--json"], env=env,
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    shipped, mine = flatten(show()), flatten(show("--settings", str(user)))
    assert {k for k in shipped if shipped[k] != mine[k]} == {"server.port"}
    assert mine["server.port"] == 9123 and shipped["retrieval.evidence_weight"] == 0.8
    assert len(mine["llm.providers"]) == len(shipped["llm.providers"]) >= 10


def test_env_beats_the_file_which_beats_the_shipped_defaults(tmp_path, monkeypatch):
    user = _write(tmp_path / "mine.yaml", {"retrieval": {"top_k": 7, "candidates": 40}, "server": {"port": 9123}})
    monkeypatch.setenv("RAG_RETRIEVAL__TOP_K", "9")
    monkeypatch.setenv("RAG_SERVER__API_KEYS", '["secret-key-1"]')
    s = load_settings(user)
    assert (s.retrieval.top_k, s.retrieval.candidates, s.server.port) == (9, 40, 9123)
    assert s.retrieval.dense_weight == 0.7  # untouched shipped value
    report = settings_report(user)
    assert report["sources"] == {"retrieval.top_k": "env RAG_RETRIEVAL__TOP_K",
                                 "retrieval.candidates": f"file {user}", "server.port": f"file {user}",
                                 "server.api_keys": "env RAG_SERVER__API_KEYS"}
    assert "secret-key-1" not in json.dumps(report) and report["settings"]["server"]["api_keys"] == ["****"]


@pytest.mark.parametrize(("data", "key"), [
    ({"retrieval": {"topk": 3}}, "retrieval.topk"),
    ({"colour": "red"}, "colour"),
    ({"llm": {"grounding": {"min_suport": 0.2}}}, "llm.grounding.min_suport"),
    ({"llm": {"providers": [{"name": "x", "base_url": "http://h", "model": "m", "price_input": 0,
                             "price_output": 0, "prise": 1}]}}, "llm.providers[0].prise"),
])
def test_unknown_keys_are_refused_by_name(tmp_path, data, key):
    with pytest.raises(SettingsError, match=f"unknown settings key {re.escape(repr(key))}"):
        load_settings(_write(tmp_path / "bad.yaml", data))


def test_unknown_env_key_and_bad_values_are_settings_errors(tmp_path, monkeypatch):
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "nope.yaml")
    with pytest.raises(SettingsError, match=r"server\.port: .*greater than or equal to 1"):
        load_settings(_write(tmp_path / "bad.yaml", {"server": {"port": 0}}))
    (tmp_path / "broken.yaml").write_text("server:\n  port: [\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(tmp_path / "broken.yaml")
    monkeypatch.setenv("RAG_RETRIEVAL__TOPK", "3")
    with pytest.raises(SettingsError, match="RAG_RETRIEVAL__TOPK"):
        load_settings()
