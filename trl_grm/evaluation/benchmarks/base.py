"""What every benchmark shares: reading its published files (Hub id or local copy), GRM inputs built from its rows,
and its official metrics computed from the evaluation's cached samples for greedy, Voting@k and MetaRM@k.

A benchmark turns its rows into GRM inputs (:class:`~trl_grm.data.formats.LabeledInput`, each tagged with the row it
came from) and scores the GRM's judgement of those inputs by its authors' rules. A judgement of one input is the
mean voted score of each response (original order) over the samples used, or ``None`` when none of them parsed;
benchmarks decide what ``None`` and ties are worth, exactly as their scoring code does.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ...data.formats import LabeledInput
from ...protocol.voting import default_k_meta, vote
from ...utils.jsonl import parse_json_or_jsonl, read_text

Judged = list[float] | None
FILE_SUFFIXES = (".json", ".jsonl", ".parquet")


class BenchmarkSourceError(ValueError):
    """The benchmark's data could not be read (no such file, no network for a Hub id, wrong schema)."""


@dataclass
class Row:
    """One published row and where it came from (a file path relative to the source folder, or the Hub split)."""

    data: dict[str, Any]
    index: int
    file: str


@dataclass
class BenchmarkData:
    """A benchmark read and turned into GRM inputs.

    ``inputs[i].meta`` holds ``item`` (the index into ``items``) and whatever the benchmark needs to score it;
    ``items`` are the benchmark's scoring units (a pair, a prompt with its candidates, ...); ``skipped`` counts rows
    left out and why (e.g. prior sets), ``missing`` names parts of the benchmark absent from the source; ``limit``
    describes the sample a row limit took (see :func:`limit_rows`), with the parts it ``cut``.
    """

    name: str
    source: str
    inputs: list[LabeledInput]
    items: list[dict[str, Any]]
    rows: int
    skipped: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    limit: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows": self.rows,
            "items": len(self.items),
            "grm_inputs": len(self.inputs),
            "skipped": dict(self.skipped),
            "missing": list(self.missing),
            "limit": self.limit,
        }


class Benchmark:
    """A benchmark: where its data lives, how its rows become GRM inputs, and its official metrics."""

    name: ClassVar[str]
    title: ClassVar[str]
    hub_id: ClassVar[str | None]
    # Benchmarks published as several Hub datasets list them all here (read one after the other by default).
    hub_ids: ClassVar[tuple[str, ...]] = ()
    hub_config: ClassVar[str | None] = None
    split: ClassVar[str] = "test"
    # The authors' scoring code that :meth:`score` follows (repository: file: function).
    reference: ClassVar[str]
    # The metric that goes into summaries (a key of :meth:`score`'s result), and the one under the paper's rules
    # (a random tie-break) that the paper's Overall averages.
    headline: ClassVar[str] = "score"
    paper_metric: ClassVar[str] = "score"
    # What the official metrics count and how that differs from the per-GRM-input table (shown in report.md).
    unit: ClassVar[str] = "rows"
    # The published files that a local copy holds (shown in the offline error).
    local_files: ClassVar[str]

    def build(self, rows: Sequence[Row], source: str) -> BenchmarkData:
        raise NotImplementedError

    def score(self, data: BenchmarkData, judged: Sequence[Judged], rng: random.Random) -> dict[str, Any]:
        """Official metrics (fractions in [0, 1]) from one judgement per GRM input."""
        raise NotImplementedError

    def section_of(self, row: Row) -> tuple[str, ...] | None:
        """Where a row belongs, outermost part first (e.g. ``("Chat", "alpacaeval-easy")``), in the names that
        :attr:`BenchmarkData.missing` uses; ``None`` for a row the benchmark does not score. A row limit samples
        across these parts. Must not fail on a malformed row (:meth:`build` names the problem)."""
        return (row.file,)

    # --------------------------------------------------------------------------------------------------- reading
    def load(
        self,
        source: str | Path | None = None,
        *,
        split: str | None = None,
        limit: int | None = None,
        seed: int = 0,
    ) -> BenchmarkData:
        """Read the benchmark: ``source`` a local file or folder in the published schema, or a Hub dataset id
        (default :attr:`hub_id`). ``limit`` keeps a seeded sample of that many rows spread over the benchmark's
        sections (:func:`limit_rows`); the parts it leaves out are reported as cut, not as missing."""
        rows, where = read_rows(self, source, split=split)
        if not rows:
            raise BenchmarkSourceError(f"{self.title}: no rows in {where}")
        limited = None
        if limit is not None and limit < len(rows):
            rows, limited = limit_rows(self, rows, limit, seed)
        data = self.build(rows, where)
        if limited is not None:
            present = limited.pop("present")
            cut = [name for name in data.missing if name in present]
            data.missing = [name for name in data.missing if name not in cut]
            data.limit = {**limited, "cut": cut}
        if not data.inputs:
            raise BenchmarkSourceError(f"{self.title}: no usable row in {where} ({data.summary()})")
        return data


