"""The reader registry: one entry per format, chosen by file extension and by sniffed content (magic bytes).

Adding a format is one module under `ingest/formats/` (or `ingest/pdf.py`) and one `Format` entry below. Readers are
imported on first use, so a process that only answers questions never imports openpyxl, python-pptx or OCR.
"""

from __future__ import annotations

import importlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import CorruptFileError, EmptyFileError, UnsupportedFormatError
from ingest.options import ReadOptions
from rag.types import Document

ReaderFn = Callable[[bytes, str, ReadOptions], list[Document]]


@dataclass(frozen=True)
class Format:
    """One readable file type: its extensions, the reader (`module:function`, imported lazily), a label for users."""

    name: str
    exts: tuple[str, ...]
    target: str
    label: str
    binary: bool = True  # a text format's extension yields to sniffed binary content (a PDF named .txt is a PDF)

    def reader(self) -> ReaderFn:
        module, func = self.target.split(":")
        return getattr(importlib.import_module(module), func)


FORMATS: tuple[Format, ...] = (
    Format("text", (".txt", ".text", ".log", ""), "ingest.formats.text:read_text", "TXT", binary=False),
    Format("markdown", (".md", ".markdown"), "ingest.formats.text:read_markdown", "Markdown", binary=False),
    Format("html", (".html", ".htm", ".xhtml"), "ingest.formats.html:read_html", "HTML", binary=False),
    Format("csv", (".csv", ".tsv"), "ingest.formats.csvfile:read_csv", "CSV", binary=False),
    Format("eml", (".eml",), "ingest.formats.eml:read_eml", "e-mail (.eml)", binary=False),
    Format("pdf", (".pdf",), "ingest.pdf:read_pdf", "PDF"),
    Format("docx", (".docx",), "ingest.formats.docx:read_docx", "Word (.docx)"),
    Format("xlsx", (".xlsx", ".xlsm"), "ingest.formats.xlsx:read_xlsx", "Excel (.xlsx)"),
    Format("pptx", (".pptx",), "ingest.formats.pptx:read_pptx", "PowerPoint (.pptx)"),
    Format("epub", (".epub",), "ingest.formats.epub:read_epub", "EPUB"),
    Format("image", (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"), "ingest.formats.image:read_image",
           "images (OCR)"),
)
BY_NAME = {f.name: f for f in FORMATS}
BY_EXT = {ext: f for f in FORMATS for ext in f.exts}
SUPPORTED_EXTS = frozenset(BY_EXT)
# The zip-based formats, told apart by the part only they carry.
_ZIP_MANIFESTS = (("word/document.xml", "docx"), ("xl/workbook.xml", "xlsx"), ("ppt/presentation.xml", "pptx"))


def supported_exts() -> list[str]:
    """Extensions a folder ingest or an upload picker accepts, sorted (the empty extension left out)."""
    return sorted(e for e in SUPPORTED_EXTS if e)


def supported_summary() -> str:
    """`TXT, Markdown, …` for user-facing text."""
    return ", ".join(f.label for f in FORMATS)


def _is_bmp(data: bytes) -> bool:
    # "BM" alone starts plenty of text; the DIB header size at offset 14 pins it down.
    return data[:2] == b"BM" and len(data) >= 18 and int.from_bytes(data[14:18], "little") in (12, 40, 52, 56, 64,
                                                                                                108, 124)


def sniff(data: bytes) -> str | None:
    """The format the bytes announce (magic numbers; a zip's inner manifest), or None for text or unknown."""
    head = data[:16]
    if data[:1024].lstrip(b"\x00\t\r\n \xef\xbb\xbf").startswith(b"%PDF-"):  # not a text that mentions %PDF-
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff") or _is_bmp(data) \
            or head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image"
    if head.startswith(b"PK\x03\x04"):
        try:
            z = zipfile.ZipFile(io.BytesIO(data))
            names = set(z.namelist())
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return None  # a broken zip: the extension's reader says what is wrong with it
        for part, name in _ZIP_MANIFESTS:
            if part in names:
                return name
        if "mimetype" in names and z.read("mimetype")[:64].strip() == b"application/epub+zip" \
                or "META-INF/container.xml" in names:
            return "epub"
    return None


def choose(data: bytes, name: str) -> Format:
    """The format to read the bytes as: a binary format's extension first, else what the content announces."""
    ext = Path(name).suffix.lower()
    by_ext = BY_EXT.get(ext)
    if by_ext is not None and by_ext.binary:
        return by_ext
    sniffed = sniff(data)
    if sniffed is not None:
        return BY_NAME[sniffed]
    if by_ext is not None:
        return by_ext
    hint = ""
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":  # OLE2: Office 97-2003 .doc/.xls/.ppt
        hint = " (an Office 97-2003 file: save it as .docx, .xlsx or .pptx)"
    raise UnsupportedFormatError(f"{name}: unsupported file type {ext!r}{hint}; "
                                 f"supported: {', '.join(supported_exts())}")


def read_bytes(data: bytes, name: str, source: str | None = None,
               options: ReadOptions | None = None) -> list[Document]:
    """Read one file's bytes into documents; raise an IngestError subclass with a specific message."""
    source = source or name
    if not data:
        raise EmptyFileError(f"{source}: the file is empty")
    try:
        fmt = choose(data, name)
    except UnsupportedFormatError as exc:
        raise UnsupportedFormatError(f"{source}{str(exc)[len(name):]}") from None  # named by its source
    try:
        return fmt.reader()(data, source, options or ReadOptions())
    except CorruptFileError as exc:
        actual = sniff(data)
        if actual and actual != fmt.name:  # say what the bytes really are: renaming the file fixes it
            hint = ", ".join(BY_NAME[actual].exts[:1])
            raise type(exc)(f"{exc}; the content looks like {BY_NAME[actual].label}, rename it to {hint}") from None
        raise
