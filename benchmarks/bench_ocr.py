"""OCR speed: pages per second through `ingest.ocr.ocr_image` beside the bare RapidOCR engine call (the baseline).

Why: scanned PDF pages and image files go through OCR, by far the slowest reader; this prints the engine's own time
and what the reading-order step (columns, paragraphs) adds, per page, median of N runs, in one run. The engine
dominates and its time swings with the machine's load; `layout ms` is the reading-order step alone.
Pages: the shared real scans when present (`rapidocrpdf_image.pdf` rendered at 150 dpi with pypdfium2,
`ocr_test.jpg`), plus a generated A4 page of dense two-column text.

    nice -n 10 .venv/bin/python benchmarks/bench_ocr.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REAL = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "real_docs"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def generated_page():
    """An A4 page at 150 dpi (1240x1754) with two columns of 40 text lines each."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (1240, 1754), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 20) if Path(FONT).exists() else ImageFont.load_default(20)
    words = "battery storage price fell sharply while shipments grew across regions in the quarter".split()
    for col, x in enumerate((80, 660)):
        for i in range(40):
            line = " ".join(words[(i + j + col) % len(words)] for j in range(6))
            draw.text((x, 100 + i * 38), f"{line} {i + 100 * col}", font=font, fill="black")
    return img


def pages() -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = [("generated A4, two columns", generated_page())]
    scan = REAL / "rapidocrpdf_image.pdf"
    if scan.exists():
        import pypdfium2

        pdf = pypdfium2.PdfDocument(str(scan))
        for i in range(len(pdf)):
            out.append((f"{scan.name} p.{i + 1} (150 dpi)", pdf[i].render(scale=150 / 72).to_pil().convert("RGB")))
    jpg = REAL / "ocr_test.jpg"
    if jpg.exists():
        from PIL import Image

        out.append((jpg.name, Image.open(jpg).convert("RGB")))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3, help="timed runs per page; medians are reported")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    import numpy as np

    from ingest import ocr

    t0 = time.perf_counter()
    engine = ocr._get_engine()
    load_s = time.perf_counter() - t0
    rows = []
    for name, img in pages():
        array = np.ascontiguousarray(np.asarray(img)[:, :, ::-1])
        engine(array)  # warm-up
        base = [_timed(lambda a=array: engine(a)) for _ in range(args.runs)]
        ours = [_timed(lambda i=img: ocr.ocr_image(i)) for _ in range(args.runs)]
        boxes = ocr.ocr_boxes(img)
        layout = [_timed(lambda b=boxes: ocr.layout_text(b)) for _ in range(max(args.runs, 5))]
        text = ocr.layout_text(boxes)
        rows.append({"page": name, "size": f"{img.width}x{img.height}", "boxes": len(boxes), "chars": len(text),
                     "engine_s": round(statistics.median(base), 3), "ocr_image_s": round(statistics.median(ours), 3),
                     "layout_ms": round(1000 * statistics.median(layout), 2),
                     "ratio": round(statistics.median(ours) / statistics.median(base), 3)})
    total_base = sum(r["engine_s"] for r in rows)
    total_ours = sum(r["ocr_image_s"] for r in rows)
    result = {"engine_load_s": round(load_s, 3), "runs": args.runs, "loadavg": round(os.getloadavg()[0], 2),
              "pages": rows, "pages_per_s_engine": round(len(rows) / total_base, 3),
              "pages_per_s_ocr_image": round(len(rows) / total_ours, 3)}
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(f"engine load {result['engine_load_s']} s; {args.runs} runs per page, medians; "
          f"load average {result['loadavg']}")
    print(f"{'page':40} {'size':>10} {'boxes':>6} {'chars':>6} {'engine s':>9} {'ocr_image s':>12} {'ratio':>6} "
          f"{'layout ms':>10}")
    for r in rows:
        print(f"{r['page'][:40]:40} {r['size']:>10} {r['boxes']:>6} {r['chars']:>6} {r['engine_s']:>9} "
              f"{r['ocr_image_s']:>12} {r['ratio']:>6} {r['layout_ms']:>10}")
    print(f"pages per second: engine (baseline) {result['pages_per_s_engine']}, "
          f"ocr_image (engine + reading order) {result['pages_per_s_ocr_image']}")
    return 0


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    raise SystemExit(main())
