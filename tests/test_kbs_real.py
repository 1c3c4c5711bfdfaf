"""Two bases on overlapping topics with real data: CRUD-RAG news in one, the real reports in the other; no
question asked in one ever cites the other (issue 17). Needs ../shared/datasets; slow (reads a 156-page PDF)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.bench.corpus import CRUD_DIR, make_questions, read_corpus, select_lines, write_corpus
from rag.services.knowledge_bases import KnowledgeBases
from rag.settings import KbSettings
from tests.conftest import ROOT, make_settings

pytestmark = pytest.mark.slow
REAL = ROOT.parent / "shared" / "datasets" / "real_docs"
REPORT_FILES = ["sifang_2019_annual_report.pdf", "test.txt", "ecust_college_english_plan.pdf",
                "langchain-ChatGLM_closed.csv"]


def test_news_and_reports_never_cite_each_other(tmp_path):
    if not CRUD_DIR.is_dir() or not all((REAL / f).is_file() for f in REPORT_FILES):
        pytest.skip("needs ../shared/datasets/crud_news and real_docs (see ../shared/datasets/README.md)")
    news_file = write_corpus(select_lines(800), tmp_path / "news.txt")
    settings = make_settings(tmp_path / "data").model_copy(
        update={"kbs": {"reports": KbSettings(ingest={"ocr": "off"})}})
    real_questions = [json.loads(line)["question"] for line in
                      (ROOT / "eval" / "questions" / "real_docs_qa.jsonl").read_text(encoding="utf-8").splitlines()]
    news_questions = make_questions(read_corpus(news_file), 40)
    with KnowledgeBases(settings) as kbs:
        kbs.create("news")
        kbs.create("reports")
        kbs.get("news").ingest_paths([str(news_file)])
        kbs.get("reports").ingest_paths([str(REAL / f) for f in REPORT_FILES])
        own = {name: {d["doc_id"] for d in kbs.get(name).list_documents()["documents"]} for name in ("news", "reports")}
        assert len(own["news"]) == 800 and len(own["reports"]) >= 4 and not own["news"] & own["reports"]
        cited = {"news": 0, "reports": 0}
        for q in real_questions + news_questions:
            for name in ("news", "reports"):
                ans = kbs.get(name).ask(q)
                docs = {c.doc_id for c in ans.citations}
                assert docs <= own[name], (name, q, docs - own[name])
                cited[name] += bool(docs)
        assert cited["news"] > 20 and cited["reports"] > 20, cited
        assert Path(kbs.get("reports").index_dir).name == "reports"
