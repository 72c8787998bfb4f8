"""The evaluation harness: sample once at the largest k (cached on disk, resumable, extendable), then compute
greedy, Voting@k and MetaRM@k for every k from those samples.

Datasets are anything :func:`~trl_grm.data.formats.load_preference_data` reads: pairwise (RewardBench-style, with
its section weighting when the subsets are RewardBench's), best-of-N (RMB-style) and single-response sets with a 0/1
label (ReaLMistake-style, scored by ROC-AUC of the voted 1-10 score). The parts: :mod:`.cache` (samples on disk),
:mod:`.report` (metrics), :mod:`.presentation` (markdown, plot); this module is the driver.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from ..data.formats import LabeledInput, LoadReport, examples_fingerprint, load_preference_data
from ..protocol.meta import meta_rm_scores
from ..protocol.seeding import SEEDING_VERSION
from .cache import SampleCache
from .presentation import plot_report, report_markdown
from .report import compute_report
from .settings import EvalSettings

logger = logging.getLogger(__name__)

__all__ = ["EvalSettings", "evaluate", "load_eval_data", "meta_scores_for"]


def meta_scores_for(
    meta_rm: Callable[[Sequence[str]], Sequence[float]],
    examples: Sequence[LabeledInput],
    samples: Sequence[Sequence[dict[str, Any]]],
    batch_size: int = 64,
    progress: bool = True,
) -> list[list[float | None]]:
    """The Meta RM's score of every parsed sample (``None`` for unparsed ones, which voting leaves out anyway)."""
    todo = [(i, j) for i, ss in enumerate(samples) for j, s in enumerate(ss) if s["scores"] is not None]
    jobs = [
        (examples[i].context, [examples[i].responses[o] for o in samples[i][j]["order"]], samples[i][j]["text"])
        for i, j in todo
    ]
    out: list[list[float | None]] = [[None] * len(ss) for ss in samples]
    for (i, j), value in zip(todo, meta_rm_scores(meta_rm, jobs, batch_size=batch_size, progress=progress)):
        out[i][j] = value
    return out


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
    benchmark: str | None = None,
    split: str | None = None,
    model_note: str | None = None,
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
        benchmark: a benchmark name (:data:`~trl_grm.evaluation.benchmarks.BENCHMARKS`): ``data`` is then its
            published data (``None``: its Hub dataset; or a local file / folder in the published schema, or the
            :class:`~trl_grm.evaluation.benchmarks.BenchmarkData` it loaded) and the report adds its official
            metrics under ``"benchmark"``.
        split: the Hub split of a benchmark (its published test split by default).
        model_note: a word on the model shown atop report.md and kept in report.json (e.g. that the numbers come
            from the embedded demonstration GRM).
    """
    settings = settings or EvalSettings()
    bench = bench_data = None
    if benchmark is not None:
        from .benchmarks import BenchmarkData, get_benchmark

        bench = get_benchmark(benchmark)
        if isinstance(data, BenchmarkData):
            bench_data = data
        else:
            bench_data = bench.load(data, split=split, limit=limit, seed=settings.seed)
        examples, load_report = bench_data.inputs, None
    elif isinstance(data, tuple) and len(data) == 2 and isinstance(data[1], LoadReport):
        examples, load_report = data  # already loaded (see load_eval_data)
    else:
        examples, load_report = load_eval_data(data, format=format, seed=settings.seed, limit=limit)
    samples, greedy = sample_examples(grm, examples, output_dir, settings, model_id, batch_size, progress)
    meta_rm = meta_rm if meta_rm is not None else getattr(grm, "meta_rm", None)
    metas = meta_scores_for(meta_rm, examples, samples, progress=progress) if meta_rm is not None else None
    if bench is None:
        report = compute_report(examples, samples, settings, greedy=greedy, meta_scores=metas)
        report["data"] = load_report.as_dict()
    else:
        from .benchmarks import benchmark_report

        report = benchmark_report(bench, bench_data, samples, settings, greedy=greedy, meta_scores=metas)
    report["model"] = model_id
    report["model_note"] = model_note
    report["context_overflow"] = context_overflow(examples, samples)
    write_reports(report, output_dir, title)
    return report


def context_overflow(examples: Sequence[LabeledInput], samples: Sequence[Sequence[dict[str, Any]]]) -> dict:
    """The inputs that did not fit the model's context (their judgements failed as ``context_overflow``)."""
    over = [i for i, ss in enumerate(samples) if ss and all(s["status"] == "context_overflow" for s in ss)]
    return {"inputs": len(over), "ids": [examples[i].id if examples[i].id is not None else i for i in over]}


def sample_examples(
    grm: Any, examples: Sequence[LabeledInput], output_dir, settings: EvalSettings, model_id, batch_size, progress
) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]] | None]:
    """The voting samples (``max(ks)`` per example) and the greedy ones, from the caches in ``output_dir`` (only what
    is missing is sampled)."""
    config = grm.config
    max_new_tokens = settings.max_new_tokens or config.max_new_tokens
    common = {
        "model": model_id,
        # What shapes a judgement (the template, score range, nucleus sampling), not the config's bookkeeping.
        "grm": {k: getattr(config, k) for k in ("template", "score_min", "score_max", "top_p", "principles_mode")},
        "data": examples_fingerprint(examples),
        "num_examples": len(examples),
        "max_new_tokens": max_new_tokens,
        "principles_mode": settings.principles_mode,
        "seed": settings.seed,
        "seeding": SEEDING_VERSION,
    }
    os.makedirs(output_dir, exist_ok=True)
    cache = SampleCache(os.path.join(output_dir, "samples"), {**common, "temperature": settings.temperature})
    kw = dict(max_new_tokens=max_new_tokens, principles_mode=settings.principles_mode, batch_size=batch_size,
              progress=progress, strict_context=settings.strict_context)  # fmt: skip
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
    return samples, greedy


def write_reports(report: dict[str, Any], output_dir, title: str | None) -> None:
    """``report.json``, ``report.md`` and the plot (when matplotlib is installed)."""
    with open(os.path.join(output_dir, REPORT_JSON), "w") as f:
        json.dump(report, f, indent=2)
    with open(os.path.join(output_dir, REPORT_MD), "w") as f:
        f.write(report_markdown(report, title))
    try:
        plot_report(report, os.path.join(output_dir, REPORT_PNG), title or "")
    except ImportError:
        logger.warning("matplotlib is not installed (pip install 'trl-grm[plots]'): no %s", REPORT_PNG)
