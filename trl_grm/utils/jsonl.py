"""Append-only JSONL files that survive a crash: long jobs write finished work as they go and resume from it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any


def read_finished(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Records of every complete line in ``path`` (none if it does not exist).

    A torn last line (the process died mid-write) is cut off the file, so that appending continues cleanly.
    """
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        content = f.read()
    keep = content[: content.rfind(b"\n") + 1]
    if len(keep) != len(content):
        with open(path, "wb") as f:
            f.write(keep)
            f.flush()
            os.fsync(f.fileno())
    return [json.loads(line) for line in keep.decode("utf-8").splitlines() if line.strip()]


def append_records(path: str | os.PathLike, records: Iterable[dict[str, Any]]) -> None:
    """Append records as JSON lines and make them durable before returning."""
    with open(path, "a", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