def _spread(rows: list[tuple[tuple[str, ...], Row]], n: int, rng: random.Random, depth: int = 0) -> list[Row]:
    """``n`` of ``rows`` spread evenly over their parts at ``depth`` (then over the parts within each, and so on);
    which parts get one more when ``n`` does not divide evenly is seeded, as is the pick inside the last level."""
    if n >= len(rows):
        return [row for _, row in rows]
    groups: dict[str, list[tuple[tuple[str, ...], Row]]] = {}
    for path, row in rows:
        groups.setdefault(path[depth] if depth < len(path) else "", []).append((path, row))
    if len(groups) == 1 and depth >= max(len(path) for path, _ in rows):
        return [row for _, row in rng.sample(rows, n)]
    names = list(groups)
    rng.shuffle(names)
    take = dict.fromkeys(names, 0)
    while n > 0:
        open_ = [name for name in names if take[name] < len(groups[name])]
        for name in open_[:n]:
            take[name] += 1
        n -= min(n, len(open_))
    return [row for name in names if take[name] for row in _spread(groups[name], take[name], rng, depth + 1)]


def limit_rows(bench: Benchmark, rows: list[Row], limit: int, seed: int) -> tuple[list[Row], dict[str, Any]]:
    """A seeded sample of ``limit`` rows spread over the benchmark's sections (:meth:`Benchmark.section_of`: each
    part gets an equal share as far as its rows allow, recursively), in their published order, and what it took:
    rows per outermost part (taken, in the source), the rows the benchmark does not score (left out of the sample),
    and (under ``present``) every part name the full source has."""
    paths = [(bench.section_of(row), row) for row in rows]
    scored = [(path, row) for path, row in paths if path is not None]
    picked = _spread(scored, limit, random.Random(f"{seed}:benchmark-limit:{bench.name}"))
    picked.sort(key=lambda row: row.index)
    chosen = {id(row) for row in picked}
    sections: dict[str, list[int]] = {}
    for path, row in scored:
        counts = sections.setdefault(path[0] if path else "", [0, 0])
        counts[0] += id(row) in chosen
        counts[1] += 1
    return picked, {
        "limit": limit,
        "seed": seed,
        "rows_in_source": len(rows),
        "not_scored": len(rows) - len(scored),
        "sections": {name: {"taken": t, "in_source": a} for name, (t, a) in sections.items()},
        "present": {name for path, _ in scored for name in path},
    }


def _read_file(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    data, _ = parse_json_or_jsonl(read_text(path), str(path))
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list):
        raise BenchmarkSourceError(f"{path}: expected JSON rows (a list, or JSON lines)")
    return data


# A Hub dataset downloaded as files: ``data/<split>-00000-of-00001.parquet`` (one or more shards per split).
_SHARD = re.compile(r"^(?P<split>.+?)-\d{5}-of-\d{5}$")


