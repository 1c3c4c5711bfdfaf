"""Builds the service graph from settings, owning the data directory while it lives."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

from rag.components.embedders import Embedder, build_embedder
from rag.components.feedback import FeedbackStore
from rag.components.llm.similarity import embedder_similarity
from rag.components.shared_state import build_ledger
from rag.errors import RagError
from rag.lock import DataDirLock
from rag.services.answer import AnswerService
from rag.services.extractive import ExtractiveAnswerer
from rag.services.ingest import IngestReport, IngestService
from rag.services.library import Library
from rag.services.llm_answer import LLMAnswerService
from rag.services.query_plan import QueryPlanner
from rag.services.retrieve import RetrieveService
from rag.settings import Settings
from rag.types import Answer, DoneEvent, Filters, StreamEvent

log = logging.getLogger(__name__)


def _build_reranker(settings: Settings):
    if not settings.rerank.enabled:
        return None
    from rag.components.reranker import build_reranker

    return build_reranker(settings.rerank)


class _Gate:
    """Counts the calls in flight on one base, so a base being deleted or renamed lets them finish and
    answers later calls with a clear error (KbNotFound, a 404) instead of a store closed under them."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self.closed: RagError | None = None

    def check(self) -> None:
        if self.closed is not None:
            raise self.closed

    @contextmanager
    def enter(self) -> Iterator[None]:
        with self._cond:
            self.check()
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    @contextmanager
    def entered(self) -> Iterator[bool]:
        """Like `enter`, but yields False instead of raising when closed (a stream already under way)."""
        with self._cond:
            ok = self.closed is None
            self._active += ok
        try:
            yield ok
        finally:
            if ok:
                with self._cond:
                    self._active -= 1
                    self._cond.notify_all()

    def close(self, error: RagError, timeout: float | None) -> bool:
        """Refuse new calls with `error`; True once the calls in flight have finished (False on timeout)."""
        with self._cond:
            self.closed = error
            return self._cond.wait_for(lambda: self._active == 0, timeout)


