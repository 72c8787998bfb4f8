"""Issue 24: the ONE planner of response orders and per-sample seeds.

Rejective sampling, the evaluation cache and the GRPO prompts hold exactly the samples ``score()`` draws for the same
input, seed and settings (before, each keyed its orders by the example's index with a purpose of its own, so they did
not); caches written under the old scheme are refused.
"""

from __future__ import annotations

import json

import pytest

from trl_grm.data.formats import LabeledInput
from trl_grm.data.sampling import LabelledSampling
from trl_grm.evaluation.cache import SampleCache
from trl_grm.protocol.planner import plan_orders
from trl_grm.trainers.principle_grpo_trainer import build_grpo_dataset

EXAMPLES = [
    LabeledInput("What is two plus two?", ["Four.", "Five.", "Twenty-two."], label=0),
    LabeledInput("Name a colour.", ["Seven.", "Blue.", "A chair."], label=1),
    LabeledInput("Say hello.", ["Goodbye.", "...", "Hello!"], label=2),
]
SEED, TEMPERATURE = 3, 1.0


def _drawn_by_score(judge, k: int, seed: int = SEED) -> list[list[tuple]]:
    """(order, text) of every sample ``score()`` draws for each example, scored one call for all."""
    inputs = [{"prompt": ex.context, "responses": ex.responses} for ex in EXAMPLES]
    results = judge.score(inputs, num_samples=k, temperature=TEMPERATURE, seed=seed, order_strategy="random")
    return [[(s.order, s.text) for s in r.samples] for r in results]


def test_plans_are_prefix_stable_and_keyed_by_the_input():
    key = EXAMPLES[0].fingerprint
    assert plan_orders(key, 3, 8, "random", 5)[:4] == plan_orders(key, 3, 4, "random", 5)
    assert plan_orders(key, 3, 8, "random", 5, start=3) == plan_orders(key, 3, 8, "random", 5)[3:]
    assert plan_orders(EXAMPLES[1].fingerprint, 3, 8, "random", 5) != plan_orders(key, 3, 8, "random", 5)


def test_rejective_samples_are_the_samples_score_draws(judge, tmp_path):
    records = LabelledSampling(
        judge, num_samples=3, temperature=TEMPERATURE, max_new_tokens=judge.config.max_new_tokens, seed=SEED
    ).sample(EXAMPLES, tmp_path, progress=False)
    sampled = [[(s["order"], s["text"]) for s in r["samples"]] for r in records]
    assert sampled == _drawn_by_score(judge, 3)
    # A different seed draws different orders: the comparison above can fail.
    assert [[o for o, _ in r] for r in sampled] != [[o for o, _ in r] for r in _drawn_by_score(judge, 3, seed=4)]


def test_eval_cache_holds_the_samples_score_draws_also_when_extended(judge, tmp_path):
    settings = {"seed": SEED, "temperature": TEMPERATURE}
    kw = dict(temperature=TEMPERATURE, max_new_tokens=judge.config.max_new_tokens, principles_mode=None, seed=SEED)
    cache = SampleCache(tmp_path / "samples", settings)
    cache.fill(judge, EXAMPLES, 2, progress=False, **kw)  # then extended to k = 4: only samples 2..3 are drawn
    samples = cache.fill(judge, EXAMPLES, 4, progress=False, **kw)
    assert [[(s["order"], s["text"]) for s in ex] for ex in samples] == _drawn_by_score(judge, 4)


def test_grpo_prompt_shows_the_order_of_the_first_sample_score_draws(judge):
    rows = build_grpo_dataset(EXAMPLES, judge.config, SEED, binary_single=True)
    first_orders = [r[0][0] for r in _drawn_by_score(judge, 1)]
    assert rows["shown_responses"] == [[ex.responses[j] for j in o] for ex, o in zip(EXAMPLES, first_orders)]
    assert rows["label"] == [o.index(ex.label) for ex, o in zip(EXAMPLES, first_orders)]


def test_caches_of_the_old_seeding_scheme_are_refused(judge, tmp_path):
    LabelledSampling(judge, num_samples=1, max_new_tokens=8, seed=SEED).sample(EXAMPLES[:1], tmp_path, progress=False)
    settings = json.loads((tmp_path / "settings.json").read_text())
    (tmp_path / "settings.json").write_text(json.dumps({**settings, "seeding": 2}))
    with pytest.raises(ValueError, match=r"other settings \(seeding: 2 there, 3 now\)"):
        LabelledSampling(judge, num_samples=1, max_new_tokens=8, seed=SEED).sample(EXAMPLES[:1], tmp_path)