def _split_files(bench: Benchmark, files: list[Path], split: str | None, folder: Path) -> list[Path]:
    """The files of one split when a folder holds a downloaded Hub dataset's shards of several splits (e.g.
    RewardBench's ``filtered`` and ``raw``, JudgeBench's ``gpt`` and ``claude``): ``split``, else the benchmark's
    published split. Other files, and a folder of one split, are read as they are."""
    splits = {f: m.group("split") for f in files if (m := _SHARD.match(f.stem))}
    names = sorted(set(splits.values()))
    if len(names) < 2:
        return files
    wanted = split or bench.split
    if wanted not in names:
        raise BenchmarkSourceError(
            f"{bench.title}: {folder} holds the splits {', '.join(names)} but not {wanted!r}; pick one with "
            "--dataset_split (split= in Python), or pass its file"
        )
    return [f for f in files if splits.get(f, wanted) == wanted]


def read_rows(bench: Benchmark, source: str | Path | None, *, split: str | None = None) -> tuple[list[Row], str]:
    """Rows of a local file / folder (every .json, .jsonl, .parquet file under it, sorted by path) or of a Hub
    dataset. Without network a Hub id fails with an error that names the local-file alternative."""
    if source is None:
        ids = bench.hub_ids or ((bench.hub_id,) if bench.hub_id else ())
        if not ids:
            raise BenchmarkSourceError(
                f"{bench.title} is not on the Hub: download {bench.local_files} and pass it with --dataset"
            )
        rows: list[Row] = []
        wheres = []
        for hub_id in ids:
            part, where = read_rows(bench, hub_id, split=split)
            rows += [Row(r.data, len(rows) + i, r.file) for i, r in enumerate(part)]
            wheres.append(where)
        return rows, ", ".join(wheres)
    source = str(source)
    path = Path(source).expanduser()
    if path.exists():
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix in FILE_SUFFIXES)
        if not files:
            raise BenchmarkSourceError(f"{bench.title}: no {'/'.join(FILE_SUFFIXES)} file under {path}")
        if path.is_dir():
            files = _split_files(bench, files, split, path)
        rows = []
        for f in files:
            if f.suffix not in FILE_SUFFIXES:
                raise BenchmarkSourceError(f"{f}: unsupported file type (expected {', '.join(FILE_SUFFIXES)})")
            relative = f.name if f == path else str(f.relative_to(path))
            for data in _read_file(f):
                if not isinstance(data, Mapping):
                    raise BenchmarkSourceError(f"{f}, row {len(rows)}: expected a JSON object")
                rows.append(Row(dict(data), len(rows), relative))
        return rows, str(path)
    if source.startswith((".", "/", "~")) or source.endswith(FILE_SUFFIXES):
        raise BenchmarkSourceError(f"{bench.title}: no such file or folder: {source}")
    split = split or bench.split
    hint = (
        f"to evaluate offline, download {bench.local_files} and pass the file or folder with --dataset "
        f"(evaluate(..., data=PATH) in Python)"
    )
    try:
        from datasets import load_dataset

        dataset = load_dataset(source, bench.hub_config, split=split)
    except Exception as error:  # network, offline mode, missing dataset or split: all end here
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BenchmarkSourceError(
            f"{bench.title}: cannot load the Hub dataset {source!r} (split {split!r}): {reason}; {hint}"
        ) from None
    where = f"{source} ({split})"
    return [Row(dict(r), i, where) for i, r in enumerate(dataset)], where


# ------------------------------------------------------------------------------------------------------ helpers
def field_of(row: Row, key: str, types: type | tuple[type, ...] = str, *, optional: bool = False) -> Any:
    """``row.data[key]``, checked: a missing or mistyped field is an error naming the file, row and field."""
    value = row.data.get(key)
    if value is None:
        if optional:
            return None
        raise BenchmarkSourceError(f"{row.file}, row {row.index}: missing field {key!r}")
    if not isinstance(value, types):
        names = "/".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise BenchmarkSourceError(
            f"{row.file}, row {row.index}: field {key!r} must be {names}, got {type(value).__name__}"
        )
    return value