class Services:
    """Everything a face needs, in-process. Holds the data-directory lock until `close()`.

    The one place the object graph is built from settings: the server, every CLI command, the evaluations
    and the benchmark open their index through it. `embedder` replaces the configured one (an eval's cached
    embedder, the bench's proxy vectors); `repair=False` opens without mending (`rag docs check` must see
    the damage); `read_only=True` never changes the vector store (an eval over a shared Chroma server).
    A knowledge base other than `default` (rag/services/knowledge_bases.py) keeps its index in `index_dir` and
    opens with `own_lock=False`: the data directory's one lock, budget ledger and feedback stay the root's.
    """

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None, repair: bool = True,
                 read_only: bool = False, index_dir: Path | None = None, own_lock: bool = True,
                 kb: str = "default") -> None:
        self.settings = settings
        self.kb = kb
        self.data_dir = Path(settings.data_dir)
        self.index_dir = Path(index_dir) if index_dir is not None else self.data_dir
        self.lock = DataDirLock(self.data_dir)
        self._owns_lock = own_lock
        if own_lock:
            self.lock.acquire()
        self._gate = _Gate()
        try:
            self.embedder = embedder if embedder is not None else build_embedder(settings.embedding)
            self.library = Library(self.index_dir, self.embedder, settings.vector_store,
                                   repair=repair and not read_only, read_only=read_only)
        except BaseException:
            if own_lock:
                self.lock.release()
            raise
        self._write = threading.RLock()
        self.ingester = IngestService(self.library, settings)
        self.retriever = RetrieveService(self.library, settings.retrieval, reranker=_build_reranker(settings))
        self.extractive = ExtractiveAnswerer(self.library.keywords, settings.answer)
        # The cost-aware router; with no provider configured it hands every question to the extractive tier.
        self.llm = LLMAnswerService(settings.llm, fallback=self.extractive.answer, ledger_dir=self.data_dir,
                                    evidence=self.extractive.sentence_evidence, ledger=build_ledger(settings),
                                    similarity=embedder_similarity(self.embedder))
        # What answers retrieve through: sub-queries, near-duplicate collapse, recency around the retriever.
        self.planner = QueryPlanner(self.retriever, settings.query_plan, llm=self.llm)
        self.answers = AnswerService(self.planner, self.extractive, self.llm)

    @cached_property
    def feedback(self) -> FeedbackStore:
        """Thumbs up/down from the chat UI; the file is created on first use, not by every command's open."""
        return FeedbackStore(self.data_dir / "feedback.sqlite")

    def warm(self) -> None:
        """Pay the first question's lazy loads now: jieba's dictionary, the BM25 matrix, the query model's pages,
        the part-of-speech tagger of person/place questions (~2 s at 23k articles). `rag serve` runs this in a
        background thread at start, so its first question is as fast as the rest."""
        question = "谁发布了这份报告？"  # a person question: the answerer loads its tagger too
        try:
            self.extractive.answer(question, self.planner.retrieve(question))
        except Exception:  # noqa: BLE001 - a failed warm-up only leaves the loads to the first question
            log.warning("warm-up question failed", exc_info=True)

    # The faces call these; writes are serialised so the three stores stay in step.
    def ingest_paths(self, paths: list[str], progress: bool = False) -> IngestReport:
        with self._gate.enter(), self._write:
            return self.ingester.ingest_paths(paths, progress=progress)

    def ingest_bytes(self, data: bytes, name: str, replace: bool = False) -> IngestReport:
        """An upload: kept beside a different document of the same name (`name (2)`) unless `replace`."""
        # The write lock is held while the name is chosen, so parallel uploads of one name each get their own.
        with self._gate.enter(), self._write:
            return self.ingester.ingest_upload(data, name, replace=replace)

    def delete_document(self, doc_id: str) -> bool:
        with self._gate.enter(), self._write:
            return self.library.remove(doc_id)

    def list_documents(self, offset: int = 0, limit: int | None = None) -> dict:
        """One page of documents (all of them when `limit` is None) and the total count."""
        with self._gate.enter():
            return self._list_documents(offset, limit)

    def _list_documents(self, offset: int, limit: int | None) -> dict:
        page = self.library.documents(offset, limit)
        if limit is None:
            page = page[offset:]
        return {"total": self.library.registry.count(), "offset": offset, "documents": [d.to_dict() for d in page]}

    def get_document(self, doc_id: str) -> dict | None:
        """A document's record and its chunks in reading order (None when unknown)."""
        with self._gate.enter():
            return self._get_document(doc_id)

    def _get_document(self, doc_id: str) -> dict | None:
        rec = self.library.registry.get(doc_id)
        if rec is None:
            return None
        chunks = sorted(self.library.chunks(self.library.registry.chunk_ids(doc_id)), key=lambda c: c.start)
        return {**rec.to_dict(), "chunks": [{"chunk_id": c.chunk_id, "text": c.text, "start": c.start,
                                             "end": c.end, "page": c.page, "page_end": c.page_end} for c in chunks]}

    def check_index(self) -> dict:
        """Whether Chroma, the keyword index and the registry agree (see Library.check)."""
        with self._gate.enter():
            return self.library.check()

    def repair_index(self) -> dict:
        with self._gate.enter(), self._write:
            return self.library.repair()

    def facets(self) -> dict:
        """Values for filter pickers: industries and documents (id and title)."""
        with self._gate.enter():
            return {"industries": self.library.registry.industries(),
                    "documents": [{"doc_id": d.doc_id, "title": d.title} for d in self.library.documents()]}

    def ask(self, question: str, top_k: int | None = None, filters: Filters | None = None,
            history: list[dict[str, str]] | None = None) -> Answer:
        with self._gate.enter():
            return self.answers.ask(question, top_k, filters, history)

    def stream(self, question: str, top_k: int | None = None, filters: Filters | None = None,
               history: list[dict[str, str]] | None = None) -> Iterator[StreamEvent]:
        self._gate.check()  # a deleted base answers its error before a stream starts
        return self._stream(question, top_k, filters, history)

    def _stream(self, question: str, top_k: int | None, filters: Filters | None,
                history: list[dict[str, str]] | None) -> Iterator[StreamEvent]:
        # The response may have started: a base deleted since `stream` was called ends the stream with a
        # refusal that says so, rather than cutting it off.
        with self._gate.entered() as ok:
            if not ok:
                gone = self._gate.closed
                yield DoneEvent(Answer(answer=gone.message if gone else "knowledge base gone", citations=[],
                                       model="none", refused=True))
                return
            yield from self.answers.stream(question, top_k, filters, history)

    def health(self) -> dict:
        self._gate.check()
        llm = self.llm.health()
        return {"status": "ok", "data_dir": str(self.data_dir), **self.library.stats(),
                "embedder": self.embedder.describe(), "spent_today_cny": llm["budget"]["spent_cny"],
                "providers_ready": llm["ready"], "llm": llm}

    def retire(self, error: RagError, timeout: float | None = 120.0) -> None:
        """Stop taking calls (each later one raises `error`), let those in flight finish, then close (a base
        being deleted or renamed)."""
        if not self._gate.close(error, timeout):
            log.warning("knowledge base %r: calls still running after %s s; closing under them", self.kb, timeout)
        self.close()

    def close(self) -> None:
        self.library.close()
        if self._owns_lock:
            self.lock.release()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
