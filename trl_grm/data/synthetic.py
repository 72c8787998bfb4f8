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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .formats import LabeledInput

FAMILIES = ("uppercase", "word_count", "keyword", "format", "arithmetic", "yes_no")
MAX_RESPONSES = 8

_ADJECTIVES = ["quiet", "bright", "old", "small", "green", "cold", "busy", "gentle", "tall", "warm", "dark", "calm"]
_NOUNS = ["ocean", "mountain", "library", "garden", "train", "river", "forest", "city", "kitchen", "island", "market"]
_NOUNS += ["bridge", "castle", "meadow", "harbor", "village"]
_VERBS = ["shines", "waits", "grows", "sleeps", "moves", "sings", "rests", "glows", "changes", "listens", "wanders"]
_ADVERBS = ["slowly", "softly", "today", "again", "quickly", "often", "nearby", "tonight", "outside", "together"]
# (keyword, a sibling that is clearly not the keyword); disjoint from the sentence vocabulary above.
_KEYWORDS = [
    ("violin", "guitar"),
    ("apple", "pear"),
    ("lantern", "candle"),
    ("tiger", "lion"),
    ("umbrella", "raincoat"),
    ("compass", "map"),
    ("teapot", "kettle"),
    ("rocket", "airplane"),
    ("pencil", "crayon"),
    ("whale", "dolphin"),
    ("ladder", "staircase"),
    ("blanket", "pillow"),
]
KEYWORD_WORDS = frozenset(w for pair in _KEYWORDS for w in pair)
_CATEGORIES = {
    "fruits": ["apple", "banana", "cherry", "mango", "plum", "peach", "grape", "lemon", "kiwi"],
    "colors": ["red", "blue", "green", "yellow", "purple", "orange", "black", "white", "brown"],
    "animals": ["horse", "rabbit", "eagle", "salmon", "fox", "owl", "goat", "otter", "zebra"],
    "musical instruments": ["piano", "flute", "drum", "violin", "cello", "harp", "trumpet", "guitar", "banjo"],
}
_JSON_KEYS = {
    "name": ["Alice", "Bob", "Chen", "Dana"],
    "color": ["red", "blue", "teal"],
    "city": ["Paris", "Lima", "Oslo"],
    "year": [1999, 2008, 2024],
    "score": [7, 42, 88],
}
_LETTER_WORDS = ["planet", "window", "orange", "bicycle", "thunder", "journey", "pocket", "marble", "silver"]
_HEDGES = ["Maybe.", "I am not sure.", "It depends.", "I cannot answer that.", "Possibly.", "Hard to say."]


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


# ----------------------------------------------------------------------------------------------------- generators
@dataclass
class _Task:
    """One prompt with its correct answer and two distractor makers (each draws a fresh variant)."""

    prompt: str
    params: dict[str, Any]
    correct: str
    near: Callable[[random.Random], str]
    far: Callable[[random.Random], str]


def _words(rng: random.Random, topic: str, count: int) -> list[str]:
    """A plain sentence about ``topic`` with exactly ``count`` (>= 3) words, without the final period."""
    if count == 3:
        return ["The", topic, rng.choice(_VERBS)]
    if count == 4:
        return ["The", rng.choice(_ADJECTIVES), topic, rng.choice(_VERBS)]
    words = ["The", rng.choice(_ADJECTIVES), topic, rng.choice(_VERBS), rng.choice(_ADVERBS)]
    while len(words) < count:
        left = count - len(words)
        size = left if left <= 6 else rng.randint(3, 6)
        adjective, noun, verb, adverb = (rng.choice(x) for x in (_ADJECTIVES, _NOUNS, _VERBS, _ADVERBS))
        words += {
            1: [rng.choice([a for a in _ADVERBS if a not in words])],
            2: ["and", verb],
            3: ["near", "the", noun],
            4: ["near", "the", adjective, noun],
            5: ["and", "the", noun, verb, adverb],
            6: ["and", "the", adjective, noun, verb, adverb],
        }[size]
    return words


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _sentence(words: Sequence[str]) -> str:
    return " ".join(words) + "."


def _uppercase(rng: random.Random) -> _Task:
    topic = rng.choice(_NOUNS)
    words = _words(rng, topic, rng.randint(6, 10))
    correct = _sentence(words).upper()

    def near(r: random.Random) -> str:  # all caps but one word
        shown = [w.upper() for w in words]
        j = r.randrange(len(shown))
        shown[j] = words[j].lower()
        return _sentence(shown)

    def far(r: random.Random) -> str:  # ordinary sentence case
        return _sentence(_words(r, topic, r.randint(6, 10)))

    prompt = f"Write one sentence about {_a(topic)}. Use only capital letters."
    return _Task(prompt, {}, correct, near, far)


def _word_count(rng: random.Random) -> _Task:
    topic = rng.choice(_NOUNS)
    count = rng.randint(5, 12)
    words = _words(rng, topic, count)

    def near(r: random.Random) -> str:  # the same sentence, one or two words off
        shown = list(words)
        offset = r.choice([-1, 1, -1, 1, -2, 2])
        for _ in range(abs(offset)):
            if offset < 0:
                shown.pop(r.randrange(1, len(shown)))
            else:
                fresh = [a for a in _ADVERBS if a not in shown] or _ADVERBS
                shown.insert(r.randrange(1, len(shown) + 1), r.choice(fresh))
        return _sentence(shown)

    def far(r: random.Random) -> str:  # another sentence, three to six words off
        size = r.randint(3, 6)
        return _sentence(_words(r, topic, count - size if count - size >= 4 and r.random() < 0.5 else count + size))

    prompt = f"Write one sentence about {_a(topic)} with exactly {count} words."
    return _Task(prompt, {"words": count}, _sentence(words), near, far)


