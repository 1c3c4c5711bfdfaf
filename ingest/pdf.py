"""PDF reader: the text layer, page by page, with page spans kept for citations."""

from __future__ import annotations

import io

from ingest.common import clean_text, content_id, first_line_title
from ingest.errors import CorruptFileError, EmptyFileError, EncryptedFileError
from ingest.options import ReadOptions
from rag.types import Document


def read_pdf(data: bytes, source: str, options: ReadOptions | None = None) -> list[Document]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):  # an empty user password opens many "protected" PDFs
            raise EncryptedFileError(f"{source}: the PDF is encrypted (password-protected); "
                                     "save an unprotected copy and ingest that")
        page_texts = [clean_text(page.extract_text() or "").strip() for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise CorruptFileError(f"{source}: not a readable PDF ({exc})") from None
    parts, pages, pos = [], [], 0
    for number, ptext in enumerate(page_texts, start=1):
        if not ptext:
            continue
        if parts:
            pos += 2  # the "\n\n" between pages
        pages.append((pos, pos + len(ptext), number))
        parts.append(ptext)
        pos += len(ptext)
    if not parts:
        raise EmptyFileError(f"{source}: the PDF has no text layer (scanned pages need OCR first)")
    text = "\n\n".join(parts)
    title = (reader.metadata.title if reader.metadata and reader.metadata.title else "") or first_line_title(text)
    doc = Document(doc_id=content_id(text), text=text, title=title, source=source,
                   metadata={"kind": "pdf", "pages": len(page_texts)}, pages=pages)
    return [doc]
