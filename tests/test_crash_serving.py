"""Ingest while serving: questions keep being answered during an upload, and the new documents after it."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from rag.app import create_app
from rag.testing.uvicorn_thread import UvicornThread
from tests.conftest import SEED_QUESTION, SEEDS, make_settings
from tests.test_crash import news_corpus

pytestmark = pytest.mark.integration
NEW_FACT = "2023-08-01 09:00，正文：宁德时代发布神行超充电池，充电10分钟可行驶400公里，计划年底量产。\n"


def test_questions_are_answered_during_an_upload_and_new_documents_after(tmp_path):
    corpus = news_corpus(tmp_path / "corpus", 150)
    upload = b"".join(p.read_bytes() for p in sorted(corpus.glob("*.txt"))) + NEW_FACT.encode()
    app = create_app(make_settings(tmp_path / "data"), ui=False)
    app.state.services.ingest_paths([str(SEEDS)])
    answers: list[tuple[float, int, str]] = []
    done = threading.Event()
    with UvicornThread(app, lifespan="off") as srv:
        def ask_loop() -> None:
            with httpx.Client(base_url=srv.url, timeout=60, trust_env=False) as http:
                while not done.is_set():
                    resp = http.post("/ask", json={"question": SEED_QUESTION})
                    answers.append((time.monotonic(), resp.status_code, resp.json().get("answer", "")))

        askers = [threading.Thread(target=ask_loop) for _ in range(2)]
        for t in askers:
            t.start()
        try:
            started = time.monotonic()
            resp = httpx.post(f"{srv.url}/documents", files=[("files", ("news.txt", upload))], timeout=600,
                              trust_env=False)
            finished = time.monotonic()
        finally:
            done.set()
            for t in askers:
                t.join(timeout=60)
        assert resp.status_code == 200 and len(resp.json()["added"]) >= 150, resp.text[:300]
        during = [a for a in answers if started < a[0] < finished]
        assert len(during) >= 3, f"only {len(during)} answers during a {finished - started:.1f} s upload"
        assert all(code == 200 and "125万tokens" in text for _, code, text in answers)
        after = httpx.post(f"{srv.url}/ask", json={"question": "宁德时代神行超充电池充电10分钟可以行驶多少公里？"},
                           timeout=60, trust_env=False).json()
        assert "400公里" in after["answer"]
    app.state.services.close()
    print(f"\n{len(during)} answers during a {finished - started:.1f} s upload, all 200")
