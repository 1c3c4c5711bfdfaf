"""Evaluations against a shared Chroma server read it without a change (issue 15: one builder for every face)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from eval.datasets import EvalQuestion, EvalSet
from eval.evaluate import run_retrieval_eval
from rag.cli import main
from rag.container import Services
from tests.test_chroma_server import NEWS, chroma_server, http_settings  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration


def _server_state(port: int) -> dict:
    """Every collection on the server with its metadata, ids, texts, metadatas and vectors."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.HttpClient(host="127.0.0.1", port=port, settings=ChromaSettings(anonymized_telemetry=False))
    out = {}
    for col in client.list_collections():
        got = col.get(include=["documents", "metadatas", "embeddings"])
        out[col.name] = {"metadata": col.metadata, "ids": got["ids"], "documents": got["documents"],
                         "metadatas": got["metadatas"], "vectors": [list(map(float, v)) for v in got["embeddings"]]}
    return out


def _dir_state(path: Path) -> dict[str, str]:
    return {str(f.relative_to(path)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(path.rglob("*")) if f.is_file()}


def test_eval_over_a_shared_server_leaves_its_data_and_the_local_registry_untouched(tmp_path, chroma_server,  # noqa: F811
                                                                                   capsys):
    corpus = tmp_path / "news.txt"
    corpus.write_text("\n".join(NEWS) + "\n", encoding="utf-8")
    user = http_settings(tmp_path / "user", chroma_server)
    with Services(user) as svc:  # the user's process: ingests, so its registry mirrors the server
        added = {d["title"][:4]: d["doc_id"] for d in svc.ingest_paths([str(corpus)]).added}
    server_before, local_before = _server_state(chroma_server), _dir_state(tmp_path / "user")
    assert len(server_before["chunks"]["ids"]) == 3

    rows = [{"question": "宁德时代神行超充电池充电10分钟能行驶多少公里", "answers": ["400公里"],
             "doc_ids": [d for t, d in added.items() if "宁德" in t] or list(added.values())[:1]},
            {"question": "华为盘古大模型3.0面向哪些行业", "answers": ["政务"], "sources": ["news.txt"]}]
    questions = tmp_path / "mine.jsonl"
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    cfg = tmp_path / "s.yaml"
    cfg.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "user"), "embedding": {"backend": "hash"},
                                   "vector_store": {"backend": "http", "port": chroma_server,
                                                    "sync_interval_s": 0}}), encoding="utf-8")
    assert main(["--settings", str(cfg), "eval", "retrieval", "--dataset", str(questions), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 2 and out["corpus"] == 3 and out["hit@10"] == 1.0, out  # it read the server's index

    # A dataset with its own corpus goes into a throw-away collection, dropped afterwards.
    data = EvalSet("tiny", {"d1": "杂交水稻之父是袁隆平。", "d2": "文心一言由百度发布。"},
                   [EvalQuestion("谁是杂交水稻之父", {"d1"}, ["袁隆平"])])
    assert run_retrieval_eval(user.model_copy(update={"data_dir": tmp_path / "elsewhere"}), data)["hit@1"] == 1.0

    assert _server_state(chroma_server) == server_before
    assert _dir_state(tmp_path / "user") == local_before
