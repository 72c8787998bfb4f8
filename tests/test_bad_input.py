"""Bad input to GRMForPointwiseScoring.score and the pipeline: a ValueError/TypeError naming the problem, raised
before any generation."""

from __future__ import annotations

import pytest
from conftest import PAIR

from trl_grm import GRMForPointwiseScoring, PointwiseRewardPipeline


def _no_generation(grm):
    """Fail loudly if an invalid call reaches the model."""

    def generate(*args, **kwargs):
        raise AssertionError("generation must not start for invalid input")

    grm.backend.generate_prompts = generate  # the backend's checks (e.g. the context) still run
    return grm


@pytest.fixture
def grm(judge):
    return _no_generation(GRMForPointwiseScoring(judge.model, judge.tokenizer, judge.config))


@pytest.mark.parametrize(
    ("inputs", "error", "match"),
    [
        ({"prompt": "Q?", "responses": []}, ValueError, "'responses of input 0' is empty"),
        ({"prompt": "Q?", "responses": "a single string"}, TypeError, "must be a list of strings, got str"),
        ({"prompt": "Q?", "responses": ["ok", 7]}, TypeError, "Response 1 in 'responses of input 0' is a int"),
        ({"prompt": "Q?", "responses": [b"bytes"]}, TypeError, "Response 0 .* is a bytes, not a string"),
        ({"responses": ["a", "b"]}, ValueError, "input 0 is missing 'prompt'"),
        ({"prompt": "Q?"}, ValueError, "input 0 is missing 'responses'"),
        ({"prompt": None, "responses": ["a"]}, ValueError, "Missing prompt of input 0"),
        ({"prompt": " ", "responses": ["a"]}, ValueError, "prompt of input 0 is empty"),
        ({"prompt": [{"content": "hi"}], "responses": ["a"]}, ValueError, "Malformed chat message 0 in prompt"),
        (
            {"prompt": [{"role": "human", "content": "hi"}], "responses": ["a"]},
            ValueError,
            "Chat message 0 in prompt of input 0 has role 'human'",
        ),
        (
            {
                "prompt": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ho"}],
                "responses": ["a"],
            },
            ValueError,
            "last chat message .* must be the user's turn",
        ),
        ({"prompt": [{"role": "user", "content": 5}], "responses": ["a"]}, TypeError, "non-string content"),
        ({"prompt": "Q?", "responses": ["a"], "principles": 3}, TypeError, "'principles' of input 0 must be a string"),
        ({"prompt": "Q?", "responses": ["a"], "reference": ["x"]}, TypeError, "'reference' of input 0 must be a str"),
        ({"prompt": "Q?", "responses": ["a"], "respones": ["b"]}, ValueError, r"unknown key\(s\) \['respones'\]"),
        ({"query": "Q?", "responses": ["a"]}, ValueError, r"unknown key\(s\) \['query'\]"),
        ([], ValueError, "No inputs given"),
        ("What is two plus two?", TypeError, "Inputs must be a dict or a list of dicts, got str"),
        (None, TypeError, "Inputs must be a dict or a list of dicts"),
        ([PAIR, "oops"], TypeError, "input 1 must be a dict"),
        ([PAIR, {"prompt": "Q?", "responses": []}], ValueError, "'responses of input 1' is empty"),
    ],
)
def test_bad_inputs(grm, inputs, error, match):
    with pytest.raises(error, match=match):
        grm.score(inputs)


@pytest.mark.parametrize("num_samples", [0, -1, 1.5, "4", True])
def test_bad_num_samples(grm, num_samples):
    with pytest.raises(ValueError, match=r"num_samples must be an integer >= 1, got"):
        grm.score(PAIR, num_samples=num_samples)


def _meta(texts):
    return [0.0] * len(texts)


@pytest.mark.parametrize("k_meta", [0, -2, 5, 2.0])
def test_k_meta_outside_1_to_k(grm, k_meta):
    with pytest.raises(ValueError, match=r"k_meta must be an integer in 1\.\.4 \(num_samples\)"):
        grm.score(PAIR, num_samples=4, meta_rm=_meta, k_meta=k_meta)


def test_k_meta_without_meta_rm(grm):
    with pytest.raises(ValueError, match="k_meta was given but there is no meta_rm"):
        grm.score(PAIR, num_samples=4, k_meta=2)


def test_bad_meta_rm(grm):
    with pytest.raises(TypeError, match="meta_rm must be a path, a MetaRewardModel or a callable"):
        grm.score(PAIR, num_samples=2, meta_rm=42)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"order_strategy": "shuffle"}, "order_strategy must be one of"),
        ({"principles_mode": "mine"}, "principles_mode must be one of"),
        ({"principles_mode": "given"}, "principles_mode='given' needs non-empty 'principles'"),
    ],
)
def test_bad_options(grm, kwargs, match):
    with pytest.raises(ValueError, match=match):
        grm.score(PAIR, **kwargs)


