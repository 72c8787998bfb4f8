"""Cheaper votes (issue 28): adaptive k, shared principles and the constrained score line, on real tiny GRMs.

The tiny judge writes one memorised judgement (the first reply SHOWN gets 8, the second 3); sampled at temperature
1.0 it also writes variations and sometimes garbage, which gives adaptive stopping split votes and failures to see.
"""

from __future__ import annotations

import itertools
import json
import math

import httpx
import pytest

from trl_grm import GRMForPointwiseScoring, ScoringParameters
from trl_grm.backends.base import ScoreLine
from trl_grm.cli.main import main
from trl_grm.protocol.parsing import principles_prefix
from trl_grm.protocol.stopping import settled, t_cdf
from trl_grm.testing import TINY_JUDGEMENT, build_tiny_judge

PAIR = {"prompt": "What is two plus two?", "responses": ["Four.", "Five."]}
OTHERS = [
    {"prompt": "Name a colour.", "responses": ["Blue.", "Seven."]},
    {"prompt": "Say hello.", "responses": ["Hello!", "Goodbye.", "Hi."]},
    {"prompt": "Write a poem about the sea.", "responses": ["Waves roll in."]},
]
HOT = dict(num_samples=8, temperature=1.0, seed=3)


# --------------------------------------------------------------------------------------------- the stopping rules
@pytest.mark.parametrize(
    ("df", "x", "p"), [(1, 12.706, 0.975), (2, 4.303, 0.975), (5, 2.571, 0.975), (7, 2.998, 0.99)]
)
def test_t_cdf_matches_table_quantiles(df, x, p):
    assert t_cdf(x, df) == pytest.approx(p, abs=5e-4)
    assert t_cdf(-x, df) == pytest.approx(1 - p, abs=5e-4)
    assert t_cdf(0.0, df) == pytest.approx(0.5)


def test_the_exact_rule_never_stops_when_the_rest_could_change_the_winner():
    """Every prefix of every vote (k = 4, n = 2, scores 1..3) that the exact rule settles keeps its leader as the
    strict winner of EVERY possible completion of the vote."""
    scores = [[a, b] for a in (1, 2, 3) for b in (1, 2, 3)]
    stopped = 0
    for m in range(2, 4):
        for prefix in itertools.product(scores, repeat=m):
            if settled(prefix, 4, (1, 3), "exact") is None:
                continue
            stopped += 1
            leader = max(range(2), key=lambda j: sum(s[j] for s in prefix))
            for rest in itertools.product(scores, repeat=4 - m):
                totals = [sum(s[j] for s in (*prefix, *rest)) for j in range(2)]
                assert totals[leader] > totals[1 - leader]
    assert stopped > 0


def test_the_predictive_rule_stops_on_agreement_and_waits_on_a_split():
    strong = [[9, 2]] * 4
    assert settled(strong, 8, (1, 10)) == "predictive"
    assert settled(strong[:1], 8, (1, 10)) is None  # one parsed sample: never
    assert settled([[9, 2], [2, 9], [9, 2], [2, 9]], 8, (1, 10)) is None  # a split vote
    assert settled([[5, 5], [5, 5], [6, 6]], 8, (1, 10)) is None  # a tie for the lead
    assert settled([[9], [9], [9]], 8, (1, 10)) is None  # n = 1: the score is the result, all k are drawn
    assert settled([[9, 2], None, [9, 2]], 8, (1, 10), alpha=0.2) == "predictive"  # failures count as drawn
    assert settled([[9, 2], [9, 2], [8, 3]], 8, (1, 10), "exact") is None  # 3 samples cannot settle 5 more
    # The error level: a looser alpha stops earlier, never later.
    first = {
        a: next(m for m in range(2, 9) if m == 8 or settled([[7, 4]] * m, 8, (1, 10), alpha=a)) for a in (0.2, 0.02)
    }
    assert first[0.2] <= first[0.02] < 8


def test_adaptive_parameters_are_checked_before_a_model_runs(judge):
    with pytest.raises(ValueError, match="adaptive_rule must be one of"):
        judge.score(PAIR, adaptive=True, adaptive_rule="vibes")
    with pytest.raises(ValueError, match="adaptive_alpha must be a number in"):
        judge.score(PAIR, adaptive=True, adaptive_alpha=1.5)
    with pytest.raises(ValueError, match="adaptive_round must be an integer"):
        judge.score(PAIR, adaptive=True, adaptive_round=0)
    with pytest.raises(ValueError, match="principles_mode must be one of"):
        judge.score(PAIR, principles_mode="borrowed")
    with pytest.raises(ValueError, match="cannot combine with Meta RM"):
        ScoringParameters(num_samples=4, adaptive=True).resolve(judge.config, has_meta_rm=True)


