"""Which knowledge bases a UI session may use: the picker's choices, and the scope check every event makes.

The picker's value comes from the browser, so it is never trusted: each event names its base and passes it
through `KbAccess.read` / `KbAccess.write`, which check the login's scope (rag/api/scopes.py) on that call.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr

from rag.services.knowledge_bases import DEFAULT_KB, KbNotFound

if TYPE_CHECKING:
    from rag.api.scopes import KeyScope
    from rag.services.knowledge_bases import KnowledgeBases

ScopeOf = Callable[[Any], "KeyScope"]  # gr.Request (None outside an event) -> the login's scope


def shown(name: object) -> str:
    """A base name as it may appear in a message: escaped, and cut short (a crafted call may send anything)."""
    text = str(name)
    return html.escape(text if len(text) <= 40 else text[:39] + "…")


@dataclass(frozen=True)
class KbAccess:
    """The library and the login's scope, asked again on every event (a session's key may not read them all)."""

    kbs: KnowledgeBases
    scope_of: ScopeOf

    def readable(self, request: Any) -> list[str]:
        """The bases the login may read, in the library's order (`default` first)."""
        scope = self.scope_of(request)
        return [name for name in self.kbs.names() if scope.can_read(name)]

    def initial(self, request: Any) -> str | None:
        """The base a fresh page starts on: `default` when the login may read it, else its first readable base."""
        names = self.readable(request)
        return DEFAULT_KB if DEFAULT_KB in names else (names[0] if names else None)

    def _name(self, name: object) -> str:
        if name is None or name == "":
            return DEFAULT_KB  # a client that names no base asks the default one, as the HTTP API does
        if not isinstance(name, str):
            raise gr.Error("知识库名称无效。")
        return unicodedata.normalize("NFC", name)  # the form KnowledgeBases.get opens, so both see one name

    def read(self, request: Any, name: object) -> Any:
        """The base's Services, or a Chinese error when the login may not read it (or it is gone)."""
        kb = self._name(name)
        if not self.scope_of(request).can_read(kb):
            raise gr.Error(f"当前登录的密钥无权访问知识库「{shown(kb)}」。")
        try:
            return self.kbs.get(kb)
        except KbNotFound:
            raise gr.Error(f"知识库「{shown(kb)}」不存在（可能已被删除或改名），请刷新页面后重新选择。") from None

    def writable(self, request: Any, name: object) -> bool:
        """Whether the login may upload to and delete from the base (for greying out the controls)."""
        return isinstance(name, str) and self.scope_of(request).can_write(unicodedata.normalize("NFC", name))

    def write(self, request: Any, name: object) -> Any:
        """Like `read`, and the login must also be allowed to upload to and delete from the base."""
        kb = self._name(name)
        services = self.read(request, kb)
        if not self.scope_of(request).can_write(kb):
            raise gr.Error(f"当前登录的密钥只能读取知识库「{shown(kb)}」，无权在其中上传或删除文档。")
        return services


def kb_picker(elem_id: str, info: str) -> gr.Dropdown:
    """An empty picker: its choices are the login's readable bases, filled in when the page loads.

    Empty at build time so the page's config names no base to a login that may not read it; custom values are
    allowed because the server, not the choice list, decides (a value outside it gets the scope check's error).
    """
    return gr.Dropdown([], value=None, label="知识库", info=info, allow_custom_value=True, elem_id=elem_id)
