"""Resumable sampling of labelled judgements: the shared first step of rejective sampling and Meta RM data.

Per example, ``num_samples`` judgements are sampled with a freshly shuffled response order each (or one hinted
sample, the best response revealed in the prompt) and each is labelled with the protocol's rule (paper Eq. 4).
Work is appended to ``<output_dir>/samples.jsonl``, one line per finished example with every sample; restarting
after a crash continues with the examples that are not in the file yet, so nothing is lost or done twice.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol

from tqdm.auto import tqdm

from ..modeling.configuration_grm import GRMConfig
from ..protocol.inputs import GRMInput
from ..protocol.judging import GRMSample
from ..protocol.planner import hint_draw, plan_orders
from ..protocol.rules import is_correct
from ..protocol.seeding import SEEDING_VERSION
from ..utils.jsonl import read_finished
from ..utils.store import SAMPLES_FILE, SETTINGS_FILE, SampleStore

__all__ = ["SAMPLES_FILE", "SETTINGS_FILE", "JudgementSampler", "LabelledSampling", "decide", "is_hinted"]


class JudgementSampler(Protocol):
    """What the builders sample from: :class:`~trl_grm.GRMForPointwiseScoring` (the model being trained or a
    stronger checkpoint) or :meth:`~trl_grm.GRMForPointwiseScoring.from_endpoint` (a served model)."""

    config: GRMConfig

    def sample_judgements(self, items, orders, **kwargs) -> list[list[GRMSample]]: ...


def is_hinted(key: str, hinted_fraction: float, seed: int) -> bool:
    """Whether the example with fingerprint ``key`` is sampled with a hint (a seeded draw of the one planner, stable
    across restarts and independent of the example's position in the data)."""
    return hinted_fraction > 0 and hint_draw(seed, key) < hinted_fraction


def decide(samples_correct: Sequence[bool], hinted: bool) -> str:
    """The paper's rule for one example: ``"kept"``, ``"too_easy"`` (all N correct, unhinted) or ``"all_wrong"``."""
    if not any(samples_correct):
        return "all_wrong"
    if not hinted and all(samples_correct):
        return "too_easy"
    return "kept"


class LabelledSampling:
    """Sample and label judgements for labelled examples (:class:`~trl_grm.data.formats.LabeledInput`), resumably.

    Args:
        sampler: the model to sample judgements from.
        num_samples: samples per unhinted example.
        hinted_fraction: fraction of examples sampled once with the best response revealed.
        temperature, max_new_tokens: sampling settings.
        binary_single: rate single responses 0/1 (the paper's n = 1 training variant).
        order_strategy: response orders of an example's samples: ``"random"`` (paper: a fresh shuffle each) or
            ``"balanced"`` (cyclic shifts: with ``num_samples`` a multiple of n, every response is shown in every
            position equally often, so a 2-response example is judged as often in each order).
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
        order_strategy: str = "random",
        seed: int = 0,
        batch_size: int = 8,
    ):
        if order_strategy not in ("random", "balanced"):
            raise ValueError(f"order_strategy must be 'random' or 'balanced', got {order_strategy!r}")
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        if not 0.0 <= hinted_fraction <= 1.0:
            raise ValueError(f"hinted_fraction must be in [0, 1], got {hinted_fraction}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.sampler = sampler
        self.settings = {
            "num_samples": num_samples,
            "hinted_fraction": hinted_fraction,
            "temperature": temperature,
            "max_new_tokens": max_new_tokens,
            "binary_single": binary_single,
            "order_strategy": order_strategy,
            "seed": seed,
            "seeding": SEEDING_VERSION,
        }
        self.batch_size = batch_size

    def sample(
        self,
        examples: Sequence[GRMInput],
        output_dir: str | os.PathLike,
        progress: bool = True,
        desc: str = "Sampling",
    ) -> list[dict[str, Any]]:
        """Sample every example not yet in ``output_dir`` and return all per-example records (old and new).

        A record: ``{"index", "id", "hinted", "decision", "samples": [{"order", "text", "status", "scores",
        "correct"}, ...]}`` with scores in the original response order.
        """
        store = SampleStore.in_folder(output_dir, {**self.settings, "num_examples": len(examples)})
        records = {r["index"]: r for r in store.open()}
        todo = [i for i in range(len(examples)) if i not in records]
        s = self.settings
        with tqdm(total=len(examples), initial=len(records), desc=desc, unit="example", disable=not progress) as bar:
            for lo in range(0, len(todo), self.batch_size):
                batch = todo[lo : lo + self.batch_size]
                items = [examples[i] for i in batch]
                hinted = [is_hinted(it.fingerprint, s["hinted_fraction"], s["seed"]) for it in items]
                # The orders (and, in the sampler, the seeds) score() would draw for this input and seed.
                orders = [
                    plan_orders(
                        it.fingerprint, len(it.responses), 1 if h else s["num_samples"], s["order_strategy"], s["seed"]
                    )  # fmt: skip
                    for it, h in zip(items, hinted)
                ]
                samples = self.sampler.sample_judgements(
                    items,
                    orders,
                    temperature=s["temperature"],
                    max_new_tokens=s["max_new_tokens"],
                    seed=s["seed"],
                    hints=[it.label if h else None for it, h in zip(items, hinted)],
                    binary_single=s["binary_single"],
                )
                new = [
                    _record(i, item, h, item_samples)
                    for i, item, h, item_samples in zip(batch, items, hinted, samples)
                ]
                store.append(new)
                records.update((r["index"], r) for r in new)
                bar.update(len(batch))
        return [records[i] for i in range(len(examples))]


def _record(index: int, item: Any, hinted: bool, samples: Sequence[GRMSample]) -> dict[str, Any]:
    correct = [is_correct(x.scores, item.label) for x in samples]
    return {
        "index": index,
        "id": item.id,
        "hinted": hinted,
        "decision": decide(correct, hinted),
        "samples": [
            {"order": x.order, "text": x.text, "status": x.status, "scores": x.scores, "correct": c}
            for x, c in zip(samples, correct)
        ],
    }


def read_samples(output_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The finished records of an earlier run (``samples.jsonl`` in ``output_dir``, or that file itself)."""
    path = os.path.join(output_dir, SAMPLES_FILE) if os.path.isdir(output_dir) else str(output_dir)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No sampled judgements at {path}")
    return read_finished(path)
