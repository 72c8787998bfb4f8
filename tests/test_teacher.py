"""The code-written teacher of the synthetic tasks (trl_grm.data.teacher) and `build-rft-data --teacher synthetic`."""

from __future__ import annotations

import json
import random
import re

import pytest

from trl_grm import GRMConfig
from trl_grm.data.formats import load_preference_data
from trl_grm.data.synthetic import FAMILIES, SyntheticTasks
from trl_grm.data.teacher import SyntheticTeacher, teacher_judgement
from trl_grm.protocol.parsing import parse_output
from trl_grm.protocol.rules import is_correct


def examples(num: int, num_responses: int = 2, difficulty: float = 0.5):
    """Synthetic examples as the CLI sees them: through the dataset rows and the format loader."""
    rows = SyntheticTasks(seed=5, num_responses=num_responses, difficulty=difficulty).to_dataset(num)
    loaded = load_preference_data(rows)
    return loaded[0] if isinstance(loaded, tuple) else loaded


@pytest.mark.parametrize("num_responses", [2, 3])
def test_an_infallible_teacher_is_right_in_every_order(num_responses):
    items = examples(36, num_responses)
    assert {it.meta["family"] for it in items} == set(FAMILIES)
    orders = [[list(range(num_responses)), list(reversed(range(num_responses)))] for _ in items]
    samples = SyntheticTeacher(GRMConfig(), error_rate=0.0).sample_judgements(items, orders, seed=0)
    for item, item_samples in zip(items, samples):
        for s in item_samples:
            assert s.status == "ok", s.text
            assert is_correct(s.scores, item.label), (item.context, item.responses, s.text)
            assert "Follows the instruction" in s.principles and s.critique.count("Reply ") == num_responses


def test_the_analysis_states_the_checked_fact_of_each_shown_reply():
    item = next(it for it in examples(12) if it.meta["family"] == "arithmetic")
    params = json.loads(item.meta["params"])
    text = teacher_judgement(item, [1, 0], random.Random(0))
    shown = [item.responses[1], item.responses[0]]
    assert f"= {params['answer']}" in text
    for i, response in enumerate(shown, start=1):
        verdict = "right" if response.strip() == str(params["answer"]) else "wrong"
        assert f"Reply {i} gives {response.strip()}, which is {verdict}." in text


def test_errors_are_wrong_judgements_and_hints_remove_them():
    items = examples(60)
    orders = [[[0, 1]] * 4 for _ in items]
    teacher = SyntheticTeacher(GRMConfig(), error_rate=1.0)
    wrong = teacher.sample_judgements(items, orders, seed=0)
    right_by_chance = sum(is_correct(s.scores, it.label) for it, ss in zip(items, wrong) for s in ss) / 240
    assert right_by_chance < 0.45  # a wrong observation; its scores single out the best only by chance
    hinted = teacher.sample_judgements(items, orders, seed=0, hints=[it.label for it in items])
    assert all(is_correct(s.scores, it.label) for it, ss in zip(items, hinted) for s in ss)
    some = SyntheticTeacher(GRMConfig(), error_rate=0.25).sample_judgements(items, orders, seed=0)
    rate = sum(not is_correct(s.scores, it.label) for it, ss in zip(items, some) for s in ss) / 240
    assert 0.1 < rate < 0.3
    again = SyntheticTeacher(GRMConfig(), error_rate=0.25).sample_judgements(items, orders, seed=0)
    assert [s.text for ss in some for s in ss] == [s.text for ss in again for s in ss]  # seeded


@pytest.mark.parametrize("spread", [1, 3])
def test_score_spread_sets_how_many_scores_a_verdict_draws_from(spread):
    items = examples(60)
    orders = [[[0, 1], [1, 0]] * 2 for _ in items]
    samples = SyntheticTeacher(GRMConfig(), error_rate=0.0, score_spread=spread).sample_judgements(items, orders)
    best, other = set(), set()
    for item, item_samples in zip(items, samples):
        for s in item_samples:
            best.add(s.scores[item.label])
            other.add(s.scores[1 - item.label])
    assert (best, other) == (({10}, {1}) if spread == 1 else ({8, 9, 10}, {1, 2, 3}))
    with pytest.raises(ValueError, match="score_spread"):
        SyntheticTeacher(score_spread=0)


