"""Load the shared evaluation sets (../shared/datasets) as a corpus plus questions with relevant docs."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ingest.readers import content_id
from rag.errors import UnknownDataset


class DatasetMissing(UnknownDataset, FileNotFoundError):
    """The shared dataset is not on this machine; tests skip on it with this message."""


@dataclass
class EvalQuestion:
    question: str
    relevant: set[str]  # document ids
    answers: list[str] = field(default_factory=list)
    negatives: set[str] = field(default_factory=set)  # same-topic documents without the answer (RGB)


@dataclass
class EvalSet:
    name: str
    corpus: dict[str, str]  # doc id -> text
    questions: list[EvalQuestion]
    files: list[Path] = field(default_factory=list)  # files (or folders) read by the real readers into the index


def shared_dir() -> Path:
    """`$RAG_SHARED_DATASETS`, else `../shared/datasets` beside the project root."""
    env = os.environ.get("RAG_SHARED_DATASETS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "datasets"


def _path(name: str) -> Path:
    p = shared_dir() / name
    if not p.exists():
        raise DatasetMissing(f"{p} not found: the shared evaluation data is absent on this machine")
    return p


def load_cmrc2018(limit: int | None = None) -> EvalSet:
    """CMRC 2018 dev: corpus = unique paragraphs; a question's relevant document is its paragraph."""
    data = json.loads(_path("cmrc2018_dev.json").read_text(encoding="utf-8"))
    corpus: dict[str, str] = {}
    questions: list[EvalQuestion] = []
    for article in data["data"]:
        for para in article["paragraphs"]:
            text = para["context"].strip()
            did = content_id(text)
            corpus[did] = text
            for qa in para["qas"]:
                answers = list(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
                questions.append(EvalQuestion(qa["question"], {did}, answers))
    return EvalSet("cmrc2018", corpus, questions[:limit] if limit else questions)


def load_rgb(limit: int | None = None) -> EvalSet:
    """RGB zh: corpus = all positive and negative passages; relevant = the question's positives."""
    corpus: dict[str, str] = {}
    questions: list[EvalQuestion] = []
    for line in _path("rgb_zh_refine.json").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        pos = set()
        for text in row.get("positive", []):
            did = content_id(text.strip())
            corpus[did] = text.strip()
            pos.add(did)
        neg = set()
        for text in row.get("negative", []):
            did = content_id(text.strip())
            corpus.setdefault(did, text.strip())
            neg.add(did)
        answers = []
        for a in row.get("answer", []):
            answers += a if isinstance(a, list) else [a]
        questions.append(EvalQuestion(row["query"], pos, [str(a) for a in answers], neg - pos))
    return EvalSet("rgb", corpus, questions[:limit] if limit else questions)


def subset(data: EvalSet, n_questions: int) -> EvalSet:
    """The first `n_questions` over only their own documents (relevant and negatives): a small CI slice."""
    questions = data.questions[:n_questions]
    keep = set().union(*(q.relevant | q.negatives for q in questions)) if questions else set()
    return EvalSet(f"{data.name}[:{n_questions}]", {k: v for k, v in data.corpus.items() if k in keep}, questions)


def load_jsonl(path: str | os.PathLike[str], limit: int | None = None) -> EvalSet:
    """A user's questions, one JSON object a line: `question`, `answers` (list), optional `doc_ids` or `sources`.

    The corpus is the user's own index, so it is left empty here; `sources` are resolved to document ids
    against that index by the evaluator (see `resolve_sources`).
    """
    p = Path(path)
    if not p.is_file():
        raise DatasetMissing(f"evaluation file not found: {p}")
    questions: list[EvalQuestion] = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{p}:{n}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not str(row.get("question") or "").strip():
            raise ValueError(f"{p}:{n}: each line needs a non-empty \"question\"")
        answers = row.get("answers") or []
        if isinstance(answers, str) or not isinstance(answers, list):
            raise ValueError(f"{p}:{n}: \"answers\" must be a list of strings")
        relevant = {str(d) for d in row.get("doc_ids") or []}
        relevant |= {f"source:{s}" for s in row.get("sources") or []}
        questions.append(EvalQuestion(str(row["question"]).strip(), relevant, [str(a) for a in answers]))
    if not questions:
        raise ValueError(f"{p}: no questions found")
    return EvalSet(p.stem, {}, questions[:limit] if limit else questions)


LOADERS = {"cmrc2018": load_cmrc2018, "rgb": load_rgb}


def load(name: str, limit: int | None = None) -> EvalSet:
    """A shared dataset by name, or a user's JSONL file by path (a name ending in .jsonl)."""
    if name.endswith(".jsonl"):
        return load_jsonl(name, limit)
    try:
        return LOADERS[name](limit)
    except KeyError:
        raise UnknownDataset(f"unknown dataset {name!r}",
                             hint=f"choose one of: {', '.join(LOADERS)}, or a .jsonl file") from None
