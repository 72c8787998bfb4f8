"""``pipeline("pointwise-reward")``: loading from a directory, from loaded objects, from a (fake, offline) Hub
cache; call-time parameters; the saved template really being used."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import PAIR, PROMPT, RESPONSES
from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

import trl_grm  # noqa: F401  (registers the "pointwise-reward" task)
from trl_grm import GRMConfig, GRMForPointwiseScoring, PointwiseRewardPipeline
from trl_grm.testing import TINY_JUDGEMENT, TINY_TEMPLATE


@pytest.fixture(scope="module")
def pipe(judge_dir):
    return pipeline("pointwise-reward", model=str(judge_dir))


def test_pipeline_from_a_directory_uses_the_saved_grm_config(pipe):
    assert isinstance(pipe, PointwiseRewardPipeline)
    assert pipe.grm.config.max_new_tokens == 80
    assert pipe.grm.config.template["task_multi"] == TINY_TEMPLATE["task_multi"]
    # The tiny judge only writes its verdict under its own saved template: greedy output parses.
    out = pipe(PAIR, order_strategy="fixed")
    assert out["scores"] == [8, 3]
    assert out["samples"][0]["text"] == TINY_JUDGEMENT


def test_the_default_template_would_not_parse(judge):
    # Contrast for the test above: the same weights with the default template do not produce a verdict.
    other = PointwiseRewardPipeline(judge.model, judge.tokenizer, grm_config=GRMConfig(max_new_tokens=80))
    out = other(PAIR, order_strategy="fixed")
    assert out["scores"] is None
    assert out["num_failed"] == 1


def test_single_dict_in_dict_out(pipe):
    out = pipe(PAIR, order_strategy="fixed")
    assert isinstance(out, dict)
    assert set(out) == {
        "scores",
        "best",
        "num_samples",
        "num_failed",
        "failures",
        "samples",
        "error",
        "tied",
        "num_used",
        "num_drawn",
        "num_tokens",
        "stopped_by",
    }
    assert out["best"] == 0 and out["num_failed"] == 0 and out["failures"] == {} and out["error"] is None
    (sample,) = out["samples"]
    assert isinstance(sample, dict)
    assert sample["order"] == [0, 1] and sample["status"] == "ok" and sample["finish_reason"] == "stop"


def test_list_in_list_of_dicts_out(pipe):
    swapped = {"prompt": PROMPT, "responses": RESPONSES[::-1]}
    three = {"prompt": "Pick.", "responses": ["a", "b", "c"]}
    out = pipe([PAIR, swapped, three], order_strategy="fixed")
    assert isinstance(out, list) and len(out) == 3
    assert all(isinstance(o, dict) for o in out)
    assert [o["scores"] for o in out] == [[8, 3], [8, 3], None]
    assert out[2]["failures"] == {"wrong_count": 1}
    # A one-element list still gives a list.
    assert isinstance(pipe([PAIR], order_strategy="fixed"), list)


def test_parameters_num_samples_and_return_samples(pipe):
    out = pipe(PAIR, num_samples=4, order_strategy="balanced", temperature=0.0, return_samples=False)
    assert out["samples"] is None
    assert out["num_samples"] == 4
    assert out["scores"] == [22, 22]


def test_parameter_temperature(pipe):
    greedy = pipe(PAIR, num_samples=3, order_strategy="fixed", temperature=0.0)
    assert {s["text"] for s in greedy["samples"]} == {TINY_JUDGEMENT}
    hot = pipe(PAIR, num_samples=3, order_strategy="fixed", temperature=1.5, seed=0)
    assert {s["text"] for s in hot["samples"]} != {TINY_JUDGEMENT}


def test_parameter_seed(pipe):
    a = pipe(PAIR, num_samples=3, temperature=1.0, seed=4)
    b = pipe(PAIR, num_samples=3, temperature=1.0, seed=4)
    c = pipe(PAIR, num_samples=3, temperature=1.0, seed=5)
    assert a == b
    assert [s["text"] for s in a["samples"]] != [s["text"] for s in c["samples"]]


def test_parameter_max_new_tokens(pipe):
    out = pipe(PAIR, order_strategy="fixed", max_new_tokens=4)
    (sample,) = out["samples"]
    assert sample["finish_reason"] == "length"
    assert out["scores"] is None and out["failures"] == {"truncated": 1}


def test_parameter_principles_mode_is_passed_on(pipe):
    with pytest.raises(ValueError, match="principles_mode must be one of"):
        pipe(PAIR, principles_mode="bogus")


def test_unknown_parameter_is_a_type_error(pipe):
    with pytest.raises(TypeError, match=r"Unknown pointwise-reward parameter\(s\) \['num_sample'\]"):
        pipe(PAIR, num_sample=4)


def test_pipeline_from_loaded_model_and_tokenizer(judge_dir):
    model = AutoModelForCausalLM.from_pretrained(judge_dir)
    tokenizer = AutoTokenizer.from_pretrained(judge_dir)
    pipe = pipeline("pointwise-reward", model=model, tokenizer=tokenizer)
    assert pipe.grm.config.template["task_multi"] == TINY_TEMPLATE["task_multi"]  # found via name_or_path
    assert pipe(PAIR, order_strategy="fixed")["scores"] == [8, 3]


def test_pipeline_from_loaded_model_with_explicit_grm_config(judge_dir):
    model = AutoModelForCausalLM.from_pretrained(judge_dir)
    tokenizer = AutoTokenizer.from_pretrained(judge_dir)
    config = GRMConfig(template=TINY_TEMPLATE, max_new_tokens=80, num_samples=2, temperature=0.0)
    pipe = pipeline("pointwise-reward", model=model, tokenizer=tokenizer, grm_config=config)
    out = pipe(PAIR, order_strategy="fixed")
    assert out["num_samples"] == 2 and out["scores"] == [16, 6]


def test_pipeline_from_a_grm_instance(judge):
    pipe = pipeline("pointwise-reward", model=judge, tokenizer=judge.tokenizer)
    assert pipe.grm.config is judge.config
    assert pipe(PAIR, order_strategy="fixed")["scores"] == [8, 3]
    direct = PointwiseRewardPipeline(judge)
    assert direct(PAIR, order_strategy="fixed")["scores"] == [8, 3]


def test_pipeline_from_a_grm_instance_keeps_its_meta_rm(judge):
    grm = GRMForPointwiseScoring(judge.model, judge.tokenizer, judge.config, meta_rm=lambda texts: [0.0] * len(texts))
    out = PointwiseRewardPipeline(grm)(PAIR, num_samples=4, temperature=0.0, order_strategy="balanced")
    assert [s["meta_score"] for s in out["samples"]] == [0.0] * 4
    assert sum(s["used"] for s in out["samples"]) == 2


def test_pipeline_from_a_grm_instance_without_tokenizer(judge):
    pipe = pipeline("pointwise-reward", model=judge)
    assert pipe(PAIR, order_strategy="fixed")["scores"] == [8, 3]


def test_loaded_model_without_tokenizer_is_an_error(judge):
    with pytest.raises(ValueError, match="needs a tokenizer"):
        PointwiseRewardPipeline(judge.model)


# ------------------------------------------------------------------------------------------- Hub id, no network
HUB_SCRIPT = r"""
import json, sys
import trl_grm
from transformers import pipeline
from trl_grm import GRMForPointwiseScoring

