"""Adaptive k: when the vote over the samples drawn so far already names the response that voting over all k planned
samples would name, so that the remaining samples need not be drawn.

Voting sums scores (paper Eq. 6), so both rules look at the *margin* of the leader ``L`` (the response with the
highest sum so far) over every other response ``r``: ``D_r = T_L - T_r``, with ``R`` planned samples still undrawn.

- ``"exact"``: stop when ``D_r > R * (max - min)`` for every ``r``. Nothing the remaining samples could score can
  then change the winner (nor make it a tie), so the adaptive verdict IS the full-k verdict.
- ``"predictive"`` (the default): the exact rule, or a Bayesian predictive test with error level ``alpha``. The
  per-sample margins ``d_j = s_j[L] - s_j[r]`` of the parsed samples are modelled as i.i.d. normal with unknown mean
  and variance; the variance gets a weak prior (one pseudo-sample at ``((max - min) / 2) ** 2``, so that two equal
  margins never look certain). The predictive distribution of the remaining ``R`` margins' sum is then a Student t
  with ``m`` degrees of freedom (``m`` = parsed samples), mean ``R * mean(d)`` and scale
  ``s * sqrt(R + R**2 / m)``. Stop when, for every challenger, the probability that the final margin is ``<= 0``
  (a loss or a tie) is at most ``alpha / (n - 1)`` (Bonferroni over the ``n - 1`` challengers). Under that model the
  adaptive verdict differs from the full-k one with probability at most ``alpha``; the measured agreement is in
  ``benchmarks/README.md``.

Neither rule stops with fewer than 2 parsed samples, on a tie for the lead, or for a single response (n = 1: its
score, not a choice, is the result, so all k samples are drawn).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

STOP_RULES = ("predictive", "exact")
_PRIOR_WEIGHT = 1  # pseudo-samples of the variance prior


def t_cdf(x: float, df: int) -> float:
    """The Student t distribution function for an integer ``df >= 1`` (the closed form, Abramowitz & Stegun 26.7)."""
    if df < 1 or int(df) != df:
        raise ValueError(f"df must be an integer >= 1, got {df!r}")
    theta = math.atan(x / math.sqrt(df))
    sin, cos2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2:  # odd: (2/pi) (theta + sin cos (1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ...)), powers up to df - 2
        series, term = 0.0, math.cos(theta)
        if df > 1:
            series = term
            for j in range(1, (df - 1) // 2):
                term *= cos2 * (2 * j) / (2 * j + 1)
                series += term
        share = 2 / math.pi * (theta + sin * series)
    else:  # even: sin (1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...), powers up to df - 2
        series = term = 1.0
        for j in range(1, df // 2):
            term *= cos2 * (2 * j - 1) / (2 * j)
            series += term
        share = sin * series
    return min(1.0, max(0.0, 0.5 + 0.5 * share))


def settled(
    sample_scores: Sequence[Sequence[int] | None],
    num_samples: int,
    score_range: tuple[int, int],
    rule: str = "predictive",
    alpha: float = 0.02,
) -> str | None:
    """Which rule (``"exact"`` or ``"predictive"``) settles the vote over ``sample_scores`` (the samples drawn so
    far, ``None`` for a failed one; scores in original response order) out of ``num_samples`` planned; ``None``
    when more samples are needed (or all are drawn)."""
    if rule not in STOP_RULES:
        raise ValueError(f"adaptive_rule must be one of {STOP_RULES}, got {rule!r}")
    remaining = num_samples - len(sample_scores)
    parsed = [list(s) for s in sample_scores if s is not None]
    if remaining <= 0 or len(parsed) < 2 or len(parsed[0]) < 2:
        return None
    n = len(parsed[0])
    totals = [sum(s[j] for s in parsed) for j in range(n)]
    leader = max(range(n), key=lambda j: totals[j])
    if sum(t == totals[leader] for t in totals) > 1:
        return None
    others = [r for r in range(n) if r != leader]
    low, high = score_range
    if all(totals[leader] - totals[r] > remaining * (high - low) for r in others):
        return "exact"
    if rule == "exact":
        return None
    m = len(parsed)
    df = _PRIOR_WEIGHT + m - 1
    prior_var = ((high - low) / 2) ** 2
    for r in others:
        margins = [s[leader] - s[r] for s in parsed]
        mean = sum(margins) / m
        var = (_PRIOR_WEIGHT * prior_var + sum((d - mean) ** 2 for d in margins)) / df
        spread = math.sqrt(var * (remaining + remaining**2 / m))
        final_mean = totals[leader] - totals[r] + remaining * mean
        if 1.0 - t_cdf(final_mean / spread, df) > alpha / (n - 1):
            return None
    return "predictive"
