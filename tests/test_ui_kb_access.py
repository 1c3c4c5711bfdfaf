"""The UI's scope check (ui/kb.py) over a real two-base library: what a login is offered, and what each event gets
for a base it may not read, may only read, or that is gone (hash embedder, no server)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import gradio as gr
import pytest

from rag.api.scopes import ALL, NOTHING, KeyScope
from rag.services.knowledge_bases import KnowledgeBases
from tests.conftest import make_settings
from ui.kb import KbAccess

NEWS = "新能源研报"


@pytest.fixture
def kbs(tmp_path) -> Iterator[KnowledgeBases]:
    with KnowledgeBases(make_settings(tmp_path / "data")) as library:
        library.create(NEWS)
        library.create("半导体")
        yield library


def _access(kbs: KnowledgeBases, scope: KeyScope) -> KbAccess:
    return KbAccess(kbs, lambda _request: scope)


def test_a_login_is_offered_the_bases_it_may_read_and_starts_on_default_when_it_may(kbs):
    assert _access(kbs, ALL).readable(None) == ["default", "半导体", NEWS]
    assert _access(kbs, ALL).initial(None) == "default"
    reader = _access(kbs, KeyScope(frozenset({NEWS}), frozenset()))
    assert reader.readable(None) == [NEWS] and reader.initial(None) == NEWS
    writer = _access(kbs, KeyScope(frozenset(), frozenset({"半导体"})))  # writing a base implies reading it
    assert writer.readable(None) == ["半导体"]
    assert _access(kbs, NOTHING).readable(None) == [] and _access(kbs, NOTHING).initial(None) is None


def test_every_event_is_checked_against_the_scope_whatever_base_it_names(kbs):
    reader = _access(kbs, KeyScope(frozenset({NEWS}), frozenset()))
    assert reader.read(None, NEWS).kb == NEWS
    # the picker's value in another (decomposed) Unicode form is the same base, read or refused as that base
    assert reader.read(None, unicodedata.normalize("NFD", NEWS)).kb == NEWS
    for name in ("default", "半导体", None, "", "不存在的库"):  # None / "": a client naming no base asks default
        with pytest.raises(gr.Error, match="无权访问知识库"):
            reader.read(None, name)
    with pytest.raises(gr.Error, match="只能读取知识库「新能源研报」，无权在其中上传或删除文档"):
        reader.write(None, NEWS)
    with pytest.raises(gr.Error, match="知识库名称无效"):
        reader.read(None, ["default"])
    assert _access(kbs, ALL).write(None, NEWS).kb == NEWS


def test_a_base_deleted_under_the_page_gets_a_clear_chinese_error(kbs):
    access = _access(kbs, ALL)
    kbs.delete("半导体")
    with pytest.raises(gr.Error, match="知识库「半导体」不存在.*请刷新页面"):
        access.read(None, "半导体")
    assert "半导体" not in access.readable(None)
