"""Load the shared evaluation sets (../shared/datasets) as a corpus plus questions with relevant docs."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ingest.readers import content_id


class DatasetMissing(FileNotFoundError):
    """The shared dataset is not on this machine; tests skip on it with this message."""


@dataclass
class EvalQuestion:
    question: str
    relevant: set[str]  # document ids
    answers: list[str] = field(default_factory=list)


@dataclass
class EvalSet:
    name: str
    corpus: dict[str, str]  # doc id -> text
    questions: list[EvalQuestion]


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
        for text in row.get("negative", []):
            corpus.setdefault(content_id(text.strip()), text.strip())
        answers = []
        for a in row.get("answer", []):
            answers += a if isinstance(a, list) else [a]
        questions.append(EvalQuestion(row["query"], pos, [str(a) for a in answers]))
    return EvalSet("rgb", corpus, questions[:limit] if limit else questions)


LOADERS = {"cmrc2018": load_cmrc2018, "rgb": load_rgb}


def load(name: str, limit: int | None = None) -> EvalSet:
    try:
        return LOADERS[name](limit)
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(LOADERS)}") from None