def test_inline_scores_follow_each_fact_and_the_score_line_repeats_them():
    items = examples(24)
    orders = [[[0, 1], [1, 0]] for _ in items]
    teacher = SyntheticTeacher(GRMConfig(), error_rate=0.0, score_spread=3, inline_scores=True)
    for item, item_samples in zip(items, teacher.sample_judgements(items, orders)):
        for s in item_samples:
            inline = [int(m) for m in re.findall(r"^Reply \d .*, so it gets (\d+)\.$", s.critique, re.MULTILINE)]
            assert s.status == "ok" and is_correct(s.scores, item.label), s.text
            assert inline == [s.scores[i] for i in s.order]  # shown order


def test_show_work_counts_the_words_and_quotes_the_keyword_before_each_verdict():
    """show_work: a word count is tallied word by word (stopping one past the target) and a keyword check quotes
    the reply's object word in its phrase, so the verdict follows from text written just before it."""
    items = [it for it in examples(60, difficulty=0.5) if it.meta["family"] in ("word_count", "keyword")]
    teacher = SyntheticTeacher(GRMConfig(), error_rate=0.0, score_spread=1, inline_scores=True, show_work=True)
    samples = teacher.sample_judgements(items, [[[0, 1], [1, 0]] for _ in items])
    for item, item_samples in zip(items, samples):
        params = json.loads(item.meta["params"])
        for s in item_samples:
            assert s.status == "ok" and is_correct(s.scores, item.label), s.text
            for i, line in enumerate(re.findall(r"^Reply \d (.*)$", s.critique, re.MULTILINE)):
                words = item.responses[s.order[i]].split()
                if item.meta["family"] == "word_count":
                    target = params["words"]
                    tally = re.match(r"counts (.*): (more than \d+|\d+) words", line)
                    counted = [w.split(" ", 1) for w in tally.group(1).split(", ")]
                    assert [int(n) for n, _ in counted] == list(range(1, min(len(words), target + 1) + 1))
                    assert [w for _, w in counted] == [w.strip(".") for w in words[: target + 1]]
                    passes = len(words) == target
                    assert line.endswith("as asked, so it gets 10." if passes else "so it gets 1.")
                else:
                    keyword = params["keyword"]
                    quote = re.match(r"says '([^']*)', (as asked|not '\w+')", line)
                    assert quote and quote.group(1) in item.responses[s.order[i]], line
                    assert (quote.group(1).split()[-1] == keyword) == (quote.group(2) == "as asked")
    plain = SyntheticTeacher(GRMConfig(), error_rate=0.0).sample_judgements(items[:4], [[[0, 1]]] * 4)
    assert not any("counts 1" in s.text or "says '" in s.text for ss in plain for s in ss)


def test_single_responses_get_the_binary_scores():
    items = examples(12, num_responses=1)
    samples = SyntheticTeacher(GRMConfig(), error_rate=0.0).sample_judgements(
        items, [[[0]] for _ in items], seed=0, binary_single=True
    )
    for item, (s,) in zip(items, samples):
        assert parse_output(s.text, 1, (0, 1)).scores == [item.label]


def test_non_synthetic_inputs_are_refused_by_name():
    from trl_grm.data.formats import LabeledInput

    item = LabeledInput(context="Hi", responses=["a", "b"], id="x1", label=0)
    with pytest.raises(ValueError, match=r"synthetic verifiable tasks.*'x1'"):
        SyntheticTeacher().sample_judgements([item], [[[0, 1]]])


