"""The ONE planner of a call's samples: which response order sample ``j`` of an input shows, and with which seed it
is sampled, depend only on ``(seed, the input's fingerprint, j)`` and the order strategy.

:meth:`~trl_grm.GRMForPointwiseScoring.score`, rejective sampling and Meta RM data, the evaluation cache, the GRPO
prompts and the benchmarks all plan their samples here, so a cache or a training row holds exactly the judgement that
``score()`` draws for that input, seed and settings. Plans are prefix-stable: the first ``k`` orders of a plan for
``k' > k`` samples are the plan for ``k`` samples, so a cache extended to a larger k keeps what it has.
"""

from __future__ import annotations

import random

from .seeding import derive_rng, derive_seed
from .voting import OrderStrategy, make_orders


def plan_orders(
    key: str, n: int, k: int, strategy: OrderStrategy = "random", seed: int | None = 0, start: int = 0
) -> list[list[int]]:
    """The response orders of samples ``start .. k-1`` of the input with fingerprint ``key`` (``n`` responses)."""
    return make_orders(n, k, strategy, derive_rng(seed, key, "orders"))[start:]


def sample_seed(seed: int, key: str, j: int) -> int:
    """The sampling seed of sample ``j`` of the input with fingerprint ``key``."""
    return derive_seed(seed, key, "sample", j)


def tie_break_rng(seed: int | None, key: str) -> random.Random:
    """The generator that breaks a tie in the vote over the input with fingerprint ``key``."""
    return derive_rng(seed, key, "tie")


def hint_draw(seed: int, key: str) -> float:
    """A uniform draw in [0, 1) that decides whether the labelled input ``key`` is sampled with a hint."""
    return derive_rng(seed, key, "hint").random()
