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
from .varied_families import VARIED_GENERATORS

__all__ = ["FAMILIES", "KEYWORD_WORDS", "MAX_RESPONSES", "STYLES", "SyntheticTasks", "verify"]

FAMILIES = ("uppercase", "word_count", "keyword", "format", "arithmetic", "yes_no")
MAX_RESPONSES = 8
# "templates": one prompt template per family (the first generator); "varied": many wordings and reply shapes.
STYLES = {"templates": GENERATORS, "varied": VARIED_GENERATORS}


# ------------------------------------------------------------------------------------------------------ checkers
def _word_pattern(word: str) -> re.Pattern[str]:
    return re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE)


def verify(family: str, params: Mapping[str, Any] | str, response: str) -> bool:
    """Whether ``response`` satisfies the constraint of a ``family`` prompt with ``params`` (a dict or its JSON)."""
    if isinstance(params, str):
        params = json.loads(params)
    if family == "uppercase":  # all capitals, or all small letters with params["case"] == "lower"
        letters = [c for c in response if c.isalpha()]
        wanted = str.islower if params.get("case") == "lower" else str.isupper
        return bool(letters) and all(wanted(c) for c in letters)
    if family == "word_count":  # whitespace-separated words: exactly, at most or at least params["words"]
        count, target = len(response.split()), params["words"]
        mode = params.get("mode", "exact")
        return count == target if mode == "exact" else count <= target if mode == "at_most" else count >= target
    if family == "keyword":  # the word used (or, with params["avoid"], absent)
        found = _word_pattern(params["keyword"]).search(response) is not None
        return found != bool(params.get("avoid"))
    if family == "format":
        lines = response.strip().splitlines()
        if params["kind"] == "bullets":  # "- " lines (or, with params["any_marker"], "* " lines too)
            markers = ("- ", "* ") if params.get("any_marker") else ("- ",)
            marker = lines[0][:2] if lines and lines[0][:2] in markers else "- "
            return len(lines) == params["count"] and all(ln.startswith(marker) and ln[2:].strip() for ln in lines)
        if params["kind"] == "numbered":
            return len(lines) == params["count"] and all(
                re.match(rf"{i}\. \S", ln) is not None for i, ln in enumerate(lines, start=1)
            )
        if params["kind"] == "json":
            try:
                obj = json.loads(response)
            except ValueError:
                return False
            return isinstance(obj, dict) and params["key"] in obj
        raise ValueError(f"Unknown format kind {params['kind']!r}")
    if family == "arithmetic":  # the number only, or (form "last_number") the last number the reply states
        if params.get("form") == "last_number":
            numbers = re.findall(r"(?<![\w.])-?\d+(?![\w.]\d)", response)
            return bool(numbers) and int(numbers[-1]) == params["answer"]
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
        style: ``"templates"`` (one prompt template per family) or ``"varied"``
            (:mod:`~trl_grm.data.varied_families`: many wordings, reply shapes and instruction variants).
        single_fraction: share of examples (drawn per example) with one response and a 0/1 label instead of
            ``num_responses``: a rating row, where no position can be exploited.
    """

    def __init__(
        self,
        seed: int = 0,
        families: Sequence[str] | None = None,
        num_responses: int = 2,
        difficulty: float = 0.5,
        style: str = "templates",
        single_fraction: float = 0.0,
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
        if style not in STYLES:
            raise ValueError(f"style must be one of {sorted(STYLES)}, got {style!r}")
        if not 0.0 <= single_fraction <= 1.0:
            raise ValueError(f"single_fraction must be in [0, 1], got {single_fraction}")
        self.seed = seed
        self.families = families
        self.num_responses = num_responses
        self.difficulty = float(difficulty)
        self.style = style
        self.single_fraction = float(single_fraction)

    def __repr__(self) -> str:
        extra = f", style={self.style!r}" if self.style != "templates" else ""
        extra += f", single_fraction={self.single_fraction}" if self.single_fraction else ""
        return (
            f"SyntheticTasks(seed={self.seed}, families={list(self.families)}, num_responses={self.num_responses}, "
            f"difficulty={self.difficulty}{extra})"
        )

    @property
    def mixed(self) -> bool:
        """Whether the stream mixes rating rows (n = 1) with rows of ``num_responses``."""
        return 0.0 < self.single_fraction and self.num_responses > 1

    def example(self, index: int) -> LabeledInput:
        """Example ``index`` of the stream."""
        rng = random.Random(f"{self.seed}:{index}:synthetic" + (f":{self.style}" if self.style != "templates" else ""))
        family = self.families[index % len(self.families)]
        task = STYLES[self.style][family](rng)
        if not verify(family, task.params, task.correct):  # pragma: no cover - a generator bug
            raise RuntimeError(f"synthetic {family} example {index}: the correct answer fails its own check")
        n = self.num_responses
        if self.single_fraction and rng.random() < self.single_fraction:
            n = 1
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
                text, kind = self._distractor(rng, task, family, seen, n)
                seen.add(text)
                responses.append(text)
                kinds.append(kind)
            label = rng.randrange(n)
            responses.insert(label, task.correct)
            kinds.insert(label, "correct")
        meta = {"family": family, "params": task.params, "kinds": kinds, "difficulty": self.difficulty}
        if self.style != "templates":
            meta["style"] = self.style
        return LabeledInput(context=task.prompt, responses=responses, id=index, label=label, meta=meta)

    def _distractor(
        self, rng: random.Random, task: Task, family: str, seen: set[str], n: int | None = None
    ) -> tuple[str, str]:
        """A new failing response: a near miss with probability ``difficulty``, else a far one."""
        first = "near" if rng.random() < self.difficulty else "far"
        for kind in (first, "far" if first == "near" else "near"):
            make = task.near if kind == "near" else task.far
            for _ in range(30):
                text = make(rng)
                if text not in seen and not verify(family, task.params, text):
                    return text, kind
        raise RuntimeError(
            f"could not draw {(n or self.num_responses) - 1} distinct distractors for a {family} prompt"
        )

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

        With ``num_responses=1`` the rows use the single format instead: ``prompt/response/label/...``. A stream that
        mixes rating rows with pairs (``single_fraction``) is not one table: use :meth:`generate`.
        """
        if self.mixed:
            raise ValueError(
                "A stream with single_fraction mixes rows of one response with rows of several, which no single "
                "table format holds; use generate() for its examples"
            )
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
