"""Rejective sampling (SPCT stage 1): the paper's keep/reject rules, the report, and resuming after a real kill."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass

import pytest

from trl_grm.data.rejective import SAMPLES_FILE, RejectiveSampler, decide, is_hinted
from trl_grm.modeling.configuration_grm import GRMConfig
from trl_grm.protocol.inputs import GRMInput
from trl_grm.protocol.judging import GRMSample, item_messages
from trl_grm.protocol.voting import map_back


@dataclass
class Example(GRMInput):
    label: int = 0


class ScriptedSampler:
    """Stands in for the model: answers by a script keyed on the example's prompt, so every rule branch is hit.

    Scripts (scores in ORIGINAL order, mapped to the shown order like a real judge would see them):
      "right": best response 9, others 2  -> always correct
      "wrong": best response 2, others 9  -> always incorrect
      "tie": everything 5                 -> incorrect (ties are wrong)
      "junk": no score line               -> format failure
      "mixed": alternates right / wrong   -> some correct
      "hint-only": right only when the prompt carries the hint
    """

    def __init__(self):
        self.config = GRMConfig()
        self.calls = []

    def sample_judgements(self, items, orders, *, hints=None, binary_single=False, **kwargs):
        self.calls.append({"items": [it.id for it in items], "hints": hints, "kwargs": kwargs})
        out = []
        for b, (item, item_orders) in enumerate(zip(items, orders)):
            script = item.context.split(":")[0]
            samples = []
            for s, order in enumerate(item_orders):
                right = {
                    "right": True,
                    "wrong": False,
                    "tie": None,
                    "junk": None,
                    "mixed": s % 2 == 0,
                    "hint-only": hints is not None and hints[b] is not None,
                }[script]
                n = len(order)
                if script == "tie":
                    original = [5] * n
                elif right:
                    original = [9 if i == item.label else 2 for i in range(n)]
                else:
                    original = [2 if i == item.label else 9 for i in range(n)]
                shown = [original[i] for i in order]
                ok = script != "junk"
                text = f"Analysis: scripted.\nScores: \\boxed{{{', '.join(map(str, shown))}}}" if ok else "I refuse."
                scores = map_back(shown, order) if ok else None
                samples.append(GRMSample(list(order), text, "ok" if ok else "no_box", "", "", scores, "stop"))
            out.append(samples)
        return out


def _examples(scripts):
    return [Example(f"{s}: question {i}?", ["A", "B", "C"], id=f"ex{i}", label=i % 3) for i, s in enumerate(scripts)]


def test_decide_rules():
    assert decide([True, True, True], hinted=False) == "too_easy"
    assert decide([True, False, True], hinted=False) == "kept"
    assert decide([False, False, False], hinted=False) == "all_wrong"
    assert decide([True], hinted=True) == "kept"  # a correct hinted sample is never "too easy"
    assert decide([False], hinted=True) == "all_wrong"


def test_every_branch_and_the_report(tmp_path):
    examples = _examples(["right", "wrong", "tie", "junk", "mixed"])
    sampler = ScriptedSampler()
    rows, report = RejectiveSampler(sampler, num_samples=3, batch_size=2).build(examples, tmp_path, progress=False)
    assert report.examples == 5 and report.hinted_examples == 0
    assert report.rejected_easy == 1 and report.too_easy_ids == ["ex0"]  # all 3 right: too easy, dropped whole
    assert report.format_failures == 3  # the junk example's samples, counted and rejected
    # wrong (3) + tie (3) + junk (3) + mixed (1 of 3 wrong)
    assert report.rejected_wrong == 10
    assert report.kept_samples == 2 and report.kept_examples == 1  # mixed: samples 0 and 2
    assert {r["example_index"] for r in rows} == {4}
    # Rows are conversational prompt-completion pairs; the prompt is the un-hinted GRM prompt for that sample's order.
    record = [json.loads(line) for line in open(tmp_path / SAMPLES_FILE)][4]
    kept_orders = [s["order"] for s in record["samples"] if s["correct"]]
    for row, order in zip(rows, kept_orders):
        assert row["prompt"] == item_messages(sampler.config, examples[4], order)
        assert row["completion"][0]["role"] == "assistant" and "\\boxed{" in row["completion"][0]["content"]
    # Every unhinted example got N samples with independently shuffled orders.
    assert all(len(r["samples"]) == 3 for r in map(json.loads, open(tmp_path / SAMPLES_FILE)))
    assert json.load(open(tmp_path / "report.json"))["too_easy_ids"] == ["ex0"]


def test_hinted_sampling(tmp_path):
    examples = _examples(["hint-only"] * 40)
    sampler = ScriptedSampler()
    rows, report = RejectiveSampler(sampler, num_samples=3, hinted_fraction=0.5, seed=1).build(
        examples, tmp_path, progress=False
    )
    hinted = [is_hinted(ex.fingerprint, 0.5, 1) for ex in examples]
    assert 10 < sum(hinted) < 30 and report.hinted_examples == sum(hinted)
    # Hinted: one sample with the hint, kept when correct. Unhinted hint-only examples are always wrong.
    assert report.kept_samples == sum(hinted) and report.rejected_easy == 0
    records = [json.loads(line) for line in open(tmp_path / SAMPLES_FILE)]
    assert all(len(r["samples"]) == (1 if r["hinted"] else 3) for r in records)
    hints_seen = [h for call in sampler.calls for h in call["hints"]]
    assert [h is not None for h in hints_seen] == hinted
    # The hint names the labelled best response; the stored prompt is the un-hinted one.
    assert all(h == examples[i].label for i, h in enumerate(hints_seen) if h is not None)
    for row in rows:
        assert "best one" not in row["prompt"][-1]["content"]


def test_settings_mismatch_is_refused(tmp_path):
    examples = _examples(["right", "mixed"])
    RejectiveSampler(ScriptedSampler(), num_samples=3).build(examples, tmp_path, progress=False)
    with pytest.raises(ValueError, match="other settings"):
        RejectiveSampler(ScriptedSampler(), num_samples=2).build(examples, tmp_path, progress=False)


def test_finished_examples_are_not_sampled_again(tmp_path):
    examples = _examples(["mixed"] * 6)
    first = ScriptedSampler()
    RejectiveSampler(first, batch_size=2).sample(examples[:6], tmp_path, progress=False)
    lines = open(tmp_path / SAMPLES_FILE).read().splitlines(keepends=True)
    # Simulate a crash after 3 examples, the 4th line torn mid-write.
    (tmp_path / SAMPLES_FILE).write_text("".join(lines[:3]) + lines[3][:20])
    second = ScriptedSampler()
    records = RejectiveSampler(second, batch_size=2).sample(examples, tmp_path, progress=False)
    assert [c["items"] for c in second.calls] == [["ex3", "ex4"], ["ex5"]]
    assert [r["index"] for r in records] == list(range(6))
    assert [json.loads(x) for x in open(tmp_path / SAMPLES_FILE)] == [json.loads(x) for x in lines]


@pytest.mark.parametrize("bad", [{"num_samples": 0}, {"hinted_fraction": 1.5}, {"batch_size": 0}])
def test_bad_settings(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        RejectiveSampler(ScriptedSampler(), **bad)


_WORKER = textwrap.dedent(
    """
    import sys
    from dataclasses import dataclass
    from trl_grm.data.rejective import RejectiveSampler
    from trl_grm.modeling.modeling_grm import GRMForPointwiseScoring
    from trl_grm.protocol.inputs import GRMInput

    @dataclass
    class Example(GRMInput):
        label: int = 0

    judge_dir, out_dir = sys.argv[1], sys.argv[2]
    grm = GRMForPointwiseScoring.from_pretrained(judge_dir)
    examples = [Example(f"Question number {i}?", ["Yes.", "No."], id=i, label=i % 2) for i in range(24)]
    RejectiveSampler(grm, num_samples=3, temperature=0.5, max_new_tokens=60, batch_size=1, seed=7).build(
        examples, out_dir, progress=False
    )
    """
)


def _run_worker(judge_dir, out_dir, kill_after_lines=None):
    proc = subprocess.Popen([sys.executable, "-c", _WORKER, judge_dir, str(out_dir)])
    if kill_after_lines is None:
        assert proc.wait(timeout=600) == 0
        return
    path = out_dir / SAMPLES_FILE
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if path.exists() and path.read_bytes().count(b"\n") >= kill_after_lines:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the worker finished before it could be killed; give it more work"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)


def test_resume_after_a_real_kill(judge_dir, tmp_path):
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    _run_worker(judge_dir, reference_dir)
    _run_worker(judge_dir, killed_dir, kill_after_lines=5)
    finished = open(killed_dir / SAMPLES_FILE, "rb").read().count(b"\n")
    assert 5 <= finished < 24
    _run_worker(judge_dir, killed_dir)
    resumed = [json.loads(line) for line in open(killed_dir / SAMPLES_FILE)]
    reference = [json.loads(line) for line in open(reference_dir / SAMPLES_FILE)]
    assert [r["index"] for r in resumed] == list(range(24))  # none lost, none twice
    assert resumed == reference  # and the same samples as a run that was never interrupted
    assert json.load(open(killed_dir / "report.json")) == json.load(open(reference_dir / "report.json"))


def test_quotes_hint():
    from trl_grm.data.rejective import quotes_hint

    hint = "For your information: reply 2 is the best one. Your scores must make that visible."
    assert quotes_hint("Analysis: Reply 2 is the best one. Scores: \\boxed{1, 9}", hint)
    assert quotes_hint("your SCORES must make that visible!", hint)
    assert not quotes_hint("Analysis: reply 2 follows the instruction. Scores: \\boxed{1, 9}", hint)


class QuotingSampler(ScriptedSampler):
    """Right every time; hinted samples repeat the hint sentence (as a small teacher does)."""

    def sample_judgements(self, items, orders, *, hints=None, **kwargs):
        out = super().sample_judgements(items, orders, hints=hints, **kwargs)
        for b, samples in enumerate(out):
            if hints is not None and hints[b] is not None:
                for s in samples:
                    best = s.order.index(hints[b]) + 1
                    s.text = f"Analysis: reply {best} is the best one. Your scores must make that visible.\n" + s.text
        return out


def test_hinted_samples_that_quote_the_hint_are_rejected(tmp_path):
    examples = _examples(["mixed"] * 30)
    rows, report = RejectiveSampler(QuotingSampler(), num_samples=3, hinted_fraction=0.5, seed=2).build(
        examples, tmp_path, progress=False
    )
    hinted = sum(is_hinted(ex.fingerprint, 0.5, 2) for ex in examples)
    assert 0 < hinted < 30 and report.rejected_hint_quoted == hinted
    assert not any(r["hinted"] for r in rows)
    assert not any("best one" in r["completion"][0]["content"] for r in rows)


class FirstShownSampler(ScriptedSampler):
    """Rates the first SHOWN response highest: right exactly when the best response was shown first."""

    def sample_judgements(self, items, orders, **kwargs):
        out = []
        for item_orders in orders:
            row = []
            for order in item_orders:
                shown = [9] + [2] * (len(order) - 1)
                scores = map_back(shown, order)
                text = f"Scores: \\boxed{{{', '.join(map(str, shown))}}}"
                row.append(GRMSample(list(order), text, "ok", "", "", scores, "stop"))
            out.append(row)
        return out


def test_position_balance(tmp_path):
    pairs = [Example(f"q{i}", ["A", "B"], id=i, label=i % 2) for i in range(40)]
    rows, report = RejectiveSampler(FirstShownSampler(), num_samples=3, seed=0).build(pairs, tmp_path / "a", False)
    # A first-position judge is right only when the best came first: every kept row has it at position 0.
    assert rows and {r["best_position"] for r in rows} == {0} and report.dropped_for_position_balance == 0
    balanced, report = RejectiveSampler(FirstShownSampler(), num_samples=3, seed=0, balance_positions=True).build(
        pairs, tmp_path / "b", False
    )
    assert balanced == [] and report.dropped_for_position_balance == len(rows)

    mixed_rows, _ = RejectiveSampler(ScriptedSampler(), num_samples=3, seed=0).build(
        _examples(["mixed"] * 30), tmp_path / "c", False
    )
    rows, report = RejectiveSampler(ScriptedSampler(), num_samples=3, seed=0, balance_positions=True).build(
        _examples(["mixed"] * 30), tmp_path / "d", False
    )
    counts = Counter(r["best_position"] for r in rows)
    assert set(counts) == {0, 1, 2} and len(set(counts.values())) == 1
    assert report.dropped_for_position_balance == len(mixed_rows) - len(rows) > 0