# ---------------------------------------------------------------------------------------------- adaptive scoring
def test_adaptive_samples_are_the_first_samples_of_full_k(judge):
    items = [PAIR, *OTHERS]
    full = judge.score(items, **HOT)
    adaptive = judge.score(items, **HOT, adaptive=True)
    for f, a in zip(full, adaptive):
        assert a.num_samples == 8 and f.num_drawn == 8 and f.stopped_by is None
        assert 2 <= a.num_drawn <= 8 and len(a.samples) == a.num_drawn
        assert [s.text for s in a.samples] == [s.text for s in f.samples[: a.num_drawn]]
        assert [s.order for s in a.samples] == [s.order for s in f.samples[: a.num_drawn]]
        assert (a.stopped_by is None) == (a.num_drawn == 8)
        assert a.num_tokens == sum(s.num_tokens for s in a.samples) <= f.num_tokens
    assert adaptive[3].num_drawn == 8  # one response: nothing to settle
    # Same stop and samples whatever else is in the call.
    alone = judge.score(OTHERS[0], **HOT, adaptive=True)
    assert [s.text for s in alone.samples] == [s.text for s in adaptive[1].samples]


def test_the_exact_rule_stops_a_unanimous_vote_where_no_remaining_sample_matters(judge):
    # Shown in a fixed order the tiny judge always says 8, 3: margin 5 per sample, 9 at most per remaining one.
    result = judge.score(PAIR, num_samples=8, order_strategy="fixed", adaptive=True, adaptive_rule="exact")
    assert (result.num_drawn, result.stopped_by, result.best) == (6, "exact", 0)  # 30 > 2 * 9 first at m = 6
    full = judge.score(PAIR, num_samples=8, order_strategy="fixed")
    assert full.best == result.best and full.num_drawn == 8
    predictive = judge.score(PAIR, num_samples=8, order_strategy="fixed", adaptive=True)
    assert (predictive.num_drawn, predictive.stopped_by) == (4, "predictive")


def test_options_off_change_nothing(judge):
    items = [PAIR, *OTHERS]
    plain = [r.to_dict() for r in judge.score(items, **HOT)]
    explicit = judge.score(items, **HOT, adaptive=False, constrained_scores=False, principles_mode="self")
    assert [r.to_dict() for r in explicit] == plain


# -------------------------------------------------------------------------------------------- shared principles
def test_shared_principles_are_written_once_and_continued(judge):
    items = [PAIR, *OTHERS]
    own = judge.score(items, **HOT)
    shared = judge.score(items, **HOT, principles_mode="shared")
    for o, s in zip(own, shared):
        assert s.samples[0].text == o.samples[0].text  # sample 0 writes them, as in self mode
        prefix = principles_prefix(s.samples[0].text)
        if prefix is None:  # sample 0 wrote none: every sample writes its own
            continue
        assert all(x.text.startswith(prefix) for x in s.samples)
        assert all(x.principles == s.samples[0].principles for x in s.samples if x.status == "ok")
        assert [x.order for x in s.samples] == [x.order for x in o.samples]  # shuffling unchanged
    assert sum(r.num_tokens for r in shared) < sum(r.num_tokens for r in own)


def test_shared_and_adaptive_together_keep_the_samples_reproducible(judge):
    items = [PAIR, *OTHERS]
    a = judge.score(items, **HOT, principles_mode="shared", adaptive=True)
    b = judge.score(items[1:], **HOT, principles_mode="shared", adaptive=True)
    assert [r.to_dict() for r in a[1:]] == [r.to_dict() for r in b]


def test_given_principles_stay_given_in_shared_mode(judge):
    item = {**PAIR, "principles": "- Accuracy (Weight: 100%): the right sum."}
    result = judge.score(item, num_samples=3, temperature=1.0, principles_mode="shared")
    assert result.num_drawn == 3  # no prefix: each sample restates the given criteria


# ------------------------------------------------------------------------------------ the constrained score line
@pytest.fixture(scope="module")
def wild_judge(tmp_path_factory):
    """A tiny judge that reaches its score line and then writes a score out of range (12)."""
    judgement = TINY_JUDGEMENT.replace("\\boxed{8, 3}", "\\boxed{12, 3}")
    return GRMForPointwiseScoring.from_pretrained(build_tiny_judge(tmp_path_factory.mktemp("wild"), judgement))


