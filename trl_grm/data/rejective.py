"""Rejective sampling (SPCT stage 1): keep sampled critiques whose scores single out the labelled best response.

Per example, ``num_samples`` judgements are sampled with a freshly shuffled response order each. Incorrect samples
(paper Eq. 4; unparseable ones included) are dropped, and the whole example is dropped as "too easy" when all of
them were correct. A chosen fraction of examples is sampled with a hint instead (one sample, the best response
revealed in the prompt, kept only if correct). Kept samples become conversational prompt-completion rows whose
prompt is the UN-hinted prompt.

Work is written to ``<output_dir>/samples.jsonl`` as it finishes, one line per example with every sample (the
rejected ones too: they are the Meta RM's negatives). Restarting after a crash continues with the examples that are
not in the file yet.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from tqdm.auto import tqdm

from ..modeling.configuration_grm import GRMConfig
from ..modeling.modeling_grm import GRMSample, item_messages
from ..protocol.inputs import GRMInput
from ..protocol.rules import is_correct
from ..protocol.voting import make_orders
from ..utils.jsonl import append_records, read_finished

SAMPLES_FILE = "samples.jsonl"
SETTINGS_FILE = "settings.json"
REPORT_FILE = "report.json"


class JudgementSampler(Protocol):
    """What the builder samples from: :class:`~trl_grm.GRMForPointwiseScoring` (the model being trained or a
    stronger checkpoint) or :class:`~trl_grm.backends.openai_backend.OpenAICompatibleGRM` (a served model)."""

    config: GRMConfig

    def sample_judgements(self, items, orders, **kwargs) -> list[list[GRMSample]]: ...


@dataclass
class RejectiveSamplingReport:
    """Counts of one build. ``rejected_wrong`` counts samples (format failures included, also counted apart);
    ``rejected_easy`` counts examples whose samples were all correct; their ids are in ``too_easy_ids``."""

    examples: int = 0
    hinted_examples: int = 0
    kept_examples: int = 0
    kept_samples: int = 0
    rejected_wrong: int = 0
    rejected_easy: int = 0
    format_failures: int = 0
    too_easy_ids: list[Any] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_hinted(index: int, hinted_fraction: float, seed: int) -> bool:
    """Whether example ``index`` is sampled with a hint (a seeded draw, stable across restarts)."""
    return hinted_fraction > 0 and random.Random(f"{seed}:{index}:hint").random() < hinted_fraction


def decide(samples_correct: Sequence[bool], hinted: bool) -> str:
    """The paper's rule for one example: ``"kept"``, ``"too_easy"`` (all N correct, unhinted) or ``"all_wrong"``."""
    if not any(samples_correct):
        return "all_wrong"
    if not hinted and all(samples_correct):
        return "too_easy"
    return "kept"


class RejectiveSampler:
    """Build a rejective fine-tuning dataset from labelled examples (:class:`~trl_grm.data.formats.LabeledInput`).

    Args:
        sampler: the model to sample judgements from.
        num_samples: N_RFT, samples per unhinted example (paper: 3).
        hinted_fraction: fraction of examples sampled once with the best response revealed.
        temperature, max_new_tokens: sampling settings.
        binary_single: rate single responses 0/1 (the paper's n = 1 training variant).
        seed: seeds orders, hint selection and sampling.
        batch_size: examples per sampling call (and per durable write).
    """

    def __init__(
        self,
        sampler: JudgementSampler,
        *,
        num_samples: int = 3,
        hinted_fraction: float = 0.0,
        temperature: float = 0.5,
        max_new_tokens: int = 512,
        binary_single: bool = True,
        prompt_config: GRMConfig | None = None,
        seed: int = 0,
        batch_size: int = 8,
    ):
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        if not 0.0 <= hinted_fraction <= 1.0:
            raise ValueError(f"hinted_fraction must be in [0, 1], got {hinted_fraction}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.sampler = sampler
        self.prompt_config = prompt_config
        self.settings = {
            "num_samples": num_samples,
            "hinted_fraction": hinted_fraction,
            "temperature": temperature,
            "max_new_tokens": max_new_tokens,
            "binary_single": binary_single,
            "seed": seed,
        }
        self.batch_size = batch_size

    def _check_settings(self, output_dir: str, num_examples: int) -> None:
        path = os.path.join(output_dir, SETTINGS_FILE)
        wanted = {**self.settings, "num_examples": num_examples}
        if os.path.exists(path):
            with open(path) as f:
                found = json.load(f)
            if found != wanted:
                raise ValueError(
                    f"{output_dir} holds samples made with other settings ({found}); use a new output_dir "
                    f"or the same settings ({wanted})"
                )
        else:
            with open(path, "w") as f:
                json.dump(wanted, f, indent=2)

    def sample(self, examples: Sequence[GRMInput], output_dir: str | os.PathLike, progress: bool = True) -> list[dict]:
        """Sample every example not yet in ``output_dir`` and return all per-example records (old and new)."""
        output_dir = str(output_dir)
        os.makedirs(output_dir, exist_ok=True)
        self._check_settings(output_dir, len(examples))
        path = os.path.join(output_dir, SAMPLES_FILE)
        records = {r["index"]: r for r in read_finished(path)}
        todo = [i for i in range(len(examples)) if i not in records]
        s = self.settings
        with tqdm(
            total=len(examples), initial=len(records), desc="Rejective sampling", unit="example", disable=not progress
        ) as bar:
            for lo in range(0, len(todo), self.batch_size):
                batch = todo[lo : lo + self.batch_size]
                items = [examples[i] for i in batch]
                hinted = [is_hinted(i, s["hinted_fraction"], s["seed"]) for i in batch]
                orders = [
                    make_orders(
                        len(it.responses),
                        1 if h else s["num_samples"],
                        "random",
                        random.Random(f"{s['seed']}:{i}:rft"),
                    )
                    for i, it, h in zip(batch, items, hinted)
                ]
                samples = self.sampler.sample_judgements(
                    items,
                    orders,
                    temperature=s["temperature"],
                    max_new_tokens=s["max_new_tokens"],
                    seed=s["seed"] + batch[0],
                    hints=[it.label if h else None for it, h in zip(items, hinted)],
                    binary_single=s["binary_single"],
                )
                new = []
                for i, item, h, item_samples in zip(batch, items, hinted, samples):
                    correct = [is_correct(x.scores, item.label) for x in item_samples]
                    new.append(
                        {
                            "index": i,
                            "id": item.id,
                            "hinted": h,
                            "decision": decide(correct, h),
                            "samples": [
                                {
                                    "order": x.order,
                                    "text": x.text,
                                    "status": x.status,
                                    "scores": x.scores,
                                    "correct": c,
                                }
                                for x, c in zip(item_samples, correct)
                            ],
                        }
                    )
                append_records(path, new)
                records.update((r["index"], r) for r in new)
                bar.update(len(batch))
        return [records[i] for i in range(len(examples))]

    def build(
        self, examples: Sequence[GRMInput], output_dir: str | os.PathLike, progress: bool = True
    ) -> tuple[list[dict], RejectiveSamplingReport]:
        """Sample (resuming), apply the rules and return the SFT rows and the report (also saved as report.json)."""
        records = self.sample(examples, output_dir, progress)
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
                    }
                )
        with open(os.path.join(str(output_dir), REPORT_FILE), "w") as f:
            json.dump(report.as_dict(), f, indent=2, default=str)
        return rows, report
