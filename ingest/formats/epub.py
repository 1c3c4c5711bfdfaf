"""EPUB: chapters in spine order (zipfile + bs4; the container and OPF package are small XML files).

Each chapter is a page of the document, so a citation names the chapter number.
"""

from __future__ import annotations

import posixpath
from urllib.parse import unquote

from ingest.common import PagedText, clean_text, content_id
from ingest.errors import CorruptFileError, EmptyFileError
from ingest.formats.html import html_to_text
from ingest.formats.zipcheck import open_zip
from ingest.options import ReadOptions
from rag.types import Document

_HTML_TYPES = ("application/xhtml+xml", "text/html", "application/x-dtbook+xml")


def _xml(markup: bytes):
    from bs4 import BeautifulSoup

    return BeautifulSoup(markup, "xml")


def read_epub(data: bytes, source: str, options: ReadOptions | None = None) -> list[Document]:
    z = open_zip(data, source, "EPUB", allow_doctype=True)
    names = set(z.namelist())
    try:
        container = _xml(z.read("META-INF/container.xml"))
        rootfile = container.find("rootfile")
        opf_path = rootfile["full-path"] if rootfile is not None else next(n for n in names if n.endswith(".opf"))
        opf = _xml(z.read(opf_path))
    except (KeyError, StopIteration, ValueError) as exc:
        raise CorruptFileError(f"{source}: not a readable EPUB file (no package document: {exc})") from None
    base = posixpath.dirname(opf_path)
    manifest = {item.get("id"): item for item in opf.find_all("item")}
    spine = [ref.get("idref") for ref in opf.find_all("itemref") if ref.get("linear", "yes") != "no"]
    if not spine:  # some generators leave the spine empty: fall back to the manifest's order
        spine = [i for i, item in manifest.items() if item.get("media-type") in _HTML_TYPES]
    paged = PagedText()
    for number, idref in enumerate(spine, start=1):
        item = manifest.get(idref)
        if item is None or item.get("media-type") not in _HTML_TYPES:
            continue
        path = posixpath.normpath(posixpath.join(base, unquote(item.get("href", "").split("#")[0])))
        if path not in names:
            continue
        _, text = html_to_text(z.read(path).decode("utf-8", errors="replace"))
        text = clean_text(text).strip()
        if not text:
            continue
        paged.add(text, number)
        if options and options.progress:
            options.progress(number, len(spine))
    if not paged.parts:
        raise EmptyFileError(f"{source}: the EPUB has no chapter with text")
    text = paged.text
    title_tag = opf.find("title")
    title = title_tag.get_text(strip=True) if title_tag else ""
    creator = opf.find("creator")
    meta = {"kind": "epub", "pages": len(paged.pages),
            "author": creator.get_text(strip=True) if creator else None}
    return [Document(doc_id=content_id(text), text=text, title=title or text.splitlines()[0][:60], source=source,
                     metadata={k: v for k, v in meta.items() if v}, pages=paged.pages)]
