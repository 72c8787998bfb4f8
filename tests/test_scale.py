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


def test_build_meta_data_merges_an_adapter_into_the_given_base(work):
    """Issue 27: build-meta-data samples from a training stage's LoRA adapter folder. Its recorded base may be a path
    on another machine: without --base_model that is one error line, with it the adapter is merged into that base."""
    import shutil

    adapter = work / "moved_adapter"
    if not (work / "outputs" / "tiny" / "grpo_qlora").exists():
        pytest.skip("needs the adapter of test_qlora_rft_then_grpo_train_in_nf4_and_the_adapter_scores")
    shutil.copytree(work / "outputs" / "tiny" / "grpo_qlora", adapter)
    config = json.loads((adapter / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "/elsewhere/base"
    (adapter / "adapter_config.json").write_text(json.dumps(config))
    argv = ["build-meta-data", "--config", str(TINY / "build_meta_data.yaml"), "--model_name_or_path", str(adapter)]
    missing = trl_grm(work, *argv, "--base_model", "", "--output_dir", str(work / "meta_missing"))
    assert missing.returncode == 2 and "is a LoRA adapter whose base model ('/elsewhere/base')" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1, missing.stderr
    ok(trl_grm(work, *argv, "--base_model", "outputs/tiny/base", "--output_dir", str(work / "meta")))
    report = json.loads((work / "meta" / "report.json").read_text())
    assert report["positives"] + report["negatives"] > 0, report


# ------------------------------------------------------------------------------ sharded training on 2 CPU processes
def test_fsdp_on_cpu_processes_is_refused_with_the_reason(work):
    """accelerate 1.16 turns FSDP on only for GPU-like processes: on CPU processes the shipped fsdp2 config would
    silently train with DDP (use_cpu) or as unsynchronised copies saving over each other (measured), so the run is
    refused before anything launches, naming what works here."""
    argv = ["rft", "--config", str(TINY / "rft.yaml"), "--accelerate_config", "fsdp2", "--num_processes", "2"]
    dry = ok(trl_grm(work, *argv, "--dry_run"))
    assert "accelerate distributed_type FSDP needs GPUs" in dry
    real = trl_grm(work, *argv, "--output_dir", str(work / "fsdp"))
    assert real.returncode == 2 and not (work / "fsdp").exists()
    assert real.stderr.strip().splitlines() == [
        "trl-grm rft: error: accelerate distributed_type FSDP needs GPUs: without them accelerate 1.16 does not shard "
        "(CPU processes train with DDP, or as unsynchronised copies without use_cpu); use --accelerate_config "
        "multi_cpu, zero2 or zero3 here"
    ]


@pytest.mark.parametrize("zero", ["zero2", "zero3"])
def test_deepspeed_zero_trains_on_two_cpu_processes_and_the_model_scores(work, zero):
    pytest.importorskip("deepspeed")
    import torch

    from trl_grm import GRMForPointwiseScoring

    argv = ["rft", "--config", str(TINY / "rft.yaml"), "--accelerate_config", zero, "--num_processes", "2"]
    # The shipped configs say bf16; a CPU recipe trains in fp32, which DeepSpeed insists on being told.
    assert "pass --mixed_precision no" in trl_grm(work, *argv, "--output_dir", str(work / zero)).stderr
    out = work / "outputs" / "tiny" / f"rft_{zero}"
    ok(trl_grm(work, *argv, "--mixed_precision", "no", "--output_dir", str(out)))
    settings = json.loads((out / "spct_stages.json").read_text())[-1]["settings"]
    assert settings["sharding"] == "deepspeed" and settings["processes"] == 2
    assert settings["batch"] == 4  # 2 per device x 1 accumulation x 2 processes
    # ZeRO-3 gathers the sharded weights into one full checkpoint; it loads and scores.
    trained = GRMForPointwiseScoring.from_pretrained(out)
    base = GRMForPointwiseScoring.from_pretrained(work / "outputs" / "tiny" / "base")
    pairs = list(zip(trained.model.state_dict().items(), base.model.state_dict().items()))
    assert all(a.shape == b.shape for (_, a), (_, b) in pairs)
    assert any(not torch.equal(a, b) for (_, a), (_, b) in pairs)
    result = trained.score({"prompt": "What is 2 + 2?", "responses": ["4", "5"]}, num_samples=2, max_new_tokens=96)
    assert result.num_samples == 2 and all(s.text for s in result.samples)
    # GRPO (generation, the rule reward, the reference model) under the same sharding, continuing that model.
    grpo = work / "outputs" / "tiny" / f"grpo_{zero}"
    argv = ["grpo", "--config", str(TINY / "grpo.yaml"), "--accelerate_config", zero, "--num_processes", "2"]
    ok(trl_grm(work, *argv, "--mixed_precision", "no", "--model_name_or_path", str(out), "--output_dir", str(grpo)))
    stages = json.loads((grpo / "spct_stages.json").read_text())
    assert [s["name"] for s in stages] == ["rejective fine-tuning", "rule-based GRPO"]
    assert stages[-1]["settings"]["sharding"] == "deepspeed" and stages[-1]["settings"]["batch"] == 8


def test_qlora_with_two_cpu_processes(work):
    """k-bit + DDP: each process holds its own NF4 copy (on the CPU) and LoRA gradients are all-reduced."""
    out = work / "outputs" / "tiny" / "rft_qlora_ddp"
    argv = ["--accelerate_config", "multi_cpu", "--num_processes", "2", "--output_dir", str(out)]
    ok(trl_grm(work, "rft", "--config", str(TINY / "rft_qlora.yaml"), *argv))
    settings = json.loads((out / "spct_stages.json").read_text())[-1]["settings"]
    assert settings["quantization"] == "4-bit nf4" and settings["processes"] == 2 and settings["batch"] == 4
    assert lora_b_norm(out) > 0


# ------------------------------------------------------------------------------------------ the MoE QLoRA path
def test_tiny_moe_trains_with_the_deepseek_v2_lite_qlora_settings(work):
    """A tiny DeepSeek-V2-style MoE (MLA attention, dense first layer, fused routed experts + a shared expert) trained
    with recipes/tiny/rft_moe_qlora.yaml, whose LoRA settings are the shipped DeepSeek-V2-Lite QLoRA recipe's plus
    lora_target_parameters on the fused experts: the base is NF4 except the fused experts (bitsandbytes quantizes
    nn.Linear only), the loss goes down, the expert LoRA weights move, and the adapter reloads."""
    import re

    import torch
    import yaml
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    from trl_grm.testing import build_tiny_moe

    moe = build_tiny_moe(work / "outputs" / "tiny" / "moe")
    ours = yaml.safe_load((TINY / "rft_moe_qlora.yaml").read_text())
    shipped = yaml.safe_load((TINY.parent / "deepseek-v2-lite" / "rft_qlora.yaml").read_text())
    for key in ("load_in_4bit", "bnb_4bit_quant_type", "use_bnb_nested_quant", "lora_target_modules"):
        assert ours[key] == shipped[key], key
    assert ours["lora_target_parameters"] == ["mlp.experts.gate_up_proj", "mlp.experts.down_proj"]

    run = trl_grm(work, "rft", "--config", str(TINY / "rft_moe_qlora.yaml"))
    ok(run)
    out = work / "outputs" / "tiny" / "rft_moe_qlora"
    losses = [float(x) for x in re.findall(r"'loss': '([0-9.]+)'", run.stdout + run.stderr)]
    assert len(losses) == 8 and losses[-1] < losses[0] - 0.2, losses  # measured: 6.05 -> 5.50
    adapter = load_file(str(out / "adapter_model.safetensors"))
    expert_b = [t for name, t in adapter.items() if ".mlp.experts." in name and "lora_B" in name]
    assert len(expert_b) == 2 and all(float(t.float().norm()) > 0 for t in expert_b)  # B starts at zero
    assert json.loads((out / "spct_stages.json").read_text())[-1]["settings"]["quantization"] == "4-bit nf4"

    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32)
    base = AutoModelForCausalLM.from_pretrained(moe, quantization_config=quant, device_map={"": "cpu"})
    layer = base.model.layers[1].mlp
    assert type(layer.shared_experts.gate_proj).__name__ == "Linear4bit"
    assert layer.experts.gate_up_proj.dtype == torch.float32 and layer.experts.gate_up_proj.dim() == 3
    reloaded = PeftModel.from_pretrained(base, out)
    state = {re.sub(r"\.default(?=\.)", "", k): v for k, v in reloaded.state_dict().items() if "lora_" in k}
    assert all(torch.allclose(state[k].float(), v.float()) for k, v in adapter.items())