def test_negative_temperature(grm):
    with pytest.raises(ValueError, match="temperature"):
        grm.score(PAIR, num_samples=2, temperature=-0.5)


def test_zero_max_new_tokens(grm):
    with pytest.raises(ValueError, match="max_new_tokens"):
        grm.score(PAIR, max_new_tokens=0)


# ------------------------------------------------------------------------------------------------ context length
@pytest.fixture(scope="module")
def small_grm(small_context_dir):
    return GRMForPointwiseScoring.from_pretrained(small_context_dir)


def _prompt_tokens(grm, item_dict, order):
    from trl_grm.protocol.inputs import to_input

    prompt = grm.render_prompt(to_input(item_dict), order)
    return len(grm.backend.encode([prompt])[0])


def test_input_that_does_not_fit_the_context(small_grm):
    long = {"prompt": "Write a short poem about the sea.", "responses": ["Waves roll in. " * 20, "The tide."]}
    n_tokens = _prompt_tokens(small_grm, long, [0, 1])
    assert n_tokens > 128
    grm = _no_generation(GRMForPointwiseScoring(small_grm.model, small_grm.tokenizer, small_grm.config))
    with pytest.raises(ValueError) as info:
        grm.score(long, max_new_tokens=16, strict_context=True)  # today's strict stop, kept as a switch
    message = str(info.value)
    assert "does not fit the model's context" in message
    assert f"its prompt has {n_tokens} tokens" in message
    assert "up to 16 more (max_new_tokens)" in message
    assert "over the limit of 128" in message


# A minimal template keeps prompts well under the 128-token window, so that max_new_tokens decides.
MINI_TEMPLATE = {
    "system": "",
    "task_multi": "Rate {n}.",
    "context": "{context}",
    "response": "{i}: {response}",
    "principles_self": "",
    "output": "Scores: \\boxed{{{example}}}",
}


@pytest.fixture
def mini_grm(small_grm):
    from trl_grm import GRMConfig

    config = GRMConfig(template=MINI_TEMPLATE)
    return _no_generation(GRMForPointwiseScoring(small_grm.model, small_grm.tokenizer, config))


def test_max_new_tokens_counts_towards_the_context_limit(mini_grm):
    item = {"prompt": "Hi", "responses": ["a", "b"]}
    n_tokens = _prompt_tokens(mini_grm, item, [0, 1])
    assert n_tokens < 100
    budget = 128 - n_tokens
    with pytest.raises(ValueError, match=rf"its prompt has {n_tokens} tokens .* up to {budget + 1} more"):
        mini_grm.score(item, max_new_tokens=budget + 1, order_strategy="fixed", strict_context=True)
    with pytest.raises(AssertionError, match="generation must not start"):  # passes the check, reaches the model
        mini_grm.score(item, max_new_tokens=budget, order_strategy="fixed")


def test_the_error_names_the_offending_input(mini_grm):
    ok = {"prompt": "Hi", "responses": ["a", "b"]}
    too_long = {"prompt": "Hi", "responses": ["The quick brown fox. " * 30, "b"]}
    with pytest.raises(ValueError, match="Input 1 does not fit"):
        mini_grm.score([ok, too_long], max_new_tokens=8, strict_context=True)


# ------------------------------------------- issue 25, item 1: one over-long input does not stop the others
@pytest.fixture
def mini_generating_grm(small_grm):
    from trl_grm import GRMConfig

    return GRMForPointwiseScoring(small_grm.model, small_grm.tokenizer, GRMConfig(template=MINI_TEMPLATE))


def test_an_over_long_input_is_counted_and_the_others_are_scored(mini_generating_grm):
    ok = {"prompt": "Hi", "responses": ["a", "b"]}
    too_long = {"prompt": "Hi", "responses": ["The quick brown fox. " * 30, "b"]}
    first, second, third = mini_generating_grm.score([ok, too_long, ok | {"prompt": "Hello"}], num_samples=2,
                                                     max_new_tokens=8, temperature=1.0)  # fmt: skip
    assert second.scores is None and second.failures == {"context_overflow": 2}
    assert "does not fit the model's context" in second.error and "over the limit of 128" in second.error
    assert all(s.text == "" and s.finish_reason == "context_overflow" for s in second.samples)
    for result in (first, third):  # generated (the random tiny model), whatever it wrote
        assert "context_overflow" not in result.failures and all(s.text for s in result.samples)
    # The others are exactly what they would be alone.
    alone = mini_generating_grm.score(ok, num_samples=2, max_new_tokens=8, temperature=1.0)
    assert [s.text for s in alone.samples] == [s.text for s in first.samples]


