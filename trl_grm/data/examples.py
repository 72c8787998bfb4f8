"""Labelled examples: a GRM input with the index of its best response (or a single response's 0/1 correctness), the
report of what loading them kept and skipped, and the fingerprint that ties a cache or a stage output to its data."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..protocol.inputs import GRMInput


@dataclass
class LabeledInput(GRMInput):
    """A :class:`~trl_grm.protocol.inputs.GRMInput` with its label (the rule of paper Eq. 4).

    ``label``: for two or more responses, the index of the best one; for a single response, its 0/1 correctness.
    ``meta``: the row's extra columns (e.g. ``subset``, ``source``, ``family``) plus ``row``, its index.
    """

    label: int = 0
    meta: dict[str, Any] = field(default_factory=dict)


# An example whose meta has this key is sampled with that order strategy ("fixed": as given, e.g. a benchmark that
# judges both orders itself); the rest are shuffled per sample (the paper).
ORDER_KEY = "_order"


def examples_fingerprint(examples: Sequence[LabeledInput]) -> str:
    """A hash of the examples (context, responses, label, order strategy): a cache or a stage's output only serves
    the data it was made from."""
    h = hashlib.sha256()
    for ex in examples:
        item = [ex.context, ex.responses, ex.label, ex.principles, ex.reference]
        if ORDER_KEY in ex.meta:
            item.append(ex.meta[ORDER_KEY])
        h.update(json.dumps(item).encode())
    return h.hexdigest()[:16]


@dataclass
class LoadReport:
    """What :func:`~trl_grm.data.formats.load_preference_data` read: rows seen, examples kept, rows skipped (with
    their indices)."""

    format: str
    rows: int = 0
    kept: int = 0
    skipped_ties: int = 0
    tie_rows: list[int] = field(default_factory=list)
    skipped_identical: int = 0
    identical_rows: list[int] = field(default_factory=list)
    label_counts: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
