"""An evaluation report as a markdown table (for model cards) and as an accuracy-against-k plot."""

from __future__ import annotations

import os
from typing import Any

from .report import OVERALL


def _fmt(cell: dict[str, Any] | None) -> str:
    if not cell or cell.get("value") is None:
        return "n/a"
    value = f"{100 * cell['value']:.1f}"
    if "ci_low" in cell:
        value += f" [{100 * cell['ci_low']:.1f}, {100 * cell['ci_high']:.1f}]"
    return value


def _caption(report: dict[str, Any]) -> str:
    """What the first table counts: GRM inputs, and when one is right."""
    if report["metric"] != "accuracy":
        return (
            "ROC-AUC in % (95% bootstrap CI) of the voted score of responses rated alone against their 0/1 labels; "
            "n counts GRM inputs (one response each)."
        )
    tie = (
        "a tie at the top is broken at random, seeded"
        if report["settings"].get("tie_break", "random") == "random"
        else "a tie at the top earns its expected value"
    )
    return (
        "accuracy in % (95% bootstrap CI) per GRM input: n counts inputs (a query with the responses judged "
        f"together); an input is right when its voted scores single out its labelled best ({tie}; an input with no "
        "parsed judgement is wrong)."
    )


def _failure_line(group: dict[str, Any], k_max: int) -> str | None:
    """The failed judgements of a group by type, sampled and greedy."""
    parts = []
    for key, what in (("failures", f"sampled ({k_max} per input)"), ("greedy_failures", "greedy")):
        counts = group.get(key)
        if counts:
            parts.append(
                f"{what}: " + ", ".join(f"{name} {n}" for name, n in sorted(counts.items(), key=lambda x: -x[1]))
            )
    return ("Failed judgements by type, " + "; ".join(parts) + ".") if parts else None