def test_evaluation_counts_the_rows_that_do_not_fit(mini_generating_grm, tmp_path):
    from trl_grm.evaluation.harness import REPORT_MD, EvalSettings, evaluate

    rows = [
        {"prompt": "Hi", "chosen": "a", "rejected": "b", "id": "short"},
        {"prompt": "Hi", "chosen": "The quick brown fox. " * 30, "rejected": "b", "id": "long"},
        {"prompt": "Hello", "chosen": "c", "rejected": "d", "id": "short2"},
    ]
    settings = EvalSettings(ks=[1, 2], greedy=True, max_new_tokens=8, bootstrap=10)
    report = evaluate(mini_generating_grm, rows, tmp_path, settings, progress=False)
    assert report["context_overflow"] == {"inputs": 1, "ids": ["long"]}
    assert report["num_examples"] == 3 and report["groups"]["overall"]["failures"]["context_overflow"] == 2
    assert "1 input(s) did not fit the model's context" in (tmp_path / REPORT_MD).read_text()
    with pytest.raises(ValueError, match="does not fit the model's context"):
        evaluate(mini_generating_grm, rows, tmp_path / "strict", EvalSettings(ks=[1], max_new_tokens=8,
                 bootstrap=10, strict_context=True), progress=False)  # fmt: skip


# ------------------------------------------------------------------------------------------------------ pipeline
def test_pipeline_reports_bad_input_the_same_way(judge):
    pipe = PointwiseRewardPipeline(_no_generation(GRMForPointwiseScoring(judge.model, judge.tokenizer, judge.config)))
    with pytest.raises(ValueError, match="is empty"):
        pipe({"prompt": "Q?", "responses": []})
    with pytest.raises(ValueError, match="num_samples must be an integer >= 1"):
        pipe(PAIR, num_samples=0)
    with pytest.raises(TypeError, match="Unknown pointwise-reward parameter"):
        pipe(PAIR, batch_size=4)


def test_the_reward_leaves_an_over_long_group_unscored_and_counts_it(mini_generating_grm):
    """Issue 25, item 1: a group whose GRM input does not fit is unscored (None) and counted; the others are judged."""
    from trl_grm.rewards import GRMReward

    reward = GRMReward(mini_generating_grm, num_samples=2, max_new_tokens=8, num_generations=2)
    logged: dict[str, float] = {}
    completions = ["a", "b", "The quick brown fox. " * 30, "c"]
    rewards = reward(["Hi", "Hi", "Yo", "Yo"], completions, log_metric=lambda k, v: logged.__setitem__(k, v))
    assert rewards[2] is None and rewards[3] is None
    assert logged["grm/context_overflow_rate"] == 0.5
    assert reward.calls[-1]["rewards"] == rewards


def test_cli_eval_of_a_judgebench_file_with_rows_over_a_4096_token_context(judge_dir, tmp_path, capsys):
    """Issue 25, "done when": `trl-grm eval --benchmark judgebench=<the published file name>` on a model with a
    4096-token context finishes; the over-long rows are counted (their two inputs failed as context_overflow) and
    the rest are scored. The rows are real text (LLMBar pairs; the long questions are hh-rlhf conversations)."""
    import json
    import shutil
    from pathlib import Path

    from trl_grm.cli import eval as eval_cli

    data = Path(__file__).resolve().parents[1] / "examples" / "data"
    llmbar = [json.loads(line) for line in (data / "llmbar.jsonl").read_text().splitlines()[:6]]
    hh = [json.loads(line) for line in (data / "hh_rlhf_harmless_base_test.jsonl").read_text().splitlines()[:40]]
    long_question = "\n\n".join(m["content"] for row in hh for m in row["messages"])
    rows = [
        {"pair_id": f"p{i}", "source": "mmlu-pro-law", "question": r["prompt"], "response_A": r["chosen"],
         "response_B": r["rejected"], "label": "A>B", "response_model": "gpt-4o-2024-05-13", "original_id": i}
        for i, r in enumerate(llmbar)
    ]  # fmt: skip
    rows.insert(2, {**rows[0], "pair_id": "long", "question": long_question, "source": "livebench-reasoning"})
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "dataset=judgebench,response_model=gpt-4o-2024-05-13.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    model = tmp_path / "judge4096"
    shutil.copytree(judge_dir, model)
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "max_position_embeddings": 4096}))
    out = tmp_path / "out"
    argv = ["--benchmark", f"judgebench={path}", "--model_name_or_path", str(model), "--output_dir", str(out)]
    assert eval_cli.main([*argv, "--ks", "1", "2", "--bootstrap", "10"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["context_overflow"] == {"inputs": 2, "ids": ["long:AB", "long:BA"]}
    assert report["groups"]["overall"]["failures"]["context_overflow"] == 4  # 2 inputs x k = 2
    assert report["benchmark"]["results"]["greedy"]["num_pairs"] == 7
    assert "2 input(s) did not fit the model's context" in capsys.readouterr().out
    # The strict switch keeps the old stop, one line naming the input (what `trl-grm eval` prints).
    from trl_grm.cli.main import main as trl_grm

    assert trl_grm(["eval", *argv[:-1], str(tmp_path / "strict"), "--ks", "1", "--strict_context"]) != 0
    err = capsys.readouterr().err
    assert "trl-grm eval: error: Input 4 (id 'long:AB') does not fit the model's context" in err
    assert "Traceback" not in err