def test_build_rft_data_with_the_teacher(tmp_path):
    from trl_grm.cli.main import main

    out = tmp_path / "rft_data"
    argv = ["build-rft-data", "--teacher", "synthetic", "--dataset_name", "synthetic", "--synthetic_num_examples",
            "60", "--synthetic_difficulty", "0", "--balance_positions", "true", "--output_dir", str(out)]  # fmt: skip
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    # error rate 0.25, N = 3: some samples rejected, some examples too easy, the rest kept
    assert (
        report["rejected_wrong"] > 0
        and report["rejected_easy"] > 0
        and report["kept_samples"] - report["dropped_for_position_balance"] == len(rows) > 0
    )
    assert report["format_failures"] == 0
    assert sum(r["best_position"] == 0 for r in rows) == sum(r["best_position"] == 1 for r in rows)
    assert json.loads((out / "grm_config.json").read_text())["template"]  # the student's settings, for rft
    before = (out / "samples.jsonl").read_text()
    assert main(argv) == 0  # resumable: nothing new to sample
    assert (out / "samples.jsonl").read_text() == before


def test_both_orders_sampling_keeps_pairs_judged_right_in_each_order(tmp_path):
    """--order_strategy balanced: samples alternate orders; --require_all_positions: a kept pair was judged right in
    both orders, so the student sees its two orders (the paper's random orders and keep-any rule do neither)."""
    from trl_grm.cli.main import main

    out = tmp_path / "rft_data"
    base = ["build-rft-data", "--teacher", "synthetic", "--dataset_name", "synthetic", "--synthetic_num_examples",
            "80", "--synthetic_difficulty", "0", "--num_rft_samples", "4"]  # fmt: skip
    argv = [*base, "--order_strategy", "balanced", "--require_all_positions", "true", "--output_dir", str(out)]
    assert main(argv) == 0
    records = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert all([x["order"] for x in r["samples"]] == [[0, 1], [1, 0], [0, 1], [1, 0]] for r in records)
    report = json.loads((out / "report.json").read_text())
    assert report["rejected_one_sided"] > 0
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    by_example: dict[int, set[int]] = {}
    for row in rows:
        by_example.setdefault(row["example_index"], set()).add(row["best_position"])
    assert by_example and all(positions == {0, 1} for positions in by_example.values())
    # a pair whose correct samples all had the same reply shown first
    one_sided = [r for r in records if len({x["order"][0] for x in r["samples"] if x["correct"]}) == 1]
    assert len(one_sided) == report["rejected_one_sided"]
    assert not {r["index"] for r in one_sided} & set(by_example)
    # the paper's settings on the same data keep one-sided pairs too
    paper = tmp_path / "paper"
    assert main([*base, "--output_dir", str(paper)]) == 0
    assert json.loads((paper / "report.json").read_text())["rejected_one_sided"] == 0
    assert main([*base, "--order_strategy", "shuffled", "--output_dir", str(tmp_path / "x")]) == 2


def test_teacher_usage_errors(tmp_path, capsys):
    from trl_grm.cli.main import main

    base = ["build-rft-data", "--teacher", "synthetic", "--output_dir", str(tmp_path / "o")]
    assert main([*base, "--dataset_name", str(tmp_path / "rows.jsonl")]) == 2
    assert "--dataset_name synthetic" in capsys.readouterr().err
    assert main([*base, "--dataset_name", "synthetic", "--teacher", "gpt"]) == 2
    assert "only code-written teacher" in capsys.readouterr().err


def test_cpu_training_launches_use_the_cores(monkeypatch):
    """accelerate sets OMP_NUM_THREADS=1 unless told --cpu: a one-process CPU run would use one core."""
    import os

    from accelerate.commands.launch import launch_command_parser

    from trl_grm.cli.launch import _cpu_threads_per_process, resolve_accelerate_config

    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    cores = os.cpu_count() or 1
    assert _cpu_threads_per_process(launch_command_parser().parse_args(["x.py"])) == cores
    two = launch_command_parser().parse_args(["--config_file", resolve_accelerate_config("multi_cpu"), "x.py"])
    assert _cpu_threads_per_process(two) == max(1, cores // 2)
