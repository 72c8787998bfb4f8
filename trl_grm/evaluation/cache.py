"""Sampled judgements of a dataset on disk: written per finished batch, resumable, extendable to a larger k."""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ..data.formats import LabeledInput
from ..protocol.voting import make_orders
from ..utils.jsonl import append_records, check_run_settings, read_finished
from ..utils.progress import sample_bar

SAMPLES_FILE = "samples.jsonl"
SETTINGS_FILE = "settings.json"
# An example whose meta has this key is sampled with that order strategy ("fixed": as given, e.g. a benchmark that
# judges both orders itself); the rest are shuffled per sample (the paper).
ORDER_KEY = "_order"


def fingerprint(examples: Sequence[LabeledInput]) -> str:
    """A hash of the examples (context, responses, label): a cache only serves the data it was made from."""
    h = hashlib.sha256()
    for ex in examples:
        item = [ex.context, ex.responses, ex.label, ex.principles, ex.reference]
        if ORDER_KEY in ex.meta:
            item.append(ex.meta[ORDER_KEY])
        h.update(json.dumps(item).encode())
    return h.hexdigest()[:16]


class SampleCache:
    """Sampled judgements of a dataset, on disk: ``settings.json`` and ``samples.jsonl``.

    Each line is a chunk ``{"index", "start", "samples": [...]}``: samples ``start..`` of example ``index``, written
    as soon as its batch finishes. A run that dies keeps every finished chunk; a later run with a larger k draws
    only the missing samples (sample j of an example always sees the same response order).
    """

    def __init__(self, directory: str | os.PathLike, settings: dict[str, Any]):
        self.directory = str(directory)
        self.settings = json.loads(json.dumps(settings))  # as it reads back from settings.json
        self.path = os.path.join(self.directory, SAMPLES_FILE)

    def load(self) -> dict[int, list[dict[str, Any]]]:
        """Every cached sample, per example index, in sample order."""
        chunks: dict[int, dict[int, list]] = defaultdict(dict)
        for chunk in read_finished(self.path):
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
    ) -> list[list[dict[str, Any]]]:
        """Make sure every example has at least ``k`` samples (sampling only what is missing); return ``k`` each.

        ``batch_size`` is the number of judgements per sampling call (whole examples, at least one): the unit of work
        that a crash can lose.
        """
        check_run_settings(self.directory, self.settings, SETTINGS_FILE)
        have = self.load()
        todo = [i for i in range(len(examples)) if len(have.get(i, [])) < k]
        missing = sum(k - len(have.get(i, [])) for i in todo)
        with sample_bar(
            len(examples) * k, initial=len(examples) * k - missing, desc=desc, disable=not progress
        ) as bar:
            for batch in _batches(todo, {i: k - len(have.get(i, [])) for i in todo}, batch_size):
                starts = [len(have.get(i, [])) for i in batch]
                orders = [
                    make_orders(
                        len(examples[i].responses),
                        k,
                        examples[i].meta.get(ORDER_KEY, "random"),
                        random.Random(f"{seed}:{i}:eval"),
                    )[s:]
                    for i, s in zip(batch, starts)
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
                append_records(self.path, chunks)
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
