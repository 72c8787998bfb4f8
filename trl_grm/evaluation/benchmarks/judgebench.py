"""JudgeBench (Tan et al., 2024): response pairs on hard knowledge, reasoning, math and coding questions.

Published rows (``ScalerLab/JudgeBench``, splits ``gpt`` and ``claude``; the repository's ``data/*.jsonl``):
``pair_id``, ``original_id``, ``source``, ``question``, ``response_model``, ``response_A``, ``response_B``,
``label`` (``"A>B"`` or ``"B>A"``).

Official rule (ScalerLab/JudgeBench ``utils/metrics.py``, ``compute_final_metrics`` with ``reverse_order``): every
pair is judged twice, as (A, B) and as (B, A); each of the two decisions counts +1 when it agrees with the label,
-1 when it names the other response and 0 when it is a tie or failed; a pair is correct when the sum is positive.
The score is the micro-average over pairs; the split is by category (``mmlu-pro*`` = knowledge,
``livebench-reasoning`` = reasoning, ``livebench-math`` = math, ``livecodebench`` = coding).

Here each order is one GRM input with that order kept fixed for all k samples; a decision is the response with the
higher voted score (equal scores or no parsed sample: no decision).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from ...data.formats import ORDER_KEY, LabeledInput
from .base import Benchmark, BenchmarkData, BenchmarkSourceError, Judged, Row, field_of, mean_or_none

LABELS = ("A>B", "B>A")
CATEGORIES = ("knowledge", "reasoning", "math", "coding")


def category(source: str) -> str:
    """JudgeBench's category of a ``source`` (the official split of the leaderboard)."""
    if source.startswith("mmlu-pro"):
        return "knowledge"
    if source.startswith("livebench-reasoning"):
        return "reasoning"
    if source.startswith("livebench-math"):
        return "math"
    if source.startswith("livecodebench"):
        return "coding"
    return "other"


def decision(scores: Judged) -> str | None:
    """``"A>B"`` / ``"B>A"`` for a judgement of the responses in the order (A, B), ``None`` for a tie or no verdict."""
    if scores is None or scores[0] == scores[1]:
        return None
    return "A>B" if scores[0] > scores[1] else "B>A"


def pair_credit(label: str, original: str | None, swapped: str | None) -> int:
    """+1 / -1 / 0 per decision (both mapped to the original order), summed."""
    total = 0
    for d in (original, swapped):
        if d == label:
            total += 1
        elif d is not None:
            total -= 1
    return total


class JudgeBench(Benchmark):
    name = "judgebench"
    title = "JudgeBench"
    hub_id = "ScalerLab/JudgeBench"
    split = "gpt"
    unit = (
        "pairs: each pair is judged as two GRM inputs, in the orders (A, B) and (B, A), which the table above counts "
        "apart; a pair counts when the two verdicts, mapped back to A/B, add up to the right one (a tie or a failed "
        "judgement in one order adds nothing, opposite verdicts cancel)"
    )
    reference = "ScalerLab/JudgeBench utils/metrics.py: compute_final_metrics (reverse_order=True)"
    local_files = "the JudgeBench jsonl file (data/dataset=judgebench,response_model=gpt-4o-2024-05-13.jsonl)"

    def section_of(self, row: Row) -> tuple[str, ...] | None:
        source = row.data.get("source")
        return (category(source) if isinstance(source, str) else "other",)

    def build(self, rows: Sequence[Row], source: str) -> BenchmarkData:
        inputs: list[LabeledInput] = []
        items: list[dict[str, Any]] = []
        for row in rows:
            label = field_of(row, "label")
            if label not in LABELS:
                raise BenchmarkSourceError(f"{row.file}, row {row.index}: label must be 'A>B' or 'B>A', got {label!r}")
            src = field_of(row, "source")
            a, b = field_of(row, "response_A"), field_of(row, "response_B")
            item = {"pair_id": field_of(row, "pair_id"), "source": src, "category": category(src), "label": label}
            first = len(inputs)
            for swapped, responses in ((False, [a, b]), (True, [b, a])):
                better_first = (label == "A>B") != swapped
                inputs.append(
                    LabeledInput(
                        context=field_of(row, "question"),
                        responses=responses,
                        id=f"{item['pair_id']}:{'BA' if swapped else 'AB'}",
                        label=0 if better_first else 1,
                        meta={"item": len(items), "swapped": swapped, "subset": item["category"], ORDER_KEY: "fixed"},
                    )
                )
            item["inputs"] = [first, first + 1]
            items.append(item)
        return BenchmarkData(self.name, source, inputs, items, rows=len(rows))

    def score(self, data: BenchmarkData, judged: Sequence[Judged], rng: random.Random) -> dict[str, Any]:
        correct: list[int] = []
        for item in data.items:
            original = decision(judged[item["inputs"][0]])
            swapped = decision(judged[item["inputs"][1]])
            if swapped is not None:  # judged as (B, A): map back to the original order
                swapped = "B>A" if swapped == "A>B" else "A>B"
            correct.append(int(pair_credit(item["label"], original, swapped) > 0))
        by_category = {
            c: mean_or_none([x for x, item in zip(correct, data.items) if item["category"] == c])
            for c in CATEGORIES + ("other",)
        }
        return {
            "score": mean_or_none(correct),
            **{c: v for c, v in by_category.items() if v is not None},
            "num_pairs": len(correct),
        }