def _table(report: dict[str, Any]) -> list[str]:
    ks = report["settings"]["ks"]
    groups = report["groups"]
    modes = [m for m in ("voting", "metarm") if m in groups[OVERALL]]
    greedy = "greedy" in groups[OVERALL]
    header = ["subset", "n"] + (["greedy"] if greedy else [])
    header += [f"{'Voting' if m == 'voting' else 'MetaRM'}@{k}" for m in modes for k in ks]
    header += ["format failures (sampled)"] + (["format failures (greedy)"] if greedy else [])
    header += ["position consistency"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, g in groups.items():
        row = [f"**{name}**" if name == OVERALL else name, str(g["num_examples"])]
        if greedy:
            row.append(_fmt(g.get("greedy")))
        row += [_fmt(g[m][str(k)]) for m in modes for k in ks]
        row.append(f"{100 * g['format_failure']:.1f}%")
        if greedy:
            row.append(f"{100 * g.get('greedy_format_failure', 0.0):.1f}%")
        pc = g.get("position_consistency")
        row.append("n/a" if pc is None else f"{100 * pc:.1f}%")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def report_markdown(report: dict[str, Any], title: str | None = None) -> str:
    """A markdown table (percent, 95% bootstrap CI in brackets): one row per subset group, a column per mode and k,
    each table saying what it counts. Shaped to be pasted into a model card's results section."""
    lines = []
    if title:
        lines += [f"### {title}", ""]
    if report.get("model_note"):
        lines += [f"> {report['model_note']}", ""]
    lines += [_caption(report), ""] + _table(report)
    failures = _failure_line(report["groups"][OVERALL], report["settings"]["ks"][-1])
    if failures:
        lines += ["", failures]
    if "rewardbench" in report:
        lines += ["", "RewardBench sections (example-count weighted, prior sets excluded):", ""]
        sections = sorted({s for v in report["rewardbench"].values() for s in v})
        lines += ["| mode | " + " | ".join(sections) + " |", "|" + "---|" * (len(sections) + 1)]
        for mode, values in report["rewardbench"].items():
            cells = [f"{100 * values[s]:.1f}" if s in values else "n/a" for s in sections]
            lines.append(f"| {mode} | " + " | ".join(cells) + " |")
    overflow = report.get("context_overflow") or {}
    if overflow.get("inputs"):
        ids = ", ".join(map(str, overflow["ids"][:20])) + (", ..." if len(overflow["ids"]) > 20 else "")
        lines += ["", f"{overflow['inputs']} input(s) did not fit the model's context: their judgements count as "
                      f"failed (context_overflow), scored by the metric's rule for a failure. Ids: {ids}"]  # fmt: skip
    text = "\n".join(lines) + "\n"
    if "ratings" in report:  # a benchmark's single-response inputs (e.g. RewardBench 2's Ties)
        text += "\nResponses rated alone:\n\n" + report_markdown(report["ratings"])
    if "benchmark" in report:
        from .benchmarks import benchmark_markdown

        text += "\n" + benchmark_markdown(report)
    return text


def plot_report(report: dict[str, Any], path: str | os.PathLike, title: str = "") -> None:
    """Accuracy (or ROC-AUC) against k: Voting solid, MetaRM dashed, one colour per subset group, the overall line
    thick with its confidence band, greedy as a marker at k = 1."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = report["settings"]["ks"]
    groups = report["groups"]
    names = [OVERALL] + [n for n in groups if n != OVERALL][:9]
    fig, ax = plt.subplots(figsize=(10, 5), dpi=120)
    # Red is kept for the benchmark's official score (see official_series).
    colours = [c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 3]
    for c, name in enumerate(names):
        g = groups[name]
        main = name == OVERALL
        colour = "black" if main else colours[(c - 1) % len(colours)]
        width = 2.6 if main else 1.3
        for mode, style in (("voting", "-"), ("metarm", "--")):
            if mode not in g:
                continue
            ys = [g[mode][str(k)]["value"] for k in ks]
            if any(y is None for y in ys):
                continue
            label = f"{name} {'Voting' if mode == 'voting' else 'MetaRM'}@k (n={g['num_examples']} inputs)"
            ax.plot(ks, [100 * y for y in ys], style, color=colour, lw=width, marker="o", ms=3, label=label)
            if main and all("ci_low" in g[mode][str(k)] for k in ks):
                lo = [100 * g[mode][str(k)]["ci_low"] for k in ks]
                hi = [100 * g[mode][str(k)]["ci_high"] for k in ks]
                ax.fill_between(ks, lo, hi, color=colour, alpha=0.08 if mode == "voting" else 0.05)
        if g.get("greedy", {}).get("value") is not None:
            ax.plot([1], [100 * g["greedy"]["value"]], marker="*", ms=12 if main else 8, color=colour, ls="none",
                    label=f"{name} greedy" if main else None)  # fmt: skip
    official_series(ax, report, ks)
    ax.axhline(100 * report["chance"], color="grey", lw=0.8, ls=":", label="random judge")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("k (sampled judgements per example)")
    ax.set_ylabel(("accuracy" if report["metric"] == "accuracy" else "ROC-AUC") + " (%)")
    ax.set_title(title or "Inference-time scaling")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def official_points(report: dict[str, Any], ks: list[int]) -> dict[str, list[tuple[int, float]]]:
    """The benchmark's official headline metric as (k, percent) points per mode ("greedy" at k = 1), from
    ``report["benchmark"]``; modes whose metric is n/a (e.g. a section cut by --limit) are left out."""
    results = report.get("benchmark", {}).get("results", {})
    headline = report.get("benchmark", {}).get("headline")
    points: dict[str, list[tuple[int, float]]] = {}
    for mode in ("greedy", "voting", "metarm"):
        keys = [(1, "greedy")] if mode == "greedy" else [(k, f"{mode}@{k}") for k in ks]
        values = [(k, results.get(key, {}).get(headline)) for k, key in keys]
        if values and all(v is not None for _, v in values):
            points[mode] = [(k, 100 * v) for k, v in values]
    return points


def official_series(ax: Any, report: dict[str, Any], ks: list[int]) -> None:
    """Draw the benchmark's official score beside the per-input curves (red: it counts the benchmark's own units)."""
    if "benchmark" not in report:
        return
    b = report["benchmark"]
    unit = b.get("unit", "rows").split(" ", 1)[0].rstrip(":;,")
    for mode, pts in official_points(report, ks).items():
        label = f"{b['title']} official {b['headline']} ({unit}) " + ("greedy" if mode == "greedy" else f"{mode}@k")
        if mode == "greedy":
            ax.plot([1], [pts[0][1]], marker="P", ms=11, color="tab:red", ls="none", label=label)
        else:
            style = "-" if mode == "voting" else "--"
            ax.plot([k for k, _ in pts], [v for _, v in pts], style, color="tab:red", lw=2.2, marker="s", ms=4,
                    label=label)  # fmt: skip
