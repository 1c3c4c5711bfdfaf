"""Shared fixtures: per-test data directories, hash-embedder settings, generated PDF/DOCX/GBK files."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.pop("RAG_SETTINGS", None)
os.environ.pop("RAG_DATA_DIR", None)

from rag.container import Services  # noqa: E402
from rag.settings import EmbeddingSettings, Settings, load_settings  # noqa: E402
from rag.settings_llm import ProviderSettings  # noqa: E402
from rag.testing.openai_server import OpenAIServer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SEED_QUESTION = "字节跳动豆包主力模型的企业市场定价是多少？"


def make_settings(data_dir: Path, backend: str = "hash", **embedding: object) -> Settings:
    """Shipped defaults with a per-test data directory and (by default) the hash embedder."""
    s = load_settings(ROOT / "rag" / "default_settings.yaml")
    return s.model_copy(update={"data_dir": data_dir,
                                "embedding": EmbeddingSettings(backend=backend, **embedding)}, deep=True)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    with Services(settings) as svc:
        yield svc


def make_pdf(pages: list[str]) -> bytes:
    """A PDF with a real Chinese text layer (reportlab's built-in CID font, no font file needed)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setTitle("新能源汽车行业报告")
    for text in pages:
        c.setFont("STSong-Light", 12)
        y = 760
        for line in text.split("\n"):
            c.drawString(60, y, line)
            y -= 18
        c.showPage()
    c.save()
    return buf.getvalue()


def make_docx(paragraphs: list[str], table: list[list[str]] | None = None) -> bytes:
    from docx import Document

    d = Document()
    d.core_properties.title = paragraphs[0]
    for p in paragraphs:
        d.add_paragraph(p)
    if table:
        t = d.add_table(rows=len(table), cols=len(table[0]))
        for i, row in enumerate(table):
            for j, cell in enumerate(row):
                t.cell(i, j).text = cell
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def llm_server() -> Iterator[OpenAIServer]:
    """The scripted OpenAI-compatible server on loopback, shared by one test module."""
    with OpenAIServer() as srv:
        yield srv


def scripted_provider(server: OpenAIServer, name: str, model: str, price: float, tier: str,
                      key_env: str) -> ProviderSettings:
    """A provider entry pointing at the scripted server (the model name picks its behaviour)."""
    return ProviderSettings(name=name, base_url=server.base_url, model=model, api_key_env=key_env,
                            price_input=price, price_output=price, context_window=8192, timeout_s=5, tier=tier)
