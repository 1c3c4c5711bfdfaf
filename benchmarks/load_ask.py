"""Load on `/ask`: N concurrent clients for a fixed time (and at most a fixed number of requests).

    python benchmarks/load_ask.py --serve                 # starts `rag serve` (hash embedder, seeds) itself
    python benchmarks/load_ask.py --url http://127.0.0.1:8000 --clients 50 --seconds 60

Prints requests served, failures by kind (5xx, other status, transport errors), throughput and latency
percentiles, and one JSON line at the end; exits 1 when any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "字节跳动豆包主力模型的企业市场定价是多少？",
    "豆包大模型的价格比行业便宜多少？",
    "火山引擎发布了什么？",
    "大模型价格战是谁发起的？",
    "豆包通用模型pro的上下文长度是多少？",
]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def client(http: httpx.AsyncClient, n: int, stop_at: float, budget: list[int], latencies: list[float],
                 outcomes: Counter) -> None:
    i = n
    while time.monotonic() < stop_at and budget[0] > 0:
        budget[0] -= 1
        started = time.perf_counter()
        try:
            resp = await http.post("/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
            status = resp.status_code
        except httpx.HTTPError as exc:
            outcomes[f"error {type(exc).__name__}"] += 1
            continue
        finally:
            i += 1
        latencies.append(time.perf_counter() - started)
        outcomes["5xx" if status >= 500 else str(status)] += 1


async def run(url: str, clients: int, seconds: float, max_requests: int, api_key: str | None) -> dict:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: list[float] = []
    outcomes: Counter = Counter()
    budget = [max_requests]
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits, headers=headers, trust_env=False) as http:
        started = time.monotonic()
        await asyncio.gather(*(client(http, n, started + seconds, budget, latencies, outcomes)
                               for n in range(clients)))
        elapsed = time.monotonic() - started
    served = outcomes.get("200", 0)
    failed = sum(v for k, v in outcomes.items() if k != "200")
    return {"url": url, "clients": clients, "seconds": round(elapsed, 1), "requests": sum(outcomes.values()),
            "served": served, "failed": failed, "outcomes": dict(outcomes),
            "throughput_rps": round(sum(outcomes.values()) / elapsed, 1),
            "p50_ms": round(percentile(latencies, 50) * 1000, 1), "p95_ms": round(percentile(latencies, 95) * 1000, 1),
            "p99_ms": round(percentile(latencies, 99) * 1000, 1),
            "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else None}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(embedder: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    """`rag serve` on a free loopback port over the seeds, without a per-client rate limit (one client here)."""
    cfg = yaml.safe_load((ROOT / "rag" / "default_settings.yaml").read_text(encoding="utf-8"))
    cfg["embedding"]["backend"] = embedder
    cfg["server"]["rate_limit_per_minute"] = None
    settings = workdir / "settings.yaml"
    settings.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    env = dict(os.environ, RAG_SETTINGS=str(settings), RAG_DATA_DIR=str(workdir / "data"), PYTHONPATH=str(ROOT))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--no-ui", "--ingest",
                             str(ROOT / "seeds"), "--log-level", "warning"], env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2, trust_env=False).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("the server did not start")
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", help="a running server (default: start one with --serve)")
    p.add_argument("--serve", action="store_true", help="start `rag serve` over seeds/ on a free port")
    p.add_argument("--embedder", default="hash", help="embedding.backend of the started server")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--max-requests", type=int, default=20000, help="stop after this many requests in all")
    p.add_argument("--api-key", default=os.environ.get("RAG_LOAD_API_KEY"))
    args = p.parse_args(argv)
    if not args.url and not args.serve:
        p.error("give --url or --serve")
    proc = None
    with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp:
        url = args.url
        if args.serve:
            proc, url = start_server(args.embedder, Path(tmp))
        try:
            result = asyncio.run(run(url, args.clients, args.seconds, args.max_requests, args.api_key))
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
    print(f"{result['requests']} requests in {result['seconds']} s from {result['clients']} clients "
          f"({result['throughput_rps']}/s): served {result['served']}, failed {result['failed']} "
          f"{result['outcomes']}; p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms",
          file=sys.stderr)
    print(json.dumps(result, ensure_ascii=False))
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
