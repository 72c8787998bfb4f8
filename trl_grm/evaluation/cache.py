"""Sampled judgements of a dataset on disk: written per finished batch, resumable, extendable to a larger k."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ..data.formats import ORDER_KEY, LabeledInput
from ..protocol.planner import plan_orders
from ..utils.progress import sample_bar
from ..utils.store import SampleStore


class SampleCache:
    """Sampled judgements of a dataset, on disk: ``settings.json`` and ``samples.jsonl``.

    Each line is a chunk ``{"index", "start", "samples": [...]}``: samples ``start..`` of example ``index``, written
    as soon as its batch finishes. A run that dies keeps every finished chunk; a later run with a larger k draws
    only the missing samples (sample j of an example always sees the same response order).
    """

    def __init__(self, directory: str | os.PathLike, settings: dict[str, Any]):
        self.directory = str(directory)
        self.settings = json.loads(json.dumps(settings))  # as it reads back from settings.json
        self.store = SampleStore.in_folder(self.directory, self.settings)
        self.path = self.store.path

    def load(self) -> dict[int, list[dict[str, Any]]]:
        """Every cached sample, per example index, in sample order (the settings guard checked first)."""
        chunks: dict[int, dict[int, list]] = defaultdict(dict)
        for chunk in self.store.open():
            chunks[chunk["index"]][chunk["start"]] = chunk["samples"]
        out = {}
        for index, parts in chunks.items():
            samples: list[dict[str, Any]] = []
            for start in sorted(parts):
                if start == len(samples):  # contiguous chunks only
                    samples += parts[start]
            out[index] = samples
        return out

    def fill(
        self,
        sampler: Any,
        examples: Sequence[LabeledInput],
        k: int,
        *,
        temperature: float,
        max_new_tokens: int,
        principles_mode: str | None,
        seed: int,
        batch_size: int = 64,
        progress: bool = True,
        desc: str = "Sampling",
        strict_context: bool = False,
    ) -> list[list[dict[str, Any]]]:
        """Make sure every example has at least ``k`` samples (sampling only what is missing); return ``k`` each.

        ``batch_size`` is the number of judgements per sampling call (whole examples, at least one): the unit of work
        that a crash can lose.
        """
        have = self.load()
        todo = [i for i in range(len(examples)) if len(have.get(i, [])) < k]
        missing = sum(k - len(have.get(i, [])) for i in todo)
        with sample_bar(
            len(examples) * k, initial=len(examples) * k - missing, desc=desc, disable=not progress
        ) as bar:
            for batch in _batches(todo, {i: k - len(have.get(i, [])) for i in todo}, batch_size):
                starts = [len(have.get(i, [])) for i in batch]
                # The orders (and, in the sampler, the seeds) score() would draw for this input and seed.
                orders = [
                    plan_orders(ex.fingerprint, len(ex.responses), k, ex.meta.get(ORDER_KEY, "random"), seed, start=s)
                    for ex, s in ((examples[i], s) for i, s in zip(batch, starts))
                ]
                before = bar.n
                samples = sampler.sample_judgements(
                    [examples[i] for i in batch],
                    orders,
                    temperature=temperature,
                    max_new_tokens=max_new_tokens,
                    seed=seed,
                    principles_mode=principles_mode,
                    sample_start=starts,
                    strict_context=strict_context,
                    progress=bar.update,  # moves while a batch decodes, in fractions of a sample
                )
                chunks = [
                    {
                        "index": i,
                        "start": s,
                        "samples": [
                            {"order": x.order, "text": x.text, "status": x.status, "scores": x.scores}
                            for x in item_samples
                        ],
                    }
                    for i, s, item_samples in zip(batch, starts, samples)
                ]
                self.store.append(chunks)
                for chunk in chunks:
                    have.setdefault(chunk["index"], []).extend(chunk["samples"])
                bar.update(before + sum(len(o) for o in orders) - bar.n)  # exact count once the batch is saved
        return [have[i][:k] for i in range(len(examples))]


def _batches(todo: Sequence[int], need: dict[int, int], size: int) -> list[list[int]]:
    """Consecutive groups of examples whose missing samples add up to at most ``size`` (at least one example)."""
    batches: list[list[int]] = []
    current: list[int] = []
    rows = 0
    for i in todo:
        if current and rows + need[i] > size:
            batches.append(current)
            current, rows = [], 0
        current.append(i)
        rows += need[i]
    return batches + [current] if current else batches
