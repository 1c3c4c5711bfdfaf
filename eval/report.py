"""`rag eval report`: one command runs the retrieval and answer evals and writes Markdown, PNG plots and JSON."""

from __future__ import annotations

import json
from pathlib import Path

from eval.metrics import RECALL_KS

#: columns of the retrieval table, in order
RETRIEVAL_COLUMNS = ("hit@1", "hit@5", "hit@10", "recall@5", "recall@10", "mrr@10", "ndcg@10", "query_ms_mean")
#: columns of the answers table
ANSWER_COLUMNS = ("accuracy", "citation_precision", "citation_recall", "false_refusal_rate", "refusal_accuracy",
                  "cost_per_100_cny", "latency_ms_mean")


def format_table(rows: dict[str, dict], columns: tuple[str, ...], markdown: bool = False) -> str:
    """A fixed-width terminal table (or a Markdown one) of one row per configuration."""
    header = ["configuration", *columns]
    body = [[name, *(_cell(r.get(c), c) for c in columns)] for name, r in rows.items()]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=True)]
    fmt = "  ".join(f"{{:<{widths[0]}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths)),
                      *(fmt.format(*row) for row in body)])


def _repo_relative(path: str | Path) -> str:
    """A path inside the checkout as `eval/data/…`: a committed report names no directory of the machine it ran on."""
    p = Path(path).resolve()
    root = Path(__file__).resolve().parents[1]
    return str(p.relative_to(root)) if p.is_relative_to(root) else str(path)


def _cell(v: object, column: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.1f}" if "_ms" in column else f"{v:.4f}"
    return str(v)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: Path) -> None:
    """Every plot is written the same way: tight layout, 110 dpi PNG, figure closed (Agg keeps no window)."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_metrics(retrieval: dict[str, dict], path: Path) -> None:
    """Grouped bars: MRR@10, hit@1 and nDCG@10 of each configuration, one panel per dataset."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(retrieval), figsize=(6 * len(retrieval), 4.2), squeeze=False)
    metrics = ("mrr@10", "hit@1", "ndcg@10")
    for ax, (dataset, result) in zip(axes[0], retrieval.items(), strict=True):
        configs = result["ablations"]
        names = list(configs)
        width = 0.8 / len(metrics)
        for j, m in enumerate(metrics):
            xs = [i + (j - 1) * width for i in range(len(names))]
            vals = [configs[n][m] for n in names]
            bars = ax.bar(xs, vals, width, label=m)
            ax.bar_label(bars, [f"{v:.3f}" for v in vals], fontsize=6, rotation=90, padding=2)
        ax.set_xticks(range(len(names)), [n.replace("default: ", "default\n") for n in names], fontsize=8)
        lo = min(configs[n][m] for n in names for m in metrics)
        ax.set_ylim(max(0.0, lo - 0.1), 1.02)
        ax.set_title(f"{dataset} (n={result['n']})")
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("retrieval quality per configuration")
    _save(plt, fig, path)


