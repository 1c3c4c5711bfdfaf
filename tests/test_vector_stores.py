"""The vector-store interface: registered backends, an error naming them, a new backend as one entry (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.components import vector_stores
from rag.components.vector_store import ChromaVectorStore
from rag.components.vector_stores import UnknownVectorStore, VectorStore, build_vector_store, register
from rag.container import Services
from rag.services.index_modes import LocalMode, MirrorMode
from tests.conftest import SEED_QUESTION, SEEDS


def test_unknown_backend_is_refused_naming_every_registered_one(settings):
    settings.vector_store.backend = "qdrant"
    with pytest.raises(UnknownVectorStore) as caught:
        Services(settings)
    err = caught.value
    assert "'qdrant'" in err.message and "embedded" in err.hint and "http" in err.hint


def test_a_new_backend_is_one_registry_entry(settings, monkeypatch):
    opened: list[Path] = []

    def elsewhere(vs, data_dir, space, dim, texts, read_only):
        opened.append(data_dir / "vectors-elsewhere")
        return ChromaVectorStore(opened[-1], space=space, dim=dim, texts=texts, collection=vs.collection,
                                 read_only=read_only)

    monkeypatch.setitem(vector_stores.BACKENDS, "elsewhere", vector_stores.BACKENDS["embedded"])
    register("elsewhere", elsewhere, "embedded Chroma in another folder")
    settings.vector_store.backend = "elsewhere"
    with Services(settings) as svc:
        assert isinstance(svc.library.vectors, VectorStore) and isinstance(svc.library._mode, LocalMode)
        svc.ingest_paths([str(SEEDS)])
        assert "125万tokens" in svc.ask(SEED_QUESTION).answer  # the real seed record's figure
        assert svc.check_index()["consistent"]
    assert opened and (opened[0] / "chroma.sqlite3").is_file() and not (settings.data_dir / "chroma").exists()


def test_the_store_decides_the_mode(settings):
    with Services(settings) as svc:
        assert svc.library.vectors.shared is False and isinstance(svc.library._mode, LocalMode)
    assert MirrorMode.keeps_text is False and LocalMode.keeps_text is True
    store = build_vector_store(settings.vector_store, settings.data_dir / "other", "hash-256", 256,
                               svc.library.registry)
    assert isinstance(store, ChromaVectorStore) and store.count() == 0
