"""PDF reading speed, old beside new in one run: text-layer pages per second, and OCR pages per second.

old = pypdf's `extract_text` per page (the reader before issue 13); new = `ingest.pdf.read_pdf` with OCR off (pdfplumber
layout, tables, running headers, paragraphs). OCR = pypdfium2 render + `ingest.ocr.ocr_image` on pages without a text
layer. Files default to ../shared/datasets/real_docs (the text-layer PDFs and the scans); each is read `--repeat`
times and the median is reported.

    python benchmarks/bench_pdf_reader.py [--repeat 3] [--files a.pdf b.pdf] [--scans s.pdf] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REAL = ROOT.parent / "shared" / "datasets" / "real_docs"
TEXT_PDFS = ["sifang_2019_annual_report.pdf", "ecust_student_handbook_2023.pdf", "ecust_college_english_plan.pdf",
             "langchain.pdf"]
SCANS = ["rapidocrpdf_image.pdf", "rapidocrpdf_direct_and_image.pdf"]


def old_reader(data: bytes) -> int:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    for page in reader.pages:
        page.extract_text()
    return len(reader.pages)


def new_reader(data: bytes) -> int:
    from ingest.options import ReadOptions
    from ingest.pdf import read_pdf

    doc = read_pdf(data, "bench.pdf", ReadOptions(ocr="off"))[0]
    return int(doc.metadata["pages"])


def _median_seconds(fn, data: bytes, repeat: int) -> tuple[float, int]:
    times, pages = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        pages = fn(data)
        times.append(time.perf_counter() - t)
    return statistics.median(times), pages


def ocr_pages(data: bytes) -> tuple[float, int]:
    """Seconds spent on render + OCR of the pages without a text layer, and how many there were."""
    import pdfplumber
    import pypdfium2

    from ingest.ocr import ocr_image
    from ingest.pdf import OCR_SCALE

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        todo = [i for i, p in enumerate(pdf.pages) if not p.chars]
    doc = pypdfium2.PdfDocument(data)
    t = time.perf_counter()
    for i in todo:
        ocr_image(doc[i].render(scale=OCR_SCALE).to_pil())
    doc.close()
    return time.perf_counter() - t, len(todo)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", nargs="*", default=None, help="text-layer PDFs (default: real_docs)")
    ap.add_argument("--scans", nargs="*", default=None, help="PDFs with scanned pages (default: real_docs)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    files = [Path(f) for f in args.files] if args.files is not None else [REAL / f for f in TEXT_PDFS]
    scans = [Path(f) for f in args.scans] if args.scans is not None else [REAL / f for f in SCANS]
    missing = [str(f) for f in files + scans if not f.exists()]
    if missing:
        raise SystemExit(f"not found: {', '.join(missing)} (../shared/datasets/real_docs absent? pass --files)")
    rows = []
    for f in files:
        data = f.read_bytes()
        new_reader(data)  # warm imports and caches once
        old_s, pages = _median_seconds(old_reader, data, args.repeat)
        new_s, _ = _median_seconds(new_reader, data, args.repeat)
        rows.append({"file": f.name, "pages": pages, "old_s_per_page": round(old_s / pages, 4),
                     "new_s_per_page": round(new_s / pages, 4), "old_pages_per_s": round(pages / old_s, 1),
                     "new_pages_per_s": round(pages / new_s, 1), "new_over_old": round(new_s / old_s, 2)})
    ocr = []
    if scans:
        from PIL import Image

        from ingest.ocr import ocr_image

        ocr_image(Image.new("RGB", (64, 64), "white"))  # load the models outside the timing
    for f in scans:
        secs, n = ocr_pages(f.read_bytes())
        if n:
            ocr.append({"file": f.name, "ocr_pages": n, "s_per_page": round(secs / n, 2),
                        "pages_per_s": round(n / secs, 3)})
    total_pages = sum(r["pages"] for r in rows)
    summary = {
        "text_pages": total_pages,
        "old_s_per_page_overall": round(sum(r["old_s_per_page"] * r["pages"] for r in rows) / max(total_pages, 1), 4),
        "new_s_per_page_overall": round(sum(r["new_s_per_page"] * r["pages"] for r in rows) / max(total_pages, 1), 4),
        "new_s_per_page_median_file": statistics.median(r["new_s_per_page"] for r in rows) if rows else None,
        "ocr_s_per_page_median": statistics.median(o["s_per_page"] for o in ocr) if ocr else None,
    }
    if args.json:
        print(json.dumps({"text": rows, "ocr": ocr, "summary": summary}, ensure_ascii=False))
        return 0
    print(f"{'file':<36}{'pages':>6}{'old s/page':>12}{'new s/page':>12}{'old p/s':>9}{'new p/s':>9}{'new/old':>9}")
    for r in rows:
        print(f"{r['file']:<36}{r['pages']:>6}{r['old_s_per_page']:>12}{r['new_s_per_page']:>12}"
              f"{r['old_pages_per_s']:>9}{r['new_pages_per_s']:>9}{r['new_over_old']:>9}")
    for o in ocr:
        print(f"OCR {o['file']:<32}{o['ocr_pages']:>6} pages  {o['s_per_page']} s/page  {o['pages_per_s']} pages/s")
    print("summary: " + ", ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
