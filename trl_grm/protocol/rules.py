"""The correctness rule (paper Eq. 4) and the rule-based reward (Eq. 5)."""

from __future__ import annotations

from collections.abc import Sequence


def is_correct(scores: Sequence[int] | None, label: int) -> bool:
    """Whether a sample's scores agree with the label.

    For two or more responses ``label`` is the index of the best response, which must score strictly higher than
    every other response (a shared top score is wrong). For one response ``label`` is the target score (e.g. 0/1)
    and the score must equal it. Missing scores (a parse failure) are never correct.
    """
    if scores is None:
        return False
    n = len(scores)
    if n == 0:
        raise ValueError("scores is empty")
    if n == 1:
        return scores[0] == label
    if not 0 <= label < n:
        raise ValueError(f"label {label} is not a response index in 0..{n - 1}")
    top = scores[label]
    return all(s < top for i, s in enumerate(scores) if i != label)


def rule_reward(scores: Sequence[int] | None, label: int) -> float:
    """+1 when :func:`is_correct`, else -1 (unparseable output included; there is no format reward)."""
    return 1.0 if is_correct(scores, label) else -1.0
