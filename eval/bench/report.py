"""The benchmark's one table: absolute figures per pipeline and the ratios the issue's targets use."""

from __future__ import annotations


def _f(x: float | None, fmt: str = "{:.2f}") -> str:
    return "—" if x is None else fmt.format(x)


def format_table(r: dict) -> str:
    """A Markdown table (pastes into an issue as is) plus a line on what was proxied."""
    li = "llamaindex_ingest_s" in r
    g = r.get
    rows = [
        ("ingest wall (s)", _f(r["ingest_s"]), _f(g("llamaindex_ingest_s")), _f(r["embed_lower_bound_s"]),
         _f(g("ingest_vs_llamaindex"), "{:.3f}×"), _f(r["ingest_vs_lower_bound"], "{:.3f}×")),
        ("ingest CPU (s, all threads)", _f(r["ingest_cpu_s"]), _f(g("llamaindex_ingest_cpu_s")),
         _f(r["embed_lower_bound_cpu_s"]),
         _f(r["ingest_cpu_s"] / r["llamaindex_ingest_cpu_s"], "{:.3f}×") if li else "—",
         _f(r["ingest_cpu_vs_lower_bound"], "{:.3f}×")),
        ("docs/s", _f(r["docs"] / r["ingest_s"], "{:.1f}"),
         _f(r["docs"] / r["llamaindex_ingest_s"], "{:.1f}") if li else "—",
         _f(r["docs"] / r["embed_lower_bound_s"], "{:.1f}"), "", ""),
        ("chunks/s", _f(r["chunks"] / r["ingest_s"], "{:.1f}"),
         _f(g("llamaindex_chunks", 0) / r["llamaindex_ingest_s"], "{:.1f}") if li else "—",
         _f(r["chunks"] / r["embed_lower_bound_s"], "{:.1f}"), "", ""),
        ("peak RSS (MB)", _f(r["peak_rss_mb"], "{:.0f}"), _f(g("llamaindex_peak_rss_mb"), "{:.0f}"),
         _f(r["lower_bound_peak_rss_mb"], "{:.0f}"), "", ""),
        ("index on disk (MB)", _f(r["index_bytes"] / 2**20), _f(g("llamaindex_index_bytes", 0) / 2**20) if li else "—",
         f"raw {r['raw_vectors_text_bytes'] / 2**20:.2f}", "", _f(r["index_vs_raw"], "{:.2f}× raw")),
        ("re-ingest unchanged (s)", _f(r["reingest_s"], "{:.3f}"), "—", "", "",
         _f(100 * r["reingest_share"], "{:.2f}% of ingest")),
    ]
    for kind, key in (("retrieval", "retrieval"), ("retrieval + answer", "query")):
        for p in ("p50", "p95", "p99"):
            lp = g(f"llamaindex_query_{p}_ms")
            ours = r[f"{key}_{p}_ms"]
            rows.append((f"query {kind} {p} (ms)", _f(ours, "{:.1f}"),
                         _f(lp, "{:.1f}") if kind == "retrieval" else "—", "",
                         _f(ours / lp, "{:.2f}×") if lp and kind == "retrieval" else "", ""))
    rows.append(("first query after ingest (ms)", _f(r["first_query_ms"], "{:.0f}"),
                 _f(g("llamaindex_first_query_ms"), "{:.0f}"), "", "", ""))
    if "reopen_s" in r:
        rows.append(("open in a new process (s)", _f(r["reopen_s"]), "—", "", "", ""))
        rows.append(("first / second question after open (ms)",
                     f"{r['first_query_after_open_ms']:.0f} / {r['second_query_after_open_ms']:.0f}", "—", "", "", ""))
    rows.append(("cold start to first answer (s)", f"{r['cold_start_s']:.2f} (CPU {r['cold_start_cpu_s']:.2f})",
                 "—", "", "", ""))
    for key in sorted(k for k in r if k.startswith("cold_start_") and k.endswith("_cpu_s") and k != "cold_start_cpu_s"):
        runtime = key[len("cold_start_"):-len("_cpu_s")]
        rows.append((f"cold start, {runtime} runtime (s)",
                     f"{r[f'cold_start_{runtime}_s']:.2f} (CPU {r[key]:.2f})", "—", "", "", ""))
    head = ("| measure | project | plain llama-index | embed lower bound | project / llama-index | "
            "project / lower bound |")
    lines = [head, "| --- | ---: | ---: | ---: | ---: | ---: |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    note = (f"{r['docs']} documents, {r['chunks']} chunks (llama-index: {g('llamaindex_chunks', '—')} nodes), "
            f"{r['queries']} questions, median of {r['repeats']} run(s), {r['cpus']} CPUs, "
            f"embedder {r.get('embedder', '?')}, load average {r.get('loadavg_start', '?')} at start, "
            f"{r.get('loadavg_end', '?')} at end.")
    if r["proxy_passage_vectors"]:
        note += (" PROXY: passage vectors are hash-seeded random vectors of the real dimension (ingest and lower "
                 "bound figures exclude real passage embedding); query embedding is the real model.")
    return "\n".join(lines) + "\n\n" + note
