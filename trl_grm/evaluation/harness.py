"""The evaluation harness: sample once at the largest k (cached on disk, resumable, extendable), then compute
greedy, Voting@k and MetaRM@k for every k from those samples.

Datasets are anything :func:`~trl_grm.data.formats.load_preference_data` reads: pairwise (RewardBench-style, with
its section weighting when the subsets are RewardBench's), best-of-N (RMB-style) and single-response sets with a 0/1
label (ReaLMistake-style, scored by ROC-AUC of the voted 1-10 score).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm.auto import tqdm

from ..data.formats import LabeledInput, LoadReport, load_preference_data
from ..protocol.meta import render_meta_input
from ..protocol.seeding import SEEDING_VERSION
from ..protocol.voting import make_orders
from ..utils.jsonl import append_records, read_finished
from ..utils.progress import sample_bar
from . import metrics as M

logger = logging.getLogger(__name__)

SAMPLES_FILE = "samples.jsonl"
SETTINGS_FILE = "settings.json"
OVERALL = "overall"


@dataclass
class EvalSettings:
    """What the numbers depend on.

    Args:
        ks: the k values of Voting@k / MetaRM@k; samples are drawn once, at ``max(ks)``.
        greedy: also evaluate one greedy (temperature 0) judgement per example.
        temperature: sampling temperature of the voting samples (paper: 0.5).
        max_new_tokens: length budget of one judgement (the model's GRM setting when ``None``).
        principles_mode: ``"self"``, ``"given"`` or ``"none"`` (ablation); the model's setting when ``None``.
        k_meta: samples kept by MetaRM@k (k/2 when ``None``).
        num_subsets: k-subsets averaged per example and k (all of them when there are at most this many).
        tie_break: ``"random"`` (seeded, the paper's rule) or ``"expected"`` (1/m credit for an m-way tie).
        bootstrap: resamples of the bootstrap confidence intervals (95%).
        seed: seeds orders, sampling, subsets, tie-breaks and the bootstrap.
    """

    ks: list[int] = field(default_factory=lambda: [1, 2, 4, 8])
    greedy: bool = True
    temperature: float = 0.5
    max_new_tokens: int | None = None
    principles_mode: str | None = None
    k_meta: int | None = None
    num_subsets: int = 64
    tie_break: str = "random"
    bootstrap: int = 1000
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.ks or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in self.ks):
            raise ValueError(f"ks must be a non-empty list of positive integers, got {self.ks!r}")
        self.ks = sorted(set(self.ks))
        if self.k_meta is not None and not 1 <= self.k_meta <= min(self.ks):
            raise ValueError(f"k_meta must be in 1..{min(self.ks)} (the smallest k), got {self.k_meta}")
        if self.tie_break not in ("random", "expected"):
            raise ValueError(f"tie_break must be 'random' or 'expected', got {self.tie_break!r}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0 for Voting@k samples, got {self.temperature}")
        if self.num_subsets < 1 or self.bootstrap < 1:
            raise ValueError("num_subsets and bootstrap must be >= 1")


def fingerprint(examples: Sequence[LabeledInput]) -> str:
    """A hash of the examples (context, responses, label): a cache only serves the data it was made from."""
    h = hashlib.sha256()
    for ex in examples:
        h.update(json.dumps([ex.context, ex.responses, ex.label, ex.principles, ex.reference]).encode())
    return h.hexdigest()[:16]


class SampleCache:
    """Sampled judgements of a dataset, on disk: ``settings.json`` and ``samples.jsonl``.

    Each line is a chunk ``{"index", "start", "samples": [...]}``: samples ``start..`` of example ``index``, written
    as soon as its batch finishes. A run that dies keeps every finished chunk; a later run with a larger k draws
    only the missing samples (sample j of an example always sees the same response order).
    """

    def __init__(self, directory: str | os.PathLike, settings: dict[str, Any]):
        self.directory = str(directory)
        self.settings = json.loads(json.dumps(settings))  # as it reads back from settings.json
        self.path = os.path.join(self.directory, SAMPLES_FILE)

    def _check_settings(self) -> None:
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, SETTINGS_FILE)
        if os.path.exists(path):
            with open(path) as f:
                found = json.load(f)
            if found != self.settings:
                changed = sorted(k for k in set(found) | set(self.settings) if found.get(k) != self.settings.get(k))
                raise ValueError(
                    f"{self.directory} holds samples made with other settings (differing: {changed}); use another "
                    "output directory or the same model, data and sampling settings"
                )
        else:
            with open(path, "w") as f:
                json.dump(self.settings, f, indent=2)

    def load(self) -> dict[int, list[dict[str, Any]]]:
        """Every cached sample, per example index, in sample order."""
        chunks: dict[int, dict[int, list]] = defaultdict(dict)
        for chunk in read_finished(self.path):
            chunks[chunk["index"]][chunk["start"]] = chunk["samples"]
        out = {}
        for index, parts in chunks.items():
            samples: list[dict[str, Any]] = []
            for start in sorted(parts):
                if start == len(samples):  # contiguous chunks only
                    samples += parts[start]
            out[index] = samples
        return out

    def fill(
        self,
        sampler: Any,
        examples: Sequence[LabeledInput],
        k: int,
        *,
        temperature: float,
        max_new_tokens: int,
        principles_mode: str | None,
        seed: int,
        batch_size: int = 64,
        progress: bool = True,
        desc: str = "Sampling",
    ) -> list[list[dict[str, Any]]]:
        """Make sure every example has at least ``k`` samples (sampling only what is missing); return ``k`` each.

        ``batch_size`` is the number of judgements per sampling call (whole examples, at least one): the unit of work
        that a crash can lose.
        """
        self._check_settings()
        have = self.load()
        todo = [i for i in range(len(examples)) if len(have.get(i, [])) < k]
        missing = sum(k - len(have.get(i, [])) for i in todo)
        with sample_bar(
            len(examples) * k, initial=len(examples) * k - missing, desc=desc, disable=not progress
        ) as bar:
            for batch in _batches(todo, {i: k - len(have.get(i, [])) for i in todo}, batch_size):
                starts = [len(have.get(i, [])) for i in batch]
                orders = [
                    make_orders(len(examples[i].responses), k, "random", random.Random(f"{seed}:{i}:eval"))[s:]
                    for i, s in zip(batch, starts)
                ]
                before = bar.n
                samples = sampler.sample_judgements(
                    [examples[i] for i in batch],
                    orders,
                    temperature=temperature,
                    max_new_tokens=max_new_tokens,
                    seed=seed,
                    principles_mode=principles_mode,
                    sample_start=starts,
                    progress=bar.update,  # moves while a batch decodes, in fractions of a sample
                )
                chunks = [
                    {
                        "index": i,
                        "start": s,
                        "samples": [
                            {"order": x.order, "text": x.text, "status": x.status, "scores": x.scores}
                            for x in item_samples
                        ],
                    }
                    for i, s, item_samples in zip(batch, starts, samples)
                ]
                append_records(self.path, chunks)
                for chunk in chunks:
                    have.setdefault(chunk["index"], []).extend(chunk["samples"])
                bar.update(before + sum(len(o) for o in orders) - bar.n)  # exact count once the batch is saved
        return [have[i][:k] for i in range(len(examples))]


def _batches(todo: Sequence[int], need: dict[int, int], size: int) -> list[list[int]]:
    """Consecutive groups of examples whose missing samples add up to at most ``size`` (at least one example)."""
    batches: list[list[int]] = []
    current: list[int] = []
    rows = 0
    for i in todo:
        if current and rows + need[i] > size:
            batches.append(current)
            current, rows = [], 0
        current.append(i)
        rows += need[i]
    return batches + [current] if current else batches


def meta_scores_for(
    meta_rm: Callable[[Sequence[str]], Sequence[float]],
    examples: Sequence[LabeledInput],
    samples: Sequence[Sequence[dict[str, Any]]],
    batch_size: int = 64,
    progress: bool = True,
) -> list[list[float | None]]:
    """The Meta RM's score of every parsed sample (``None`` for unparsed ones, which voting leaves out anyway)."""
    todo = [(i, j) for i, ss in enumerate(samples) for j, s in enumerate(ss) if s["scores"] is not None]
    out: list[list[float | None]] = [[None] * len(ss) for ss in samples]
    for lo in tqdm(range(0, len(todo), batch_size), desc="Meta RM", unit="batch", disable=not progress):
        part = todo[lo : lo + batch_size]
        texts = [
            render_meta_input(
                examples[i].context, [examples[i].responses[o] for o in samples[i][j]["order"]], samples[i][j]["text"]
            )
            for i, j in part
        ]
        values = list(meta_rm(texts))
        if len(values) != len(texts):
            raise ValueError(f"The meta RM returned {len(values)} scores for {len(texts)} samples")
        for (i, j), value in zip(part, values):
            out[i][j] = float(value)
    return out


# ----------------------------------------------------------------------------------------------------- report
def _groups(examples: Sequence[LabeledInput]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {OVERALL: list(range(len(examples)))}
    subsets: dict[str, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        if "subset" in ex.meta:
            subsets[str(ex.meta["subset"])].append(i)
    if len(subsets) > 1 or (subsets and len(next(iter(subsets.values()))) != len(examples)):
        groups.update(sorted(subsets.items()))
    return groups


def _ci(values: list[float], settings: EvalSettings, salt: str) -> dict[str, float]:
    lo, hi = M.bootstrap_ci(values, settings.bootstrap, seed=f"{settings.seed}:{salt}")
    return {"value": M.mean(values), "ci_low": lo, "ci_high": hi}


def _auc_ci(scores: list[float | None], labels: list[int], settings: EvalSettings, salt: str) -> dict[str, Any]:
    pairs = [(s, y) for s, y in zip(scores, labels) if s is not None]
    result: dict[str, Any] = {"no_verdict": len(scores) - len(pairs)}
    try:
        result["value"] = M.roc_auc([s for s, _ in pairs], [y for _, y in pairs])
    except ValueError:
        result["value"] = None
        return result
    rng = random.Random(f"{settings.seed}:{salt}:auc")
    aucs = []
    for _ in range(settings.bootstrap):
        sample = [pairs[rng.randrange(len(pairs))] for _ in pairs]
        try:
            aucs.append(M.roc_auc([s for s, _ in sample], [y for _, y in sample]))
        except ValueError:
            continue
    aucs.sort()
    if aucs:
        result["ci_low"] = aucs[int(0.025 * (len(aucs) - 1))]
        result["ci_high"] = aucs[int(round(0.975 * (len(aucs) - 1)))]
    return result


def compute_report(
    examples: Sequence[LabeledInput],
    samples: Sequence[Sequence[dict[str, Any]]],
    settings: EvalSettings,
    *,
    greedy: Sequence[dict[str, Any]] | None = None,
    meta_scores: Sequence[Sequence[float | None]] | None = None,
) -> dict[str, Any]:
    """Every metric, per subset and overall, from cached samples (``samples[i]``: at least ``max(ks)`` per example).

    Pairwise / best-of-N: accuracy (bootstrap 95% CI) of greedy, Voting@k and MetaRM@k. Single response (0/1
    label): ROC-AUC of the voted score. Also the format-failure rate, the no-verdict rate at k = 1 and position
    consistency.
    """
    if not examples:
        raise ValueError("No examples to evaluate")
    kinds = {"single" if len(ex.responses) == 1 else "ranking" for ex in examples}
    if len(kinds) > 1:
        raise ValueError("The dataset mixes single-response and multi-response examples; evaluate them apart")
    kind = kinds.pop()
    k_max = settings.ks[-1]
    short = [i for i, ss in enumerate(samples) if len(ss) < k_max]
    if short:
        raise ValueError(f"Example {short[0]} has {len(samples[short[0]])} samples, fewer than k = {k_max}")
    scores = [[s["scores"] for s in ss[:k_max]] for ss in samples]
    metric = "accuracy" if kind == "ranking" else "roc_auc"

    # Per example and k: expected accuracy (ranking) or voted mean score (single).
    per_k: dict[str, dict[int, list]] = {"voting": {}, "metarm": {}}
    for k in settings.ks:
        for mode in ("voting", "metarm") if meta_scores is not None else ("voting",):
            values = []
            for i, ex in enumerate(examples):
                # Same random numbers for both modes (common subsets and tie-breaks): they differ only by the
                # Meta RM's selection, and MetaRM@k equals Voting@k wherever it keeps every sample.
                rng = random.Random(f"{settings.seed}:{i}:{k}")
                metas = meta_scores[i][:k_max] if mode == "metarm" else None
                kw = dict(meta_scores=metas, k_meta=settings.k_meta, num_subsets=settings.num_subsets, rng=rng)
                if kind == "ranking":
                    values.append(M.example_accuracy(scores[i], ex.label, k, tie_break=settings.tie_break, **kw))
                else:
                    values.append(M.example_mean_score(scores[i], k, **kw))
            per_k[mode][k] = values
    greedy_values = None
    if greedy is not None:
        g_scores = [[g["scores"]] for g in greedy]
        greedy_values = [
            M.example_accuracy(
                s, ex.label, 1, tie_break=settings.tie_break, rng=random.Random(f"{settings.seed}:{i}:g")
            )
            if kind == "ranking"
            else M.example_mean_score(s, 1, rng=random.Random(0))
            for i, (s, ex) in enumerate(zip(g_scores, examples))
        ]

    report: dict[str, Any] = {
        "kind": kind,
        "metric": metric,
        "num_examples": len(examples),
        "chance": M.mean([1 / len(ex.responses) for ex in examples]) if kind == "ranking" else 0.5,
        "settings": asdict(settings),
        "groups": {},
    }
    for name, idx in _groups(examples).items():
        group: dict[str, Any] = {"num_examples": len(idx)}

        def summarise(values: list, salt: str, idx=idx, name=name) -> dict[str, Any]:
            if kind == "ranking":
                return _ci([values[i] for i in idx], settings, f"{name}:{salt}")
            return _auc_ci([values[i] for i in idx], [examples[i].label for i in idx], settings, f"{name}:{salt}")

        if greedy_values is not None:
            group["greedy"] = summarise(greedy_values, "greedy")
            group["greedy_format_failure"] = M.mean([float(greedy[i]["scores"] is None) for i in idx])
        for mode, by_k in per_k.items():
            if by_k:
                group[mode] = {str(k): summarise(values, f"{mode}:{k}") for k, values in by_k.items()}
        flat = [s for i in idx for s in scores[i]]
        group["format_failure"] = M.mean([float(s is None) for s in flat])
        group["failures"] = dict(Counter(s["status"] for i in idx for s in samples[i][:k_max] if s["status"] != "ok"))
        group["no_verdict_k1"] = M.mean([float(scores[i][0] is None) for i in idx])
        if kind == "ranking":
            consistency = [M.position_consistency([s["order"] for s in samples[i][:k_max]], scores[i]) for i in idx]
            known = [c for c in consistency if c is not None]
            group["position_consistency"] = M.mean(known) if known else None
        report["groups"][name] = group

    if kind == "ranking":
        subset_values = {n: g for n, g in report["groups"].items() if n != OVERALL}
        names = {str(ex.meta["subset"]) for ex in examples if "subset" in ex.meta}
        if not subset_values and len(names) == 1:  # one subset: it is the overall group
            subset_values = {names.pop(): report["groups"][OVERALL]}
        sections = {}
        for mode in ["greedy"] + [m for m in per_k if per_k[m]]:
            for k in [None] if mode == "greedy" else settings.ks:
                accs = {
                    n: (g[mode] if k is None else g[mode][str(k)])["value"]
                    for n, g in subset_values.items()
                    if mode in g
                }
                rb = M.rewardbench_sections(accs)
                if rb:
                    sections[mode if k is None else f"{mode}@{k}"] = rb
        if sections:
            report["rewardbench"] = sections
    return report


# ----------------------------------------------------------------------------------------------- presentation
def _fmt(cell: dict[str, Any] | None) -> str:
    if not cell or cell.get("value") is None:
        return "n/a"
    value = f"{100 * cell['value']:.1f}"
    if "ci_low" in cell:
        value += f" [{100 * cell['ci_low']:.1f}, {100 * cell['ci_high']:.1f}]"
    return value


def report_markdown(report: dict[str, Any], title: str | None = None) -> str:
    """A markdown table (percent, 95% bootstrap CI in brackets): one row per subset group, a column per mode and k.
    Shaped to be pasted into a model card's results section."""
    ks = report["settings"]["ks"]
    metric = "accuracy" if report["metric"] == "accuracy" else "ROC-AUC"
    groups = report["groups"]
    modes = [m for m in ("voting", "metarm") if m in groups[OVERALL]]
    header = ["subset", "n"]
    if "greedy" in groups[OVERALL]:
        header.append("greedy")
    header += [f"{'Voting' if m == 'voting' else 'MetaRM'}@{k}" for m in modes for k in ks]
    header += ["format failures", "position consistency"]
    lines = []
    if title:
        lines += [f"### {title}", ""]
    lines += [f"{metric} in % (95% bootstrap CI)", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, g in groups.items():
        row = [f"**{name}**" if name == OVERALL else name, str(g["num_examples"])]
        if "greedy" in header:
            row.append(_fmt(g.get("greedy")))
        row += [_fmt(g[m][str(k)]) for m in modes for k in ks]
        row.append(f"{100 * g['format_failure']:.1f}%")
        pc = g.get("position_consistency")
        row.append("n/a" if pc is None else f"{100 * pc:.1f}%")
        lines.append("| " + " | ".join(row) + " |")
    if "rewardbench" in report:
        lines += ["", "RewardBench sections (example-count weighted, prior sets excluded):", ""]
        sections = sorted({s for v in report["rewardbench"].values() for s in v})
        lines += ["| mode | " + " | ".join(sections) + " |", "|" + "---|" * (len(sections) + 1)]
        for mode, values in report["rewardbench"].items():
            cells = [f"{100 * values[s]:.1f}" if s in values else "n/a" for s in sections]
            lines.append(f"| {mode} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


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
    colours = plt.get_cmap("tab10")
    for c, name in enumerate(names):
        g = groups[name]
        main = name == OVERALL
        colour = "black" if main else colours(c - 1)
        width = 2.6 if main else 1.3
        for mode, style in (("voting", "-"), ("metarm", "--")):
            if mode not in g:
                continue
            ys = [g[mode][str(k)]["value"] for k in ks]
            if any(y is None for y in ys):
                continue
            label = f"{name} {'Voting' if mode == 'voting' else 'MetaRM'}@k (n={g['num_examples']})"
            ax.plot(ks, [100 * y for y in ys], style, color=colour, lw=width, marker="o", ms=3, label=label)
            if main and all("ci_low" in g[mode][str(k)] for k in ks):
                lo = [100 * g[mode][str(k)]["ci_low"] for k in ks]
                hi = [100 * g[mode][str(k)]["ci_high"] for k in ks]
                ax.fill_between(ks, lo, hi, color=colour, alpha=0.08 if mode == "voting" else 0.05)
        if g.get("greedy", {}).get("value") is not None:
            ax.plot([1], [100 * g["greedy"]["value"]], marker="*", ms=12 if main else 8, color=colour, ls="none",
                    label=f"{name} greedy" if main else None)  # fmt: skip
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


# ------------------------------------------------------------------------------------------------------- driver
REPORT_JSON, REPORT_MD, REPORT_PNG = "report.json", "report.md", "accuracy_vs_k.png"


def load_eval_data(
    data: Any, *, format: str | None = None, seed: int = 0, limit: int | None = None
) -> tuple[list[LabeledInput], LoadReport]:
    """Normalise an evaluation set (clear errors for unknown columns, bad rows or no usable row)."""
    examples, report = load_preference_data(data, format=format, seed=seed, limit=limit)
    if not examples:
        raise ValueError(f"No usable example in the data ({report.as_dict()})")
    return examples, report


def evaluate(
    grm: Any,
    data: Any,
    output_dir: str | os.PathLike,
    settings: EvalSettings | None = None,
    *,
    model_id: str | None = None,
    meta_rm: Callable[[Sequence[str]], Sequence[float]] | None = None,
    format: str | None = None,
    limit: int | None = None,
    batch_size: int = 64,
    progress: bool = True,
    title: str | None = None,
) -> dict[str, Any]:
    """Evaluate a GRM on a dataset and write ``report.json``, ``report.md`` and ``accuracy_vs_k.png``.

    Args:
        grm: :class:`~trl_grm.GRMForPointwiseScoring` or any object with its ``sample_judgements`` (e.g. the
            OpenAI-compatible backend).
        data: a ``datasets.Dataset``, a JSON / JSONL path or a list of rows (see
            :func:`~trl_grm.data.formats.load_preference_data`), or the result of :func:`load_eval_data`.
        output_dir: where the sample caches and the reports go; rerunning resumes, and a larger k samples only
            what is missing.
        meta_rm: a Meta RM (defaults to the GRM's own, if it has one) for the MetaRM@k columns.
        batch_size: judgements sampled per call (a unit of resumable work).
    """
    settings = settings or EvalSettings()
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[1], LoadReport):
        examples, load_report = data  # already loaded (see load_eval_data)
    else:
        examples, load_report = load_eval_data(data, format=format, seed=settings.seed, limit=limit)
    config = grm.config
    max_new_tokens = settings.max_new_tokens or config.max_new_tokens
    common = {
        "model": model_id,
        # What shapes a judgement (the template, score range, nucleus sampling), not the config's bookkeeping.
        "grm": {k: getattr(config, k) for k in ("template", "score_min", "score_max", "top_p", "principles_mode")},
        "data": fingerprint(examples),
        "num_examples": len(examples),
        "max_new_tokens": max_new_tokens,
        "principles_mode": settings.principles_mode,
        "seed": settings.seed,
        "seeding": SEEDING_VERSION,
    }
    os.makedirs(output_dir, exist_ok=True)
    cache = SampleCache(os.path.join(output_dir, "samples"), {**common, "temperature": settings.temperature})
    kw = dict(max_new_tokens=max_new_tokens, principles_mode=settings.principles_mode, batch_size=batch_size,
              progress=progress)  # fmt: skip
    samples = cache.fill(
        grm,
        examples,
        settings.ks[-1],
        temperature=settings.temperature,
        seed=settings.seed,
        desc="Voting samples",
        **kw,
    )
    greedy = None
    if settings.greedy:
        greedy_cache = SampleCache(os.path.join(output_dir, "greedy"), {**common, "temperature": 0.0})
        greedy = [s[0] for s in greedy_cache.fill(grm, examples, 1, temperature=0.0, seed=settings.seed,
                                                  desc="Greedy", **kw)]  # fmt: skip
    meta_rm = meta_rm if meta_rm is not None else getattr(grm, "meta_rm", None)
    metas = meta_scores_for(meta_rm, examples, samples, progress=progress) if meta_rm is not None else None
    report = compute_report(examples, samples, settings, greedy=greedy, meta_scores=metas)
    report["model"] = model_id
    report["data"] = load_report.as_dict()
    with open(os.path.join(output_dir, REPORT_JSON), "w") as f:
        json.dump(report, f, indent=2)
    with open(os.path.join(output_dir, REPORT_MD), "w") as f:
        f.write(report_markdown(report, title))
    try:
        plot_report(report, os.path.join(output_dir, REPORT_PNG), title or "")
    except ImportError:
        logger.warning("matplotlib is not installed (pip install 'trl-grm[plots]'): no %s", REPORT_PNG)
    return report