def plot_recall(retrieval: dict[str, dict], path: Path) -> None:
    """recall@k for k in RECALL_KS, one line per configuration, one panel per dataset."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(retrieval), figsize=(6 * len(retrieval), 4), squeeze=False)
    for ax, (dataset, result) in zip(axes[0], retrieval.items(), strict=True):
        for name, m in result["ablations"].items():
            ax.plot(RECALL_KS, [m[f"recall@{k}"] for k in RECALL_KS], marker="o", label=name)
        ax.set_xscale("log")
        ax.set_xticks(RECALL_KS, [str(k) for k in RECALL_KS])
        ax.set_xlabel("k")
        ax.set_ylabel("recall@k")
        ax.set_title(dataset)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    _save(plt, fig, path)


def plot_cost_accuracy(answers: dict, path: Path) -> None:
    """Answer accuracy against cost per 100 answers (CNY) and against latency, one point per configuration."""
    plt = _plt()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    configs = answers["ablations"]
    for i, (name, m) in enumerate(configs.items()):
        color = f"C{i}"
        ax.scatter(m["cost_per_100_cny"], m["accuracy"], s=40, color=color, label=name)
        ax2.scatter(m["latency_ms_mean"], m["accuracy"], s=40, color=color)
        ax2.annotate(name, (m["latency_ms_mean"], m["accuracy"]), fontsize=7, xytext=(5, 3 + 7 * (i % 3)),
                     textcoords="offset points")
    ax.set_xlabel("cost per 100 answers (CNY)")
    ax.set_ylabel("accuracy (answer contains a gold answer)")
    ax.set_xlim(-0.05, max(0.5, max(m["cost_per_100_cny"] for m in configs.values()) * 1.3))
    ax.set_title(f"{answers['dataset']}: accuracy vs cost ({answers['answerer']} answerer)")
    ax.legend(fontsize=7, loc="lower right")
    ax2.set_xlabel("mean latency per answer (ms, retrieval + answer)")
    ax2.set_title("accuracy vs latency")
    for a in (ax, ax2):
        a.grid(alpha=0.3)
    _save(plt, fig, path)


def plot_threshold(answers: dict, path: Path) -> None:
    """Refusal rate on negative-only questions against false-refusal rate, as the evidence threshold varies."""
    plt = _plt()
    curve = answers["threshold_curve"]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot([c["false_refusal_rate"] for c in curve], [c["refusal_rate"] for c in curve], marker=".")
    for c in curve[::5]:
        ax.annotate(f"{c['threshold']:.2f}", (c["false_refusal_rate"], c["refusal_rate"]), fontsize=7,
                    xytext=(4, -8), textcoords="offset points")
    chosen = min(curve, key=lambda c: abs(c["threshold"] - answers["min_evidence"]))
    ax.scatter([chosen["false_refusal_rate"]], [chosen["refusal_rate"]], color="red", zorder=3,
               label=f"default min_evidence {answers['min_evidence']}")
    ax.axvline(0.05, color="grey", linestyle="--", linewidth=0.8, label="5% false refusals")
    ax.set_xlabel("false-refusal rate (answerable questions)")
    ax.set_ylabel("refusal rate (negative-only questions)")
    ax.set_title(f"{answers['dataset']}: refusal vs false refusal by evidence threshold")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(plt, fig, path)


def build_report(settings, out_dir: Path, datasets: tuple[str, ...] = ("cmrc2018", "rgb"),
                 answers_dataset: str | None = "rgb", limit: int | None = None, progress: bool = True,
                 cache: bool = True, grounding_dataset: str | Path | None = None) -> dict:
    """Run every eval with ablations and write report.md, report.json and the PNG plots into `out_dir`."""
    from eval.evaluate import run_answer_eval, run_retrieval_eval

    out_dir.mkdir(parents=True, exist_ok=True)
    retrieval = {d: run_retrieval_eval(settings, d, limit=limit, progress=progress, ablations=True, cache=cache)
                 for d in datasets}
    answers = None
    if answers_dataset:
        answers = run_answer_eval(settings, answers_dataset, limit=limit, progress=progress, ablations=True,
                                  cache=cache)
    plots = {"metrics": "retrieval_metrics.png", "recall": "recall_at_k.png"}
    plot_metrics(retrieval, out_dir / plots["metrics"])
    plot_recall(retrieval, out_dir / plots["recall"])
    if answers:
        plots["cost"] = "cost_vs_accuracy.png"
        plot_cost_accuracy(answers, out_dir / plots["cost"])
        if "threshold_curve" in answers:
            plots["threshold"] = "refusal_threshold.png"
            plot_threshold(answers, out_dir / plots["threshold"])
    grounding = None
    if grounding_dataset is None:
        from eval.grounding_eval import DEFAULT_SET

        grounding_dataset = DEFAULT_SET if DEFAULT_SET.exists() else ""
    if grounding_dataset:
        from eval.grounding_eval import evaluate_grounding

        try:
            grounding = evaluate_grounding(grounding_dataset, limit=limit, settings=settings)
            grounding["dataset"] = _repo_relative(grounding["dataset"])
        except ValueError as exc:  # e.g. no paid cheap/strong provider configured to price the cascade
            grounding = None
            print(f"grounding eval skipped: {exc}")
        if grounding:
            plots["grounding"] = "grounding.png"
            plot_grounding(grounding, out_dir / plots["grounding"])
    report = {"retrieval": retrieval, "answers": answers, "grounding": grounding, "plots": plots}
    (out_dir / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    (out_dir / "report.md").write_text(_markdown(report), encoding="utf-8")
    return report


def plot_grounding(result: dict, path: Path) -> None:
    """Per style: share of answers the grounding check escalated (good styles: false escalations, bad: caught),
    and the cascade's cost per 1,000 answers against always using the strong tier."""
    plt = _plt()
    styles = result["styles"]
    names = sorted(styles, key=lambda k: (not styles[k]["good"], k))
    rates = [styles[k]["escalated"] / styles[k]["answers"] for k in names]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [3, 1]})
    ax.bar(range(len(names)), rates, color=["tab:green" if styles[k]["good"] else "tab:red" for k in names])
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("share escalated")
    ax.set_ylim(0, 1)
    ax.set_title("grounding check: escalated per style (green good: lower is better; red bad: higher)")
    c = result["cost"]
    ax2.bar(["cascade", f"always {c['strong']}"], [c["cascade_cny_per_1000"], c["strong_only_cny_per_1000"]],
            color=["tab:blue", "tab:gray"])
    ax2.set_ylabel("CNY per 1,000 answers")
    ax2.set_title(f"cost ({c['cheap']} -> {c['strong']})")
    _save(plt, fig, path)


