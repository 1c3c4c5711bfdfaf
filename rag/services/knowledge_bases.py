"""Named knowledge bases: separate indexes in one data directory, opened, created, renamed and deleted here.

Layout: the `default` base is the data directory itself, laid out as before bases existed (so a data
directory from before this change opens as `default` unchanged, no migration); every other base is the same
layout one level down, in `<data_dir>/kbs/<name>/` (its own Chroma files, keyword index and registry). One
directory per base, rather than one Chroma client with a collection per base, because (1) every store of a
base lives in one place, so the repair-at-open and `rag docs check` that already keep one index consistent
cover each base unchanged, and isolation holds by construction (no query path can reach another base's
files); (2) deleting a base is one atomic rename of its directory to `kbs/.deleting-<id>` (the base is gone
at that instant) followed by removing the files, and the next open removes whatever a kill left behind;
(3) a base's BM25 matrix and HNSW graph cover only its own chunks, so a question's latency depends on its own
base's size, not on how many bases there are. The cost is one embedded Chroma client per open base (bases
open on first use). The whole data directory keeps one owner and one lock: the default base's.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.components.embedders import Embedder
from rag.container import Services
from rag.errors import RagError
from rag.services.answer import AnswerService
from rag.services.index_modes import fsync_dir
from rag.settings import Settings
from rag.types import Answer, Filters, Hit, StreamEvent

log = logging.getLogger(__name__)

DEFAULT_KB = "default"
KBS_DIR = "kbs"
KB_FILE = "kb.json"
DELETING = ".deleting-"
CREATING = ".creating-"
#: letters (any script: 新能源研报), digits, `_`, `-`, `.`; starting with a letter or digit; at most 64
NAME_RE = re.compile(r"^[^\W_][\w.-]{0,63}$")


@dataclass(frozen=True)
class KbInfo:
    """One base as listings show it."""

    name: str
    documents: int
    chunks: int

    def to_dict(self) -> dict:
        return asdict(self)


class KbNotFound(RagError):
    """No base of that name (or it was deleted or renamed while the caller held it)."""

    code = "kb_not_found"
    status = 404


class KbForbidden(RagError):
    """The caller's API key may not read (or write) this base."""

    code = "kb_forbidden"
    status = 403


class KbExists(RagError):
    code = "kb_exists"
    status = 409


class KbNotEmpty(RagError):
    """Deleting a base that holds documents needs an explicit confirmation."""

    code = "kb_not_empty"
    status = 409


class KbProtected(RagError):
    """The default base is the data directory itself: it cannot be renamed or deleted."""

    code = "kb_protected"
    status = 400


class BadKbName(RagError):
    code = "bad_kb_name"
    status = 400


def check_name(name: str) -> str:
    """The base name in NFC, or BadKbName saying what a name may hold."""
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not NAME_RE.match(name):
        raise BadKbName(f"bad knowledge-base name {name!r}",
                        hint="use 1-64 letters (any script), digits, '_', '-' or '.', starting with a letter or digit")
    return name


