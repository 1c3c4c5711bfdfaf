"""PDF reader: layout-aware text (paragraphs, tables with headers, no running headers), OCR for pages without text.

pypdf opens the file first (it gives the specific errors: encrypted, corrupt); pdfplumber then reads each page's
characters with positions and fonts (ingest/pdf_layout.py) and the pages are assembled into paragraphs that continue
across page breaks (ingest/pdf_text.py). A page whose layout analysis fails falls back to pypdf's plain text; a page
without a text layer is rendered with pypdfium2 and OCR'd (ingest/ocr.py) as `options.ocr` says.
"""

from __future__ import annotations

import io
import logging
import re

from ingest.common import clean_text, content_id, first_line_title
from ingest.errors import CorruptFileError, EmptyFileError, EncryptedFileError
from ingest.options import ReadOptions
from ingest.pdf_layout import BARE_NUMBER, Line, PageContent, find_running, read_page, toc_lines
from ingest.pdf_text import assemble
from ingest.pdf_title import pick_title
from ingest.text_norm import normalize_chars
from rag.types import Document

log = logging.getLogger(__name__)

#: OCR render scale (1 = 72 dpi): 2 gives 144 dpi, enough for RapidOCR on body text without slowing it much
OCR_SCALE = 2.0
#: a page with fewer text characters than this but mostly covered by images is a scan with a stray text overlay
SCAN_MAX_CHARS = 30


def _plain_page(number: int, text: str, width: float = 600.0, height: float = 800.0) -> PageContent:
    """A page given as plain text (pypdf fallback, OCR): each paragraph one line, so nothing is lost or merged."""
    page = PageContent(number=number, width=width, height=height)
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    if len(paras) <= 1:
        paras = [p.strip() for p in text.splitlines() if p.strip()]
    y = 0.2 * height
    for p in paras:
        if BARE_NUMBER.match(p):
            continue  # a page number or a figure's tick label standing alone
        cjk_break = re.search(r"[\u4e00-\u9fff]\n[\u4e00-\u9fff]", p)
        p = p.replace("\n", "") if cjk_break else re.sub(r"\s*\n\s*", " ", p)
        page.lines.append(Line(text=p, x0=0, x1=0, top=y, bottom=y + 1, size=-1.0, page=number))
        y += 40
    page.chars = len(text)
    return page


def _ocr_page(pdf_bytes_doc, index: int) -> tuple[str, str]:  # noqa: ANN001 - pypdfium2.PdfDocument
    """A rendered page's OCR text in reading order, and its most prominent (tallest) text as a title candidate."""
    from ingest.ocr import layout_text, ocr_boxes, prominent_text

    page = pdf_bytes_doc[index]
    try:
        image = page.render(scale=OCR_SCALE).to_pil()
    finally:
        page.close()
    boxes = ocr_boxes(image)
    return layout_text(boxes), prominent_text(boxes, float(image.height))


def read_pdf(data: bytes, source: str, options: ReadOptions | None = None) -> list[Document]:
    options = options or ReadOptions()
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):  # an empty user password opens many "protected" PDFs
            raise EncryptedFileError(f"{source}: the PDF is encrypted (password-protected); "
                                     "save an unprotected copy and ingest that")
        n_pages = len(reader.pages)
        meta = reader.metadata
        meta_title = str(meta.title) if meta and meta.title else ""
        producer = " ".join(str(v) for v in (meta.producer, meta.creator) if v) if meta else ""
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise CorruptFileError(f"{source}: not a readable PDF ({exc})") from None

    def plain(i: int) -> str:
        try:
            return clean_text(reader.pages[i].extract_text() or "").strip()
        except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
            raise CorruptFileError(f"{source}: not a readable PDF ({exc})") from None

    pages: list[PageContent] = []
    fallback: list[int] = []
    unreadable: list[int] = []
    try:
        import pdfplumber

        plumber = pdfplumber.open(io.BytesIO(data), password="")
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many types; pypdf's text is the fallback
        log.warning("%s: layout analysis unavailable (%s); using the plain text layer", source, exc)
        plumber = None
    try:
        for i in range(n_pages):
            content: PageContent | None = None
            if plumber is not None and i < len(plumber.pages):
                try:
                    content = read_page(plumber.pages[i], i + 1)
                except Exception as exc:  # noqa: BLE001 - one page's layout failure must not lose the page
                    log.warning("%s p.%d: layout analysis failed (%s); plain text kept", source, i + 1, exc)
                finally:
                    plumber.pages[i].close()
            if content is None:
                fallback.append(i + 1)
                try:
                    content = _plain_page(i + 1, plain(i))
                except CorruptFileError:
                    if plumber is None:
                        raise  # neither library can read the file: it is corrupt
                    log.warning("%s p.%d: unreadable by both pdfplumber and pypdf", source, i + 1)
                    unreadable.append(i + 1)
                    content = PageContent(number=i + 1, width=600.0, height=800.0)
            pages.append(content)
    finally:
        if plumber is not None:
            plumber.close()

    if unreadable and len(unreadable) == n_pages:
        raise CorruptFileError(f"{source}: not a readable PDF (no page could be parsed)")
    ocr_pages, ocr_failed, ocr_prominent = _ocr(data, pages, options, source)
    drop, running_title = find_running([p for p in pages if p.lines and p.lines[0].size > 0])
    skip: dict[int, set[int]] = {}
    for number, i in drop:
        skip.setdefault(number, set()).add(i)
    for p in pages:
        if p.lines and p.lines[0].size > 0:
            skip.setdefault(p.number, set()).update(toc_lines(p))
    assembled = assemble(pages, skip)
    if not assembled.text.strip():
        why = "OCR found no text" if options.ocr != "off" else "OCR is off (ingest.ocr)"
        raise EmptyFileError(f"{source}: the PDF has no text layer ({why}); scanned pages need OCR")
    text = assembled.text
    # A scan has no font sizes: its tallest OCR'd text on the first two pages stands in for the largest line.
    scanned_title = next((ocr_prominent[p.number] for p in pages[:2] if ocr_prominent.get(p.number)), "")
    title = (normalize_chars(pick_title(meta_title, producer, pages, skip, source)) or normalize_chars(scanned_title)
             or _first_line(text))
    metadata: dict[str, object] = {"kind": "pdf", "pages": n_pages,
                                   "page_spans": [list(s) for s in assembled.pages]}
    if running_title and running_title != title:
        metadata["running_title"] = running_title
    if assembled.table_rows:
        metadata["table_rows"] = assembled.table_rows
    if ocr_pages:
        metadata["ocr_pages"] = ocr_pages
    if ocr_failed:
        metadata["ocr_failed_pages"] = ocr_failed
    if fallback:
        metadata["plain_text_pages"] = fallback
    doc = Document(doc_id=content_id(text), text=text, title=title, source=source, metadata=metadata,
                   pages=assembled.pages)
    return [doc]