grm = GRMForPointwiseScoring.from_pretrained("local/tiny-judge")
pipe = pipeline("pointwise-reward", model="local/tiny-judge")
pair = {"prompt": "What is two plus two?", "responses": ["Four.", "Five."]}
print(json.dumps({
    "grm_template": grm.config.template,
    "grm_max_new_tokens": grm.config.max_new_tokens,
    "grm_scores": grm.score(pair, order_strategy="fixed").scores,
    "pipe_template": pipe.grm.config.template,
    "pipe_scores": pipe(pair, order_strategy="fixed")["scores"],
    "name_or_path": pipe.model.name_or_path,
}))
"""


def test_hub_id_from_a_fake_offline_hub_cache(judge_dir, tmp_path):
    # This substitutes for the network: a Hub cache laid out as huggingface_hub writes it
    # (models--{org}--{name}/snapshots/<commit>/..., refs/main -> <commit>) with HF_HUB_OFFLINE=1, so a Hub id is
    # resolved exactly as after a download. huggingface_hub reads HF_HOME / HF_HUB_CACHE / HF_HUB_OFFLINE at import
    # time, hence the subprocess with its own environment.
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hf_home" / "hub" / "models--local--tiny-judge"
    shutil.copytree(judge_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    env = {
        **os.environ,
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_HUB_CACHE": str(tmp_path / "hf_home" / "hub"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    env.pop("TRANSFORMERS_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-c", HUB_SCRIPT], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    expected = json.loads((judge_dir / "grm_config.json").read_text())["template"]
    assert result["grm_template"] == expected
    assert result["pipe_template"] == expected
    assert result["grm_max_new_tokens"] == 80
    assert result["grm_scores"] == [8, 3]
    assert result["pipe_scores"] == [8, 3]
    assert result["name_or_path"] == "local/tiny-judge"


def test_pipeline_without_a_model_loads_the_embedded_default(judge_dir, monkeypatch):
    """Issue 9, defect 9: ``pipeline("pointwise-reward")`` with no model loads the default GRM (not ``KeyError:
    'default'``). The default's location is pointed at the tiny judge here; the slow test uses the real one."""
    import trl_grm.modeling.default_model as default_model

    calls = []
    monkeypatch.setattr(default_model, "default_grm_path", lambda *a, **k: calls.append(1) or judge_dir)
    pipe = pipeline("pointwise-reward")
    assert calls == [1]
    assert pipe.grm.config.to_dict() == GRMForPointwiseScoring.from_pretrained(judge_dir).config.to_dict()
    out = pipe(PAIR, num_samples=1, order_strategy="fixed")
    assert out["scores"] == [8, 3] and out["best"] == 0


@pytest.mark.slow
def test_default_pipeline_matches_the_cli_default(tmp_path, capsys):
    """The real embedded default: the pipeline without a model and ``trl-grm score`` give the same result."""
    from trl_grm.cli.main import main

    item = {"prompt": "What is 12 + 30? Reply with the number only.", "responses": ["52", "42"]}
    out = pipeline("pointwise-reward")(item, num_samples=2, seed=0)
    path = tmp_path / "in.json"
    path.write_text(json.dumps(item))
    assert main(["score", "--input", str(path), "--num_samples", "2"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert (cli["scores"], cli["best"]) == (out["scores"], out["best"])
    assert [s["text"] for s in cli["samples"]] == [s["text"] for s in out["samples"]]


def test_a_given_grm_is_passed_through_not_rebuilt(judge_dir):
    grm = GRMForPointwiseScoring.from_pretrained(judge_dir, max_batch_size=3)
    pipe = pipeline("pointwise-reward", model=grm)
    assert pipe.grm is grm and pipe.grm.backend.max_batch_size == 3
    with pytest.raises(ValueError, match="to the GRMForPointwiseScoring itself"):
        pipeline("pointwise-reward", model=grm, grm_config=GRMConfig())
