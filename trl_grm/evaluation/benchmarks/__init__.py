"""Benchmarks read in their published schemas and scored by their authors' rules (``trl-grm eval --benchmark``).

Each benchmark module names the scoring code it follows (:attr:`Benchmark.reference`). The usual report (Voting@k /
MetaRM@k curves, CIs, format failures, position consistency) is computed over the benchmark's GRM inputs as for any
dataset; the official metrics go beside it under ``report["benchmark"]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .base import Benchmark, BenchmarkData, BenchmarkSourceError, official_results
from .judgebench import JudgeBench
from .ppe import PPECorrectness, PPEPreference
from .rewardbench import RewardBench, RewardBench2
from .rmb import RMB
from .rmbench import RMBench

BENCHMARKS: dict[str, type[Benchmark]] = {
    b.name: b for b in (RewardBench, RewardBench2, JudgeBench, RMBench, PPEPreference, PPECorrectness, RMB)
}
# The paper's Overall (arXiv 2504.02495, Table 2): the mean of these four headline numbers.
PAPER_OVERALL = ("rewardbench", "ppe-preference", "ppe-correctness", "rmb")

__all__ = [
    "BENCHMARKS",
    "PAPER_OVERALL",
    "Benchmark",
    "BenchmarkData",
    "BenchmarkSourceError",
    "benchmark_markdown",
    "benchmark_report",
    "get_benchmark",
    "limit_note",
    "official_results",
    "paper_overall",
    "summary_markdown",
]


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called ``name`` (one of :data:`BENCHMARKS`)."""
    try:
        return BENCHMARKS[name]()
    except KeyError:
        raise ValueError(f"Unknown benchmark {name!r}; expected one of {', '.join(BENCHMARKS)}") from None


def benchmark_report(
    bench: Benchmark,
    data: BenchmarkData,
    samples: Sequence[Sequence[dict[str, Any]]],
    settings: Any,
    *,
    greedy: Sequence[dict[str, Any]] | None = None,
    meta_scores: Sequence[Sequence[float | None]] | None = None,
) -> dict[str, Any]:
    """The usual report over the benchmark's GRM inputs plus its official metrics under ``"benchmark"``.

    Inputs of two or more responses make the usual report; single-response inputs (rated alone, e.g. RewardBench
    2's Ties) get their own usual report (ROC-AUC of the voted score against correctness) under ``"ratings"``.
    """
    from ..report import compute_report

    parts: dict[str, list[int]] = {"ranking": [], "single": []}
    for i, ex in enumerate(data.inputs):
        parts["single" if len(ex.responses) == 1 else "ranking"].append(i)

    def usual(idx: list[int]) -> dict[str, Any]:
        return compute_report(
            [data.inputs[i] for i in idx],
            [samples[i] for i in idx],
            settings,
            greedy=None if greedy is None else [greedy[i] for i in idx],
            meta_scores=None if meta_scores is None else [meta_scores[i] for i in idx],
        )

    main, other = ("ranking", "single") if parts["ranking"] else ("single", "ranking")
    report = usual(parts[main])
    if parts[other]:
        report["ratings" if other == "single" else "ranking"] = usual(parts[other])
    report["benchmark"] = {
        "name": bench.name,
        "title": bench.title,
        "reference": bench.reference,
        "unit": bench.unit,
        "headline": bench.headline,
        "paper_metric": bench.paper_metric,
        **data.summary(),
        "results": official_results(bench, data, samples, settings, greedy=greedy, meta_scores=meta_scores),
    }
    return report


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, float | None]:
    flat: dict[str, float | None] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if key == "scenarios":  # dozens of them (RMB): in report.json only
            continue
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "/"))
        elif value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            flat[name] = value
    return flat