def best_tied(scores: Sequence[float]) -> list[int]:
    top = max(scores)
    return [i for i, s in enumerate(scores) if s == top]


def mean_or_none(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


# --------------------------------------------------------------------------------------------- judging & runs
def judged_scores(
    sample_scores: Sequence[Sequence[int] | None], rng: random.Random, metas=None, k_meta=None
) -> Judged:
    """One judgement from some samples: each response's mean score over the samples voting uses (Meta RM
    selection included); ``None`` when none of them parsed."""
    v = vote(sample_scores, rng, metas, k_meta)
    if v.scores is None:
        return None
    return [total / len(v.used) for total in v.scores]


def _average(results: Sequence[Any]) -> Any:
    """The mean of equally shaped metric dicts (``None`` entries and non-numbers kept from the first)."""
    first = results[0]
    if isinstance(first, Mapping):
        return {key: _average([r[key] for r in results]) for key in first}
    if isinstance(first, bool) or not isinstance(first, (int, float)):
        return first
    values = [r for r in results if r is not None]
    return sum(values) / len(values) if values else None


def official_results(
    bench: Benchmark,
    data: BenchmarkData,
    samples: Sequence[Sequence[dict[str, Any]]],
    settings: Any,
    *,
    greedy: Sequence[dict[str, Any]] | None = None,
    meta_scores: Sequence[Sequence[float | None]] | None = None,
) -> dict[str, dict[str, Any]]:
    """The benchmark's official metrics for greedy, Voting@k and MetaRM@k.

    For k below the number of samples, each draw gives every input one k-subset of its samples and scores the whole
    benchmark once; the metrics are averaged over the draws (all subsets when there are at most
    ``settings.num_subsets``, else that many seeded random ones), like the usual report's per-example averages.
    Random tie-breaks in a metric draw from a seeded generator of their own.
    """
    k_max = settings.ks[-1]
    scores = [[s["scores"] for s in ss[:k_max]] for ss in samples]
    out: dict[str, dict[str, Any]] = {}
    if greedy is not None:
        rng = random.Random(f"{settings.seed}:benchmark:greedy")
        out["greedy"] = bench.score(data, [judged_scores([g["scores"]], rng) for g in greedy], rng)
    modes = ["voting"] + (["metarm"] if meta_scores is not None else [])
    for mode in modes:
        for k in settings.ks:
            # Every k-subset when there are at most num_subsets of them (draw d gives input i the subset d + i, so
            # each input sees each subset once), else num_subsets random draws.
            combos = (
                list(itertools.combinations(range(k_max), k)) if math.comb(k_max, k) <= settings.num_subsets else None
            )
            draws = len(combos) if combos else settings.num_subsets
            results = []
            for d in range(draws):
                # Separate generators for the subsets and the tie-breaks: both modes judge the same subsets.
                pick = random.Random(f"{settings.seed}:benchmark:{k}:{d}:subsets")
                rng = random.Random(f"{settings.seed}:benchmark:{k}:{d}:ties")
                judged = []
                for i, ss in enumerate(scores):
                    subset = list(combos[(d + i) % len(combos)]) if combos else sorted(pick.sample(range(k_max), k))
                    metas = None
                    if mode == "metarm":
                        metas = [float("-inf") if meta_scores[i][j] is None else meta_scores[i][j] for j in subset]
                    kept = None if metas is None else (settings.k_meta or default_k_meta(k))
                    judged.append(judged_scores([ss[j] for j in subset], rng, metas, kept))
                results.append(bench.score(data, judged, rng))
            out[f"{mode}@{k}"] = _average(results)
    return out