def _keyword(rng: random.Random) -> _Task:
    topic = rng.choice(_NOUNS)
    keyword, sibling = rng.choice(_KEYWORDS)

    def with_word(r: random.Random, word: str, base: list[str] | None = None) -> str:
        base = base or _words(r, topic, r.randint(5, 8))
        at = r.choice([5, len(base)])  # after the first clause or at the end
        return _sentence(base[:at] + ["near", "the", word] + base[at:])

    words = _words(rng, topic, rng.randint(5, 8))
    correct = with_word(rng, keyword, words)

    def near(r: random.Random) -> str:  # the same sentence with a related word instead of the keyword
        return with_word(r, sibling, words)

    def far(r: random.Random) -> str:  # another sentence about something else
        return with_word(r, r.choice([k for k, _ in _KEYWORDS if k != keyword]))

    prompt = f"Write one sentence about {_a(topic)} that uses the word '{keyword}'."
    return _Task(prompt, {"keyword": keyword}, correct, near, far)


def _format(rng: random.Random) -> _Task:
    if rng.random() < 0.5:
        category = rng.choice(sorted(_CATEGORIES))
        count = rng.randint(3, 5)
        pool = rng.sample(_CATEGORIES[category], count + 1)
        items = pool[:count]

        def near(r: random.Random) -> str:  # one item too few or too many, or numbered instead of bulleted
            kind = r.choice(["fewer", "more", "numbered"])
            if kind == "numbered":
                return "\n".join(f"{i + 1}. {x}" for i, x in enumerate(items))
            shown = items[:-1] if kind == "fewer" else pool
            return "\n".join(f"- {x}" for x in shown)

        def far(r: random.Random) -> str:  # a sentence instead of a list
            shown = r.sample(_CATEGORIES[category], count)
            return r.choice(["Some {}: {}.", "Here are {}: {}."]).format(category, ", ".join(shown))

        prompt = (
            f"List exactly {count} {category} as a bulleted list: one item per line, each line starting with '- '. "
            f"Write nothing else."
        )
        return _Task(prompt, {"kind": "bullets", "count": count}, "\n".join(f"- {x}" for x in items), near, far)

    key = rng.choice(sorted(_JSON_KEYS))
    value = rng.choice(_JSON_KEYS[key])
    others = [k for k in sorted(_JSON_KEYS) if k != key]

    def near(r: random.Random) -> str:  # wrong key, Python quotes, or JSON inside prose
        kind = r.choice(["key", "capital", "quotes", "prose"])
        if kind == "key":
            return json.dumps({r.choice(others): value})
        if kind == "capital":
            return json.dumps({key.capitalize(): value})
        if kind == "quotes":
            return str({key: value})
        return f"Sure: {json.dumps({key: value})}"

    def far(r: random.Random) -> str:  # plain text
        return r.choice(["The {} is {}.", "{}: {}", "My answer for {} is {}."]).format(key, value)

    prompt = f'Reply with a JSON object that has the key "{key}". Write nothing else.'
    return _Task(prompt, {"kind": "json", "key": key}, json.dumps({key: value}), near, far)


def _arithmetic(rng: random.Random) -> _Task:
    if rng.random() < 0.5:
        a, b = rng.randint(10, 999), rng.randint(10, 999)
        op, answer = "+", a + b
    else:
        a, b = rng.randint(3, 99), rng.randint(3, 19)
        op, answer = "*", a * b

    def near(r: random.Random) -> str:  # a slip: off by one or two, or a carry error
        return str(answer + r.choice([-1, 1, -2, 2, -10, 10]))

    def far(r: random.Random) -> str:  # a number nowhere near
        spread = max(20, answer // 2)
        offset = r.randint(spread // 2 + 11, spread + 11)
        return str(answer - offset if answer - offset > 0 and r.random() < 0.5 else answer + offset)

    prompt = f"What is {a} {op} {b}? Reply with the number only."
    return _Task(prompt, {"op": op, "a": a, "b": b, "answer": answer}, str(answer), near, far)


def _yes_no(rng: random.Random) -> _Task:
    kind = rng.choice(["greater", "even", "letter"])
    if kind == "greater":
        x, y = rng.sample(range(1, 1000), 2)
        question, truth = f"Is {x} greater than {y}?", x > y
    elif kind == "even":
        x = rng.randint(1, 999)
        question, truth = f"Is {x} an even number?", x % 2 == 0
    else:
        word, letter = rng.choice(_LETTER_WORDS), rng.choice("aeiourstn")
        question, truth = f"Does the word '{word}' contain the letter '{letter}'?", letter in word
    answer, wrong = ("Yes", "No") if truth else ("No", "Yes")

    def near(r: random.Random) -> str:  # the opposite verdict, stated just as confidently
        return r.choice([f"{wrong}.", wrong, f"{wrong.lower()}."])

    def far(r: random.Random) -> str:  # no verdict at all
        return r.choice(_HEDGES)

    prompt = f"{question} Answer yes or no."
    return _Task(prompt, {"kind": kind, "answer": answer.lower()}, f"{answer}.", near, far)


_GENERATORS: dict[str, Callable[[random.Random], _Task]] = {
    "uppercase": _uppercase,
    "word_count": _word_count,
    "keyword": _keyword,
    "format": _format,
    "arithmetic": _arithmetic,
    "yes_no": _yes_no,
}


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
        unknown = [f for f in families if f not in _GENERATORS]
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
        task = _GENERATORS[family](rng)
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

    def _distractor(self, rng: random.Random, task: _Task, family: str, seen: set[str]) -> tuple[str, str]:
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
