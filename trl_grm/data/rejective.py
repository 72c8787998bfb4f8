"""Rejective sampling (SPCT stage 1): keep sampled critiques whose scores single out the labelled best response.

Per example, ``num_samples`` judgements are sampled with a freshly shuffled response order each. Incorrect samples
(paper Eq. 4; unparseable ones included) are dropped, and the whole example is dropped as "too easy" when all of
them were correct. A chosen fraction of examples is sampled with a hint instead (one sample, the best response
revealed in the prompt, kept only if correct). Kept samples become conversational prompt-completion rows whose
prompt is the UN-hinted prompt.

Sampling is :class:`~trl_grm.data.sampling.LabelledSampling`: written to ``<output_dir>/samples.jsonl`` as it
finishes, one line per example with every sample (the rejected ones too: they are the Meta RM's negatives), and
resumable after a crash.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..modeling.configuration_grm import GRMConfig
from ..protocol.inputs import GRMInput
from ..protocol.judging import item_messages, item_score_range
from ..protocol.template import render_hint
from .sampling import SAMPLES_FILE, SETTINGS_FILE, JudgementSampler, LabelledSampling, decide, is_hinted

__all__ = [
    "REPORT_FILE",
    "SAMPLES_FILE",
    "SETTINGS_FILE",
    "JudgementSampler",
    "RejectiveSampler",
    "RejectiveSamplingReport",
    "decide",
    "is_hinted",
]

REPORT_FILE = "report.json"


@dataclass
class RejectiveSamplingReport:
    """Counts of one build. ``rejected_wrong`` counts samples (format failures included, also counted apart);
    ``rejected_easy`` counts examples whose samples were all correct; their ids are in ``too_easy_ids``;
    ``rejected_one_sided`` counts examples dropped by ``require_all_positions``."""

    examples: int = 0
    hinted_examples: int = 0
    kept_examples: int = 0
    kept_samples: int = 0
    rejected_wrong: int = 0
    rejected_easy: int = 0
    format_failures: int = 0
    rejected_hint_quoted: int = 0
    dropped_for_position_balance: int = 0
    rejected_one_sided: int = 0
    too_easy_ids: list[Any] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def quotes_hint(text: str, hint: str, window: int = 6) -> bool:
    """Whether ``text`` repeats ``window`` consecutive words of ``hint`` (case and punctuation ignored).

    A hinted sample that quotes its hint ("Reply 2 is the best one.") would teach the student, which is trained on
    the UN-hinted prompt, to announce a verdict it was never given.
    """
    words = re.findall(r"\w+", hint.lower())
    haystack = " ".join(re.findall(r"\w+", text.lower()))
    return any(" ".join(words[i : i + window]) in haystack for i in range(max(1, len(words) - window + 1)))


class RejectiveSampler(LabelledSampling):
    """Build a rejective fine-tuning dataset from labelled examples (:class:`~trl_grm.data.formats.LabeledInput`).

    Takes the arguments of :class:`~trl_grm.data.sampling.LabelledSampling` (``num_samples`` is N_RFT, paper: 3)
    plus:

    - ``prompt_config``: the GRM settings whose template renders the SFT prompts (the sampler's when ``None``; a
      teacher may see a richer prompt than the student is trained on).
    - ``balance_positions``: keep as many samples whose best response was shown first as second (and so on),
      dropping random surplus. Off by default (the paper does not do it); for small samplers whose correct
      samples mostly favour one position, which would teach the student that position.
    - ``require_all_positions``: keep an example (n >= 2, unhinted) only when its correct samples show the best
      response in every position, so the student sees the same pair judged right in each order (use with
      ``order_strategy="balanced"`` and ``num_samples`` a multiple of n). Off by default (not in the paper).

    Hinted samples that quote their hint are rejected (see :func:`quotes_hint`).
    """

    def __init__(
        self,
        sampler: JudgementSampler,
        *,
        prompt_config: GRMConfig | None = None,
        balance_positions: bool = False,
        require_all_positions: bool = False,
        **kwargs,
    ):
        super().__init__(sampler, **kwargs)
        self.prompt_config = prompt_config
        self.balance_positions = balance_positions
        self.require_all_positions = require_all_positions

    def build(
        self, examples: Sequence[GRMInput], output_dir: str | os.PathLike, progress: bool = True
    ) -> tuple[list[dict], RejectiveSamplingReport]:
        """Sample (resuming), apply the rules and return the SFT rows and the report (also saved as report.json)."""
        records = self.sample(examples, output_dir, progress, desc="Rejective sampling")
        report = RejectiveSamplingReport(examples=len(records))
        rows = []
        config = self.prompt_config or self.sampler.config
        for record in records:
            item = examples[record["index"]]
            report.hinted_examples += record["hinted"]
            report.format_failures += sum(x["status"] != "ok" for x in record["samples"])
            if record["decision"] == "too_easy":
                report.rejected_easy += 1
                report.too_easy_ids.append(item.id if item.id is not None else record["index"])
                continue
            kept = [x for x in record["samples"] if x["correct"]]
            report.rejected_wrong += len(record["samples"]) - len(kept)
            if record["hinted"]:
                quoting = [quotes_hint(x["text"], self._hint_text(item, x["order"])) for x in kept]
                report.rejected_hint_quoted += sum(quoting)
                kept = [x for x, q in zip(kept, quoting) if not q]
            elif self.require_all_positions and kept and not _all_positions(kept, item.label):
                report.rejected_one_sided += 1
                continue
            if kept:
                report.kept_examples += 1
            for x in kept:
                report.kept_samples += 1
                prompt = item_messages(config, item, x["order"], binary_single=self.settings["binary_single"])
                rows.append(
                    {
                        "prompt": prompt,
                        "completion": [{"role": "assistant", "content": x["text"]}],
                        "example_index": record["index"],
                        "hinted": record["hinted"],
                        "num_responses": len(x["order"]),
                        "best_position": x["order"].index(item.label) if len(x["order"]) > 1 else None,
                    }
                )
        if self.balance_positions:
            rows, report.dropped_for_position_balance = _balance_positions(rows, self.settings["seed"])
        with open(os.path.join(str(output_dir), REPORT_FILE), "w") as f:
            json.dump(report.as_dict(), f, indent=2, default=str)
        return rows, report

    def _hint_text(self, item: GRMInput, order: Sequence[int]) -> str:
        config = self.sampler.config
        position = list(order).index(item.label) if len(order) > 1 else 0
        score_range = item_score_range(config, item, self.settings["binary_single"])
        return render_hint(config.grm_template, position, len(order), score_range)


def _all_positions(samples: Sequence[dict], label: int) -> bool:
    """Whether the samples show the best response (``label``) in every position (always true for n = 1)."""
    n = len(samples[0]["order"])
    return n == 1 or {x["order"].index(label) for x in samples} == set(range(n))


def _balance_positions(rows: list[dict], seed: int) -> tuple[list[dict], int]:
    """Downsample rows so that, among rows with n >= 2 responses, every shown position of the best response is
    equally frequent (a position that never holds the best leaves none of those rows)."""
    groups: dict[int, dict[int, list[int]]] = {}
    for i, row in enumerate(rows):
        if row["best_position"] is not None:
            groups.setdefault(row["num_responses"], {}).setdefault(row["best_position"], []).append(i)
    rng = random.Random(f"{seed}:balance-positions")
    drop: set[int] = set()
    for n, by_position in sorted(groups.items()):
        size = min(len(by_position.get(p, [])) for p in range(n))
        for p in sorted(by_position):
            drop.update(rng.sample(by_position[p], len(by_position[p]) - size))
    return [row for i, row in enumerate(rows) if i not in drop], len(drop)