def _first_line(text: str) -> str:
    """The first line as a last-resort title, without a page number printed after it (`… Page 6 of 14`)."""
    line = re.sub(r"\s*(?:page\s*\d+(?:\s*of\s*\d+)?|第\s*\d+\s*页.*|\d{1,4}\s*/\s*\d{1,4})\s*$", "",
                  text.strip().split("\n", 1)[0], flags=re.I)
    return first_line_title(line or text)


def _needs_ocr(page: PageContent, mode: str) -> bool:
    if mode == "off":
        return False
    if mode == "always":
        return True
    return page.chars == 0 or (page.chars < SCAN_MAX_CHARS and page.image_share > 0.4)


def _ocr(data: bytes, pages: list[PageContent], options: ReadOptions,
         source: str) -> tuple[list[int], list[int], dict[int, str]]:
    """OCR the pages that need it (in place); returns the pages OCR'd, the pages whose OCR failed, and each
    OCR'd scan's prominent text (a title candidate, by page number)."""
    todo = [p for p in pages if _needs_ocr(p, options.ocr)]
    total = len(pages)
    done_pages: list[int] = []
    failed: list[int] = []
    prominent: dict[int, str] = {}
    progress = options.progress
    if not todo:
        if progress:
            progress(total, total)
        return done_pages, failed, prominent
    try:
        import pypdfium2

        doc = pypdfium2.PdfDocument(data, password="")
    except Exception as exc:  # noqa: BLE001 - without a renderer every page keeps its text layer
        log.warning("%s: cannot render pages for OCR (%s)", source, exc)
        return done_pages, [p.number for p in todo], prominent
    todo_numbers = {p.number for p in todo}
    try:
        for k, page in enumerate(pages, start=1):
            if page.number in todo_numbers:
                scan = not page.lines and not page.tables  # no text layer: the OCR text is the whole page
                try:
                    raw, big = _ocr_page(doc, page.number - 1)
                    text = clean_text(raw).strip()
                    if scan and big:
                        prominent[page.number] = clean_text(big).strip()
                except Exception as exc:  # noqa: BLE001 - one page's OCR failure never fails the document
                    log.warning("%s p.%d: OCR failed (%s)", source, page.number, exc)
                    failed.append(page.number)
                    text = ""
                if text:
                    _merge_ocr(page, text)
                    done_pages.append(page.number)
            if progress:
                progress(k, total)
    finally:
        doc.close()
    return done_pages, failed, prominent


def _merge_ocr(page: PageContent, text: str) -> None:
    """OCR text into the page: it is the page on a scan; on a page with a text layer only what the layer lacks."""
    ocr = _plain_page(page.number, text, page.width, page.height)
    if not page.lines and not page.tables:
        page.lines = ocr.lines
        page.chars = ocr.chars
        return
    have = re.sub(r"\s+", "", "".join(ln.text for ln in page.lines)
                  + "".join(v for t in page.tables for r in t.rows for v in r))
    bottom = max([ln.bottom for ln in page.lines] + [t.top for t in page.tables] + [0.0])
    for ln in ocr.lines:
        if re.sub(r"\s+", "", ln.text) not in have:
            ln.top, ln.bottom = bottom + 20, bottom + 21
            bottom += 40
            page.lines.append(ln)
