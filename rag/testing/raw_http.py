"""A raw HTTP/1.1 request over a socket that stops sending once the server answers.

httpx and the test client send a whole body before reading, so they cannot show how many bytes a server took
before it refused a padded or endless body; the body-limit tests and `benchmarks/body_limit_probe.py` need that.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class RawReply:
    answer: bytes  # the response as received (status line, headers, body)
    sent: int  # body bytes sent before the answer came
    seconds: float

    @property
    def status(self) -> int:
        return int(self.answer.split(b" ", 2)[1]) if self.answer.startswith(b"HTTP/1.1") else 0


def send_raw(port: int, head: bytes, chunks: Iterable[bytes], timeout: float = 20.0, poll: float = 0.05) -> RawReply:
    """Send `head`, then `chunks` one by one until the server answers (checked every `poll` s); read the answer."""
    started = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sent, answer = 0, b""
    try:
        sock.sendall(head)
        sock.settimeout(poll)
        for chunk in chunks:
            try:
                answer += sock.recv(65536)
            except (TimeoutError, BlockingIOError):
                pass
            if answer:
                break
            try:
                sock.sendall(chunk)
            except OSError:  # the server closed the connection while refusing the body
                break
            sent += len(chunk)
        sock.settimeout(timeout)
        while b"\r\n\r\n" not in answer:
            try:
                part = sock.recv(65536)
            except OSError:
                break
            if not part:
                break
            answer += part
    finally:
        sock.close()
    return RawReply(answer, sent, time.monotonic() - started)
