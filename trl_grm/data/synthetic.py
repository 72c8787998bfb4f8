"""Synthetic verifiable tasks: prompts whose best response is decided by code.

A small-scale analogue of the paper's rule-matched verifiable data. Every prompt states one checkable constraint;
exactly one response satisfies it (checked with :func:`verify`), the others violate it. ``difficulty`` sets how close
the violations are: each distractor is a *near miss* (the correct answer with a small defect: one word too many, one
lowercase word, a carry error, a wrong JSON key, the opposite verdict) with probability ``difficulty``, else a *far
miss* (an obviously different answer).

Families: ``uppercase``, ``word_count``, ``keyword``, ``format`` (bulleted list / JSON object), ``arithmetic``,
``yes_no``. ``num_responses=1`` gives the paper's single-response variant: label 1 when the one response passes.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .formats import LabeledInput
from .synthetic_families import GENERATORS, KEYWORD_WORDS, Task

__all__ = ["FAMILIES", "KEYWORD_WORDS", "MAX_RESPONSES", "SyntheticTasks", "verify"]

FAMILIES = ("uppercase", "word_count", "keyword", "format", "arithmetic", "yes_no")
MAX_RESPONSES = 8


# ------------------------------------------------------------------------------------------------------ checkers
def _word_pattern(word: str) -> re.Pattern[str]:
    return re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE)


def verify(family: str, params: Mapping[str, Any] | str, response: str) -> bool:
    """Whether ``response`` satisfies the constraint of a ``family`` prompt with ``params`` (a dict or its JSON)."""
    if isinstance(params, str):
        params = json.loads(params)
    if family == "uppercase":
        letters = [c for c in response if c.isalpha()]
        return bool(letters) and all(c.isupper() for c in letters)
    if family == "word_count":
        return len(response.split()) == params["words"]
    if family == "keyword":
        return _word_pattern(params["keyword"]).search(response) is not None
    if family == "format":
        if params["kind"] == "bullets":
            lines = response.strip().splitlines()
            return len(lines) == params["count"] and all(ln.startswith("- ") and ln[2:].strip() for ln in lines)
        if params["kind"] == "json":
            try:
                obj = json.loads(response)
            except ValueError:
                return False
            return isinstance(obj, dict) and params["key"] in obj
        raise ValueError(f"Unknown format kind {params['kind']!r}")
    if family == "arithmetic":
        match = re.fullmatch(r"\s*(-?\d+)\s*\.?\s*", response)
        return match is not None and int(match.group(1)) == params["answer"]
    if family == "yes_no":
        match = re.match(r"\s*(yes|no)\b", response, re.IGNORECASE)
        return match is not None and match.group(1).lower() == params["answer"]
    raise ValueError(f"Unknown synthetic family {family!r}; expected one of {FAMILIES}")


# --------------------------------------------------------------------------------------------------------- tasks
class SyntheticTasks:
    """A seeded, unlimited stream of verifiable judging examples (:class:`~trl_grm.data.formats.LabeledInput`).

    Example ``i`` depends only on ``(seed, i)`` and the settings; families take turns (``families[i % len]``) and
    the correct response's position is uniformly random.

    Args:
        seed: the seed of the stream.
        families: the families to draw from (default: all of :data:`FAMILIES`).
        num_responses: responses per example; ``1`` gives the 0/1 variant (label 1 iff the response passes,
            half of the examples).
        difficulty: in ``[0, 1]``, the probability that a distractor is a near miss rather than a far one.
    """

    def __init__(
        self,
        seed: int = 0,
        families: Sequence[str] | None = None,
        num_responses: int = 2,
        difficulty: float = 0.5,
    ):
        families = tuple(FAMILIES if families is None else families)
        unknown = [f for f in families if f not in GENERATORS]
        if not families or unknown:
            raise ValueError(f"families must be a non-empty subset of {FAMILIES}, got {list(families)}")
        if isinstance(num_responses, bool) or not isinstance(num_responses, int):
            raise TypeError(f"num_responses must be an integer, got {num_responses!r}")
        if not 1 <= num_responses <= MAX_RESPONSES:
            raise ValueError(f"num_responses must be in 1..{MAX_RESPONSES}, got {num_responses}")
        if not 0.0 <= difficulty <= 1.0:
            raise ValueError(f"difficulty must be in [0, 1], got {difficulty}")
        self.seed = seed
        self.families = families
        self.num_responses = num_responses
        self.difficulty = float(difficulty)

    def __repr__(self) -> str:
        return (
            f"SyntheticTasks(seed={self.seed}, families={list(self.families)}, num_responses={self.num_responses}, "
            f"difficulty={self.difficulty})"
        )

    def example(self, index: int) -> LabeledInput:
        """Example ``index`` of the stream."""
        rng = random.Random(f"{self.seed}:{index}:synthetic")
        family = self.families[index % len(self.families)]
        task = GENERATORS[family](rng)
        if not verify(family, task.params, task.correct):  # pragma: no cover - a generator bug
            raise RuntimeError(f"synthetic {family} example {index}: the correct answer fails its own check")
        n = self.num_responses
        if n == 1:
            passes = rng.random() < 0.5
            if passes:
                responses, kinds = [task.correct], ["correct"]
            else:
                text, kind = self._distractor(rng, task, family, {task.correct})
                responses, kinds = [text], [kind]
            label = int(passes)
        else:
            responses, kinds, seen = [], [], {task.correct}
            for _ in range(n - 1):
                text, kind = self._distractor(rng, task, family, seen)
                seen.add(text)
                responses.append(text)
                kinds.append(kind)
            label = rng.randrange(n)
            responses.insert(label, task.correct)
            kinds.insert(label, "correct")
        meta = {"family": family, "params": task.params, "kinds": kinds, "difficulty": self.difficulty}
        return LabeledInput(context=task.prompt, responses=responses, id=index, label=label, meta=meta)

    def _distractor(self, rng: random.Random, task: Task, family: str, seen: set[str]) -> tuple[str, str]:
        """A new failing response: a near miss with probability ``difficulty``, else a far one."""
        first = "near" if rng.random() < self.difficulty else "far"
        for kind in (first, "far" if first == "near" else "near"):
            make = task.near if kind == "near" else task.far
            for _ in range(30):
                text = make(rng)
                if text not in seen and not verify(family, task.params, text):
                    return text, kind
        raise RuntimeError(f"could not draw {self.num_responses - 1} distinct distractors for a {family} prompt")

    def __iter__(self) -> Iterator[LabeledInput]:
        index = 0
        while True:
            yield self.example(index)
            index += 1

    def generate(self, num: int, start: int = 0) -> list[LabeledInput]:
        """Examples ``start .. start + num - 1``."""
        return [self.example(i) for i in range(start, start + num)]

    def to_rows(self, num: int, start: int = 0) -> list[dict[str, Any]]:
        """Rows in the best-of-N format (``prompt/responses/best_index/family/params/id``; ``params`` as JSON).

        With ``num_responses=1`` the rows use the single format instead: ``prompt/response/label/...``.
        """
        rows = []
        for ex in self.generate(num, start):
            extra = {"family": ex.meta["family"], "params": json.dumps(ex.meta["params"]), "id": ex.id}
            if self.num_responses == 1:
                rows.append({"prompt": ex.context, "response": ex.responses[0], "label": ex.label, **extra})
            else:
                rows.append({"prompt": ex.context, "responses": ex.responses, "best_index": ex.label, **extra})
        return rows

    def to_dataset(self, num: int, start: int = 0):
        """:meth:`to_rows` as a ``datasets.Dataset`` (loadable with :func:`~trl_grm.data.load_preference_data`)."""
        from datasets import Dataset

        return Dataset.from_list(self.to_rows(num, start))
