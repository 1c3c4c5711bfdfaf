"""Knowledge bases on a shared `chroma run` server: each base its own collection, kept across a rename and
dropped by a delete (issue 17)."""

from __future__ import annotations

import httpx
import pytest

from rag.services.knowledge_bases import DEFAULT_KB, KnowledgeBases
from tests.test_chroma_server import NEWS, chroma_server, http_settings  # noqa: F401 - the fixture

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # a Chroma server start: ~13 s


def _collections(port: int) -> set[str]:
    url = f"http://127.0.0.1:{port}/api/v2/tenants/default_tenant/databases/default_database/collections"
    return {c["name"] for c in httpx.get(url, trust_env=False, timeout=10).json()}


def test_bases_on_a_shared_server_have_their_own_collections(tmp_path, chroma_server):  # noqa: F811
    corpus = tmp_path / "news.txt"
    corpus.write_text("\n".join(NEWS) + "\n", encoding="utf-8")
    with KnowledgeBases(http_settings(tmp_path / "data", chroma_server)) as kbs:
        kbs.create("a")
        kbs.create("b")
        assert len(kbs.get("a").ingest_paths([str(corpus)]).added) == 3
        assert kbs.info("a").documents == 3 and kbs.info("b").documents == 0 and kbs.info(DEFAULT_KB).documents == 0
        assert kbs.get("b").ask("比亚迪八月新能源汽车销量是多少？").citations == []
        assert "27.4万辆" in kbs.get("a").ask("比亚迪八月新能源汽车销量是多少？").answer
        names = _collections(chroma_server)
        ours = {n for n in names if n.startswith("chunks-kb-")}
        assert len(ours) == 2 and "chunks" in names  # the default base keeps vector_store.collection
        kbs.rename("a", "c")
        assert kbs.info("c").documents == 3 and _collections(chroma_server) == names
        kbs.delete("c", confirm=True)
        left = _collections(chroma_server)
        assert len({n for n in left if n.startswith("chunks-kb-")}) == 1 and "chunks" in left
        assert kbs.names() == [DEFAULT_KB, "b"]
