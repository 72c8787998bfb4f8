"""The varied style's answer and structure families (:mod:`~trl_grm.data.varied_families`): JSON objects and
bulleted or numbered lists, arithmetic asked in many ways (word problems too) and answered in a sentence or a number,
and yes/no questions (comparisons, parity, spelling, sums, common facts) with the reason the teacher states."""

from __future__ import annotations

import json
import random

from .synthetic_families import Task
from .varied_text import FACTS, HEDGES, JSON_FIELDS, LIST_ITEMS, NAMES, capitalise, make_prompt, number_text


def _json_task(rng: random.Random) -> Task:
    keys = rng.sample(sorted(JSON_FIELDS), 3)
    key = keys[0]
    obj = {k: rng.choice(JSON_FIELDS[k]) for k in keys[: rng.randint(1, 3)]}
    correct = json.dumps(obj, indent=rng.choice([None, None, 2]))
    thing = rng.choice(["a book", "a product", "a user", "a city", "a task", "an order", "a sensor reading"])
    request = rng.choice(
        [
            f"Describe {thing} as JSON",
            f"Give me the data for {thing}",
            f"Return a record for {thing}",
            f"I need a JSON object for {thing}",
        ]
    )
    constraint = rng.choice(
        [
            f'respond with a JSON object that includes a "{key}" key',
            f'the JSON must have a "{key}" field',
            f'reply with valid JSON only, including the key "{key}"',
        ]
    )

    def near(r: random.Random) -> str:
        choice = r.choice(["key", "quotes", "prose", "broken"])
        if choice == "key":
            other = {
                k if k != key else r.choice([key.upper(), key + "s", key.capitalize()]): v for k, v in obj.items()
            }
            return json.dumps(other)
        if choice == "quotes":
            return str(obj)
        if choice == "prose":
            return f"{r.choice(['Sure! Here it is:', 'Here you go:', 'Done.'])} {json.dumps(obj)}"
        return json.dumps(obj)[:-1]

    def far(r: random.Random) -> str:
        return ", ".join(f"{k} is {v}" for k, v in obj.items()).capitalize() + "."

    return Task(
        make_prompt(rng, request, constraint), {"kind": "json", "key": key, "detail": True}, correct, near, far
    )


def format_task(rng: random.Random) -> Task:
    kind = rng.choices(["bullets", "numbered", "json"], [0.4, 0.25, 0.35])[0]
    if kind == "json":
        return _json_task(rng)
    category = rng.choice(sorted(LIST_ITEMS))
    count = rng.randint(2, min(6, len(LIST_ITEMS[category]) - 1))
    pool = rng.sample(LIST_ITEMS[category], min(len(LIST_ITEMS[category]), count + 2))
    items = pool[:count]
    marker = rng.choice(["- ", "* "]) if kind == "bullets" else None

    def lines(shown: list[str], numbered: bool, mark: str | None = None) -> str:
        return "\n".join(f"{i}. {x}" if numbered else f"{mark or marker}{x}" for i, x in enumerate(shown, 1))

    correct = lines(items, kind == "numbered")
    n = number_text(rng, count)
    request = rng.choice(
        [
            f"Name {n} {category}",
            f"Give me {n} {category}",
            f"Which {category} come to mind? Pick {n}",
            f"List {n} {category}",
        ]
    )
    constraint = (
        rng.choice(["as a bulleted list, one per line", "format them as bullet points", "one bullet point per item"])
        if kind == "bullets"
        else rng.choice(["as a numbered list", "number each one on its own line (1., 2., ...)"])
    )

    def near(r: random.Random) -> str:
        choice = r.choice(["fewer", "more", "other_kind", "inline"])
        if choice == "fewer" and count > 2:
            return lines(items[:-1], kind == "numbered")
        if choice == "more" and len(pool) > count:
            return lines(pool[: count + 1], kind == "numbered")
        if choice == "other_kind":
            return lines(items, kind != "numbered", mark="- ")
        return f"{capitalise(category)}: {', '.join(items)}."

    def far(r: random.Random) -> str:
        shown = r.sample(LIST_ITEMS[category], min(len(LIST_ITEMS[category]), count))
        return f"Some good ones are {', '.join(shown[:-1])} and {shown[-1]}."

    return Task(
        make_prompt(rng, request, constraint),
        {"kind": kind, "count": count, **({"any_marker": True} if kind == "bullets" else {})},
        correct,
        near,
        far,
    )


