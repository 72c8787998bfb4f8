"""The text the varied synthetic families (:mod:`~trl_grm.data.varied_families`) are written from: topics with
their adjectives and actions, names, keyword pairs, list items, JSON fields, facts, and the helpers that turn them into
sentences, replies, requests and prompts. Written for this project; nothing is taken from an evaluation set."""

from __future__ import annotations

import random

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
NAMES = ["Maria", "Tom", "Priya", "Jonas", "Amara", "Luis", "Kenji", "Fatima", "Olga", "Ben", "Nadia", "Ravi"]
_OPENERS = ["Honestly", "Today", "Luckily", "In my view", "Last week", "Every morning", "Sadly", "Surprisingly"]
_FEELINGS = ["I love", "I miss", "I enjoy", "We remember", "Everyone talks about", "Nobody forgets"]
ADVERBS = ["really", "truly", "always", "quite", "very", "rather", "simply", "often"]

# Words to use (or avoid) with a near sibling the near miss puts in their place.
KEYWORD_PAIRS = [
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
LIST_ITEMS = {
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
JSON_FIELDS = {
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
HEDGES = [
    "It depends on how you look at it.",
    "I'm not sure.",
    "Hard to tell without more details.",
    "That is a tricky question!",
    "Let me think about it.",
]
# (question, answer): common knowledge a small model has seen; the other yes/no kinds are computed.
FACTS = [
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
def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def with_article(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def pick_topic(rng: random.Random) -> tuple[str, dict[str, list[str]]]:
    name = rng.choice(sorted(_TOPICS))
    return name, _TOPICS[name]


def make_sentence(rng: random.Random, topic: str, info: dict[str, list[str]], thing: str | None = None) -> str:
    """One sentence about ``topic`` in one of many shapes; ``thing`` (a noun) is worked in when given."""
    adj, act, adv = rng.choice(info["adj"]), rng.choice(info["act"]), rng.choice(ADVERBS)
    name, opener = rng.choice(NAMES), rng.choice(_OPENERS)
    frames = [
        f"{capitalise(topic)} is {adv} {adj}.",
        f"{opener}, {topic} {act}.",
        f"{rng.choice(_FEELINGS)} how {topic} {act}!",
        f"Did you know that {topic} {act}?",
        f"{name} says {topic} is {adj} but worth it.",
        f"When I think of {topic}, I picture something {adj}.",
        f"{capitalise(topic)} {act}, and that makes it {adj}.",
        f"There is nothing quite as {adj} as {topic}.",
    ]
    if thing:
        frames = [
            f"{capitalise(topic)} reminds me of {with_article(thing)}.",
            f"{name} brought {with_article(thing)} to {topic}.",
            f"{opener}, I saw {with_article(thing)} near {topic}.",
            f"Is there {with_article(thing)} at {topic}? I hope so!",
            f"{capitalise(topic)} {act}, just like {with_article(thing)} would.",
            f"I drew {with_article(thing)} and {topic} in my sketchbook.",
        ]
    return rng.choice(frames)


def make_reply(rng: random.Random, topic: str, info: dict[str, list[str]], sentences: int | None = None) -> str:
    count = sentences or rng.choice([1, 1, 1, 2, 2, 3])
    parts: list[str] = []
    while len(parts) < count:
        s = make_sentence(rng, topic, info)
        if s not in parts:
            parts.append(s)
    return " ".join(parts)


def make_request(rng: random.Random, topic: str) -> str:
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


def make_prompt(rng: random.Random, request: str, constraint: str) -> str:
    """``request`` and ``constraint`` (each one clause, no final period) combined in one of several orders."""
    shape = rng.randrange(5)
    if shape == 0:
        return f"{request}. {capitalise(constraint)}."
    if shape == 1:
        return f"{capitalise(constraint)}: {request[0].lower() + request[1:]}."
    if shape == 2:
        return f"{rng.choice(_PREAMBLES)} {request}. {capitalise(constraint)}, please."
    if shape == 3:
        return f"{request} - and {constraint}."
    return f"{rng.choice(_PREAMBLES)} {capitalise(constraint)}. {request}."


def number_text(rng: random.Random, n: int) -> str:
    return _NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) and rng.random() < 0.5 else str(n)
