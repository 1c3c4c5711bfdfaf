"""Knowledge bases in-process: isolation, lifecycle, crash-safe deletes, per-base settings, old data dirs (issue 17)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml

from rag.container import Services
from rag.errors import RagError, SettingsError
from rag.services.knowledge_bases import (
    DEFAULT_KB,
    DELETING,
    BadKbName,
    KbExists,
    KbNotEmpty,
    KbNotFound,
    KbProtected,
    KnowledgeBases,
)
from rag.settings import KbSettings, load_settings
from tests.conftest import ROOT, make_settings

# Two bases on one topic (大模型价格战): the news feed and the analysts' reports, with different facts.
NEWS = {
    "news_price.txt": "字节跳动豆包大模型价格战：豆包主力模型企业市场定价为0.0008元/千Tokens。价格战由字节跳动发起。",
    "news_ali.txt": "阿里云通义千问大模型降价，Qwen-Long输入价格降至0.0005元/千Tokens，降幅97%。",
}
REPORTS = {
    "report_price.txt": "研报：大模型价格战持续，预计2025年大模型推理成本再降90%。价格战利好应用落地。",
    "report_chip.txt": "研报：大模型训练芯片需求旺盛，英伟达H100价格维持高位，国产算力替代加速。",
}
QUESTIONS = ["大模型价格战的定价是多少？", "大模型价格战会怎样？", "大模型降价幅度多少？"]


def _files(folder: Path, texts: dict[str, str]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [str(folder / n) for n in texts]


@pytest.fixture
def kbs(tmp_path) -> KnowledgeBases:
    with KnowledgeBases(make_settings(tmp_path / "data")) as lib:
        yield lib


def _two_bases(kbs: KnowledgeBases, tmp_path: Path) -> tuple[set[str], set[str]]:
    kbs.create("reports")
    kbs.get(DEFAULT_KB).ingest_paths(_files(tmp_path / "news", NEWS))
    kbs.get("reports").ingest_paths(_files(tmp_path / "reports", REPORTS))
    news = {d["doc_id"] for d in kbs.get(DEFAULT_KB).list_documents()["documents"]}
    reports = {d["doc_id"] for d in kbs.get("reports").list_documents()["documents"]}
    return news, reports


def test_a_question_in_one_base_never_cites_the_other(kbs, tmp_path):
    news, reports = _two_bases(kbs, tmp_path)
    assert len(news) == 2 and len(reports) == 2 and not news & reports
    for q in QUESTIONS:
        for name, own in ((DEFAULT_KB, news), ("reports", reports)):
            ans = kbs.get(name).ask(q)
            cited = {c.doc_id for c in ans.citations}
            assert cited <= own, (name, q, cited)
            hits = kbs.get(name).retriever.retrieve(q, top_k=10)
            assert hits and {h.chunk.doc_id for h in hits} <= own
    # Each base has its own stores: chunk counts are per base, and the files live apart.
    assert kbs.info("reports").documents == 2 and kbs.info(DEFAULT_KB).documents == 2
    assert (tmp_path / "data" / "kbs" / "reports" / "documents.sqlite").is_file()
    # Naming several bases retrieves from both.
    joint = kbs.ask([DEFAULT_KB, "reports"], "大模型价格战", top_k=4)
    assert {c.doc_id for c in joint.citations} <= news | reports
    hits = {h.chunk.doc_id for svc in kbs.services([DEFAULT_KB, "reports"]) for h in
            svc.retriever.retrieve("大模型价格战", top_k=4)}
    assert hits & news and hits & reports


def test_lifecycle_create_list_rename_delete(kbs, tmp_path):
    assert kbs.names() == [DEFAULT_KB]
    kbs.create("新能源研报")
    kbs.create("b-team")
    assert kbs.names() == [DEFAULT_KB, "b-team", "新能源研报"]
    with pytest.raises(KbExists):
        kbs.create("新能源研报")
    for bad in ("../x", ".hidden", "a/b", "", "x" * 65, "_x"):
        with pytest.raises(BadKbName):
            kbs.create(bad)
    with pytest.raises(KbExists):
        kbs.create(DEFAULT_KB)
    kbs.get("新能源研报").ingest_paths(_files(tmp_path / "r", REPORTS))
    old = kbs.get("新能源研报")
    info = kbs.rename("新能源研报", "新能源")
    assert info.documents == 2 and kbs.names() == [DEFAULT_KB, "b-team", "新能源"]
    with pytest.raises(KbNotFound, match="renamed"):
        old.ask("大模型价格战")  # a caller holding the old base gets a clear 404, not a closed store
    assert kbs.get("新能源").ask("大模型价格战").citations
    with pytest.raises(KbNotEmpty) as refused:
        kbs.delete("新能源")
    assert refused.value.status == 409 and "--yes" in refused.value.hint
    kbs.delete("新能源", confirm=True)
    kbs.delete("b-team")  # empty: no confirmation needed
    assert kbs.names() == [DEFAULT_KB]
    assert not [p for p in (tmp_path / "data" / "kbs").iterdir()]
    with pytest.raises(KbNotFound) as missing:
        kbs.get("新能源")
    assert missing.value.status == 404 and "default" in missing.value.hint
    for call in (lambda: kbs.delete(DEFAULT_KB, confirm=True), lambda: kbs.rename(DEFAULT_KB, "x")):
        with pytest.raises(KbProtected):
            call()
    # The same name again is a new, empty base (the old Chroma files are not reused).
    kbs.create("新能源")
    assert kbs.info("新能源").documents == 0
    kbs.get("新能源").ingest_paths(_files(tmp_path / "n", NEWS))
    assert kbs.info("新能源").documents == 2


def test_a_data_dir_from_before_bases_opens_as_default_unchanged(tmp_path):
    settings = make_settings(tmp_path / "data")
    with Services(settings) as old:  # the layout every data directory had before knowledge bases
        old.ingest_paths(_files(tmp_path / "news", NEWS) + [str(ROOT / "seeds")])
        before_docs = old.list_documents()
        before = [old.ask(q).to_dict() for q in QUESTIONS]
    layout = sorted(p.name for p in (tmp_path / "data").iterdir())
    with KnowledgeBases(settings) as kbs:
        assert kbs.names() == [DEFAULT_KB]
        svc = kbs.get(DEFAULT_KB)
        assert svc.list_documents() == before_docs
        after = [svc.ask(q).to_dict() for q in QUESTIONS]
        assert svc.check_index()["consistent"]
    strip = ("latency_ms",)
    assert [{k: v for k, v in a.items() if k not in strip} for a in after] == \
        [{k: v for k, v in b.items() if k not in strip} for b in before]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == layout  # nothing moved, nothing added


def test_an_interrupted_delete_is_finished_by_the_next_open(tmp_path):
    settings = make_settings(tmp_path / "data")
    with KnowledgeBases(settings) as kbs:
        kbs.create("gone")
        kbs.get("gone").ingest_paths(_files(tmp_path / "r", REPORTS))
    # What a kill right after the rename leaves: the base's files under a .deleting- name.
    base = tmp_path / "data" / "kbs"
    (base / "gone").rename(base / f"{DELETING}abc")
    with KnowledgeBases(settings, repair=False) as kbs:
        assert kbs.pending_deletions == 1
        assert kbs.names() == [DEFAULT_KB]
        assert not list(base.iterdir())


def test_deleting_a_base_while_questions_run_answers_or_404s(kbs, tmp_path):
    kbs.create("busy")
    kbs.get("busy").ingest_paths(_files(tmp_path / "r", REPORTS))
    outcomes: list[str] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                kbs.get("busy").ask("大模型价格战")
                outcomes.append("answer")
            except KbNotFound:
                outcomes.append("404")
            except Exception as exc:  # noqa: BLE001 - any other failure is what this test looks for
                outcomes.append(f"error: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    while outcomes.count("answer") < 6:
        threading.Event().wait(0.01)
    kbs.delete("busy", confirm=True)
    threading.Event().wait(0.2)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    errors = [o for o in outcomes if o.startswith("error")]
    assert not errors, errors[:3]
    assert "404" in outcomes and "answer" in outcomes


def test_per_base_settings_deep_merge_over_the_global_ones(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"kbs": {"small": {"chunking": {"chunk_size": 200}},
                                            "lenient": {"answer": {"min_evidence": 0.2}, "ingest": {"ocr": "off"},
                                                        "llm": {"providers": [{"name": "team-llm", "base_url":
                                                                "http://127.0.0.1:9/v1", "model": "m",
                                                                "price_input": 0, "price_output": 0}]}}}},
                                   allow_unicode=True), encoding="utf-8")
    loaded = load_settings(path)
    assert loaded.for_kb("small").chunking.chunk_size == 200
    assert loaded.for_kb("small").chunking.chunk_overlap == loaded.chunking.chunk_overlap  # merged, not reset
    assert loaded.for_kb("lenient").ingest.ocr == "off" and loaded.for_kb("lenient").ingest.max_file_mb == 50
    assert loaded.for_kb("other") is loaded
    settings = make_settings(tmp_path / "data").model_copy(update={"kbs": loaded.kbs})
    long_text = {"long.txt": "。".join(f"第{i}段：大模型价格战中厂商{i}号下调了推理价格" for i in range(30)) + "。"}
    with KnowledgeBases(settings) as kbs:
        for name in ("small", "lenient"):
            kbs.create(name)
        for name in (DEFAULT_KB, "small", "lenient"):
            kbs.get(name).ingest_paths(_files(tmp_path / name, long_text))
        assert kbs.info("small").chunks > kbs.info(DEFAULT_KB).chunks
        assert kbs.get("lenient").settings.answer.min_evidence == 0.2
        assert kbs.get("lenient").ingester.ocr == "off" and kbs.get(DEFAULT_KB).ingester.ocr == "auto"
        # the base's provider list replaces the global one (a list is replaced whole, as in the settings file)
        assert [p["name"] for p in kbs.get("lenient").llm.health()["providers"]] == ["team-llm"]
        assert len(kbs.get(DEFAULT_KB).llm.health()["providers"]) == len(settings.llm.providers) > 1
        # The same corpus and question: evidence ~0.44 is under the global 0.5, over the base's 0.2.
        question = "价格战中厂商3号的营收是多少？"
        assert kbs.get(DEFAULT_KB).ask(question).refused
        assert not kbs.get("lenient").ask(question).refused


def test_unknown_per_base_keys_are_refused_with_their_dotted_name(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"kbs": {"x": {"chunking": {"chunk_sise": 60}}}}), encoding="utf-8")
    with pytest.raises(SettingsError, match="kbs.x.chunking.chunk_sise"):
        load_settings(path)
    with pytest.raises(SettingsError, match="kbs.x.embedding"):
        path.write_text(yaml.safe_dump({"kbs": {"x": {"embedding": {"backend": "hash"}}}}), encoding="utf-8")
        load_settings(path)
    assert KbSettings(chunking={"chunk_size": 80}).overrides() == {"chunking": {"chunk_size": 80}}


def test_cli_kb_commands_and_kb_flags(tmp_path, monkeypatch, capsys):
    import json

    from rag.cli import main

    cfg = yaml.safe_load((ROOT / "rag" / "default_settings.yaml").read_text(encoding="utf-8"))
    cfg["embedding"]["backend"] = "hash"
    cfg["data_dir"] = str(tmp_path / "data")
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("RAG_SETTINGS", str(path))

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    assert run("kb", "create", "研报")[0] == 0
    assert run("ingest", "--kb", "研报", *_files(tmp_path / "r", REPORTS))[0] == 0
    assert run("ingest", *_files(tmp_path / "n", NEWS))[0] == 0
    code, out, _ = run("kb", "list", "--json")
    assert code == 0 and [(k["name"], k["documents"]) for k in json.loads(out)] == [("default", 2), ("研报", 2)]
    code, out, _ = run("ask", "--kb", "研报", "--json", "大模型价格战会怎样？")
    reports = {"report_price.txt", "report_chip.txt"}
    assert code == 0 and {Path(c["source"]).name for c in json.loads(out)["citations"]} <= reports
    code, out, _ = run("docs", "--kb", "研报", "list", "--json")
    assert {Path(d["source"]).name for d in json.loads(out)} == reports
    code, out, _ = run("docs", "check", "--json")
    report = json.loads(out)
    assert code == 0 and report["consistent"] and set(report["kbs"]) == {"default", "研报"}
    assert report["documents"] == 4
    code, _, err = run("kb", "delete", "研报")
    assert code == 2 and "error:" in err and "hint:" in err and "--yes" in err
    code, _, err = run("ask", "--kb", "nope", "问题")
    assert code == 2 and "no knowledge base named 'nope'" in err and "hint: known bases: default, 研报" in err
    assert run("kb", "rename", "研报", "报告")[0] == 0
    assert run("kb", "delete", "报告", "--yes")[0] == 0
    code, out, _ = run("kb", "list")
    assert code == 0 and "报告" not in out and "default" in out


def test_eval_within_a_base_uses_its_own_index(tmp_path):
    import json

    from eval.evaluate import run_answer_eval, run_retrieval_eval

    settings = make_settings(tmp_path / "data")
    with KnowledgeBases(settings) as kbs:
        kbs.create("研报")
        kbs.get("研报").ingest_paths(_files(tmp_path / "r", REPORTS))
        kbs.get(DEFAULT_KB).ingest_paths(_files(tmp_path / "n", NEWS))
    dataset = tmp_path / "q.jsonl"
    rows = [{"question": "大模型训练芯片需求怎样？", "answers": ["需求旺盛"], "sources": ["report_chip.txt"]},
            {"question": "大模型推理成本会怎样？", "answers": ["再降90%"], "sources": ["report_price.txt"]}]
    dataset.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    own = run_retrieval_eval(settings, str(dataset), kb="研报", cache=False)
    assert own["n"] == 2 and own["corpus"] == 2 and own["hit@1"] == 1.0
    other = run_retrieval_eval(settings, str(dataset), cache=False)  # the default base has none of them
    assert other["hit@1"] == 0.0
    answers = run_answer_eval(settings, str(dataset), kb="研报", cache=False)
    assert answers["n"] == 2
    with pytest.raises(RagError, match="no knowledge base"):
        run_retrieval_eval(settings, str(dataset), kb="nope", cache=False)


PRE_KB_COMMIT = "893a04a"  # the last commit before knowledge bases: its code writes the data directory
OLD_WRITER = """
import json, sys
from pathlib import Path
from rag.container import Services
from rag.settings import EmbeddingSettings, load_settings
import importlib.util
assert importlib.util.find_spec("rag.services.knowledge_bases") is None, "not the old code"
data, questions, files = Path(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3:]
s = load_settings(Path("rag/default_settings.yaml"))
s = s.model_copy(update={"data_dir": data, "embedding": EmbeddingSettings(backend="hash")}, deep=True)
with Services(s) as svc:
    svc.ingest_paths(files)
    print(json.dumps({"docs": svc.list_documents(), "answers": [svc.ask(q).to_dict() for q in questions]},
                     ensure_ascii=False))
