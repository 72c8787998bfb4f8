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

import random
from collections.abc import Callable

from .synthetic_families import Task
from .varied_answers import arithmetic_task, format_task, yes_no_task
from .varied_text import (
    ADVERBS,
    KEYWORD_PAIRS,
    capitalise,
    make_prompt,
    make_reply,
    make_request,
    make_sentence,
    number_text,
    pick_topic,
    with_article,
)


# ----------------------------------------------------------------------------------------------------- families
def _case(rng: random.Random) -> Task:
    topic, info = pick_topic(rng)
    text = make_reply(rng, topic, info)
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
        other = make_reply(r, topic, info)
        return other.upper() if lower else r.choice([other, other.lower()])

    return Task(
        make_prompt(rng, make_request(rng, topic), constraint), {"case": "lower"} if lower else {}, correct, near, far
    )


def _words_in(text: str) -> int:
    return len(text.split())


def _word_count(rng: random.Random) -> Task:
    topic, info = pick_topic(rng)
    short = rng.random() < 0.3
    if short:  # a fragment of three to six words
        adjs = rng.sample(info["adj"], min(len(info["adj"]), rng.randint(2, 4)))
        text = rng.choice(
            [
                ", ".join(capitalise(a) if i == 0 else a for i, a in enumerate(adjs)) + ".",
                f"{capitalise(topic)}: {' and '.join(adjs)}.",
            ]
        )
    else:
        text = make_reply(rng, topic, info, rng.choice([1, 1, 2]))
    count = _words_in(text)
    mode = rng.choices(["exact", "at_most", "at_least"], [0.7, 0.15, 0.15])[0]
    if mode == "exact":
        target = count
        constraint = rng.choice(
            [
                f"use exactly {number_text(rng, target)} words",
                f"in exactly {number_text(rng, target)} words",
                f"your reply must be {number_text(rng, target)} words long, no more and no less",
                f"make it precisely {number_text(rng, target)} words",
            ]
        )
    elif mode == "at_most":
        target = count + rng.randint(0, 2)
        constraint = rng.choice(
            [
                f"use at most {number_text(rng, target)} words",
                f"keep it to {number_text(rng, target)} words or fewer",
                f"no more than {number_text(rng, target)} words",
            ]
        )
    else:
        target = max(2, count - rng.randint(0, 2))
        constraint = rng.choice(
            [f"use at least {number_text(rng, target)} words", f"write {number_text(rng, target)} words or more"]
        )

    def edit(r: random.Random, base: str, delta: int) -> str:
        words = base.split()
        for _ in range(abs(delta)):
            if delta < 0 and len(words) > 1:
                words.pop(r.randrange(1, len(words)) if len(words) > 2 else 1)
            else:
                words.insert(r.randrange(1, len(words) + 1), r.choice(ADVERBS))
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
        other = (
            make_reply(r, topic, info, r.choice([2, 3]))
            if mode != "at_least"
            else capitalise(r.choice(info["adj"])) + "."
        )
        return other

    params = {"words": target} if mode == "exact" else {"words": target, "mode": mode}
    return Task(make_prompt(rng, make_request(rng, topic), constraint), params, text, near, far)


def _keyword(rng: random.Random) -> Task:
    topic, info = pick_topic(rng)
    keyword, sibling = rng.choice(KEYWORD_PAIRS)
    avoid = rng.random() < 0.2
    with_word = make_sentence(rng, topic, info, thing=keyword)
    if rng.random() < 0.4:
        with_word = (
            f"{make_sentence(rng, topic, info)} {with_word}"
            if rng.random() < 0.5
            else f"{with_word} " + make_sentence(rng, topic, info)
        )
    without = with_word.replace(with_article(keyword), with_article(sibling)).replace(keyword, sibling)
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
                f"mention {with_article(keyword)}",
                f"it must contain the word '{keyword}'",
            ]
        )
        correct, near_text = with_word, without

    def near(r: random.Random) -> str:
        return near_text

    def far(r: random.Random) -> str:
        if avoid:
            return make_sentence(r, topic, info, thing=keyword)
        return make_reply(r, topic, info)

    params = {"keyword": keyword, "near_word": sibling}
    if avoid:
        params["avoid"] = True
    return Task(make_prompt(rng, make_request(rng, topic), constraint), params, correct, near, far)


VARIED_GENERATORS: dict[str, Callable[[random.Random], Task]] = {
    "uppercase": _case,
    "word_count": _word_count,
    "keyword": _keyword,
    "format": format_task,
    "arithmetic": arithmetic_task,
    "yes_no": yes_no_task,
}
