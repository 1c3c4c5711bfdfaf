"""`rag` command line: ingest, ask, serve, eval, docs. Thin: every command calls a service."""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import contextmanager
from typing import Any

from rag.settings import Settings, load_settings


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.settings)


@contextmanager
def _owner(settings: Settings):
    """In-process services, or the running server's HTTP API when a server owns the data directory."""
    from rag.container import Services
    from rag.lock import DataDirBusy

    try:
        services = Services(settings)
    except DataDirBusy as busy:
        url = busy.owner.get("url")
        if not url:
            raise SystemExit(f"error: {busy}") from None
        from rag.client import RemoteServices

        print(f"(the index is owned by the server at {url}; sending the work there)", file=sys.stderr)
        remote = RemoteServices(url)
        try:
            yield remote
        finally:
            remote.close()
        return
    try:
        yield services
    finally:
        services.close()


def _as_dict(obj: Any) -> dict:
    return obj if isinstance(obj, dict) else obj.to_dict()


def cmd_ingest(args: argparse.Namespace) -> int:
    with _owner(_settings(args)) as svc:
        report = _as_dict(svc.ingest_paths(args.paths, progress=not args.json))
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(f"added {len(report['added'])} document(s), {report['chunks']} chunk(s); "
              f"unchanged {report['unchanged']}; replaced/removed {len(report['removed'])}; "
              f"errors {len(report['errors'])}")
        for err in report["errors"]:
            print(f"  error: {err['error']}", file=sys.stderr)
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
    with _owner(_settings(args)) as svc:
        ans = _as_dict(svc.ask(args.question, args.top_k))
    if args.json:
        print(json.dumps(ans, ensure_ascii=False, indent=2))
    else:
        print_answer(ans)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from rag.app import create_app
    from rag.container import Services
    from rag.lock import DataDirBusy, write_owner

    settings = _settings(args)
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    try:
        services = Services(settings)
    except DataDirBusy as busy:
        raise SystemExit(f"error: {busy}") from None
    if args.ingest:
        report = services.ingest_paths(args.ingest, progress=True).to_dict()
        print(f"ingested {len(report['added'])} new document(s), {report['unchanged']} unchanged, "
              f"{len(report['errors'])} error(s)", file=sys.stderr)
    app = create_app(settings, services=services, ui=not args.no_ui)
    write_owner(services.data_dir, {"pid": os.getpid(), "url": f"http://{host}:{port}"})
    print(f"serving on http://{host}:{port}  (API docs /docs, chat /ui)", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level=args.log_level)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rag.services.evaluate import run_retrieval_eval

    settings = _settings(args)
    if args.fusion:
        settings.retrieval.fusion = args.fusion
    result = run_retrieval_eval(settings, args.dataset, limit=args.limit, progress=not args.json)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            print(f"{key:>10}: {value:.4f}" if isinstance(value, float) else f"{key:>10}: {value}")
    return 0


def _check_index(settings: Settings, repair: bool) -> dict:
    """Check (and with `repair`, mend) the index through its owner: in-process if free, else the server."""
    from rag.components.embedders import build_embedder
    from rag.lock import DataDirBusy, DataDirLock
    from rag.services.library import Library

    lock = DataDirLock(settings.data_dir)
    try:
        lock.acquire()
    except DataDirBusy as busy:
        if not busy.owner.get("url"):
            raise SystemExit(f"error: {busy}") from None
        return _check_remote(busy.owner["url"], repair)
    try:
        # Opened without the repair every other open does, so the check sees what a crash left.
        library = Library(settings.data_dir, build_embedder(settings.embedding), settings.vector_store, repair=False)
        try:
            return library.repair() if repair else library.check()
        finally:
            library.close()
    finally:
        lock.release()


def _check_remote(url: str, repair: bool) -> dict:
    import httpx

    print(f"(the index is owned by the server at {url}; checking there)", file=sys.stderr)
    resp = (httpx.post(f"{url}/documents/repair", timeout=600, trust_env=False) if repair
            else httpx.get(f"{url}/documents/check", timeout=600, trust_env=False))
    if resp.status_code >= 400:
        raise SystemExit(f"error: {url} answered {resp.status_code}: {resp.text[:300]}")
    return resp.json()


def cmd_docs(args: argparse.Namespace) -> int:
    if args.docs_cmd == "check":
        report = _check_index(_settings(args), args.repair)
        if args.json:
            print(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            for key, value in report.items():
                print(f"{key:>18}: {value}")
        if not report["consistent"]:
            print("error: the vector store, keyword index and registry disagree; run `rag docs check --repair`",
                  file=sys.stderr)
        return 0 if report["consistent"] else 1
    with _owner(_settings(args)) as svc:
        if args.docs_cmd == "list":
            docs = svc.list_documents()
            if args.json:
                print(json.dumps(docs, ensure_ascii=False, indent=2))
            else:
                for d in docs:
                    print(f"{d['doc_id']}  {d['n_chunks']:>4} chunks  {d['title'][:40]}  ({d['source']})")
                print(f"{len(docs)} document(s)")
            return 0
        ok = svc.delete_document(args.doc_id)
    if not ok:
        print(f"error: no document with id {args.doc_id!r}", file=sys.stderr)
        return 1
    print(f"deleted {args.doc_id}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rag", description="Cited answers over Chinese reports and news.")
    p.add_argument("--settings", help="settings YAML file (default: $RAG_SETTINGS or the shipped defaults)")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    s = sub.add_parser("ingest", help="add files and folders (recursively) to the index")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("ask", help="answer a question with citations, the model used and its cost")
    s.add_argument("question")
    s.add_argument("--top-k", type=int, default=None, help="passages to retrieve")
    s.add_argument("--json", action="store_true", help="print the answer as JSON")
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("serve", help="start the HTTP API (/ask, /docs) and the chat UI (/ui)")
    s.add_argument("--host", default=None)
    s.add_argument("--port", type=int, default=None)
    s.add_argument("--ingest", nargs="*", metavar="PATH", help="ingest these paths before serving")
    s.add_argument("--no-ui", action="store_true", help="do not mount the Gradio UI")
    s.add_argument("--log-level", default="info")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("eval", help="measure retrieval quality on a shared dataset")
    es = s.add_subparsers(dest="eval_cmd", required=True, metavar="KIND")
    r = es.add_parser("retrieval", help="hit@1/5/10 and MRR@10 on a throw-away index")
    r.add_argument("--dataset", default="cmrc2018", choices=["cmrc2018", "rgb"])
    r.add_argument("--limit", type=int, default=None, help="use only the first N questions")
    r.add_argument("--fusion", choices=["weighted", "rrf", "dense", "keyword"], default=None)
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.set_defaults(func=cmd_eval)

    s = sub.add_parser("docs", help="list, delete or check indexed documents")
    ds = s.add_subparsers(dest="docs_cmd", required=True, metavar="ACTION")
    d = ds.add_parser("list", help="list documents")
    d.add_argument("--json", action="store_true")
    d = ds.add_parser("delete", help="delete a document and its chunks")
    d.add_argument("doc_id")
    d = ds.add_parser("check", help="verify vectors, keyword index and registry agree (exit 1 if not)")
    d.add_argument("--json", action="store_true", help="print documents, chunks, duplicates, consistent as JSON")
    d.add_argument("--repair", action="store_true", help="mend what the check finds, then check again")
    s.set_defaults(func=cmd_docs)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
