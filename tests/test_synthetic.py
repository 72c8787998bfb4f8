"""Synthetic verifiable tasks: checkers, exactly one correct response, seeding, positions, difficulty, n = 1."""

from __future__ import annotations

import json
from collections import Counter
from itertools import islice

import pytest

from trl_grm.data import FAMILIES, LabeledInput, SyntheticTasks, load_preference_data, verify


def check(ex: LabeledInput, response: str) -> bool:
    return verify(ex.meta["family"], ex.meta["params"], response)


# ----------------------------------------------------------------------------------------------------- checkers
@pytest.mark.parametrize(
    ("family", "params", "passes", "fails"),
    [
        ("uppercase", {}, ["HELLO WORLD.", "IT IS 5 PM!"], ["Hello world.", "HELLO world.", "123", ""]),
        ("word_count", {"words": 3}, ["one two three", " a  b c. "], ["one two", "one two three four"]),
        ("keyword", {"keyword": "tiger"}, ["A Tiger sleeps.", "the tiger"], ["A lion sleeps.", "tigers", "tige r"]),
        (
            "format",
            {"kind": "bullets", "count": 2},
            ["- a\n- b", "- a\n- b\n"],
            ["- a", "1. a\n2. b", "- a\n-b", "* a\n* b"],
        ),
        ("format", {"kind": "json", "key": "name"}, ['{"name": 1}', ' {"name": "x", "y": 2}'], ["{'name': 1}"]),
        (
            "format",
            {"kind": "json", "key": "name"},
            ['{"name": null}'],
            ['{"Name": 1}', '["name"]', 'Sure: {"name": 1}'],
        ),
        ("arithmetic", {"answer": 42}, ["42", " 42. "], ["43", "The answer is 42", "4 2", "-42"]),
        ("yes_no", {"answer": "yes"}, ["Yes.", "yes, it is", "YES"], ["No.", "Maybe.", "yesterday", "Yess"]),
    ],
)
def test_verify(family, params, passes, fails):
    assert all(verify(family, params, r) for r in passes)
    assert not any(verify(family, params, r) for r in fails)
    assert all(verify(family, json.dumps(params), r) for r in passes)  # params as stored in a dataset


def test_verify_unknown_family():
    with pytest.raises(ValueError, match="Unknown synthetic family 'poetry'"):
        verify("poetry", {}, "x")


# --------------------------------------------------------------------------------------------------- examples
@pytest.mark.parametrize("num_responses", [2, 4, 8])
@pytest.mark.parametrize("difficulty", [0.0, 0.5, 1.0])
def test_exactly_one_response_passes_and_it_is_the_label(num_responses, difficulty):
    tasks = SyntheticTasks(seed=7, num_responses=num_responses, difficulty=difficulty)
    examples = tasks.generate(120)
    assert Counter(ex.meta["family"] for ex in examples) == {f: 20 for f in FAMILIES}
    for ex in examples:
        passing = [i for i, r in enumerate(ex.responses) if check(ex, r)]
        assert passing == [ex.label]
        assert len(set(ex.responses)) == num_responses  # distinct responses
        assert ex.meta["kinds"][ex.label] == "correct" and ex.meta["kinds"].count("correct") == 1


def test_same_seed_same_examples_other_seed_other_examples():
    a = SyntheticTasks(seed=1, num_responses=3).generate(30)
    assert a == SyntheticTasks(seed=1, num_responses=3).generate(30)
    b = SyntheticTasks(seed=2, num_responses=3).generate(30)
    assert sum(x.context != y.context or x.responses != y.responses for x, y in zip(a, b)) > 20


def test_stream_generate_and_example_agree():
    tasks = SyntheticTasks(seed=5, num_responses=2)
    first = list(islice(iter(tasks), 12))
    assert first == tasks.generate(12)
    assert tasks.generate(4, start=8) == first[8:]
    assert tasks.example(11) == first[11] and first[11].id == 11


def test_best_position_is_uniform():
    examples = SyntheticTasks(seed=0, num_responses=4, difficulty=0.5).generate(1200)
    counts = Counter(ex.label for ex in examples)
    assert set(counts) == {0, 1, 2, 3}
    assert all(240 < c < 360 for c in counts.values()), counts  # 300 expected each
    # and independent of the family: every family uses every position
    for family in FAMILIES:
        assert {ex.label for ex in examples if ex.meta["family"] == family} == {0, 1, 2, 3}


def test_families_subset():
    examples = SyntheticTasks(seed=0, families=["arithmetic", "keyword"]).generate(10)
    assert [ex.meta["family"] for ex in examples] == ["arithmetic", "keyword"] * 5
    assert all(" near the " in ex.responses[ex.label] for ex in examples if ex.meta["family"] == "keyword")


# ------------------------------------------------------------------------------------------------- difficulty
def distractors(family: str, difficulty: float, num: int = 60) -> list[tuple[LabeledInput, str]]:
    """The distractors of ``num`` examples; at difficulty 1 only the near misses (a small pool can run out)."""
    examples = SyntheticTasks(seed=3, families=[family], num_responses=3, difficulty=difficulty).generate(num)
    wanted = "near" if difficulty == 1.0 else "far"
    found = [(ex, r) for ex in examples for r, kind in zip(ex.responses, ex.meta["kinds"]) if kind == wanted]
    assert len(found) > num  # most of the 2 * num distractors
    return found


