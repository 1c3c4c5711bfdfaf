"""The pipeline a llama-index user writes first: VectorStoreIndex over ChromaVectorStore, default settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llama_index.core import Document as LlamaDocument
from llama_index.core import StorageContext, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.retrievers import BaseRetriever
from llama_index.vector_stores.chroma import ChromaVectorStore
from pydantic import PrivateAttr

from rag.components.embedders.base import Embedder
from rag.types import Document


class WrappedEmbedder(BaseEmbedding):
    """The project's embedder as a llama-index embedding model (default embed_batch_size, 10 texts a call)."""

    _inner: Embedder = PrivateAttr()

    def __init__(self, inner: Embedder, **kwargs: Any) -> None:
        super().__init__(model_name=inner.space, **kwargs)
        self._inner = inner

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._inner.embed_query(query).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._inner.embed_passages([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._inner.embed_passages(texts).tolist()


def build_index(docs: list[Document], persist_dir: Path, embedder: Embedder,
                splitter: SentenceSplitter) -> VectorStoreIndex:
    """Documents as plain text (no metadata, so the embedded text is exactly the chunk), then from_documents."""
    store = ChromaVectorStore.from_params(collection_name="bench", persist_dir=str(persist_dir))
    return VectorStoreIndex.from_documents(
        [LlamaDocument(text=d.text, id_=d.doc_id) for d in docs],
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=WrappedEmbedder(embedder),
        transformations=[splitter],
    )


def node_count(index: VectorStoreIndex) -> int:
    return index.vector_store._collection.count()  # the Chroma collection behind the store


def retriever(index: VectorStoreIndex, top_k: int) -> BaseRetriever:
    return index.as_retriever(similarity_top_k=top_k)
