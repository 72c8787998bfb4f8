"""Issue 26: scale for real on this CPU. QLoRA (bitsandbytes NF4 + LoRA) through `trl-grm rft` / `trl-grm grpo` and a
real `accelerate launch`, with the tiny recipes' *_qlora.yaml (the same options and code path as the big recipes'
QLoRA variants); the saved adapter loads and scores through the pipeline."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file
from test_tiny_pipeline import TINY, ok, trl_grm

from trl_grm.testing import build_tiny_judge

pytest.importorskip("bitsandbytes")


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    work = tmp_path_factory.mktemp("scale")
    build_tiny_judge(work / "outputs" / "tiny" / "base")
    ok(trl_grm(work, "build-rft-data", "--config", str(TINY / "build_rft_data.yaml")))
    return work


def lora_b_norm(folder) -> float:
    tensors = load_file(str(folder / "adapter_model.safetensors"))
    return sum(float(t.float().norm()) for name, t in tensors.items() if "lora_B" in name)


def test_qlora_recipes_plan_with_no_hardware_problem_on_a_cpu(work):
    for recipe in ("rft_qlora.yaml", "grpo_qlora.yaml"):
        stage = recipe.split("_")[0]
        out = ok(trl_grm(work, stage, "--config", str(TINY / recipe), "--dry_run"))
        assert "4-bit NF4" in out and "problems  none (this run can start here)" in out, out


def test_qlora_rft_then_grpo_train_in_nf4_and_the_adapter_scores(work, monkeypatch):
    out = work / "outputs" / "tiny"
    ok(trl_grm(work, "rft", "--config", str(TINY / "rft_qlora.yaml")))
    rft = out / "rft_qlora"
    assert (rft / "adapter_model.safetensors").exists() and not (rft / "model.safetensors").exists()
    stages = json.loads((rft / "spct_stages.json").read_text())
    assert stages[-1]["settings"]["quantization"] == "4-bit nf4"  # what the trainer's model really was
    assert lora_b_norm(rft) > 0  # LoRA's B starts at zero: training moved it

    ok(trl_grm(work, "grpo", "--config", str(TINY / "grpo_qlora.yaml")))
    grpo = out / "grpo_qlora"
    stages = json.loads((grpo / "spct_stages.json").read_text())
    assert [s["name"] for s in stages] == ["rejective fine-tuning", "rule-based GRPO"]  # the adapter's history
    assert stages[-1]["settings"]["quantization"] == "4-bit nf4"
    before, after = (
        load_file(str(rft / "adapter_model.safetensors")),
        load_file(str(grpo / "adapter_model.safetensors")),
    )
    assert set(before) == set(after) and any(not before[k].equal(after[k]) for k in before)

    # The adapter loads on its base (recorded relative to the recipe's folder) and scores through the pipeline.
    from transformers import pipeline

    import trl_grm as _  # noqa: F401  registers the pipeline

    monkeypatch.chdir(work)
    judge = pipeline("pointwise-reward", model="outputs/tiny/rft_qlora")
    result = judge({"prompt": "What is 2 + 2?", "responses": ["4", "5"]}, num_samples=2, max_new_tokens=96)
    assert result["num_samples"] == 2 and all(s["text"] for s in result["samples"])
