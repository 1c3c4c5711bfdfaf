"""Which knowledge bases an API key may read and write (`server.api_keys` entries with `read` / `write`).

A plain string key may use every base. A scoped key `{key, read: [..] | "*", write: [..] | "*"}` may read
(ask, list, show) the bases in `read` and those in `write`, and write (upload, delete documents) those in
`write`. Creating a base needs write on its name (a key with `write: "*"` may create any; one with a list
only the names listed, so an operator can hand out a key for a base that does not exist yet); renaming
needs write on both names, deleting write on the base. A base outside a key's scope answers 403
(`kb_forbidden`) whether or not it exists, so a key learns nothing about bases it may not see.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from rag.services.knowledge_bases import KbForbidden
from rag.settings import Settings


@dataclass(frozen=True)
class KeyScope:
    """The bases a key may read and write; None = every base."""

    read: frozenset[str] | None
    write: frozenset[str] | None

    def can_write(self, kb: str) -> bool:
        return self.write is None or kb in self.write

    def can_read(self, kb: str) -> bool:
        return self.read is None or kb in self.read or self.can_write(kb)

    def require_read(self, kb: str) -> None:
        if not self.can_read(kb):
            raise KbForbidden(f"this API key may not read knowledge base {kb!r}",
                              hint="ask the operator for a key whose `read` lists it (server.api_keys)")

    def require_write(self, kb: str) -> None:
        if not self.can_write(kb):
            raise KbForbidden(f"this API key may not write knowledge base {kb!r}",
                              hint="ask the operator for a key whose `write` lists it (server.api_keys)")


ALL = KeyScope(None, None)
NOTHING = KeyScope(frozenset(), frozenset())


def fingerprint(key: str) -> str:
    """The short fingerprint a key is known by once checked (rag/api/guard.py key_matches gives the same)."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _bases(value: list[str] | str) -> frozenset[str] | None:
    return None if value == "*" else frozenset(value)


def scope_for_fingerprint(settings: Settings, fp: str | None) -> KeyScope:
    """The scope of the key with this fingerprint; None (auth off, no key asked for) is every base, and a
    fingerprint no configured key has is no base at all."""
    if fp is None:
        return ALL
    for entry in settings.server.api_keys:
        if isinstance(entry, str):
            if fingerprint(entry) == fp:
                return ALL
        elif fingerprint(entry.key) == fp:
            return KeyScope(_bases(entry.read), _bases(entry.write))
    return NOTHING


__all__ = ["ALL", "NOTHING", "KeyScope", "fingerprint", "scope_for_fingerprint"]
