"""Helpers every reader shares: stable content ids, control-character cleaning, document construction."""

from __future__ import annotations

import hashlib
import re

from ingest.text_norm import normalize_chars
from rag.types import Document


def content_id(text: str) -> str:
    """Stable document id from the normalised content, so re-ingesting the same text adds nothing."""
    norm = re.sub(r"\s+", " ", text).strip()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:24]


_CONTROL_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|[\x00-\x08\x0b\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Drop C0 control characters and ANSI colour codes (tab, newline, CR and form feed stay); map font artefacts."""
    return normalize_chars(_CONTROL_RE.sub("", text))


def make_doc(text: str, title: str, source: str, **meta: object) -> Document:
    text = clean_text(text).strip()
    return Document(doc_id=content_id(text), text=text, title=clean_text(title).strip() or "untitled", source=source,
                    metadata={k: v for k, v in meta.items() if v not in (None, "")})


def first_line_title(text: str, limit: int = 40) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = line.lstrip("#").strip()
    return line if len(line) <= limit else line[:limit] + "…"


class PagedText:
    """Page (sheet, slide, chapter, frame) texts joined by blank lines, each with its (start, end, number) span, so
    a citation can name the page of the sentence it quotes."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pages: list[tuple[int, int, int]] = []
        self._pos = 0

    def add(self, text: str, number: int) -> None:
        if self.parts:
            self._pos += 2  # the "\n\n" between pages
        self.pages.append((self._pos, self._pos + len(text), number))
        self.parts.append(text)
        self._pos += len(text)

    @property
    def text(self) -> str:
        return "\n\n".join(self.parts)