def limit_note(limit: Mapping[str, Any]) -> str:
    """One line on the sample a row limit took: how many rows of how many, per section, and what it cut."""
    taken = ", ".join(f"{name} {v['taken']}/{v['in_source']}" for name, v in sorted(limit["sections"].items()))
    note = (
        f"Limited to {limit['limit']} rows (--limit): a sample seeded with {limit['seed']}, spread over the sections, "
        f"of the source's {limit['rows_in_source']} rows (taken/in the source: {taken})"
    )
    if limit.get("not_scored"):
        note += f"; {limit['not_scored']} rows the benchmark does not score were not sampled"
    if limit.get("cut"):
        note += (
            f". Cut by the limit, not missing from the source: {', '.join(limit['cut'])}; the scores that need them "
            "are n/a (a larger --limit, or none, includes them)"
        )
    return note + "."


def benchmark_markdown(report: dict[str, Any]) -> str:
    """The official metrics as a markdown table: one row per metric (percent; counts as they are), one column per
    mode (greedy, Voting@k, MetaRM@k)."""
    b = report["benchmark"]
    results = b["results"]
    metrics: list[str] = []
    for values in results.values():
        metrics += [c for c in _flatten(values) if c not in metrics]
    lines = [
        f"{b['title']}: official metrics, scored as {b['reference']} ({b['items']} items from {b['rows']} rows"
        + (f"; skipped {b['skipped']}" if b["skipped"] else "")
        + (f"; missing from the source: {', '.join(b['missing'])}" if b["missing"] else "")
        + ")",
        "",
        f"These count {b['unit']}. That is why they differ from the per-input table above.",
        *(["", limit_note(b["limit"])] if b.get("limit") else []),
        "",
        "| metric | " + " | ".join(results) + " |",
        "|" + "---|" * (len(results) + 1),
    ]
    for metric in metrics:
        cells = []
        for values in results.values():
            v = _flatten(values).get(metric)
            if v is None:
                cells.append("n/a")
            elif metric.rsplit("/", 1)[-1].startswith("num_"):
                cells.append(f"{v:g}")
            else:
                cells.append(f"{100 * v:.1f}")
        name = f"**{metric}**" if metric == b["headline"] else metric
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def paper_overall(reports: Mapping[str, dict[str, Any]]) -> dict[str, float] | None:
    """The paper's Overall per mode (mean of the headline numbers of RewardBench, PPE-Preference, PPE-Correctness and
    RMB) from benchmark reports keyed by name; ``None`` unless all four are present."""
    if not all(name in reports for name in PAPER_OVERALL):
        return None
    modes = None
    for name in PAPER_OVERALL:
        present = set(reports[name]["benchmark"]["results"])
        modes = present if modes is None else modes & present
    overall = {}
    for mode in sorted(modes or ()):
        values = [
            reports[n]["benchmark"]["results"][mode][reports[n]["benchmark"]["paper_metric"]] for n in PAPER_OVERALL
        ]
        if all(v is not None for v in values):
            overall[mode] = sum(values) / len(values)
    return overall


def summary_markdown(reports: Mapping[str, dict[str, Any]]) -> str:
    """Benchmarks side by side: each one's headline metric (and the paper-rule metric used by the paper's Overall,
    where it differs) per mode, then the Overall when all four of its benchmarks are there."""
    modes: list[str] = []
    for r in reports.values():
        modes += [m for m in r["benchmark"]["results"] if m not in modes]
    columns = []
    for name, r in reports.items():
        b = r["benchmark"]
        columns.append((f"{b['title']}", name, b["headline"]))
        if b["paper_metric"] != b["headline"]:
            columns.append((f"{b['title']} (paper rule)", name, b["paper_metric"]))
    overall = paper_overall(reports)
    header = ["mode"] + [c[0] for c in columns] + (["Overall (paper)"] if overall else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for mode in modes:
        cells = [mode]
        for _, name, key in columns:
            v = reports[name]["benchmark"]["results"].get(mode, {}).get(key)
            cells.append("n/a" if v is None else f"{100 * v:.1f}")
        if overall:
            cells.append(f"{100 * overall[mode]:.1f}" if mode in overall else "n/a")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
