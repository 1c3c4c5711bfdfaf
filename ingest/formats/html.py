"""HTML pages: the visible text, scripts and styles dropped."""

from __future__ import annotations

from ingest.common import first_line_title, make_doc
from ingest.encoding import decode_bytes
from ingest.errors import EmptyFileError
from ingest.options import ReadOptions
from rag.types import Document


def html_to_text(markup: str) -> tuple[str, str]:
    """(title, visible text) of an HTML page or fragment; shared by the EPUB and e-mail readers."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "svg"]):
        tag.decompose()
    if soup.head:
        soup.head.decompose()
    blocks = [b.strip() for b in soup.get_text("\n").split("\n")]
    return title, "\n".join(b for b in blocks if b)


def read_html(data: bytes, source: str, options: ReadOptions | None = None) -> list[Document]:
    text, _ = decode_bytes(data, source)
    title, body = html_to_text(text)
    if not body:
        raise EmptyFileError(f"{source}: the HTML page has no visible text")
    return [make_doc(body, title or first_line_title(body), source, kind="html")]
