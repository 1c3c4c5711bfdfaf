"""Chinese-aware chunking: paragraphs, then sentence ends, never inside a number or a date."""

from __future__ import annotations

import hashlib
import re

from rag.types import Chunk, Document, page_of

# Sentence ends: Chinese full-width 。！？；… and their half-width forms, with closing quotes kept on
# the sentence. A half-width '.' ends a sentence only when not between digits (3.5, 2024.05.15 stay whole).
# Nothing ends inside a table row written as `列名: 值 | 列名: 值`: a cell's ？ or 。 followed by ` | ` goes on.
_SENT_END = r"(?:[。！？；!?;]+|…+|\.{3,}|(?<!\d)\.(?!\d))[」』”’\"')）】]*(?! \| )"
_SENT_RE = re.compile(r".*?(?:" + _SENT_END + r"|\n|$)", re.S)
# Inside an over-long sentence: break at commas/colons, but not at a comma or colon between digits
# (1,000 / 16:40) — used by the splitter only when a sentence alone exceeds the chunk size.
_CLAUSE_REGEX = r"(?:[^，,、：:]|(?<=\d)[,:：](?=\d))+[，,、：:]?"


def split_sentences(text: str) -> list[str]:
    """Split on sentence ends; the pieces concatenate back to `text` exactly."""
    pieces = [m.group(0) for m in _SENT_RE.finditer(text) if m.group(0)]
    return pieces or [text]


def _char_len(text: str) -> list[str]:
    # The splitter counts "tokens" with this; one per character is the natural unit for Chinese.
    return list(text)


class ChineseChunker:
    """llama-index's SentenceSplitter with a Chinese sentence tokenizer and character lengths."""

    def __init__(self, chunk_size: int = 600, chunk_overlap: int = 80) -> None:
        # Imported here: llama_index.core costs ~2 s of CPU to import, and answering a question (which
        # only needs split_sentences) should not pay it at startup.
        from llama_index.core.node_parser import SentenceSplitter

        self.splitter = SentenceSplitter(
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            separator=" ",  # last resort before single characters, for clauses with no punctuation
            paragraph_separator="\n\n",
            chunking_tokenizer_fn=split_sentences,
            secondary_chunking_regex=_CLAUSE_REGEX,
            tokenizer=_char_len,
        )

    def chunk(self, doc: Document) -> list[Chunk]:
        """Chunks in document order; a chunk may cross a page break and records its first and last page."""
        chunks: list[Chunk] = []
        cursor = 0
        spans = sorted(doc.pages)
        for text in self.splitter.split_text(doc.text):
            start = _locate(doc.text, text, cursor)
            cursor = start + 1
            end = start + len(text)
            i = len(chunks)
            chunk_id = hashlib.sha256(f"{doc.doc_id}:{i}:{text}".encode()).hexdigest()[:24]
            meta = dict(doc.metadata)
            page = page_end = None
            if spans:
                inside = [list(s) for s in spans if s[1] > start and s[0] < end]
                page = page_of(spans, start, spans[0][2])
                page_end = inside[-1][2] if inside else page
                meta["page_spans"] = inside  # only this chunk's pages: citations find a sentence's page from them
            chunks.append(Chunk(chunk_id=chunk_id, doc_id=doc.doc_id, text=text, title=doc.title, source=doc.source,
                                start=start, end=end, page=page, page_end=page_end, metadata=meta))
        return chunks


def _locate(full: str, piece: str, cursor: int) -> int:
    """Offset of `piece` in `full` at or after `cursor` (chunks come in document order)."""
    pos = full.find(piece, cursor)
    if pos < 0:
        pos = full.find(piece)
    if pos < 0:
        # The splitter normalised whitespace inside the piece; anchor on its first characters.
        head = piece[:20]
        pos = full.find(head, cursor)
    return max(pos, 0)
