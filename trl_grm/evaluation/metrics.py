"""Metrics shared by the Meta RM trainer and the evaluation harness."""

from __future__ import annotations

from collections.abc import Sequence


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
