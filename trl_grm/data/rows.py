"""Where preference rows come from: a ``datasets.Dataset``, a ``.jsonl`` / ``.json`` file (rows, or a dict of
equal-length columns) or any iterable of dicts; syntax errors name the file, the row and the line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from ..utils.jsonl import parse_json_or_jsonl, read_text


def _read_json_file(path: Path) -> tuple[Iterator[Any], list[str] | None]:
    name = path.name.lower()
    if name.endswith(".jsonl"):

        def lines() -> Iterator[Any]:
            row = 0
            for lineno, line in enumerate(
                read_text(path).split("\n"), start=1
            ):  # not splitlines: JSON may hold U+2028
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as error:
                    raise ValueError(f"Row {row} ({path}, line {lineno}): invalid JSON ({error})") from None
                row += 1

        return lines(), None
    if name.endswith(".json"):
        data, _ = parse_json_or_jsonl(read_text(path), str(path))
        if isinstance(data, Mapping) and data and all(isinstance(v, list) for v in data.values()):
            lengths = {len(v) for v in data.values()}
            if len(lengths) != 1:
                raise ValueError(f"{path}: columns have different lengths {sorted(lengths)}")
            keys = list(data)
            data = [dict(zip(keys, values)) for values in zip(*data.values())]
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a JSON list of rows or a dict of equal-length columns")
        return iter(data), None
    raise ValueError(
        f"Unsupported file {path}: expected .jsonl or .json (load other files with datasets and pass the Dataset)"
    )


def open_rows(source: Any) -> tuple[Iterator[Any], list[str] | None]:
    """Rows of ``source`` and its column names when known up front."""
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a dependency
        datasets = None
    if datasets is not None:
        if isinstance(source, (datasets.DatasetDict, datasets.IterableDatasetDict)):
            raise TypeError(f"Got a DatasetDict with splits {list(source)}; pass one split, e.g. data['train']")
        if isinstance(source, (datasets.Dataset, datasets.IterableDataset)):
            return iter(source), list(source.column_names or []) or None
    if isinstance(source, (str, PathLike)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"No such preference data file: {path}")
        return _read_json_file(path)
    if isinstance(source, Mapping):
        raise TypeError("Pass a list of rows (dicts), a datasets.Dataset or a path, not a single dict")
    if isinstance(source, Iterable):
        return iter(source), None
    raise TypeError(f"Unsupported preference data source of type {type(source).__name__}")
