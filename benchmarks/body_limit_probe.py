"""FastAPI's built-in `max_body_size` beside rag/api/body_limit.py, against the body-limit bypasses of issue 16.

Why: the issue asks whether FastAPI's own limit would serve. One small app (a JSON route and a mounted Gradio
page with its upload route), served twice: once with `FastAPI(max_body_size=LIMIT)`, once with
`BodyLimitMiddleware`; each case is sent over a raw socket and the table shows the status, how many bytes
the server took before answering, and the seconds it took.

    .venv/bin/python benchmarks/body_limit_probe.py
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gradio as gr  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402

from rag.api.body_limit import BodyLimitMiddleware, BodyLimits  # noqa: E402
from rag.testing.raw_http import send_raw  # noqa: E402
from rag.testing.uvicorn_thread import UvicornThread  # noqa: E402

LIMIT = 64 * 1024
BIG = 32 * 2**20


def build(builtin: bool) -> FastAPI:
    app = FastAPI(max_body_size=LIMIT) if builtin else FastAPI()

    @app.post("/ask")
    async def ask(request: Request) -> dict:
        body = await request.body()
        return {"read": len(body)}

    with gr.Blocks() as blocks:
        gr.File()
    app = gr.mount_gradio_app(app, blocks, path="/ui")
    if not builtin:
        app.add_middleware(BodyLimitMiddleware, limits=BodyLimits(upload=LIMIT, other=LIMIT))
    return app


def send(port: int, head: bytes, chunks: Iterator[bytes]) -> tuple[int, int, float]:
    """(status, body bytes sent before the answer came, seconds)."""
    reply = send_raw(port, head, chunks, timeout=60, poll=0.02)
    return reply.status, reply.sent, reply.seconds


def body(n: int, chunked: bool = False) -> Iterator[bytes]:
    piece = b"x" * 65536
    for _ in range(n // len(piece)):
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece


def multipart(n: int) -> tuple[str, Iterator[bytes]]:
    boundary = "probe-boundary"

    def gen() -> Iterator[bytes]:
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.txt\"\r\n"
               "Content-Type: text/plain\r\n\r\n").encode()
        yield from body(n)
        yield f"\r\n--{boundary}--\r\n".encode()

    return f"multipart/form-data; boundary={boundary}", gen()


def head(path: str, *headers: str) -> bytes:
    return ("\r\n".join([f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *headers]) + "\r\n\r\n").encode()


def cases() -> list[tuple[str, bytes, Iterator[bytes]]]:
    ctype, parts = multipart(BIG)
    return [
        ("JSON, Content-Length exact", head("/ask", "Content-Type: application/json", f"Content-Length: {BIG}"),
         body(BIG)),
        ("JSON, Content-Length 'N ' (space)", head("/ask", "Content-Type: application/json",
                                                   f"Content-Length: {BIG} "), body(BIG)),
        ("JSON, Content-Length 'N\\t' (tab)", head("/ask", "Content-Type: application/json",
                                                  f"Content-Length: {BIG}\t"), body(BIG)),
        ("JSON, chunked", head("/ask", "Content-Type: application/json", "Transfer-Encoding: chunked"),
         body(BIG, chunked=True)),
        ("Gradio upload, 32 MB multipart", head("/ui/gradio_api/upload", f"Content-Type: {ctype}",
                                                "Transfer-Encoding: chunked"),
         (f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts)),
    ]


def main() -> int:
    print(f"limit {LIMIT // 1024} KB, bodies of {BIG // 2**20} MB")
    print(f"{'case':38} {'FastAPI max_body_size':>28} {'BodyLimitMiddleware':>28}")
    results: dict[bool, list[tuple[int, int, float]]] = {}
    for builtin in (True, False):
        with UvicornThread(build(builtin)) as srv:
            results[builtin] = [send(srv.port, h, c) for _, h, c in cases()]
    for i, (name, _, _) in enumerate(cases()):
        cells = [f"{s} after {sent / 2**20:5.1f} MB {secs:5.2f} s" for s, sent, secs in
                 (results[True][i], results[False][i])]
        print(f"{name:38} {cells[0]:>28} {cells[1]:>28}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