def test_score_line_pattern():
    import regex

    line = ScoreLine(2, 1, 10)
    assert regex.fullmatch(line.pattern(), " \\boxed{10, 1}") and regex.fullmatch(line.pattern(), "\\boxed{3,4}")
    assert not regex.fullmatch(line.pattern(), " \\boxed{11, 1}")
    assert regex.fullmatch(line.pattern(), " \\boxed{1", partial=True)
    assert not regex.fullmatch(line.pattern(), " \\boxed{1, 2, 3", partial=True)


def test_constrained_score_line_turns_format_failures_into_valid_boxes(wild_judge):
    items = [PAIR, OTHERS[0], OTHERS[2]]  # n = 2, 2 and 1: the judge writes "12, 3" for each
    free = wild_judge.score(items, num_samples=1, order_strategy="fixed")
    assert [r.failures for r in free] == [{"out_of_range": 1}, {"out_of_range": 1}, {"wrong_count": 1}]
    constrained = wild_judge.score(items, num_samples=1, order_strategy="fixed", constrained_scores=True)
    for r, f, item in zip(constrained, free, items):
        (sample,) = r.samples
        assert sample.status == "ok" and len(sample.scores) == len(item["responses"])
        assert all(1 <= x <= 10 for x in sample.scores)
        # Up to its score line the judgement is the unconstrained one.
        assert sample.text.rsplit("Scores:", 1)[0] == f.samples[0].text.rsplit("Scores:", 1)[0]


def test_constrained_sampling_reaching_the_score_line_never_fails(wild_judge):
    results = wild_judge.score([PAIR, *OTHERS], num_samples=6, temperature=1.0, constrained_scores=True)
    samples = [s for r in results for s in r.samples]
    reached = [s for s in samples if "Scores:" in s.text]
    assert len(reached) > len(samples) // 2 and all(s.status == "ok" for s in reached)
    others = [s for s in samples if "Scores:" not in s.text]  # a box without the header is no score line
    assert others and all(s.scores is None for s in others if s.status != "ok")  # counted, never filled in


def test_a_judgement_cut_off_before_its_score_line_is_still_truncated(judge):
    result = judge.score(PAIR, num_samples=1, order_strategy="fixed", max_new_tokens=8, constrained_scores=True)
    (sample,) = result.samples
    assert sample.status == "truncated" and sample.finish_reason == "length" and sample.num_tokens == 8


# ------------------------------------------------------------------------------------------ pipeline, CLI, server
def test_the_pipeline_takes_the_new_options(judge_dir):
    from transformers import pipeline

    import trl_grm  # noqa: F401 - registers the task

    pipe = pipeline("pointwise-reward", model=judge_dir)
    out = pipe(PAIR, num_samples=8, order_strategy="fixed", adaptive=True)
    assert out["num_drawn"] == 4 and out["stopped_by"] == "predictive"


def test_cli_adaptive_flag(judge_dir, tmp_path, capsys):
    path = tmp_path / "pair.json"
    path.write_text(json.dumps(PAIR))
    argv = ["score", "--model_name_or_path", str(judge_dir), "--input", str(path), "--num_samples", "8"]
    assert main([*argv, "--order_strategy", "fixed", "--adaptive", "--adaptive_rule", "exact"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["num_drawn"], out["stopped_by"]) == (6, "exact")
    assert main([*argv, "--adaptive_rule", "never"]) != 0
    assert "adaptive_rule must be one of" in capsys.readouterr().err


def test_server_scores_adaptively(judge):
    from test_serve import Served

    from trl_grm.serving.app import ServeSettings

    server = Served(lambda: judge, ServeSettings())
    try:
        body = {"inputs": PAIR, "num_samples": 8, "order_strategy": "fixed", "adaptive": True}
        answer = httpx.post(f"{server.url}/v1/score", json=body, timeout=120).json()
        assert (answer["num_drawn"], answer["stopped_by"]) == (4, "predictive")
        bad = httpx.post(f"{server.url}/v1/score", json={**body, "adaptive_alpha": 2}, timeout=60)
        assert bad.status_code == 422 and "adaptive_alpha" in bad.text
    finally:
        server.close()


def test_adaptive_draws_fewer_tokens_on_agreement(judge):
    full = judge.score([PAIR, OTHERS[0]], num_samples=8, order_strategy="fixed")
    cheap = judge.score([PAIR, OTHERS[0]], num_samples=8, order_strategy="fixed", adaptive=True)
    assert [r.best for r in cheap] == [r.best for r in full]
    ratio = sum(r.num_tokens for r in full) / sum(r.num_tokens for r in cheap)
    assert math.isclose(ratio, 2.0, rel_tol=0.05)  # 4 of 8 identical samples each
