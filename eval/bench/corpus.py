"""The benchmark corpus: the first N distinct CRUD-RAG articles, and questions drawn from them."""

from __future__ import annotations

import random
from pathlib import Path

from ingest.chunking import ChineseChunker, split_sentences
from ingest.readers import parse_crud_lines
from rag.components.tokenize import tokenize
from rag.types import Chunk, Document

CRUD_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "crud_news"


def crud_files(crud_dir: Path = CRUD_DIR) -> list[Path]:
    """The CRUD-RAG news files, in a fixed order; a clear error when the shared data is absent."""
    files = sorted(crud_dir.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no CRUD-RAG news files in {crud_dir} (see ../shared/datasets/README.md)")
    return files


def select_lines(n_docs: int, crud_dir: Path = CRUD_DIR) -> list[str]:
    """The first `n_docs` article lines whose content is distinct (the files repeat articles across outlets)."""
    if n_docs < 1:
        raise ValueError(f"--docs must be at least 1, got {n_docs}")
    seen: set[str] = set()
    lines: list[str] = []
    for path in crud_files(crud_dir):
        for line in path.read_text(encoding="utf-8").splitlines():
            docs = parse_crud_lines(line, str(path))
            if not docs or docs[0].doc_id in seen:
                continue
            seen.add(docs[0].doc_id)
            lines.append(line)
            if len(lines) == n_docs:
                return lines
    return lines


def write_corpus(lines: list[str], path: Path) -> Path:
    """One file in the CRUD one-article-per-line format, which `rag ingest` reads as it would the originals."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_corpus(path: Path) -> list[Document]:
    return parse_crud_lines(path.read_text(encoding="utf-8"), str(path))


def chunk_all(docs: list[Document], chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """The project's chunks of the corpus, as `rag ingest` makes them."""
    chunker = ChineseChunker(chunk_size, chunk_overlap)
    return [c for d in docs for c in chunker.chunk(d)]


def make_questions(docs: list[Document], n: int, seed: int = 7) -> list[str]:
    """Key-phrase questions: 2-4 jieba terms of a random sentence of a random article, in sentence order."""
    rng = random.Random(seed)
    out: list[str] = []
    attempts = 0
    while len(out) < n and attempts < n * 50:
        attempts += 1
        doc = rng.choice(docs)
        sents = [s.strip() for s in split_sentences(doc.text) if 12 <= len(s.strip()) <= 160]
        if not sents:
            continue
        terms = list(dict.fromkeys(t for t in tokenize(rng.choice(sents)) if len(t) >= 2 and not t.isdigit()))
        if len(terms) < 2:
            continue
        keep = sorted(rng.sample(range(len(terms)), min(len(terms), rng.randint(2, 4))))
        out.append(" ".join(terms[i] for i in keep) + "？")
    if len(out) < n:
        raise ValueError(f"could draw only {len(out)} questions from {len(docs)} documents (asked for {n})")
    return out
