"""Property-based requests generated from the app's own OpenAPI schema: no input earns a 5xx (issue 8)."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from rag.app import create_app
from rag.testing.uvicorn_thread import UvicornThread
from tests.conftest import SEEDS, make_settings

pytestmark = pytest.mark.integration
EXAMPLES = int(os.environ.get("RAG_SCHEMATHESIS_EXAMPLES", "25"))  # per operation; raise it for a deeper run
CASES: Counter[str] = Counter()


def _app():
    data = Path(tempfile.mkdtemp(prefix="rag-schemathesis-")) / "data"
    app = create_app(make_settings(data), ui=False)
    app.state.services.ingest_paths([str(SEEDS)])  # something to answer from, list and delete
    return app


APP = _app()
# A real server on loopback; lifespan off, so one run's shutdown never closes the shared services.
SERVER = UvicornThread(APP, lifespan="off").start()
schema = schemathesis.openapi.from_url(f"{SERVER.url}/openapi.json")


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print(f"\nschemathesis: {sum(CASES.values())} cases run over {len(CASES)} operations: {dict(CASES)}")
    SERVER.stop()
    APP.state.services.close()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gets_a_server_error(case):
    CASES[f"{case.method} {case.path}"] += 1
    case.call_and_validate(checks=[not_a_server_error])
