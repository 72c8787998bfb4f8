"""The varied style of the synthetic tasks (issue 27): many wordings and reply shapes, instruction variants, rating
rows mixed into pairs, the teacher's judgements of them, and no text shared with the hand-written independent set."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from trl_grm.data import FAMILIES, SyntheticTasks, verify
from trl_grm.data.teacher import teacher_judgement
from trl_grm.modeling.configuration_grm import GRMConfig
from trl_grm.protocol.judging import parse_sample
from trl_grm.protocol.rules import is_correct

INDEPENDENT = Path(__file__).parent / "data" / "independent_pairs.jsonl"


def varied(n: int = 600, **kwargs) -> list:
    return SyntheticTasks(seed=11, style="varied", **{"difficulty": 0.7, **kwargs}).generate(n)


@pytest.mark.parametrize(
    ("family", "params", "passes", "fails"),
    [
        ("uppercase", {"case": "lower"}, ["all small, 5 pm."], ["All small.", "ALL SMALL", "123"]),
        ("word_count", {"words": 3, "mode": "at_most"}, ["one two", "a b c"], ["a b c d"]),
        ("word_count", {"words": 3, "mode": "at_least"}, ["a b c", "a b c d e"], ["a b"]),
        ("keyword", {"keyword": "cabin", "avoid": True}, ["A small hut.", "cabins"], ["The cabin.", "CABIN!"]),
        ("format", {"kind": "bullets", "count": 2, "any_marker": True}, ["* a\n* b"], ["* a\n- b", "* a"]),
        ("format", {"kind": "numbered", "count": 2}, ["1. a\n2. b"], ["1. a\n3. b", "- a\n- b", "1. a"]),
        (
            "arithmetic",
            {"answer": 42, "form": "last_number"},
            ["42", "The answer is 42.", "17 + 25 = 42", "It's 42!"],
            ["41", "42.5", "42 - 1 = 41", "forty-two"],
        ),
    ],
)
def test_verify_reads_the_varied_variants(family, params, passes, fails):
    assert all(verify(family, params, r) for r in passes), [r for r in passes if not verify(family, params, r)]
    assert not any(verify(family, params, r) for r in fails), [r for r in fails if verify(family, params, r)]


def test_exactly_the_labelled_reply_passes_and_every_variant_occurs():
    examples = varied(1200)
    assert Counter(ex.meta["family"] for ex in examples) == {f: 200 for f in FAMILIES}
    for ex in examples:
        assert [i for i, r in enumerate(ex.responses) if verify(ex.meta["family"], ex.meta["params"], r)] == [ex.label]
    params = [ex.meta["params"] for ex in examples]
    assert {p.get("case") for p in params} >= {"lower", None}
    assert {p.get("mode") for p in params} >= {"at_most", "at_least", None}
    assert any(p.get("avoid") for p in params)
    assert {p.get("kind") for p in params} >= {"bullets", "numbered", "json", "fact", "greater"}
    # many wordings: almost every prompt is new, and the constraint is not always in the same place
    assert len({ex.context for ex in examples}) > 1100
    uppercase = [ex.context for ex in examples if ex.meta["family"] == "uppercase"]
    first = sum(
        bool(
            re.match(
                r"(Use all caps|Write it in capital|Every single|Answer entirely|Make every|It has|"
                r"Shout|Write only in lowercase|Use no capital|Keep every|It must be all)",
                p,
            )
        )
        for p in uppercase
    )
    assert 0.1 < first / len(uppercase) < 0.7


def test_near_misses_share_most_words_with_the_right_reply():
    shared = []
    for ex in varied(600, difficulty=1.0):
        right = Counter(ex.responses[ex.label].lower().split())
        for reply, kind in zip(ex.responses, ex.meta["kinds"]):
            if kind == "near" and ex.meta["family"] in ("uppercase", "keyword", "word_count"):
                other = Counter(reply.lower().split())
                shared.append(sum((right & other).values()) / max(sum(right.values()), 1))
    assert len(shared) > 200 and sum(shared) / len(shared) > 0.7


def test_rating_rows_are_mixed_into_pairs_and_cannot_be_one_table():
    tasks = SyntheticTasks(seed=5, style="varied", single_fraction=0.25)
    examples = tasks.generate(400)
    sizes = Counter(len(ex.responses) for ex in examples)
    assert set(sizes) == {1, 2} and 60 < sizes[1] < 140
    assert {ex.label for ex in examples if len(ex.responses) == 1} == {0, 1}
    for ex in examples:
        if len(ex.responses) == 1:
            assert ex.label == int(verify(ex.meta["family"], ex.meta["params"], ex.responses[0]))
    with pytest.raises(ValueError, match="single_fraction mixes rows"):
        tasks.to_rows(4)
    # the templates style is untouched by the new options: the same stream as before
    assert SyntheticTasks(seed=5).generate(20) == SyntheticTasks(seed=5, style="templates").generate(20)


def test_the_teacher_judges_every_varied_example_right_in_every_order():
    config = GRMConfig()
    for ex in varied(600, single_fraction=0.3):
        n = len(ex.responses)
        for order in [[0]] if n == 1 else [[0, 1], [1, 0]]:
            score_range = (0, 1) if n == 1 else (1, 10)
            text = teacher_judgement(
                ex,
                order,
                random.Random(0),
                score_range=score_range,
                score_spread=1,
                inline_scores=True,
                show_work=True,
                error_rate=0.0,
            )
            sample = parse_sample(config, ex, order, text, "stop", binary_single=True)
            assert sample.scores is not None and is_correct(sample.scores, ex.label), text


def test_the_teacher_shows_the_evidence_of_the_varied_variants():
    def judge(family, params, prompt, responses, label=0):
        from trl_grm.data.formats import LabeledInput

        ex = LabeledInput(context=prompt, responses=responses, label=label, meta={"family": family, "params": params})
        return teacher_judgement(ex, list(range(len(responses))), random.Random(0), show_work=True, score_spread=1)

    text = judge("uppercase", {"case": "lower"}, "p", ["all small here.", "Not all small."])
    assert "is in small letters throughout" in text and "has capital letters, e.g. 'Not'" in text
    text = judge("word_count", {"words": 3, "mode": "at_most"}, "p", ["Tiny red boat.", "A big blue old boat."])
    assert "counts 1 Tiny, 2 red, 3 boat: 3 words, as asked" in text
    assert "counts 1 A, 2 big, 3 blue, 4 old: more than 3 words" in text
    text = judge(
        "keyword",
        {"keyword": "cabin", "near_word": "hut", "avoid": True},
        "p",
        ["We slept in a hut.", "We slept in a cabin."],
    )
    assert "says 'in a hut', not 'cabin', as asked" in text and "says 'in a cabin', the word to avoid" in text
    text = judge("format", {"kind": "json", "key": "id", "detail": True}, "p", ['{"id": 1}', "{'id': 1}"])
    assert "uses single quotes" in text
    text = judge("format", {"kind": "numbered", "count": 2}, "p", ["1. a\n2. b", "- a\n- b"])
    assert "uses bullets, not numbers" in text
    text = judge(
        "yes_no",
        {"kind": "even", "answer": "no", "reason": "7 ends in 7, so it is odd"},
        "Is 7 even?",
        ["No.", "Yes."],
    )
    assert "7 ends in 7, so it is odd, so the correct answer is no" in text


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = text.lower().split()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_the_generator_shares_no_six_words_with_the_independent_pairs():
    """The hand-written test set must stay independent of the generator that trains on it: no run of six words of
    its prompts or replies occurs in 20,000 varied examples. (The first, templates style shares two with it: a
    bulleted "- red - green - blue" and "per line, each line starting with"; see tests/data/README.md.)"""
    generated: set[tuple[str, ...]] = set()
    for seed in (0, 1):
        for ex in SyntheticTasks(seed=seed, style="varied", difficulty=0.7, single_fraction=0.25).generate(10_000):
            for text in (ex.context, *ex.responses):
                generated |= _ngrams(text, 6)
    rows = [json.loads(line) for line in INDEPENDENT.read_text().splitlines() if line.strip()]
    assert len(rows) == 60
    shared = {g for r in rows for k in ("prompt", "chosen", "rejected") for g in _ngrams(r[k], 6) & generated}
    assert not shared, shared


def test_build_rft_data_mixes_rating_rows_into_varied_pairs(tmp_path, capsys, tiny_model_dir):
    """The round-3 recipe's options through the command: varied pairs and rating rows (the binary task prompt, one
    reply) in one train.jsonl; a stage that needs one table (GRPO) refuses the mix in one line."""
    from trl_grm.cli.main import main

    out = tmp_path / "rft_data"
    argv = ["build-rft-data", "--teacher", "synthetic", "--teacher_show_work", "true", "--dataset_name", "synthetic",
            "--synthetic_style", "varied", "--synthetic_single_fraction", "0.4", "--synthetic_num_examples", "60",
            "--num_rft_samples", "4", "--output_dir", str(out)]  # fmt: skip
    assert main(argv) == 0
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    sizes = Counter(r["num_responses"] for r in rows)
    assert set(sizes) == {1, 2}, sizes
    single = next(r for r in rows if r["num_responses"] == 1)
    assert "Decide whether the reply is correct" in single["prompt"][-1]["content"]
    assert re.search(r"\\boxed\{[01]\}", single["completion"][-1]["content"])
    assert json.loads((out / "report.json").read_text())["format_failures"] == 0

    capsys.readouterr()
    grpo = ["grpo", "--model_name_or_path", str(tiny_model_dir), "--dataset_name", "synthetic", "--output_dir",
            str(tmp_path / "g"), "--synthetic_single_fraction", "0.4", "--report_to", "none", "--use_cpu", "true",
            "--bf16", "false"]  # fmt: skip
    assert main(grpo) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--synthetic_single_fraction" in err[0], err
    assert main([*argv[:-2], "--synthetic_style", "fancy", "--output_dir", str(tmp_path / "f")]) == 2
    assert "--synthetic_style: unknown 'fancy'" in capsys.readouterr().err
