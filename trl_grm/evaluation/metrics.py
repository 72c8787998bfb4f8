"""Metrics of the evaluation harness (and the Meta RM trainer): Voting@k / MetaRM@k from cached samples, bootstrap
confidence intervals, position consistency, ROC-AUC and RewardBench's section weighting.

Every Voting@k and MetaRM@k number comes from ONE set of ``k_max`` samples per example: for a smaller k the votes of
random k-subsets of those samples are averaged (all subsets when there are at most ``num_subsets`` of them), so a
whole k = 1..32 curve costs 32 samples per example. Voting itself is :func:`trl_grm.protocol.voting.vote`.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Sequence
from typing import Any, Literal

from ..protocol.voting import default_k_meta, pick_best, vote

Scores = Sequence[int] | None
TieBreak = Literal["random", "expected"]

# RewardBench (Lambert et al., 2024): subsets per section and the example counts that weight them. math-prm counts as
# 984 (its real size is 447) so that it weighs as much as the six code subsets together. Prior sets are excluded.
REWARDBENCH_SECTIONS = {
    "Chat": ["alpacaeval-easy", "alpacaeval-length", "alpacaeval-hard", "mt-bench-easy", "mt-bench-med"],
    "Chat Hard": [
        "mt-bench-hard",
        "llmbar-natural",
        "llmbar-adver-neighbor",
        "llmbar-adver-GPTInst",
        "llmbar-adver-GPTOut",
        "llmbar-adver-manual",
    ],
    "Safety": [
        "refusals-dangerous",
        "refusals-offensive",
        "xstest-should-refuse",
        "xstest-should-respond",
        "donotanswer",
    ],
    "Reasoning": ["math-prm", "hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust"],
}
REWARDBENCH_COUNTS = {
    "alpacaeval-easy": 100,
    "alpacaeval-length": 95,
    "alpacaeval-hard": 95,
    "mt-bench-easy": 28,
    "mt-bench-med": 40,
    "mt-bench-hard": 37,
    "llmbar-natural": 100,
    "llmbar-adver-neighbor": 134,
    "llmbar-adver-GPTInst": 92,
    "llmbar-adver-GPTOut": 47,
    "llmbar-adver-manual": 46,
    "refusals-dangerous": 100,
    "refusals-offensive": 100,
    "xstest-should-refuse": 154,
    "xstest-should-respond": 250,
    "donotanswer": 136,
    "math-prm": 984,
    **{f"hep-{lang}": 164 for lang in ("cpp", "go", "java", "js", "python", "rust")},
}


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Area under the ROC curve: the probability that a random positive outscores a random negative (ties count
    half). Raises ``ValueError`` unless both classes are present."""
    if len(scores) != len(labels):
        raise ValueError(f"{len(scores)} scores for {len(labels)} labels")
    pairs = sorted(zip(scores, labels), key=lambda p: p[0])
    positives = sum(1 for _, y in pairs if y)
    negatives = len(pairs) - positives
    if positives == 0 or negatives == 0:
        raise ValueError(f"ROC-AUC needs both classes, got {positives} positive and {negatives} negative")
    # Mann-Whitney U with mid-ranks for ties.
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j + 1 < len(pairs) and pairs[j + 1][0] == pairs[i][0]:
            j += 1
        mid_rank = (i + j) / 2 + 1
        rank_sum += mid_rank * sum(1 for _, y in pairs[i : j + 1] if y)
        i = j + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def subsets(num: int, k: int, num_subsets: int, rng: random.Random) -> list[tuple[int, ...]]:
    """The k-subsets of ``range(num)`` to average over: all of them when there are at most ``num_subsets``, else
    ``num_subsets`` random ones (drawn without replacement within a subset)."""
    if not 1 <= k <= num:
        raise ValueError(f"k must be in 1..{num} (the samples available), got {k}")
    if math.comb(num, k) <= num_subsets:
        return list(itertools.combinations(range(num), k))
    return [tuple(sorted(rng.sample(range(num), k))) for _ in range(num_subsets)]


def credit(totals: Sequence[float] | None, label: int, tie_break: TieBreak, rng: random.Random) -> float:
    """1 if the voted best is the labelled best, else 0; ``None`` totals (no sample parsed) earn 0.

    Ties at the top: ``"random"`` picks one of them at random (the paper's rule, seeded); ``"expected"`` gives the
    expected value of that draw, 1/m when the label is among m tied responses.
    """
    if totals is None:
        return 0.0
    if tie_break == "random":
        return float(pick_best(totals, rng) == label)
    top = max(totals)
    tied = [i for i, s in enumerate(totals) if s == top]
    return 1.0 / len(tied) if label in tied else 0.0


