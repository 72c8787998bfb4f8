"""PPE, Preference Proxy Evaluations (Frick et al., 2024): human preference and verifiable correctness.

Human preference (``lmarena-ai/PPE-Human-Preference-V1``, split ``test``): rows ``question_id``, ``prompt``,
``response_1`` (model_a's), ``response_2`` (model_b's), ``winner`` (``model_a`` / ``model_b``; Arena ties such as
``tie`` or ``tie (bothbad)`` have no preferred response and are skipped, as PPE's judge evaluation filters them),
``language``, ... The metric is pairwise accuracy.

Correctness (``lmarena-ai/PPE-{MMLU-Pro,MATH,GPQA,IFEval,MBPP-Plus}-Best-of-K``, split ``train``): rows
``question_id``, ``model_name``, ``prompt``, ``response_1`` .. ``response_32``, ``scores`` (32 booleans: is
``response_i`` correct). The set of a row is told by its task columns (``answer_index``, ``level``,
``correct_choice_index``, ``instruction_id_list``, ``test_list``). Following the issue and the paper's rule, each
row is ONE listwise GRM input of all its responses (best-of-32): the pick is the highest voted score, and accuracy is
whether the pick is correct; the score is the mean of the five sets' accuracies (PPE's per-domain aggregation).

PPE's scoring code (lmarena/PPE ``utils/scorers.py``) was not available to read; how it counts a tie in a reward
model's scores is not known. So every metric comes in two forms: ``score`` counts a tie at the top by its expected
value (1/m of a draw among the m tied responses; a tie is wrong in the pairwise set's strict form ``strict``), and
``paper_score`` breaks it at random (the DeepSeek-GRM paper's rule); an unparsed judgement is wrong in all of them.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ...data.formats import LabeledInput
from .base import Benchmark, BenchmarkData, BenchmarkSourceError, Judged, Row, best_tied, field_of, mean_or_none

CORRECTNESS_SETS = {  # name -> a column only that set has
    "MMLU-Pro": "answer_index",
    "MATH": "level",
    "GPQA": "correct_choice_index",
    "IFEval": "instruction_id_list",
    "MBPP-Plus": "test_list",
}


class PPEPreference(Benchmark):
    name = "ppe-preference"
    title = "PPE Human Preference"
    hub_id = "lmarena-ai/PPE-Human-Preference-V1"
    split = "test"
    unit = (
        "pairs (one GRM input each; pairs whose human label is a tie are skipped); a tie at the top earns its "
        "expected value (1/2), a failed judgement 0"
    )
    reference = "PPE (lmarena/PPE) human-preference pairwise accuracy; ties in the label skipped"
    local_files = "the 'test' split of lmarena-ai/PPE-Human-Preference-V1 (its parquet file, or rows as JSON lines)"
    paper_metric = "paper_score"

    def section_of(self, row: Row) -> tuple[str, ...] | None:
        return (row.file,) if row.data.get("winner") in ("model_a", "model_b") else None

    def build(self, rows: Sequence[Row], source: str) -> BenchmarkData:
        inputs: list[LabeledInput] = []
        items: list[dict[str, Any]] = []
        skipped: Counter[str] = Counter()
        for row in rows:
            winner = field_of(row, "winner")
            if winner not in ("model_a", "model_b"):
                skipped[f"winner {winner!r}"] += 1
                continue
            row_id = str(row.data.get("question_id", row.index))
            items.append({"id": row_id, "input": len(inputs), "label": 0 if winner == "model_a" else 1})
            inputs.append(
                LabeledInput(
                    context=field_of(row, "prompt"),
                    responses=[field_of(row, "response_1"), field_of(row, "response_2")],
                    id=row_id,
                    label=items[-1]["label"],
                    meta={"item": len(items) - 1},
                )
            )
        return BenchmarkData(self.name, source, inputs, items, rows=len(rows), skipped=skipped)

    def score(self, data: BenchmarkData, judged: Sequence[Judged], rng: random.Random) -> dict[str, Any]:
        strict, expected, paper = [], [], []
        for item in data.items:
            s = judged[item["input"]]
            if s is None:
                strict.append(0.0), expected.append(0.0), paper.append(0.0)
                continue
            top = best_tied(s)
            strict.append(float(top == [item["label"]]))
            expected.append(float(item["label"] in top) / len(top))
            paper.append(float(rng.choice(top) == item["label"]))
        return {
            "score": mean_or_none(expected),
            "strict": mean_or_none(strict),
            "paper_score": mean_or_none(paper),
            "num_pairs": len(data.items),
        }


class PPECorrectness(Benchmark):
    name = "ppe-correctness"
    title = "PPE Correctness"
    hub_id = None
    hub_ids = tuple(f"lmarena-ai/PPE-{name}-Best-of-K" for name in CORRECTNESS_SETS)
    split = "train"
    unit = (
        "prompts with their K sampled responses (one GRM input each); the pick counts when a correct response scores "
        "top (a tie: the share of correct ones among the tied), and the score is the mean of the five sets' accuracies"
    )
    reference = "PPE (lmarena/PPE) correctness sets as best-of-K: accuracy of the top-scored response, mean of sets"
    local_files = "the five lmarena-ai/PPE-*-Best-of-K datasets (their parquet files in one folder)"
    paper_metric = "paper_score"

    def section_of(self, row: Row) -> tuple[str, ...] | None:
        which = [name for name, column in CORRECTNESS_SETS.items() if column in row.data]
        return (which[0],) if len(which) == 1 else ("?",)

    def build(self, rows: Sequence[Row], source: str) -> BenchmarkData:
        inputs: list[LabeledInput] = []
        items: list[dict[str, Any]] = []
        for row in rows:
            which = [name for name, column in CORRECTNESS_SETS.items() if column in row.data]
            if len(which) != 1:
                raise BenchmarkSourceError(
                    f"{row.file}, row {row.index}: cannot tell which PPE correctness set the row is from (expected "
                    f"exactly one of the columns {', '.join(CORRECTNESS_SETS.values())})"
                )
            correct = field_of(row, "scores", list)
            responses = []
            for i in range(1, len(correct) + 1):
                responses.append(field_of(row, f"response_{i}"))
            if len(correct) < 2 or not all(isinstance(c, bool | int) for c in correct):
                raise BenchmarkSourceError(f"{row.file}, row {row.index}: 'scores' must be a list of booleans")
            row_id = f"{row.data.get('question_id', row.index)}:{row.data.get('model_name', '')}"
            correct_idx = [i for i, c in enumerate(correct) if c]
            items.append({"id": row_id, "set": which[0], "input": len(inputs), "correct": correct_idx})
            inputs.append(
                LabeledInput(
                    context=field_of(row, "prompt"),
                    responses=responses,
                    id=row_id,
                    # The usual report needs one labelled best: the first correct response (the official metrics
                    # below count any correct pick).
                    label=correct_idx[0] if correct_idx else 0,
                    meta={"item": len(items) - 1, "subset": which[0]},
                )
            )
        missing = [name for name in CORRECTNESS_SETS if not any(item["set"] == name for item in items)]
        return BenchmarkData(self.name, source, inputs, items, rows=len(rows), missing=missing)

    def score(self, data: BenchmarkData, judged: Sequence[Judged], rng: random.Random) -> dict[str, Any]:
        expected: dict[str, list[float]] = {}
        paper: dict[str, list[float]] = {}
        for item in data.items:
            s = judged[item["input"]]
            good = set(item["correct"])
            if s is None:
                e = p = 0.0
            else:
                top = best_tied(s)
                e = sum(i in good for i in top) / len(top)
                p = float(rng.choice(top) in good)
            expected.setdefault(item["set"], []).append(e)
            paper.setdefault(item["set"], []).append(p)
        sets = {name: sum(v) / len(v) for name, v in expected.items()}
        paper_sets = {name: sum(v) / len(v) for name, v in paper.items()}
        complete = len(sets) == len(CORRECTNESS_SETS)
        return {
            "score": sum(sets.values()) / len(sets) if complete else None,
            "paper_score": sum(paper_sets.values()) / len(paper_sets) if complete else None,
            "sets": dict(sorted(sets.items())),
            "paper_sets": dict(sorted(paper_sets.items())),
            "num_rows": len(data.items),
        }
