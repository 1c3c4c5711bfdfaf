"""`rag bench`: the project's ingest and queries beside plain llama-index and the embedding lower bound."""

from eval.bench.run import BenchConfig, run_bench

__all__ = ["BenchConfig", "run_bench"]