def arithmetic_task(rng: random.Random) -> Task:
    op = rng.choice(["+", "+", "-", "*"])
    if op == "+":
        a, b = rng.randint(2, 400), rng.randint(2, 400)
        answer = a + b
    elif op == "-":
        a, b = rng.randint(20, 500), rng.randint(1, 200)
        a, b = max(a, b), min(a, b)
        answer = a - b
    else:
        a, b = rng.randint(2, 30), rng.randint(2, 12)
        answer = a * b
    word = {"+": "plus", "-": "minus", "*": "times"}[op]
    sign = {"+": "+", "-": "-", "*": rng.choice(["*", "x", "×"])}[op]
    item = rng.choice(["apples", "stamps", "books", "coins", "marbles", "tickets"])
    name = rng.choice(NAMES)
    prompt = rng.choice(
        [
            f"What is {a} {sign} {b}?",
            f"Calculate {a} {word} {b}.",
            f"How much is {a} {word} {b}?",
            f"Quick maths check: {a} {sign} {b} = ?",
            f"Please work out {a} {sign} {b} for me.",
        ]
        + {
            "+": [
                f"{name} has {a} {item} and gets {b} more. How many {item} does {name} have now?",
                f"What do you get when you add {a} and {b}?",
            ],
            "-": [f"{name} had {a} {item} and gave away {b}. How many are left?", f"Subtract {b} from {a}."],
            "*": [f"There are {a} boxes with {b} {item} in each. How many {item} in total?", f"Multiply {a} by {b}."],
        }[op]
    )

    def say(value: int, r: random.Random) -> str:
        return r.choice(
            [
                str(value),
                f"{value}.",
                f"The answer is {value}.",
                f"{a} {sign} {b} = {value}",
                f"That makes {value}.",
                f"It's {value}!",
            ]
        )

    correct = say(answer, rng)

    def near(r: random.Random) -> str:
        return say(answer + r.choice([-1, 1, -2, 2, -10, 10, 100, -100]), r)

    def far(r: random.Random) -> str:
        return say(answer + r.choice([-1, 1]) * r.randint(max(12, answer // 3), max(13, answer)), r)

    params = {"op": op, "a": a, "b": b, "answer": answer, "form": "last_number"}
    return Task(prompt, params, correct, near, far)


def yes_no_task(rng: random.Random) -> Task:
    kind = rng.choice(["greater", "even", "letter", "fact", "fact", "sum"])
    reason = None
    if kind == "greater":
        x, y = rng.sample(range(1, 2000), 2)
        question, truth = rng.choice([(f"Is {x} greater than {y}?", x > y), (f"Is {x} smaller than {y}?", x < y)])
        reason = f"{x} is {'greater' if x > y else 'smaller'} than {y}"
    elif kind == "even":
        x = rng.randint(1, 999)
        question, truth = rng.choice([(f"Is {x} an even number?", x % 2 == 0), (f"Is {x} odd?", x % 2 == 1)])
        reason = f"{x} ends in {x % 10}, so it is {'even' if x % 2 == 0 else 'odd'}"
    elif kind == "letter":
        word = rng.choice(sorted(w for ws in LIST_ITEMS.values() for w in ws if " " not in w)).lower()
        letter = rng.choice("aeioulmnrst")
        question, truth = f'Does the word "{word}" contain the letter {letter}?', letter in word
        reason = f"{word} is spelled {'-'.join(word)}, {'with' if truth else 'without'} {letter}"
    elif kind == "sum":
        a, b = rng.randint(2, 50), rng.randint(2, 50)
        shown = a + b + rng.choice([0, 0, 1, -1, 10])
        question, truth = f"Is {a} + {b} equal to {shown}?", a + b == shown
        reason = f"{a} + {b} = {a + b}"
    else:
        question, answer = rng.choice(FACTS)
        truth = answer == "yes"
    right, wrong = ("Yes", "No") if truth else ("No", "Yes")
    ask = rng.choice(["", " Answer yes or no.", " Just yes or no, please.", " Reply with yes or no and a reason."])

    def say(verdict: str, r: random.Random) -> str:
        return r.choice(
            [
                f"{verdict}.",
                verdict,
                f"{verdict}, that's right." if verdict == "Yes" else f"{verdict}, it isn't.",
                f"{verdict} - I checked.",
                f"{verdict}!",
            ]
        )

    correct = say(right, rng)

    def near(r: random.Random) -> str:
        return say(wrong, r)

    def far(r: random.Random) -> str:
        return r.choice(HEDGES)

    params = {"kind": kind, "answer": right.lower()}
    if reason:
        params["reason"] = reason
    return Task(question + ask, params, correct, near, far)