class KnowledgeBases:
    """Every base of one data directory: each opened on first use as its own `Services`, all sharing one
    embedder and the data directory's lock (held by the default base's Services)."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None, repair: bool = True,
                 read_only: bool = False, default: Services | None = None) -> None:
        """`default`: an already open Services for the data directory (it keeps the lock); else one is opened."""
        self.settings = settings
        self.root = Path(settings.data_dir)
        self._repair = repair
        self._read_only = read_only
        self._default = default or Services(settings.for_kb(DEFAULT_KB), embedder=embedder, repair=repair,
                                            read_only=read_only)
        self.embedder = self._default.embedder
        self._open: dict[str, Services] = {DEFAULT_KB: self._default}
        self._busy: set[str] = set()  # names being deleted or renamed: KbNotFound meanwhile
        self._lock = threading.RLock()
        if not read_only:
            self.pending_deletions = self._finish_deletions()

    @property
    def base_dir(self) -> Path:
        return self.root / KBS_DIR

    def _dir(self, name: str) -> Path:
        return self.root if name == DEFAULT_KB else self.base_dir / name

    # ---- listing and opening ----
    def names(self) -> list[str]:
        """Every base, `default` first, then the others sorted."""
        found = []
        if self.base_dir.is_dir():
            found = sorted(d.name for d in self.base_dir.iterdir()
                           if not d.name.startswith(".") and (d / KB_FILE).is_file())
        with self._lock:
            busy = set(self._busy)
        return [DEFAULT_KB] + [n for n in found if n != DEFAULT_KB and n not in busy]

    def exists(self, name: str) -> bool:
        return unicodedata.normalize("NFC", name or "") in self.names()

    def not_found(self, name: str, names: list[str] | None = None) -> KbNotFound:
        known = ", ".join(names if names is not None else self.names())
        return KbNotFound(f"no knowledge base named {name!r}", hint=f"known bases: {known}; create one with "
                                                                    "`rag kb create NAME` or POST /kbs")

    def get(self, name: str | None = None) -> Services:
        """One base's in-process services (opened on first use); KbNotFound names the known bases."""
        name = unicodedata.normalize("NFC", name or DEFAULT_KB)
        svc = self._open.get(name)  # an open base without the lock: a base opening meanwhile blocks no one else
        if svc is not None:
            return svc
        with self._lock:
            svc = self._open.get(name)
            if svc is not None:
                return svc
            if name in self._busy or not self.exists(name):
                raise self.not_found(name)
            svc = Services(self._settings(name), embedder=self.embedder, repair=self._repair,
                           read_only=self._read_only, index_dir=self._dir(name), own_lock=False, kb=name)
            self._open[name] = svc
            return svc

    def _settings(self, name: str) -> Settings:
        """The global settings with the base's `kbs.<name>` overrides; on a shared Chroma server each base gets
        its own collection (named by the base's id, so a rename keeps it)."""
        s = self.settings.for_kb(name)
        if s.vector_store.backend != "embedded":
            meta = json.loads((self._dir(name) / KB_FILE).read_text(encoding="utf-8"))
            vs = s.vector_store.model_copy(update={"collection": f"{s.vector_store.collection}-kb-{meta['id']}"})
            s = s.model_copy(update={"vector_store": vs})
        return s

    def info(self, name: str) -> KbInfo:
        svc = self.get(name)
        with svc._gate.enter():
            stats = svc.library.stats()
        return KbInfo(svc.kb, stats["documents"], stats["chunks"])

    def infos(self) -> list[KbInfo]:
        out = []
        for name in self.names():
            try:
                out.append(self.info(name))
            except KbNotFound:  # deleted meanwhile
                continue
        return out

    # ---- changes ----
    def create(self, name: str) -> KbInfo:
        """A new, empty base; KbExists when the name is taken."""
        name = check_name(name)
        with self._lock:
            if name == DEFAULT_KB or self.exists(name) or name in self._busy:
                raise KbExists(f"knowledge base {name!r} already exists")
            self.base_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.base_dir / f"{CREATING}{uuid.uuid4().hex}"
            tmp.mkdir()
            meta = {"id": uuid.uuid4().hex[:16], "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            with open(tmp / KB_FILE, "w", encoding="utf-8") as f:
                json.dump(meta, f)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.rename(tmp, self.base_dir / name)  # atomic: the base exists whole or not at all
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
                raise KbExists(f"knowledge base {name!r} already exists") from None
            fsync_dir(self.base_dir)
        return self.info(name)

    def _take(self, name: str, why: str) -> Services | None:
        """Take `name`'s open Services out (the caller marked it busy) and retire it: calls in flight finish,
        later ones get KbNotFound."""
        with self._lock:
            svc = self._open.pop(name, None)
        if svc is not None:
            svc.retire(KbNotFound(f"knowledge base {name!r} {why}", hint="list the bases with GET /kbs"))
        return svc

    def rename(self, old: str, new: str) -> KbInfo:
        old = unicodedata.normalize("NFC", old or "")
        new = check_name(new)
        if DEFAULT_KB in (old, new):
            raise KbProtected("the default base cannot be renamed, and no base can take its name")
        with self._lock:
            if old in self._busy or not self.exists(old):
                raise self.not_found(old)
            if new == old:
                return self.info(old)
            if new in self._busy or self.exists(new):
                raise KbExists(f"knowledge base {new!r} already exists")
            self._busy.update({old, new})
        try:
            svc = self._take(old, f"was renamed to {new!r}")
            if svc is not None:
                _release_vectors(svc)
            os.rename(self._dir(old), self._dir(new))  # atomic; the base's id (and any server collection) stays
            fsync_dir(self.base_dir)
        finally:
            with self._lock:
                self._busy.difference_update({old, new})
        return self.info(new)

    def delete(self, name: str, confirm: bool = False) -> None:
        """Remove a base with its vectors, tokens and records; a non-empty one needs `confirm=True`.

        Crash-safe: the directory is renamed to `kbs/.deleting-<id>` first (the base is gone at that
        instant), then removed; an open finds any such directory a kill left and finishes removing it.
        """
        name = unicodedata.normalize("NFC", name or "")
        if name == DEFAULT_KB:
            raise KbProtected("the default base is the data directory itself and cannot be deleted",
                              hint="delete its documents instead (`rag docs delete`)")
        info = self.info(name)  # KbNotFound
        if info.documents and not confirm:
            raise KbNotEmpty(f"knowledge base {name!r} holds {info.documents} document(s)",
                             hint="confirm with `rag kb delete NAME --yes` or DELETE /kbs/NAME?confirm=true")
        with self._lock:
            if name in self._busy or not self.exists(name):
                raise self.not_found(name)
            self._busy.add(name)
        try:
            svc = self._take(name, "was deleted")
            if svc is not None:
                _release_vectors(svc, drop=True)
            gone = self.base_dir / f"{DELETING}{uuid.uuid4().hex}"
            os.rename(self._dir(name), gone)
            fsync_dir(self.base_dir)
            _remove(gone)
        finally:
            with self._lock:
                self._busy.discard(name)

    def _finish_deletions(self) -> int:
        """Remove what deletions and creations a kill interrupted left (the bases were already gone)."""
        if not self.base_dir.is_dir():
            return 0
        left = [d for d in self.base_dir.iterdir() if d.name.startswith((DELETING, CREATING))]
        for d in left:
            log.warning("finishing an interrupted knowledge-base deletion: %s", d.name)
            _remove(d)
        return len(left)

    # ---- several bases ----
    def services(self, names: list[str] | None) -> list[Services]:
        """The bases a question names (the default base when none), each once, in the order given."""
        chosen = list(dict.fromkeys(unicodedata.normalize("NFC", n) for n in (names or [DEFAULT_KB])))
        return [self.get(n) for n in chosen]

    def ask(self, names: list[str] | None, question: str, top_k: int | None = None,
            filters: Filters | None = None, history: list[dict[str, str]] | None = None) -> Answer:
        """A question within the bases named: one base asks it alone; several merge their hits."""
        svcs = self.services(names)
        if len(svcs) == 1:
            return svcs[0].ask(question, top_k, filters, history)
        with _entered(svcs):
            return _joint(svcs).ask(question, top_k, filters, history)

    def stream(self, names: list[str] | None, question: str, top_k: int | None = None,
               filters: Filters | None = None, history: list[dict[str, str]] | None = None) -> Iterator[StreamEvent]:
        svcs = self.services(names)
        if len(svcs) == 1:
            return svcs[0].stream(question, top_k, filters, history)
        return self._stream_joint(svcs, question, top_k, filters, history)

    @staticmethod
    def _stream_joint(svcs: list[Services], question: str, top_k: int | None, filters: Filters | None,
                      history: list[dict[str, str]] | None) -> Iterator[StreamEvent]:
        with _entered(svcs):
            yield from _joint(svcs).stream(question, top_k, filters, history)

    def close(self) -> None:
        with self._lock:
            others = [s for n, s in self._open.items() if n != DEFAULT_KB]
            self._open = {DEFAULT_KB: self._default}
        for svc in others:
            svc.close()
        self._default.close()

    def __enter__(self) -> KnowledgeBases:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _UnionScope:
    """`library.scope` over several bases, for AnswerService's "no document matches the filters" answer."""

    def __init__(self, svcs: list[Services]) -> None:
        self._svcs = svcs

    def scope(self, filters: Filters | None) -> tuple[list[str], set[str]] | None:
        parts = [s.library.scope(filters) for s in self._svcs]
        if any(p is None for p in parts):
            return None
        return [d for p in parts for d in p[0]], {c for p in parts for c in p[1]}


class JointRetriever:
    """Hits from several bases: each base retrieves on its own (its own BM25 and vectors), then the fused
    scores (each base's normalised to 0..1 the same way) are merged and the best `top_k` kept."""

    def __init__(self, svcs: list[Services]) -> None:
        self.svcs = svcs
        self.library = _UnionScope(svcs)

    def retrieve(self, question: str, top_k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        k = top_k or self.svcs[0].settings.retrieval.top_k
        hits: dict[str, Hit] = {}
        for svc in self.svcs:
            for hit in svc.retriever.retrieve(question, k, filters):
                if hit.chunk.chunk_id not in hits or hits[hit.chunk.chunk_id].score < hit.score:
                    hits[hit.chunk.chunk_id] = hit
        return sorted(hits.values(), key=lambda h: (-h.score, h.chunk.chunk_id))[:k]


def _joint(svcs: list[Services]) -> AnswerService:
    """The first base's answerers over the joint hits (its settings decide refusal and providers)."""
    first = svcs[0]
    return AnswerService(JointRetriever(svcs), first.extractive, first.llm)  # type: ignore[arg-type]


def _entered(svcs: list[Services]) -> ExitStack:
    stack = ExitStack()
    try:
        for svc in svcs:
            stack.enter_context(svc._gate.enter())
    except BaseException:
        stack.close()
        raise
    return stack


def _release_vectors(svc: Services, drop: bool = False) -> None:
    """Let go of a retired base's vector store (dropping a shared server's collection when deleting)."""
    vectors = svc.library.vectors
    if drop and vectors.shared:
        vectors.drop()
    close = getattr(vectors, "close", None)
    if close is not None:
        close()


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():  # a file still held open somewhere: the next open tries again
        log.warning("could not remove %s entirely; the next open retries", path)


__all__ = ["DEFAULT_KB", "BadKbName", "JointRetriever", "KbExists", "KbForbidden", "KbInfo", "KbNotEmpty",
           "KbNotFound", "KbProtected", "KnowledgeBases", "check_name"]
