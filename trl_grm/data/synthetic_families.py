"""The six families of synthetic verifiable tasks (:mod:`trl_grm.data.synthetic`): each draws a prompt with one
checkable constraint, its correct response, and makers of near-miss and far-miss distractors."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

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


@dataclass
class Task:
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


def _uppercase(rng: random.Random) -> Task:
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
    return Task(prompt, {}, correct, near, far)


def _word_count(rng: random.Random) -> Task:
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
    return Task(prompt, {"words": count}, _sentence(words), near, far)


def _keyword(rng: random.Random) -> Task:
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
    return Task(prompt, {"keyword": keyword}, correct, near, far)


def _format(rng: random.Random) -> Task:
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
        return Task(prompt, {"kind": "bullets", "count": count}, "\n".join(f"- {x}" for x in items), near, far)

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
    return Task(prompt, {"kind": "json", "key": key}, json.dumps({key: value}), near, far)


def _arithmetic(rng: random.Random) -> Task:
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
    return Task(prompt, {"op": op, "a": a, "b": b, "answer": answer}, str(answer), near, far)


def _yes_no(rng: random.Random) -> Task:
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
    return Task(prompt, {"kind": kind, "answer": answer.lower()}, f"{answer}.", near, far)


GENERATORS: dict[str, Callable[[random.Random], Task]] = {
    "uppercase": _uppercase,
    "word_count": _word_count,
    "keyword": _keyword,
    "format": _format,
    "arithmetic": _arithmetic,
    "yes_no": _yes_no,
}
