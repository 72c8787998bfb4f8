"""The six synthetic families in many shapes (``SyntheticTasks(style="varied")``): prompts that put the constraint
first, last or inside a longer request in many wordings, replies of varied vocabulary, length and shape (several
sentences, questions, exclamations, fragments, lists), near misses that share most words with the right reply, and
variants that make the judge read the instruction (all lowercase as well as all capitals, "at most" as well as
"exactly" N words, a word to avoid as well as one to use, numbered as well as bulleted lists).

Every task is still decided by :func:`~trl_grm.data.synthetic.verify`: the generator writes text, the checker
labels it. Nothing here is taken from an evaluation set; ``tests/data/independent_pairs.jsonl`` is hand-written
separately and never trained on.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

from .synthetic_families import Task

# ---------------------------------------------------------------------------------------------------- vocabulary
# Topics: (noun phrase, things it has or does) so that sentences about a topic stay on it.
_TOPICS: dict[str, dict[str, list[str]]] = {
    "the sea": {"adj": ["salty", "wide", "restless", "grey", "deep"], "act": ["roars", "glitters", "rolls in"]},
    "our school": {"adj": ["noisy", "friendly", "crowded", "new"], "act": ["opens early", "closes at four"]},
    "my grandmother": {"adj": ["patient", "funny", "wise", "busy"], "act": ["bakes bread", "tells stories"]},
    "the winter": {"adj": ["long", "snowy", "dark", "harsh"], "act": ["arrives late", "freezes the pond"]},
    "a bicycle ride": {"adj": ["short", "tiring", "pleasant", "bumpy"], "act": ["clears my head", "takes an hour"]},
    "the football match": {"adj": ["exciting", "tense", "muddy"], "act": ["starts at noon", "ended in a draw"]},
    "a stormy afternoon": {"adj": ["quiet", "cosy", "slow", "wet"], "act": ["calls for tea", "passes slowly"]},
    "the museum": {"adj": ["huge", "silent", "ancient", "free"], "act": ["shows old maps", "opens on Sundays"]},
    "my neighbour's dog": {"adj": ["loud", "playful", "shaggy"], "act": ["barks at cars", "chases the postman"]},
    "this recipe": {"adj": ["simple", "spicy", "quick", "cheap"], "act": ["needs garlic", "serves four people"]},
    "the night sky": {"adj": ["clear", "starry", "vast", "black"], "act": ["glows with stars", "hides the moon"]},
    "the new phone": {"adj": ["thin", "expensive", "fast"], "act": ["charges quickly", "takes sharp photos"]},
    "the hiking trail": {"adj": ["steep", "rocky", "narrow"], "act": ["winds uphill", "ends at a lake"]},
    "our office": {"adj": ["bright", "cramped", "modern"], "act": ["smells of coffee", "faces the park"]},
    "the village fair": {"adj": ["colourful", "lively", "small"], "act": ["sells honey", "draws big crowds"]},
    "a good breakfast": {"adj": ["warm", "filling", "healthy"], "act": ["starts the day", "keeps me going"]},
    "the old bridge": {"adj": ["narrow", "stone", "crooked"], "act": ["crosses the river", "needs repairs"]},
    "my first job": {"adj": ["hard", "useful", "strange"], "act": ["taught me patience", "paid very little"]},
    "the concert": {"adj": ["loud", "packed", "magical"], "act": ["ran late", "sold out fast"]},
    "the garden in spring": {"adj": ["green", "fragrant", "wild"], "act": ["fills with tulips", "hums with bees"]},
    "a long flight": {"adj": ["boring", "cramped", "endless"], "act": ["leaves at dawn", "crosses the ocean"]},
    "the city at night": {"adj": ["bright", "busy", "restless"], "act": ["never sleeps", "hums with traffic"]},
    "our team": {"adj": ["small", "skilled", "cheerful"], "act": ["meets on Mondays", "ships every week"]},
    "the desert": {"adj": ["hot", "dry", "empty", "golden"], "act": ["stretches for miles", "cools at night"]},
    "the bakery": {"adj": ["tiny", "warm", "popular"], "act": ["opens at six", "sells fresh rolls"]},
    "a snowstorm": {"adj": ["fierce", "sudden", "white"], "act": ["closed the roads", "lasted two days"]},
    "the kitten": {"adj": ["tiny", "curious", "soft"], "act": ["sleeps all day", "chases string"]},
    "the lecture": {"adj": ["long", "clear", "dull"], "act": ["covered history", "ended early"]},
}
_NAMES = ["Maria", "Tom", "Priya", "Jonas", "Amara", "Luis", "Kenji", "Fatima", "Olga", "Ben", "Nadia", "Ravi"]
_OPENERS = ["Honestly", "Today", "Luckily", "In my view", "Last week", "Every morning", "Sadly", "Surprisingly"]
_FEELINGS = ["I love", "I miss", "I enjoy", "We remember", "Everyone talks about", "Nobody forgets"]
_ADVERBS = ["really", "truly", "always", "quite", "very", "rather", "simply", "often"]

# Words to use (or avoid) with a near sibling the near miss puts in their place.
_KEYWORD_PAIRS = [
    ("river", "stream"),
    ("castle", "palace"),
    ("cookie", "biscuit"),
    ("sunset", "sunrise"),
    ("ladder", "stool"),
    ("piano", "organ"),
    ("wizard", "witch"),
    ("robot", "machine"),
    ("harbour", "port"),
    ("jacket", "coat"),
    ("mirror", "window"),
    ("thunder", "lightning"),
    ("pumpkin", "squash"),
    ("dragon", "serpent"),
    ("notebook", "diary"),
    ("bicycle", "scooter"),
    ("volcano", "mountain"),
    ("candle", "torch"),
    ("rabbit", "hare"),
    ("ticket", "pass"),
    ("orchard", "vineyard"),
    ("penguin", "puffin"),
    ("lemon", "lime"),
    ("cabin", "hut"),
    ("glacier", "iceberg"),
    ("trumpet", "horn"),
    ("parrot", "pigeon"),
    ("helmet", "hat"),
    ("compass", "clock"),
    ("meadow", "field"),
    ("anchor", "rope"),
    ("festival", "party"),
    ("blanket", "quilt"),
    ("spider", "beetle"),
    ("tunnel", "bridge"),
    ("diamond", "pearl"),
    ("kettle", "pot"),
    ("cactus", "fern"),
]
_LIST_ITEMS = {
    "vegetables": ["carrot", "onion", "potato", "kale", "pepper", "cabbage", "beet", "radish", "celery"],
    "countries": ["Chile", "Kenya", "Norway", "Japan", "Peru", "Egypt", "Canada", "Italy", "Vietnam"],
    "sports": ["tennis", "rowing", "hockey", "cricket", "judo", "rugby", "skiing", "golf", "boxing"],
    "tools": ["hammer", "saw", "wrench", "drill", "chisel", "pliers", "level", "spanner", "file"],
    "birds": ["robin", "sparrow", "heron", "swan", "crow", "finch", "owl", "hawk", "magpie"],
    "board games": ["chess", "checkers", "Monopoly", "Scrabble", "Go", "backgammon", "Cluedo", "Risk"],
    "camping gear": ["tent", "lantern", "stove", "sleeping bag", "rope", "tarp", "mallet"],
    "ways to save energy": [
        "turn off lights",
        "use a fan",
        "dry clothes outside",
        "take short showers",
        "unplug chargers",
        "cook with lids on",
    ],
    "kitchen items": ["spoon", "ladle", "whisk", "kettle", "grater", "colander", "tray", "jug"],
    "rivers": ["Nile", "Danube", "Amazon", "Thames", "Ganges", "Volga", "Mekong", "Rhine"],
}
_JSON_FIELDS = {
    "title": ["Morning Notes", "Blue Door", "Field Guide"],
    "price": [4.5, 12, 99],
    "author": ["Lee", "Okafor"],
    "status": ["open", "closed", "pending"],
    "count": [3, 17, 250],
    "email": ["a@b.org", "team@site.io"],
    "language": ["Spanish", "Hindi", "Welsh"],
    "temperature": [21, -4, 37],
    "active": [True, False],
    "tags": [["new", "sale"], ["draft"]],
    "id": [101, 7, 5512],
    "country": ["Ghana", "Brazil", "Spain"],
}
_NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
]
_HEDGES = [
    "It depends on how you look at it.",
    "I'm not sure.",
    "Hard to tell without more details.",
    "That is a tricky question!",
    "Let me think about it.",
]
# (question, answer): common knowledge a small model has seen; the other yes/no kinds are computed.
_FACTS = [
    ("Is the Earth round?", "yes"),
    ("Do penguins live at the North Pole?", "no"),
    ("Is ice colder than steam?", "yes"),
    ("Can a fish live without water for a week?", "no"),
    ("Is Tokyo in Japan?", "yes"),
    ("Is a tomato blue?", "no"),
    ("Does a week have seven days?", "yes"),
    ("Is the moon bigger than the Earth?", "no"),
    ("Do bees make honey?", "yes"),
    ("Is Paris the capital of Italy?", "no"),
    ("Is water wet?", "yes"),
    ("Can humans breathe underwater without equipment?", "no"),
    ("Is a spider an insect?", "no"),
    ("Is Mount Everest a mountain?", "yes"),
    ("Is gold a metal?", "yes"),
    ("Are whales fish?", "no"),
    ("Is January the first month of the year?", "yes"),
    ("Do cats have six legs?", "no"),
    ("Is a triangle a shape with three sides?", "yes"),
    ("Is sugar salty?", "no"),
]


# ------------------------------------------------------------------------------------------------------ helpers
def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def _topic(rng: random.Random) -> tuple[str, dict[str, list[str]]]:
    name = rng.choice(sorted(_TOPICS))
    return name, _TOPICS[name]


def _sentence(rng: random.Random, topic: str, info: dict[str, list[str]], thing: str | None = None) -> str:
    """One sentence about ``topic`` in one of many shapes; ``thing`` (a noun) is worked in when given."""
    adj, act, adv = rng.choice(info["adj"]), rng.choice(info["act"]), rng.choice(_ADVERBS)
    name, opener = rng.choice(_NAMES), rng.choice(_OPENERS)
    frames = [
        f"{_cap(topic)} is {adv} {adj}.",
        f"{opener}, {topic} {act}.",
        f"{rng.choice(_FEELINGS)} how {topic} {act}!",
        f"Did you know that {topic} {act}?",
        f"{name} says {topic} is {adj} but worth it.",
        f"When I think of {topic}, I picture something {adj}.",
        f"{_cap(topic)} {act}, and that makes it {adj}.",
        f"There is nothing quite as {adj} as {topic}.",
    ]
    if thing:
        frames = [
            f"{_cap(topic)} reminds me of {_a(thing)}.",
            f"{name} brought {_a(thing)} to {topic}.",
            f"{opener}, I saw {_a(thing)} near {topic}.",
            f"Is there {_a(thing)} at {topic}? I hope so!",
            f"{_cap(topic)} {act}, just like {_a(thing)} would.",
            f"I drew {_a(thing)} and {topic} in my sketchbook.",
        ]
    return rng.choice(frames)


def _reply(rng: random.Random, topic: str, info: dict[str, list[str]], sentences: int | None = None) -> str:
    count = sentences or rng.choice([1, 1, 1, 2, 2, 3])
    parts: list[str] = []
    while len(parts) < count:
        s = _sentence(rng, topic, info)
        if s not in parts:
            parts.append(s)
    return " ".join(parts)


def _request(rng: random.Random, topic: str) -> str:
    """What the user asks for, without the constraint."""
    return rng.choice(
        [
            f"Write a sentence about {topic}",
            f"Tell me something about {topic}",
            f"Describe {topic}",
            f"Say something about {topic}",
            f"Write a short note about {topic}",
            f"Give me a line about {topic} for my blog",
            f"Write a caption for a photo of {topic}",
            f"Share a thought about {topic}",
        ]
    )


_PREAMBLES = [
    "Quick favour.",
    "I need help with a writing exercise.",
    "This is for a class assignment.",
    "I'm preparing a newsletter.",
    "Here is a small task for you.",
    "Please help me out.",
]


def _prompt(rng: random.Random, request: str, constraint: str) -> str:
    """``request`` and ``constraint`` (each one clause, no final period) combined in one of several orders."""
    shape = rng.randrange(5)
    if shape == 0:
        return f"{request}. {_cap(constraint)}."
    if shape == 1:
        return f"{_cap(constraint)}: {request[0].lower() + request[1:]}."
    if shape == 2:
        return f"{rng.choice(_PREAMBLES)} {request}. {_cap(constraint)}, please."
    if shape == 3:
        return f"{request} - and {constraint}."
    return f"{rng.choice(_PREAMBLES)} {_cap(constraint)}. {request}."


def _number(rng: random.Random, n: int) -> str:
    return _NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) and rng.random() < 0.5 else str(n)


# ----------------------------------------------------------------------------------------------------- families
def _case(rng: random.Random) -> Task:
    topic, info = _topic(rng)
    text = _reply(rng, topic, info)
    lower = rng.random() < 0.25
    if lower:
        constraint = rng.choice(
            [
                "write only in lowercase letters",
                "use no capital letters at all",
                "keep every letter lowercase",
                "it must be all in small letters",
            ]
        )
        correct = text.lower()
    else:
        constraint = rng.choice(
            [
                "write it in capital letters only",
                "use all caps",
                "every single letter should be a capital",
                "answer entirely in upper case",
                "it has to be written in CAPITALS",
                "make every letter a capital",
                "shout it, all in uppercase",
            ]
        )
        correct = text.upper()

    def near(r: random.Random) -> str:
        words = correct.split()
        kind = r.choice(["original", "one_word", "half", "title"])
        if kind == "original" and text != correct:
            return text
        if kind == "title":
            return " ".join(w[:1].upper() + w[1:].lower() for w in words)
        if kind == "half":
            cut = max(1, len(words) // 2)
            other = str.lower if not lower else str.upper
            return " ".join(words[:cut] + [other(w) for w in words[cut:]])
        j = r.randrange(len(words))
        words[j] = words[j].swapcase() if words[j].swapcase() != words[j] else words[j]
        return " ".join(words)

    def far(r: random.Random) -> str:
        other = _reply(r, topic, info)
        return other.upper() if lower else r.choice([other, other.lower()])

    return Task(_prompt(rng, _request(rng, topic), constraint), {"case": "lower"} if lower else {}, correct, near, far)


def _words_in(text: str) -> int:
    return len(text.split())


def _word_count(rng: random.Random) -> Task:
    topic, info = _topic(rng)
    short = rng.random() < 0.3
    if short:  # a fragment of three to six words
        adjs = rng.sample(info["adj"], min(len(info["adj"]), rng.randint(2, 4)))
        text = rng.choice(
            [
                ", ".join(_cap(a) if i == 0 else a for i, a in enumerate(adjs)) + ".",
                f"{_cap(topic)}: {' and '.join(adjs)}.",
            ]
        )
    else:
        text = _reply(rng, topic, info, rng.choice([1, 1, 2]))
    count = _words_in(text)
    mode = rng.choices(["exact", "at_most", "at_least"], [0.7, 0.15, 0.15])[0]
    if mode == "exact":
        target = count
        constraint = rng.choice(
            [
                f"use exactly {_number(rng, target)} words",
                f"in exactly {_number(rng, target)} words",
                f"your reply must be {_number(rng, target)} words long, no more and no less",
                f"make it precisely {_number(rng, target)} words",
            ]
        )
    elif mode == "at_most":
        target = count + rng.randint(0, 2)
        constraint = rng.choice(
            [
                f"use at most {_number(rng, target)} words",
                f"keep it to {_number(rng, target)} words or fewer",
                f"no more than {_number(rng, target)} words",
            ]
        )
    else:
        target = max(2, count - rng.randint(0, 2))
        constraint = rng.choice(
            [f"use at least {_number(rng, target)} words", f"write {_number(rng, target)} words or more"]
        )

    def edit(r: random.Random, base: str, delta: int) -> str:
        words = base.split()
        for _ in range(abs(delta)):
            if delta < 0 and len(words) > 1:
                words.pop(r.randrange(1, len(words)) if len(words) > 2 else 1)
            else:
                words.insert(r.randrange(1, len(words) + 1), r.choice(_ADVERBS))
        out = " ".join(words)
        return out if out.endswith((".", "!", "?")) else out + "."

    def near(r: random.Random) -> str:  # the same words, one to three off in the failing direction
        step = r.choice([1, 1, 2, 3])
        if mode == "exact":
            return edit(r, text, r.choice([-step, step]))
        if mode == "at_most":
            return edit(r, text, target - count + step)
        return edit(r, text, -(count - target + step))

    def far(r: random.Random) -> str:  # another reply, far off in length
        other = _reply(r, topic, info, r.choice([2, 3])) if mode != "at_least" else _cap(r.choice(info["adj"])) + "."
        return other

    params = {"words": target} if mode == "exact" else {"words": target, "mode": mode}
    return Task(_prompt(rng, _request(rng, topic), constraint), params, text, near, far)


def _keyword(rng: random.Random) -> Task:
    topic, info = _topic(rng)
    keyword, sibling = rng.choice(_KEYWORD_PAIRS)
    avoid = rng.random() < 0.2
    with_word = _sentence(rng, topic, info, thing=keyword)
    if rng.random() < 0.4:
        with_word = (
            f"{_sentence(rng, topic, info)} {with_word}"
            if rng.random() < 0.5
            else f"{with_word} " + _sentence(rng, topic, info)
        )
    without = with_word.replace(_a(keyword), _a(sibling)).replace(keyword, sibling)
    if avoid:
        constraint = rng.choice(
            [f"do not use the word '{keyword}'", f'avoid the word "{keyword}"', f"the word {keyword} must not appear"]
        )
        correct, near_text = without, with_word
    else:
        constraint = rng.choice(
            [
                f"use the word '{keyword}'",
                f'include the word "{keyword}"',
                f"make sure the word {keyword} appears",
                f"mention {_a(keyword)}",
                f"it must contain the word '{keyword}'",
            ]
        )
        correct, near_text = with_word, without

    def near(r: random.Random) -> str:
        return near_text

    def far(r: random.Random) -> str:
        if avoid:
            return _sentence(r, topic, info, thing=keyword)
        return _reply(r, topic, info)

    params = {"keyword": keyword, "near_word": sibling}
    if avoid:
        params["avoid"] = True
    return Task(_prompt(rng, _request(rng, topic), constraint), params, correct, near, far)


def _format(rng: random.Random) -> Task:
    kind = rng.choices(["bullets", "numbered", "json"], [0.4, 0.25, 0.35])[0]
    if kind == "json":
        keys = rng.sample(sorted(_JSON_FIELDS), 3)
        key = keys[0]
        obj = {k: rng.choice(_JSON_FIELDS[k]) for k in keys[: rng.randint(1, 3)]}
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

        return Task(_prompt(rng, request, constraint), {"kind": "json", "key": key}, correct, near, far)

    category = rng.choice(sorted(_LIST_ITEMS))
    count = rng.randint(2, min(6, len(_LIST_ITEMS[category]) - 1))
    pool = rng.sample(_LIST_ITEMS[category], min(len(_LIST_ITEMS[category]), count + 2))
    items = pool[:count]
    marker = rng.choice(["- ", "* "]) if kind == "bullets" else None

    def lines(shown: list[str], numbered: bool, mark: str | None = None) -> str:
        return "\n".join(f"{i}. {x}" if numbered else f"{mark or marker}{x}" for i, x in enumerate(shown, 1))

    correct = lines(items, kind == "numbered")
    n = _number(rng, count)
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
        return f"{_cap(category)}: {', '.join(items)}."

    def far(r: random.Random) -> str:
        shown = r.sample(_LIST_ITEMS[category], min(len(_LIST_ITEMS[category]), count))
        return f"Some good ones are {', '.join(shown[:-1])} and {shown[-1]}."

    return Task(_prompt(rng, request, constraint), {"kind": kind, "count": count}, correct, near, far)


def _arithmetic(rng: random.Random) -> Task:
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
    name = rng.choice(_NAMES)
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


def _yes_no(rng: random.Random) -> Task:
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
        word = rng.choice(sorted(w for ws in _LIST_ITEMS.values() for w in ws if " " not in w)).lower()
        letter = rng.choice("aeioulmnrst")
        question, truth = f'Does the word "{word}" contain the letter {letter}?', letter in word
        reason = f"{word} is spelled {'-'.join(word)}, {'with' if truth else 'without'} {letter}"
    elif kind == "sum":
        a, b = rng.randint(2, 50), rng.randint(2, 50)
        shown = a + b + rng.choice([0, 0, 1, -1, 10])
        question, truth = f"Is {a} + {b} equal to {shown}?", a + b == shown
        reason = f"{a} + {b} = {a + b}"
    else:
        question, answer = rng.choice(_FACTS)
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
        return r.choice(_HEDGES)

    params = {"kind": kind, "answer": right.lower()}
    if reason:
        params["reason"] = reason
    return Task(question + ask, params, correct, near, far)


VARIED_GENERATORS: dict[str, Callable[[random.Random], Task]] = {
    "uppercase": _case,
    "word_count": _word_count,
    "keyword": _keyword,
    "format": _format,
    "arithmetic": _arithmetic,
    "yes_no": _yes_no,
}
