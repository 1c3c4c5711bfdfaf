"""Files in, chunks out: read, chunk, skip what is already indexed, replace what changed."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ingest.chunking import ChineseChunker
from ingest.errors import FileTooLargeError, IngestError, UnsupportedFormatError
from ingest.options import ReadOptions
from ingest.readers import SUPPORTED_EXTS, read_bytes
from rag.services.library import Library
from rag.settings import Settings
from rag.types import Chunk, Document

log = logging.getLogger(__name__)
# Chunks embedded per call. The embedder sorts a call's texts by length before batching them, so bigger calls
# pad less: on 2k CRUD articles 64 cost +16% padded tokens over one sorted pass, 256 costs +4.6%.
EMBED_BATCH_CHUNKS = 256
UPLOAD_ORIGIN = "upload:"  # registry origin of an uploaded file: this prefix and the name it is stored under


@dataclass
class IngestReport:
    """What one ingest call did, per outcome, so a user sees exactly what was and was not indexed."""

    added: list[dict] = field(default_factory=list)
    unchanged: int = 0
    unchanged_ids: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    chunks: int = 0
    #: an upload: the name it is stored under (`report (2).txt` when `report.txt` holds other content)
    stored_as: str | None = None
    # Files a folder walk (or an upload) passed over, with why: {"path", "reason"}; never silently ignored.
    skipped: list[dict] = field(default_factory=list)

    def merge(self, other: IngestReport) -> None:
        self.added += other.added
        self.unchanged += other.unchanged
        self.unchanged_ids += other.unchanged_ids
        self.removed += other.removed
        self.errors += other.errors
        self.chunks += other.chunks
        self.skipped += other.skipped

    def to_dict(self) -> dict:
        return {"added": self.added, "unchanged": self.unchanged, "unchanged_ids": self.unchanged_ids,
                "removed": self.removed,
                "errors": self.errors, "chunks": self.chunks, "skipped": self.skipped}


def scan_paths(paths: Iterable[str | Path]) -> tuple[list[Path], list[dict]]:
    """Files as given, and folders walked recursively for supported extensions; plus what was skipped and why
    (an unsupported type, a hidden file or folder), so a folder ingest can say so."""
    out: list[Path] = []
    skipped: list[dict] = []
    for p in map(Path, paths):
        if not p.is_dir():
            out.append(p)
            continue
        found: list[Path] = []
        for root, dirs, files in os.walk(p):
            for d in sorted(dirs):
                if d.startswith("."):
                    skipped.append({"path": str(Path(root) / d), "reason": "hidden folder"})
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                f = Path(root) / name
                ext = f.suffix.lower()
                if name.startswith("."):
                    skipped.append({"path": str(f), "reason": "hidden file"})
                elif not ext or ext not in SUPPORTED_EXTS:
                    skipped.append({"path": str(f), "reason": f"unsupported file type {ext or '(none)'!r}"})
                elif f.is_file():
                    found.append(f)
        out += sorted(found)
    return out, skipped


class _PageBar:
    """A per-page tqdm bar for one file, opened on the reader's first progress call (most files have no pages)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.bar: tqdm | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if total < 2:
                return
            self.bar = tqdm(total=total, desc=self.name[:30], unit="page", leave=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def shown_source(path: Path, roots: list[Path]) -> str:
    """What a document's `source` says: its path relative to the folder that was ingested, or its file name,
    never the server's absolute path (sources reach answers, the API and the LLM prompt)."""
    real = path.resolve()
    for root in roots:
        if root in real.parents:
            return real.relative_to(root).as_posix()
    return path.name


class IngestService:
    """Reads files into documents and hands new ones to the library in embedding-sized batches."""

    def __init__(self, library: Library, settings: Settings) -> None:
        self.library = library
        self.max_bytes = int(settings.ingest.max_file_mb * 1024 * 1024)
        self._chunking = (settings.chunking.chunk_size, settings.chunking.chunk_overlap)
        self.ocr = settings.ingest.ocr
        self._chunker: ChineseChunker | None = None

    @property
    def chunker(self) -> ChineseChunker:
        """Built on first use, so a process that only answers never imports llama-index (cold start)."""
        if self._chunker is None:
            self._chunker = ChineseChunker(*self._chunking)
        return self._chunker

    def ingest_paths(self, paths: Iterable[str | Path], progress: bool = False) -> IngestReport:
        report = IngestReport()
        paths = list(paths)
        files, report.skipped = scan_paths(paths)
        roots = [Path(p).resolve() for p in paths if Path(p).is_dir()]
        with self.library.batch():  # one BM25 rebuild for the whole ingest, not one per file
            for path in tqdm(files, desc="ingest", unit="file", disable=not progress or len(files) < 2):
                origin = str(path.resolve())
                try:
                    if not path.exists():
                        raise IngestError(f"{path}: no such file or directory")
                    size = path.stat().st_size
                    if size > self.max_bytes:
                        raise FileTooLargeError(
                            f"{path}: {size / 2**20:.1f} MB is over the {self.max_bytes / 2**20:.0f} MB limit "
                            "(ingest.max_file_mb)")
                    data = path.read_bytes()
                except (IngestError, OSError) as exc:
                    report.errors.append({"path": str(path), "error": str(exc)})
                    continue
                report.merge(self.ingest_bytes(data, path.name, source=shown_source(path, roots), origin=origin,
                                                progress=progress))
        return report

    def ingest_bytes(self, data: bytes, name: str, source: str | None = None, origin: str | None = None,
                     progress: bool = False) -> IngestReport:
        """Ingest one file's bytes; a refused file becomes an entry in `errors`, never an exception."""
        report = IngestReport()
        origin = origin or name
        bar = _PageBar(name) if progress else None
        try:
            docs = self._read(data, name, source or name, report, progress=bar)
        finally:
            if bar is not None:
                bar.close()
        if docs is None:
            return report
        with self.library.batch():  # the keyword matrix is rebuilt once, after the last write
            self._store(docs, origin, report, progress)
        return report

    def _read(self, data: bytes, name: str, source: str, report: IngestReport,
              progress: _PageBar | None = None) -> list[Document] | None:
        """The file's documents, or None with the reason in `report.errors` (and `skipped` when unsupported)."""
        try:
            if len(data) > self.max_bytes:
                raise FileTooLargeError(f"{name}: {len(data) / 2**20:.1f} MB is over the "
                                        f"{self.max_bytes / 2**20:.0f} MB limit (ingest.max_file_mb)")
            docs = read_bytes(data, name, source=source, options=ReadOptions(ocr=self.ocr, progress=progress))
            if not docs:
                raise IngestError(f"{name}: no documents found in the file")
        except IngestError as exc:
            report.errors.append({"path": source, "error": str(exc)})
            if isinstance(exc, UnsupportedFormatError):
                report.skipped.append({"path": source, "reason": str(exc)})
            return None
        except Exception as exc:  # a reader bug must not take the batch down; say what failed
            log.exception("reader failed on %s", name)
            report.errors.append({"path": source, "error": f"{name}: could not be read ({exc})"})
            return None
        return docs

    def ingest_upload(self, data: bytes, name: str, replace: bool = False) -> IngestReport:
        """An uploaded file, stored under `name`; when `name` already holds other content the upload is kept
        beside it as `name (2)` (`(3)`, ...) unless `replace` asks to replace it. Callers serialise writes
        (Services holds its write lock), so parallel uploads of one name each get a name of their own."""
        report = IngestReport()
        docs = self._read(data, name, name, report)
        if docs is None:
            report.stored_as = name
            return report
        ids = {d.doc_id for d in docs}
        stored = name if replace else self._free_name(name, ids)
        if stored != name:
            docs = [dataclasses.replace(d, source=stored) if d.source == name else d for d in docs]
        report.stored_as = stored
        with self.library.batch():
            self._store(docs, f"{UPLOAD_ORIGIN}{stored}", report, progress=False)
        if not report.added and report.unchanged_ids:  # already indexed: say under which name
            rec = self.library.registry.get(report.unchanged_ids[0])
            report.stored_as = rec.source if rec is not None else stored
        return report

    def _free_name(self, name: str, ids: set[str]) -> str:
        """`name` if it is free or holds exactly this content, else the first free `stem (k).ext`."""
        stem, dot, ext = name.rpartition(".") if "." in name.rsplit("/", 1)[-1] else (name, "", "")
        k = 1
        while True:
            candidate = name if k == 1 else f"{stem} ({k}){dot}{ext}"
            held = set(self.library.registry.by_origin(f"{UPLOAD_ORIGIN}{candidate}"))
            if not held or held <= ids:
                return candidate
            k += 1

    def ingest_documents(self, docs: list[Document], origin: str, progress: bool = False) -> IngestReport:
        """Ingest already-parsed documents (evaluation corpora, programmatic callers)."""
        report = IngestReport()
        with self.library.batch():  # the keyword matrix is rebuilt once, after the last write
            self._store(docs, origin, report, progress)
        return report

    def _store(self, docs: list[Document], origin: str, report: IngestReport, progress: bool) -> None:
        new_ids = {d.doc_id for d in docs}
        # The file changed: its old version goes, but only once the new one is fully stored (see
        # Library.replacing), so a search or a kill -9 meanwhile always finds one of the two versions.
        stale = [old for old in self.library.registry.by_origin(origin) if old not in new_ids]
        seen: set[str] = set()
        todo: list[tuple[Document, list[Chunk]]] = []
        for doc in docs:
            if doc.doc_id in seen or self.library.has(doc.doc_id):
                report.unchanged += 1
                report.unchanged_ids.append(doc.doc_id)
                continue
            seen.add(doc.doc_id)
            try:
                chunks = self.chunker.chunk(doc)
            except Exception as exc:  # one bad document must not sink the batch; say which one
                log.exception("chunking failed for %s", doc.source)
                report.errors.append({"path": doc.source, "error": f"{doc.title}: could not be chunked ({exc})"})
                continue
            if not chunks:
                report.errors.append({"path": doc.source, "error": f"{doc.title}: no text to index"})
                continue
            todo.append((doc, chunks))
        total = sum(len(cs) for _, cs in todo)
        bar = tqdm(total=total, desc="embed", unit="chunk", disable=not progress or total < 128)
        batch: list[tuple[Document, list[Chunk]]] = []
        size = 0
        # Nothing of the new version could be stored: the old one stays rather than leaving neither.
        keep_old = not todo and not report.unchanged_ids
        with self.library.replacing([] if keep_old else stale, [d.doc_id for d, _ in todo]):
            for doc, chunks in todo:
                batch.append((doc, chunks))
                size += len(chunks)
                if size >= EMBED_BATCH_CHUNKS:
                    self._flush(batch, origin, report, bar)
                    batch, size = [], 0
            self._flush(batch, origin, report, bar)
        if not keep_old:
            report.removed += stale
        bar.close()

    def _flush(self, batch: list[tuple[Document, list[Chunk]]], origin: str, report: IngestReport, bar: tqdm) -> None:
        if not batch:
            return
        self.library.add_many(batch, origin=origin)
        for doc, chunks in batch:
            report.added.append({"doc_id": doc.doc_id, "title": doc.title, "source": doc.source,
                                 "chunks": len(chunks)})
            report.chunks += len(chunks)
        bar.update(sum(len(cs) for _, cs in batch))