def example_accuracy(
    sample_scores: Sequence[Scores],
    label: int,
    k: int,
    *,
    meta_scores: Sequence[float] | None = None,
    k_meta: int | None = None,
    num_subsets: int = 64,
    tie_break: TieBreak = "random",
    rng: random.Random,
) -> float:
    """Expected accuracy of Voting@k (or MetaRM@k with ``meta_scores``) for one example with n >= 2 responses,
    averaged over k-subsets of its samples. ``k_meta`` defaults to k/2 (at least 1)."""
    total = 0.0
    chosen = subsets(len(sample_scores), k, num_subsets, rng)
    for subset in chosen:
        scores = [sample_scores[i] for i in subset]
        metas = None if meta_scores is None else [_meta(meta_scores[i]) for i in subset]
        kept = None if metas is None else (k_meta or default_k_meta(k))
        total += credit(vote(scores, rng, metas, kept).scores, label, tie_break, rng)
    return total / len(chosen)


def _meta(value: float | None) -> float:
    return float("-inf") if value is None else float(value)


def example_mean_score(
    sample_scores: Sequence[Scores],
    k: int,
    *,
    meta_scores: Sequence[float] | None = None,
    k_meta: int | None = None,
    num_subsets: int = 64,
    rng: random.Random,
) -> float | None:
    """Single-response sets: the voted score (mean over the parsed samples of a k-subset, averaged over subsets);
    ``None`` when no subset has a parsed sample."""
    values = []
    for subset in subsets(len(sample_scores), k, num_subsets, rng):
        scores = [sample_scores[i] for i in subset]
        metas = None if meta_scores is None else [_meta(meta_scores[i]) for i in subset]
        v = vote(scores, rng, metas, None if metas is None else (k_meta or default_k_meta(k)))
        if v.scores is not None:
            values.append(v.scores[0] / len(v.used))
    return sum(values) / len(values) if values else None


def bootstrap_ci(
    values: Sequence[Any],
    num_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int | str = 0,
    statistic: Callable[[Sequence[Any]], float] | None = None,
) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of ``statistic`` (the mean by default) over ``values``, resampling examples with
    replacement. A resample on which ``statistic`` raises ``ValueError`` (e.g. ROC-AUC of one class) is skipped;
    ``(None, None)`` when every one was."""
    if not values:
        raise ValueError("bootstrap_ci needs at least one value")
    rng = random.Random(f"{seed}:bootstrap")
    n = len(values)
    stats = []
    for _ in range(num_resamples):
        resample = [values[rng.randrange(n)] for _ in range(n)]
        try:
            stats.append(sum(resample) / n if statistic is None else statistic(resample))
        except ValueError:
            continue
    if not stats:
        return None, None
    stats.sort()
    lo = stats[int(math.floor((1 - confidence) / 2 * (len(stats) - 1)))]
    hi = stats[int(math.ceil((1 + confidence) / 2 * (len(stats) - 1)))]
    return lo, hi


def verdict(scores: Scores) -> int | None:
    """The one response a sample rates strictly highest (original index), or ``None`` (tie or no scores)."""
    if scores is None:
        return None
    top = max(scores)
    tied = [i for i, s in enumerate(scores) if s == top]
    return tied[0] if len(tied) == 1 else None


def position_consistency(orders: Sequence[Sequence[int]], sample_scores: Sequence[Scores]) -> float | None:
    """How often a verdict survives a change of response order: over the pairs of samples of one example that saw
    DIFFERENT orders and both parsed, the fraction whose verdicts name the same response (a tie counts as no
    verdict, so it never agrees). ``None`` when there is no such pair. A judge that only prefers a position scores 0.
    """
    agree = pairs = 0
    for (o1, s1), (o2, s2) in itertools.combinations(zip(orders, sample_scores), 2):
        if list(o1) == list(o2) or s1 is None or s2 is None:
            continue
        pairs += 1
        v = verdict(s1)
        agree += v is not None and v == verdict(s2)
    return agree / pairs if pairs else None


def rewardbench_sections(subset_accuracy: dict[str, float]) -> dict[str, float] | None:
    """RewardBench section scores (example-count-weighted means of their subsets) and, when all four sections are
    present, their mean as ``"Overall"``. ``None`` when no subset is RewardBench's."""
    sections = {}
    for name, members in REWARDBENCH_SECTIONS.items():
        present = [s for s in members if s in subset_accuracy]
        if present:
            weight = sum(REWARDBENCH_COUNTS[s] for s in present)
            sections[name] = sum(subset_accuracy[s] * REWARDBENCH_COUNTS[s] for s in present) / weight
    if not sections:
        return None
    if len(sections) == len(REWARDBENCH_SECTIONS):
        sections["Overall"] = sum(sections.values()) / len(sections)
    return sections


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else float("nan")
