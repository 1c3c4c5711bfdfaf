"""One owner per data directory: Chroma's embedded client corrupts its index if two processes open it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from filelock import FileLock, Timeout

from rag.errors import RagError

LOCK_NAME = ".owner.lock"
OWNER_NAME = "owner.json"


class DataDirBusy(RagError):
    """Another process owns the data directory; `owner` says who (pid, and url when it serves)."""

    code = "data_dir_busy"
    status = 409

    def __init__(self, data_dir: Path, owner: dict) -> None:
        self.data_dir = data_dir
        self.owner = owner
        who = f"process {owner.get('pid', '?')}"
        if owner.get("url"):
            who += f" serving {owner['url']}"
        super().__init__(
            f"the index in {data_dir} is in use by {who}; Chroma's embedded mode cannot be opened by two "
            "processes at once", hint="stop that process, or set RAG_DATA_DIR to another directory")


class DataDirLock:
    """An exclusive, non-blocking lock held for the life of the owning process."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(data_dir / LOCK_NAME), thread_local=False)

    def acquire(self) -> None:
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise DataDirBusy(self.data_dir, read_owner(self.data_dir)) from None
        write_owner(self.data_dir, {"pid": os.getpid()})

    def release(self) -> None:
        if self._lock.is_locked:
            (self.data_dir / OWNER_NAME).unlink(missing_ok=True)
            self._lock.release()


def read_owner(data_dir: Path) -> dict:
    try:
        return json.loads((data_dir / OWNER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_owner(data_dir: Path, info: dict) -> None:
    tmp = data_dir / (OWNER_NAME + ".tmp")
    tmp.write_text(json.dumps(info), encoding="utf-8")
    tmp.replace(data_dir / OWNER_NAME)
