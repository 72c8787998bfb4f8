"""Response orders, mapping scores back, voting (paper Eq. 6), Meta-RM guided voting and the seeded tie-break.

Convention: an ``order`` lists original response indices by shown position, i.e. ``order[p]`` is the original index
of the response shown at position ``p``. Scores parsed from the output are in shown order; :func:`map_back` puts them
in original order.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

OrderStrategy = Literal["random", "balanced", "fixed"]
ORDER_STRATEGIES = ("random", "balanced", "fixed")


def make_orders(
    n: int, k: int, strategy: OrderStrategy = "random", rng: random.Random | None = None
) -> list[list[int]]:
    """Response orders for ``k`` samples of ``n`` responses.

    ``"random"`` shuffles independently per sample (the paper). ``"balanced"`` uses cyclic shifts, so that with ``k``
    a multiple of ``n`` every response stands in every position equally often; it also keeps the number of distinct
    prompts (and prefills) at ``min(n, k)``. ``"fixed"`` keeps the given order (greedy, ablations).
    """
    if strategy not in ORDER_STRATEGIES:
        raise ValueError(f"order strategy must be one of {ORDER_STRATEGIES}, got {strategy!r}")
    base = list(range(n))
    if strategy == "fixed":
        return [base[:] for _ in range(k)]
    if strategy == "balanced":
        return [base[s % n :] + base[: s % n] for s in range(k)]
    rng = rng or random.Random(0)
    orders = []
    for _ in range(k):
        order = base[:]
        rng.shuffle(order)
        orders.append(order)
    return orders


def map_back(shown_scores: Sequence[int], order: Sequence[int]) -> list[int]:
    """Scores in shown order -> scores in original order."""
    if len(shown_scores) != len(order):
        raise ValueError(f"{len(shown_scores)} scores for {len(order)} responses")
    original = [0] * len(order)
    for position, index in enumerate(order):
        original[index] = shown_scores[position]
    return original


def default_k_meta(k: int) -> int:
    """Samples kept by Meta RM guided voting when ``k_meta`` is not given: k/2 (at least 1), as in the paper."""
    return max(1, k // 2)


def pick_best(scores: Sequence[float], rng: random.Random) -> int:
    """Index of the highest score; ties are broken at random (shuffle, take the first highest), as in the paper."""
    if not scores:
        raise ValueError("no scores to pick from")
    top = max(scores)
    candidates = [i for i, s in enumerate(scores) if s == top]
    return candidates[0] if len(candidates) == 1 else rng.choice(candidates)


@dataclass
class Vote:
    """Voting outcome. ``scores`` and ``best`` are ``None`` when no sample could be used. ``tied`` lists the
    responses that shared the top total when ``best`` was picked by the random tie-break (else it is empty)."""

    scores: list[int] | None
    best: int | None
    used: list[int]
    num_failed: int
    tied: list[int] = field(default_factory=list)


def vote(
    sample_scores: Sequence[Sequence[int] | None],
    rng: random.Random,
    meta_scores: Sequence[float] | None = None,
    k_meta: int | None = None,
) -> Vote:
    """Sum per-response scores over the samples that parsed (original order).

    Samples whose scores are ``None`` (parse failures) are left out and counted. With ``meta_scores`` only the
    ``k_meta`` parsed samples with the highest meta score are summed (Meta RM guided voting).
    """
    valid = [i for i, s in enumerate(sample_scores) if s is not None]
    num_failed = len(sample_scores) - len(valid)
    if meta_scores is not None:
        if len(meta_scores) != len(sample_scores):
            raise ValueError(f"{len(meta_scores)} meta scores for {len(sample_scores)} samples")
        if k_meta is None:
            k_meta = default_k_meta(len(sample_scores))
        if not 1 <= k_meta <= len(sample_scores):
            raise ValueError(f"k_meta must be in 1..{len(sample_scores)} (the number of samples), got {k_meta}")
        valid = sorted(valid, key=lambda i: (-meta_scores[i], i))[:k_meta]
        valid.sort()
    if not valid:
        return Vote(None, None, [], num_failed)
    n = len(sample_scores[valid[0]])
    totals = [sum(sample_scores[i][j] for i in valid) for j in range(n)]
    tied = [j for j, t in enumerate(totals) if t == max(totals)]
    return Vote(totals, pick_best(totals, rng), valid, num_failed, tied if len(tied) > 1 else [])
