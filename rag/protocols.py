"""What a face may ask of the service, in-process (rag/container.py: Services) or over HTTP (rag/client.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from rag.types import Answer, Filters

if TYPE_CHECKING:
    from rag.services.ingest import IngestReport


@runtime_checkable
class IndexServices(Protocol):
    """The operations the CLI runs, with the same typed results whichever side owns the data directory."""

    def ingest_paths(self, paths: list[str], progress: bool = False) -> IngestReport: ...

    def ask(self, question: str, top_k: int | None = None, filters: Filters | None = None,
            history: list[dict[str, str]] | None = None) -> Answer: ...

    def list_documents(self, offset: int = 0, limit: int | None = None) -> dict[str, Any]: ...

    def delete_document(self, doc_id: str) -> bool: ...

    def check_index(self) -> dict[str, Any]: ...

    def repair_index(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


__all__ = ["IndexServices"]