def _markdown(report: dict) -> str:
    lines = ["# Evaluation report", ""]
    for dataset, r in report["retrieval"].items():
        cfg = r["configuration"]
        lines += [f"## Retrieval: {dataset} ({r['n']} questions, {r['corpus']} documents)", "",
                  f"Default configuration: `{cfg['name']}`, candidates {cfg['candidates']}, "
                  f"rerank {'on' if cfg['rerank'] else 'off'}; embedder {r['embedder'].get('model', '')} "
                  f"({r['embedder'].get('runtime', '')}); index built in {r['index_seconds']} s.", "",
                  format_table(r["ablations"], RETRIEVAL_COLUMNS, markdown=True), ""]
    lines += [f"![metric per configuration]({report['plots']['metrics']})", "",
              f"![recall@k]({report['plots']['recall']})", ""]
    a = report["answers"]
    if a:
        lines += [f"## Answers: {a['dataset']} ({a['n']} questions; {a['n_negative_only']} negative-only)", "",
                  f"Extractive answerer, at most {a['max_sentences']} sentences, refusal below evidence "
                  f"{a['min_evidence']}. Accuracy: the answer contains a gold answer. Citation precision: cited "
                  "chunks that contain a gold answer. Citation recall: answers that cite a gold-bearing chunk, "
                  "among answers whose retrieved chunks include one. Refusal accuracy: refusals when the question "
                  "sees only its same-topic negatives. False-refusal rate: refusals on answerable questions.", "",
                  format_table(a["ablations"], ANSWER_COLUMNS, markdown=True), "",
                  f"![cost vs accuracy]({report['plots']['cost']})", ""]
        if "threshold" in report["plots"]:
            lines += [f"![refusal threshold]({report['plots']['threshold']})", ""]
    g = report.get("grounding")
    if g:
        o, c = g["overall"], g["cost"]
        lines += [f"## Grounding check: {g['dataset']} ({o['answers']} answers, {g['questions']} questions)", "",
                  f"False escalation (good answers escalated): {100 * (o['false_escalation_rate'] or 0):.1f}%; "
                  f"misses (bad answers accepted): {100 * (o['miss_rate'] or 0):.1f}%. Cascade {c['cheap']} -> "
                  f"{c['strong']}: {c['cascade_cny_per_1000']} CNY per 1,000 answers against "
                  f"{c['strong_only_cny_per_1000']} always using {c['strong']}.", "",
                  f"![grounding]({report['plots']['grounding']})", ""]
    return "\n".join(lines)


__all__ = ["ANSWER_COLUMNS", "RETRIEVAL_COLUMNS", "build_report", "format_table"]
