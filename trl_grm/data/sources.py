"""Where a training stage's data comes from: a preference file, a Hub dataset or the synthetic tasks, and the rows
one stage writes for the next (``train.jsonl``)."""

from __future__ import annotations

import json
import os
from typing import Any

from ..utils.errors import UsageError

SYNTHETIC = "synthetic"
STAGE_DATA_FILE = "train.jsonl"  # what build-rft-data / build-meta-data write for the next stage


def data_source(args: Any) -> Any:
    """What :func:`~trl_grm.data.formats.load_preference_data` reads for ``args`` (the stage commands'
    ``GRMScriptArguments``: ``dataset_name``, ``synthetic_*``, ...): a local file, a Hub split (a clear
    error offline), or the synthetic tasks as a ``datasets.Dataset``."""
    if not args.dataset_name:
        raise UsageError("Give --dataset_name: a JSON/JSONL file, a Hub dataset id, or 'synthetic'")
    if args.dataset_name == SYNTHETIC:
        tasks, count = synthetic_tasks(args)
        if tasks.mixed:
            raise UsageError(
                "--synthetic_single_fraction mixes rating rows with pairs, which only build-rft-data and "
                "build-meta-data read; give this stage --synthetic_single_fraction 0"
            )
        return tasks.to_dataset(count)
    source = args.dataset_name
    if os.path.exists(source):
        return source
    if source.endswith((".json", ".jsonl")) or source.startswith((".", "/", "~")):
        raise FileNotFoundError(f"--dataset_name: no such file: {source}")
    from datasets import load_dataset

    try:
        return load_dataset(source, args.dataset_config, split=args.dataset_train_split)
    except Exception as err:  # noqa: BLE001 - offline or unknown id: say what to do instead
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UsageError(
            f"--dataset_name {source!r} is neither a local file nor a loadable Hub dataset ({first}); offline, give "
            "a local JSON/JSONL file in the same schema"
        ) from None


def synthetic_tasks(args: Any):
    """The synthetic stream of ``args`` (``synthetic_*``) and how many of its examples the stage uses."""
    from ..data.synthetic import FAMILIES, STYLES, SyntheticTasks

    families = getattr(args, "synthetic_families", None)
    if families is not None:
        unknown = sorted(set(families) - set(FAMILIES))
        if unknown or not families:
            raise UsageError(f"--synthetic_families: unknown {unknown or 'none given'}; the families: {FAMILIES}")
    style = getattr(args, "synthetic_style", "templates")
    if style not in STYLES:
        raise UsageError(f"--synthetic_style: unknown {style!r}; the styles: {sorted(STYLES)}")
    single = getattr(args, "synthetic_single_fraction", 0.0)
    if not 0.0 <= single <= 1.0:
        raise UsageError(f"--synthetic_single_fraction must be in [0, 1], got {single}")
    tasks = SyntheticTasks(
        seed=args.synthetic_seed,
        families=families,
        num_responses=args.synthetic_num_responses,
        difficulty=args.synthetic_difficulty,
        style=style,
        single_fraction=single,
    )
    count = args.synthetic_num_examples
    if getattr(args, "max_examples", None) is not None:
        count = min(count, args.max_examples)
    return tasks, count


def load_examples(args: Any, seed: int = 0) -> list:
    """The labelled examples of ``args`` (:class:`~trl_grm.data.formats.LabeledInput`)."""
    from ..data.formats import load_preference_data

    if args.dataset_name == SYNTHETIC:
        tasks, count = synthetic_tasks(args)
        if tasks.mixed:  # rating rows and pairs side by side: the examples themselves, no table in between
            return tasks.generate(count)

    examples, report = load_preference_data(data_source(args), seed=seed, limit=args.max_examples)
    if not examples:
        raise UsageError(f"--dataset_name {args.dataset_name}: no usable example ({report.as_dict()})")
    return examples


def stage_rows(path: str, what: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows a data stage wrote (its output_dir or the file), checked for the columns the next stage needs."""
    file = os.path.join(path, STAGE_DATA_FILE) if os.path.isdir(path) else path
    if not os.path.exists(file):
        raise FileNotFoundError(f"--dataset_name: no {what} at {file} (run the stage that builds it first)")
    with open(file) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    if not rows:
        raise UsageError(f"--dataset_name: {file} holds no rows")
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        raise UsageError(f"--dataset_name: {file} is not {what} (no {missing} column)")
    return rows


def write_rows(output_dir: str, rows: list[dict[str, Any]]) -> str:
    """Write a stage's rows atomically (a crash leaves the previous file or none, never half of one)."""
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, STAGE_DATA_FILE)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    os.replace(tmp, path)
    return path
