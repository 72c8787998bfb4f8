"""Meta RM data: sampled judgements labelled 1 when they were right (paper Eq. 4), else 0.

Sources (paper: "non-hinted RFT samples plus fresh samples from the final GRM"):

- :func:`sample_meta_records`: k fresh judgements per example from any GRM backend, resumable like rejective
  sampling (it is the same :class:`~trl_grm.data.sampling.LabelledSampling`, without hints).
- :func:`~trl_grm.data.sampling.read_samples` on a rejective-sampling directory: every non-hinted sample, the
  rejected ones included (they are the negatives).

:func:`build_meta_dataset` turns records into ``{"text", "label"}`` rows with the one meta-input renderer that
guided voting uses too (:func:`~trl_grm.protocol.meta.render_meta_input`), and balances the classes on request.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ..protocol.inputs import GRMInput
from ..protocol.meta import render_meta_input
from .sampling import JudgementSampler, LabelledSampling

Balance = Literal["none", "downsample"]
BALANCE_MODES = ("none", "downsample")


@dataclass
class MetaDataReport:
    """Counts of one :func:`build_meta_dataset` call. ``positives`` / ``negatives`` count the rows returned."""

    examples: int = 0
    samples: int = 0
    skipped_hinted: int = 0
    skipped_unparsed: int = 0
    dropped_by_balance: int = 0
    positives: int = 0
    negatives: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_meta_records(
    sampler: JudgementSampler,
    examples: Sequence[GRMInput],
    output_dir: str | os.PathLike,
    *,
    num_samples: int = 8,
    temperature: float = 0.5,
    max_new_tokens: int = 512,
    binary_single: bool = True,
    seed: int = 0,
    batch_size: int = 8,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Sample ``num_samples`` judgements per example (shuffled orders) and label each; resumable in ``output_dir``.

    ``binary_single`` rates single responses 0/1 (as rejective sampling does), so that a single response with a 0/1
    correctness label can be judged right or wrong.
    """
    sampling = LabelledSampling(
        sampler,
        num_samples=num_samples,
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        binary_single=binary_single,
        seed=seed,
        batch_size=batch_size,
    )
    return sampling.sample(examples, output_dir, progress, desc="Meta RM sampling")


def build_meta_dataset(
    examples: Sequence[GRMInput],
    records: Iterable[dict[str, Any]],
    *,
    include_unparsed: bool = False,
    balance: Balance = "none",
    seed: int = 0,
) -> tuple[list[dict[str, Any]], MetaDataReport]:
    """``{"text", "label", "example_index"}`` rows, one per sampled judgement of a non-hinted record.

    Args:
        examples: the labelled examples the records were sampled from (``record["index"]`` points into them).
        records: per-example records of :class:`~trl_grm.data.sampling.LabelledSampling` (rejective or fresh).
        include_unparsed: keep judgements without a valid score line (label 0). Guided voting never asks the Meta
            RM about those, so they are left out by default (and counted).
        balance: ``"downsample"`` drops random rows of the larger class until both classes are equal; ``"none"``
            keeps every row (:class:`~trl_grm.trainers.meta_rm_config.MetaRMConfig` can weight the loss instead).
    """
    if balance not in BALANCE_MODES:
        raise ValueError(f"balance must be one of {BALANCE_MODES}, got {balance!r}")
    report = MetaDataReport()
    rows: list[dict[str, Any]] = []
    for record in records:
        index = record["index"]
        if not 0 <= index < len(examples):
            raise ValueError(f"Record index {index} is not an example index in 0..{len(examples) - 1}")
        report.examples += 1
        if record.get("hinted"):
            report.skipped_hinted += len(record["samples"])
            continue
        item = examples[index]
        for sample in record["samples"]:
            report.samples += 1
            if sample["scores"] is None and not include_unparsed:
                report.skipped_unparsed += 1
                continue
            shown = [item.responses[i] for i in sample["order"]]
            text = render_meta_input(item.context, shown, sample["text"])
            rows.append({"text": text, "label": int(bool(sample["correct"])), "example_index": index})
    if balance == "downsample":
        rows, report.dropped_by_balance = downsample(rows, seed)
    report.positives = sum(r["label"] for r in rows)
    report.negatives = len(rows) - report.positives
    return rows, report


def downsample(rows: Sequence[dict[str, Any]], seed: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Drop random rows of the larger class until both classes have the same size; keeps the original order."""
    by_label: dict[int, list[int]] = {0: [], 1: []}
    for i, row in enumerate(rows):
        by_label[int(row["label"])].append(i)
    size = min(len(by_label[0]), len(by_label[1]))
    rng = random.Random(f"{seed}:downsample")
    keep = set(rng.sample(by_label[0], size)) | set(rng.sample(by_label[1], size))
    return [row for i, row in enumerate(rows) if i in keep], len(rows) - len(keep)


def positive_weight(labels: Iterable[int]) -> float:
    """``negatives / positives``: the BCE ``pos_weight`` that gives both classes the same total weight."""
    labels = list(labels)
    positives = sum(1 for y in labels if y)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        raise ValueError(
            f"The Meta RM data has {positives} positive and {negatives} negative rows: both classes are needed"
        )
    return negatives / positives
