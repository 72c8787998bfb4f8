"""RMB (Zhou et al., 2024): helpfulness and harmlessness over 49 scenarios, pairwise and best-of-N.

Published only in its GitHub repository (Zhou-Zoey/RMB-Reward-Model-Benchmark, folder ``RMB_dataset/``):
``Pairwise_set/{Helpfulness/<category>/<scenario>,Harmlessness/<S1..S11,multi>}.json`` rows ``pair_uid`` (str),
``conversation_input`` (messages ``{role, content, language}`` ending with the user's turn), ``chosen`` and
``reject`` (``{answer, llm_name}``), ``category_path``; ``BoN_set/...`` rows ``bon_uid``, ``conversation_input``,
``bon_best`` (``{answer, llm_name}``), ``loser_list`` (a list of them), ``category_path``.

Official rules: pairwise accuracy is the share of pairs whose chosen answer scores strictly higher (the repository's
``eval/scripts/my_run_rm.py``: ``1 if chosen > rejected else 0``; a tie is wrong), pooled over a section's pairs;
best-of-N (the repository has no code for it; the paper's rule as re-implemented by RM-R1's
``run_rm_bestofn.py``): a row counts when the best answer scores strictly above every loser. Here all answers of a
best-of-N row are judged in ONE listwise GRM input and the argmax decides (strictly: a tie at the top is wrong). The
RMB score is the mean of the four sections (helpfulness / harmlessness x pairwise / best-of-N); per scenario
(``category_path``) accuracies are reported too. ``paper_score`` breaks ties at random (the DeepSeek-GRM paper's rule).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from ...data.formats import LabeledInput
from .base import Benchmark, BenchmarkData, BenchmarkSourceError, Judged, Row, best_tied, field_of

SECTIONS = ("pairwise/helpfulness", "pairwise/harmlessness", "bon/helpfulness", "bon/harmlessness")


def _answer(row: Row, value: Any, key: str) -> str:
    if not isinstance(value, dict) or not isinstance(value.get("answer"), str):
        raise BenchmarkSourceError(f"{row.file}, row {row.index}: {key!r} must be an object with a string 'answer'")
    return value["answer"]


def _kind_goal(category_path: str) -> tuple[str | None, str]:
    """("pairwise" or "bon", "helpfulness" or "harmlessness") from a row's ``category_path``; (None, "") if neither."""
    parts = category_path.split("/")
    kind = {"Pairwise_set": "pairwise", "BoN_set": "bon"}.get(parts[0])
    goal = parts[1].lower() if len(parts) > 1 else ""
    return (kind, goal) if kind and goal in ("helpfulness", "harmlessness") else (None, "")


class RMB(Benchmark):
    name = "rmb"
    title = "RMB"
    hub_id = None
    unit = (
        "pairs and best-of-N rows (one GRM input each); a tie at the top counts wrong, and the score is the mean of "
        "the four sections (pairwise / best-of-N x helpfulness / harmlessness), not the mean over inputs"
    )
    reference = (
        "Zhou-Zoey/RMB-Reward-Model-Benchmark eval/scripts/my_run_rm.py (pairwise, strict >) + the paper's best-of-N "
        "rule (RM-R1 run_rm_bestofn.py), mean of the four sections"
    )
    local_files = "the RMB_dataset folder of github.com/Zhou-Zoey/RMB-Reward-Model-Benchmark"
    paper_metric = "paper_score"

    def section_of(self, row: Row) -> tuple[str, ...] | None:
        path = row.data.get("category_path")
        kind, goal = _kind_goal(path) if isinstance(path, str) else (None, "")
        return (f"{kind}/{goal}", "/".join(path.split("/")[2:])) if kind else ("?",)

    def build(self, rows: Sequence[Row], source: str) -> BenchmarkData:
        inputs: list[LabeledInput] = []
        items: list[dict[str, Any]] = []
        for row in rows:
            path = field_of(row, "category_path")
            parts = path.split("/")
            kind, goal = _kind_goal(path)
            if kind is None:
                raise BenchmarkSourceError(
                    f"{row.file}, row {row.index}: category_path must start with Pairwise_set/ or BoN_set/ and then "
                    f"Helpfulness/ or Harmlessness/, got {path!r}"
                )
            messages = field_of(row, "conversation_input", list)
            context = [{"role": m.get("role"), "content": m.get("content")} for m in messages if isinstance(m, dict)]
            if kind == "pairwise":
                responses = [
                    _answer(row, row.data.get("chosen"), "chosen"),
                    _answer(row, row.data.get("reject"), "reject"),
                ]
                row_id = str(field_of(row, "pair_uid", (str, int)))
            else:
                losers = field_of(row, "loser_list", list)
                responses = [_answer(row, row.data.get("bon_best"), "bon_best")]
                responses += [_answer(row, loser, f"loser_list[{j}]") for j, loser in enumerate(losers)]
                row_id = str(field_of(row, "bon_uid", (str, int)))
            section = f"{kind}/{goal}"
            items.append({"id": row_id, "section": section, "scenario": "/".join(parts[1:]), "input": len(inputs)})
            inputs.append(
                LabeledInput(
                    context=context,
                    responses=responses,
                    id=f"{kind}:{row_id}",
                    label=0,
                    meta={"item": len(items) - 1, "subset": section},
                )  # fmt: skip
            )
        missing = [s for s in SECTIONS if not any(item["section"] == s for item in items)]
        return BenchmarkData(self.name, source, inputs, items, rows=len(rows), missing=missing)

    def score(self, data: BenchmarkData, judged: Sequence[Judged], rng: random.Random) -> dict[str, Any]:
        strict: dict[str, list[float]] = {}
        paper: dict[str, list[float]] = {}
        scenarios: dict[str, list[float]] = {}
        for item in data.items:
            s = judged[item["input"]]
            top = best_tied(s) if s is not None else []
            ok = float(top == [0])
            strict.setdefault(item["section"], []).append(ok)
            paper.setdefault(item["section"], []).append(float(bool(top) and rng.choice(top) == 0))
            scenarios.setdefault(f"{item['section'].split('/')[0]}/{item['scenario']}", []).append(ok)
        sections = {s: sum(strict[s]) / len(strict[s]) for s in SECTIONS if s in strict}
        paper_sections = {s: sum(paper[s]) / len(paper[s]) for s in SECTIONS if s in paper}
        complete = len(sections) == len(SECTIONS)
        return {
            "score": sum(sections.values()) / len(SECTIONS) if complete else None,
            "paper_score": sum(paper_sections.values()) / len(SECTIONS) if complete else None,
            "sections": sections,
            "paper_sections": paper_sections,
            "scenarios": {name: sum(v) / len(v) for name, v in sorted(scenarios.items())},
        }
