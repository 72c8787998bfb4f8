"""Every metric of an evaluation, per subset and overall, computed from cached samples."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from ..data.formats import LabeledInput
from . import metrics as M
from .settings import EvalSettings

OVERALL = "overall"


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
    lo, hi = M.bootstrap_ci(
        pairs,
        settings.bootstrap,
        seed=f"{settings.seed}:{salt}:auc",
        statistic=lambda sample: M.roc_auc([s for s, _ in sample], [y for _, y in sample]),
    )
    if lo is not None:
        result["ci_low"], result["ci_high"] = lo, hi
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
    per_k = _per_k_values(kind, examples, scores, settings, meta_scores)
    greedy_values = _greedy_values(kind, examples, greedy, settings) if greedy is not None else None
    report: dict[str, Any] = {
        "kind": kind,
        "metric": "accuracy" if kind == "ranking" else "roc_auc",
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
            group["greedy_failures"] = dict(Counter(greedy[i]["status"] for i in idx if greedy[i]["status"] != "ok"))
        for mode, by_k in per_k.items():
            if by_k:
                group[mode] = {str(k): summarise(values, f"{mode}:{k}") for k, values in by_k.items()}
        group.update(_sample_health(kind, idx, samples, scores, k_max))
        report["groups"][name] = group
    if kind == "ranking":
        sections = _rewardbench_sections(examples, report["groups"], per_k, settings)
        if sections:
            report["rewardbench"] = sections
    return report


def _per_k_values(kind: str, examples, scores, settings: EvalSettings, meta_scores) -> dict[str, dict[int, list]]:
    """Per mode (voting, metarm) and k: each example's expected accuracy (ranking) or voted mean score (single)."""
    k_max = settings.ks[-1]
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
    return per_k


def _greedy_values(kind: str, examples, greedy, settings: EvalSettings) -> list:
    """Each example's greedy accuracy (ranking) or greedy score (single)."""
    g_scores = [[g["scores"]] for g in greedy]
    return [
        M.example_accuracy(s, ex.label, 1, tie_break=settings.tie_break, rng=random.Random(f"{settings.seed}:{i}:g"))
        if kind == "ranking"
        else M.example_mean_score(s, 1, rng=random.Random(0))
        for i, (s, ex) in enumerate(zip(g_scores, examples))
    ]


def _sample_health(kind: str, idx: list[int], samples, scores, k_max: int) -> dict[str, Any]:
    """Format failures (rate and by status), no verdict at k = 1 and position consistency of a group's samples."""
    flat = [s for i in idx for s in scores[i]]
    health: dict[str, Any] = {
        "format_failure": M.mean([float(s is None) for s in flat]),
        "failures": dict(Counter(s["status"] for i in idx for s in samples[i][:k_max] if s["status"] != "ok")),
        "no_verdict_k1": M.mean([float(scores[i][0] is None) for i in idx]),
    }
    if kind == "ranking":
        consistency = [M.position_consistency([s["order"] for s in samples[i][:k_max]], scores[i]) for i in idx]
        known = [c for c in consistency if c is not None]
        health["position_consistency"] = M.mean(known) if known else None
    return health


def _rewardbench_sections(examples, groups: dict[str, Any], per_k, settings: EvalSettings) -> dict[str, Any]:
    """RewardBench's section scores of each mode and k, from the subsets' accuracies (none without its subsets)."""
    subset_values = {n: g for n, g in groups.items() if n != OVERALL}
    names = {str(ex.meta["subset"]) for ex in examples if "subset" in ex.meta}
    if not subset_values and len(names) == 1:  # one subset: it is the overall group
        subset_values = {names.pop(): groups[OVERALL]}
    sections = {}
    for mode in ["greedy"] + [m for m in per_k if per_k[m]]:
        for k in [None] if mode == "greedy" else settings.ks:
            accs = {
                n: (g[mode] if k is None else g[mode][str(k)])["value"] for n, g in subset_values.items() if mode in g
            }
            rb = M.rewardbench_sections(accs)
            if rb:
                sections[mode if k is None else f"{mode}@{k}"] = rb
    return sections
