"""Seeds that depend only on the seed and the input itself, never on the rest of a call.

An input's response orders, the sampling noise of each of its samples and its tie-break are drawn from generators
keyed by ``(seed, fingerprint of the input, purpose, sample index)``. The same input therefore gets the same samples
alone or in a list, at any position, with any batch size, and across a resumed run.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from ..utils.hashing import fingerprint

__all__ = ["SEEDING_VERSION", "derive_rng", "derive_seed", "fingerprint"]

# Stored with resumable sample caches: bumped whenever the derivation of orders or sample seeds changes, so that a
# cache is never extended with samples drawn under another scheme. 2: per-sample seeds (before: one per batch).
# 3: rejective sampling, Meta RM data, the evaluation cache and GRPO prompts take their response orders (and hints)
# from the one planner (trl_grm.protocol.planner), keyed by the input's fingerprint as score() is (before: by index).
SEEDING_VERSION = 3


def _key(seed: int, parts: tuple[Any, ...]) -> bytes:
    return ":".join(str(p) for p in (seed, *parts)).encode("utf-8")


def derive_rng(seed: int | None, *parts: Any) -> random.Random:
    """A ``random.Random`` keyed by ``(seed, *parts)``; unseeded when ``seed`` is ``None``."""
    if seed is None:
        return random.Random()
    return random.Random(_key(seed, parts).decode("utf-8"))


def derive_seed(seed: int, *parts: Any) -> int:
    """A 63-bit integer seed keyed by ``(seed, *parts)`` (for per-sample torch / engine generators)."""
    return int.from_bytes(hashlib.sha256(_key(seed, parts)).digest()[:8], "big") >> 1
