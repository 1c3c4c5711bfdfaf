"""Word (.docx): paragraphs and tables via python-docx; pictures OCR'd when `ingest.ocr` is `always`."""

from __future__ import annotations

import io
import zipfile

from ingest.common import first_line_title, make_doc
from ingest.errors import CorruptFileError, EmptyFileError
from ingest.formats.images_in import ocr_blobs
from ingest.formats.zipcheck import check_zip
from ingest.options import ReadOptions
from rag.types import Document


def read_docx(data: bytes, source: str, options: ReadOptions | None = None) -> list[Document]:
    from docx import Document as DocxDocument

    options = options or ReadOptions()
    try:
        check_zip(zipfile.ZipFile(io.BytesIO(data)), source, "DOCX")
        d = DocxDocument(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise CorruptFileError(f"{source}: not a readable DOCX file ({exc})") from None
    paras = [p.text.strip() for p in d.paragraphs if p.text.strip()]
    for table in d.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                paras.append(" | ".join(cells))
    meta: dict[str, object] = {}
    if options.ocr == "always":
        blobs = [part.blob for part in d.part.package.iter_parts() if part.content_type.startswith("image/")]
        texts, failed = ocr_blobs(blobs, source)
        paras += texts
        meta = {"ocr_images": len(texts), "ocr_failed_images": failed or None}
    if not paras:
        raise EmptyFileError(f"{source}: the DOCX file has no text")
    text = "\n\n".join(paras)
    title = d.core_properties.title or first_line_title(text)
    return [make_doc(text, title, source, kind="docx", **meta)]
