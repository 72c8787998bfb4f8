"""Append-only JSONL files that survive a crash: long jobs write finished work as they go and resume from it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
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


def read_text(path: str | os.PathLike) -> str:
    """A UTF-8 text file; a file in another encoding is a ``ValueError`` naming the file, line and column."""
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        column = err.start - raw.rfind(b"\n", 0, err.start)
        raise ValueError(
            f"{path}, line {line}, column {column}: not UTF-8 text (byte 0x{raw[err.start]:02x}); save it as UTF-8"
        ) from None


def parse_json_or_jsonl(text: str, source: str) -> tuple[Any, bool]:
    """A JSON document, or JSON lines when the text is not one document but its first line is JSON on its own.

    Returns the data and whether it was JSON lines. Syntax errors name ``source`` and the real line and column.
    """
    if not text.strip():
        raise ValueError(f"{source} is empty")
    try:
        return json.loads(text), False
    except json.JSONDecodeError as whole:
        first = next(line for line in text.splitlines() if line.strip())
        try:
            json.loads(first)
        except json.JSONDecodeError:  # not JSON lines either: report where the JSON document breaks
            raise ValueError(
                f"{source}: invalid JSON at line {whole.lineno}, column {whole.colno}: {whole.msg}"
            ) from None
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(
                    f"{source}: line {number} is not valid JSON (column {err.colno}: {err.msg})"
                ) from None
    return rows, True


class SettingsMismatch(ValueError):
    """A resumable output holds results made with other settings."""


def check_run_settings(
    directory: str | os.PathLike, settings: dict[str, Any], file_name: str = "settings.json"
) -> None:
    """Guard of a resumable output directory: the first run writes ``settings`` to ``directory/file_name``; a later
    run continues only with equal settings, else a ``ValueError`` names the settings that differ."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, file_name)
    wanted = json.loads(json.dumps(settings))  # as it reads back from the file
    if not os.path.exists(path):
        with open(path, "w") as f:
            json.dump(wanted, f, indent=2)
        return
    with open(path) as f:
        found = json.load(f)
    if found != wanted:
        changed = sorted(k for k in set(found) | set(wanted) if found.get(k) != wanted.get(k))
        detail = ", ".join(f"{k}: {found.get(k)!r} there, {wanted.get(k)!r} now" for k in changed[:4])
        raise SettingsMismatch(
            f"{directory} holds results made with other settings ({detail}); use another output directory or "
            "the same settings to resume"
        )