def test_difficulty_sets_near_versus_far_misses():
    kinds = {}
    for d in (0.0, 0.5, 1.0):
        examples = SyntheticTasks(seed=0, num_responses=3, difficulty=d).generate(300)
        kinds[d] = Counter(k for ex in examples for k in ex.meta["kinds"] if k != "correct")
    assert kinds[0.0]["near"] == 0 and kinds[0.0]["far"] == 600
    assert kinds[1.0]["far"] < 20  # near misses run out only for tiny variant pools
    assert 240 < kinds[0.5]["near"] < 360


def test_difficulty_word_count_off_by_little_or_much():
    near = [abs(len(r.split()) - ex.meta["params"]["words"]) for ex, r in distractors("word_count", 1.0)]
    far = [abs(len(r.split()) - ex.meta["params"]["words"]) for ex, r in distractors("word_count", 0.0)]
    assert set(near) <= {1, 2} and 1 in near
    assert min(far) >= 3


def test_difficulty_arithmetic_almost_right_or_far_off():
    near = [abs(int(r) - ex.meta["params"]["answer"]) for ex, r in distractors("arithmetic", 1.0)]
    far = [abs(int(r) - ex.meta["params"]["answer"]) for ex, r in distractors("arithmetic", 0.0)]
    assert max(near) <= 10 and min(far) > 10


def test_difficulty_uppercase_mostly_or_barely_capitalised():
    def upper_share(text: str) -> float:
        letters = [c for c in text if c.isalpha()]
        return sum(c.isupper() for c in letters) / len(letters)

    assert min(upper_share(r) for _, r in distractors("uppercase", 1.0)) > 0.6
    assert max(upper_share(r) for _, r in distractors("uppercase", 0.0)) < 0.2


def test_difficulty_keyword_swaps_only_the_keyword_when_hard():
    def words(text: str) -> Counter:
        return Counter(text.rstrip(".").split())

    for ex, r in distractors("keyword", 1.0):  # the same words, one related word instead of the keyword
        correct = ex.responses[ex.label]
        assert words(correct) - words(r) == {ex.meta["params"]["keyword"]: 1}
        assert sum((words(r) - words(correct)).values()) == 1
    far = [sum((words(ex.responses[ex.label]) - words(r)).values()) for ex, r in distractors("keyword", 0.0)]
    assert sum(far) / len(far) > 3  # another sentence altogether


# --------------------------------------------------------------------------------------------------------- n = 1
def test_single_response_variant_has_both_labels():
    examples = SyntheticTasks(seed=0, num_responses=1, difficulty=0.5).generate(300)
    assert all(len(ex.responses) == 1 for ex in examples)
    assert all(ex.label == int(check(ex, ex.responses[0])) for ex in examples)
    labels = Counter(ex.label for ex in examples)
    assert 110 < labels[1] < 190 and labels[0] + labels[1] == 300
    for family in FAMILIES:
        assert {ex.label for ex in examples if ex.meta["family"] == family} == {0, 1}


# ----------------------------------------------------------------------------------------------------- datasets
def test_to_dataset_round_trips_through_load_preference_data():
    tasks = SyntheticTasks(seed=4, num_responses=3, difficulty=0.7)
    data = tasks.to_dataset(24)
    assert {"prompt", "responses", "best_index", "family", "params"} <= set(data.column_names)
    examples, report = load_preference_data(data)
    assert report.format == "best_of_n" and report.kept == 24
    for ex, original in zip(examples, tasks.generate(24)):
        assert (ex.context, ex.responses, ex.label) == (original.context, original.responses, original.label)
        assert ex.meta["family"] == original.meta["family"]
        assert [verify(ex.meta["family"], ex.meta["params"], r) for r in ex.responses].count(True) == 1


def test_single_variant_dataset_uses_the_single_format():
    data = SyntheticTasks(seed=4, num_responses=1).to_dataset(20)
    examples, report = load_preference_data(data)
    assert report.format == "single" and report.kept == 20
    assert all(ex.label == int(verify(ex.meta["family"], ex.meta["params"], ex.responses[0])) for ex in examples)
    assert set(report.label_counts) == {0, 1}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"families": ["poetry"]}, ValueError),
        ({"families": []}, ValueError),
        ({"num_responses": 0}, ValueError),
        ({"num_responses": 9}, ValueError),
        ({"num_responses": 2.0}, TypeError),
        ({"difficulty": 1.5}, ValueError),
    ],
)
def test_invalid_settings(kwargs, error):
    with pytest.raises(error):
        SyntheticTasks(**kwargs)


def test_stage_scripts_weight_families_by_naming_them_twice(tmp_path, capsys):
    """--synthetic_families: the families take turns, so one named twice is drawn twice as often; an unknown one is
    a one-line usage error naming the option."""
    from trl_grm.cli.common import GRMScriptArguments
    from trl_grm.cli.main import main
    from trl_grm.data.sources import data_source

    args = GRMScriptArguments(
        dataset_name="synthetic", synthetic_num_examples=60, synthetic_families=["keyword", "arithmetic", "keyword"]
    )
    assert Counter(data_source(args)["family"]) == {"keyword": 40, "arithmetic": 20}
    base = ["build-rft-data", "--teacher", "synthetic", "--dataset_name", "synthetic", "--output_dir", str(tmp_path)]
    assert main([*base, "--synthetic_families", "keyword", "spelling"]) == 2
    err = capsys.readouterr().err
    assert "--synthetic_families: unknown ['spelling']" in err and "Traceback" not in err
