"""Zip-based formats (DOCX, XLSX, PPTX, EPUB): refuse zip bombs and XML entity bombs before a library unpacks them."""

from __future__ import annotations

import io
import zipfile

from ingest.errors import CorruptFileError

MAX_UNPACKED = 256 * 2**20  # bytes an office file may unpack to
MAX_RATIO = 200  # compression ratio above which a large part is a bomb, not a document
XML_SUFFIXES = (".xml", ".rels", ".opf", ".ncx", ".xhtml", ".html", ".htm", ".svg")


def check_zip(z: zipfile.ZipFile, source: str, kind: str, allow_doctype: bool = False) -> None:
    """Refuse zip bombs and XML entity declarations; `kind` (DOCX, XLSX…) names the format in the message.

    Office XML never declares a DOCTYPE; EPUB's XHTML does (`<!DOCTYPE html>`), so there only ENTITY is refused.
    """
    total = 0
    for info in z.infolist():
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if total > MAX_UNPACKED or (info.file_size > 10 * 2**20 and ratio > MAX_RATIO):
            raise CorruptFileError(f"{source}: the {kind} unpacks to over {total / 2**20:.0f} MB "
                                   f"({info.filename} is {ratio:.0f}x compressed); refused as a zip bomb")
        if info.filename.lower().endswith(XML_SUFFIXES):
            with z.open(info) as part:
                head = part.read(4096)
            if b"<!ENTITY" in head or (b"<!DOCTYPE" in head and not allow_doctype):
                raise CorruptFileError(f"{source}: {info.filename} declares XML entities ({kind} never does); "
                                       "refused as a possible entity bomb")


def open_zip(data: bytes, source: str, kind: str, allow_doctype: bool = False) -> zipfile.ZipFile:
    """The checked archive, or a CorruptFileError naming the format."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        check_zip(z, source, kind, allow_doctype)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise CorruptFileError(f"{source}: not a readable {kind} file ({exc})") from None
    return z