"""


def test_a_data_dir_written_by_the_code_before_bases_opens_unchanged(tmp_path):
    import io
    import json
    import subprocess
    import sys
    import tarfile

    try:
        tar = subprocess.run(["git", "-C", str(ROOT), "archive", PRE_KB_COMMIT, "rag", "ingest"],
                             capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip(f"needs the git history with commit {PRE_KB_COMMIT} (the code before knowledge bases)")
    old = tmp_path / "old-code"
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(old, filter="data")
    data = tmp_path / "data"
    files = _files(tmp_path / "news", NEWS) + [str(ROOT / "seeds")]
    proc = subprocess.run([sys.executable, "-c", OLD_WRITER, str(data), json.dumps(QUESTIONS), *files], cwd=old,
                          env={**__import__("os").environ, "PYTHONPATH": str(old)}, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    before = json.loads(proc.stdout.strip().splitlines()[-1])
    # The retrieval the old code had (issue 18 made adaptive fusion and the query stages the default), so what
    # is compared is what opening the old directory as a base changes: nothing.
    s = make_settings(data)
    s.retrieval.fusion = "weighted"
    s.query_plan.subqueries.enabled = s.query_plan.near_dup.enabled = s.query_plan.recency.enabled = False
    with KnowledgeBases(s) as kbs:
        svc = kbs.get(DEFAULT_KB)
        assert svc.list_documents() == before["docs"] and before["docs"]["total"] == 3
        after = [svc.ask(q).to_dict() for q in QUESTIONS]
        assert svc.check_index()["consistent"] and kbs.names() == [DEFAULT_KB]
    def same(a: dict) -> dict:  # `duplicates` is a citation field the old code did not have
        cites = [{k: v for k, v in c.items() if k != "duplicates"} for c in a["citations"]]
        return {k: v for k, v in a.items() if k not in ("latency_ms", "citations")} | {"citations": cites}

    assert [same(a) for a in after] == [same(b) for b in before["answers"]]
    assert any(a["citations"] for a in after)


def test_a_stream_begun_before_its_base_was_deleted_ends_with_a_refusal(kbs):
    from rag.types import DoneEvent

    kbs.create("x")
    stream = kbs.get("x").stream("大模型价格战")  # asked (the response may be under way), not yet read
    kbs.delete("x")
    events = list(stream)
    assert len(events) == 1 and isinstance(events[0], DoneEvent) and events[0].answer.refused
    assert "deleted" in events[0].answer.answer
