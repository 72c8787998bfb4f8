"""Issue 11: the tiny recipe end to end from the command line, on this CPU: build-rft-data -> rft -> grpo ->
build-meta-data -> meta-rm -> eval -> push, each stage reading the previous stage's output, training stages through
a real `accelerate launch`; then rft and grpo again as 2 CPU processes (gloo). Only the Hub upload of the last step
is replaced (no network here)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from trl_grm.testing import build_tiny_judge

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "recipes" / "tiny"


def trl_grm(cwd: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "trl_grm.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    work = tmp_path_factory.mktemp("tiny_recipe")
    build_tiny_judge(work / "outputs" / "tiny" / "base")
    return work


def test_tiny_recipe_end_to_end(work, monkeypatch, capsys):
    out = work / "outputs" / "tiny"
    ok(trl_grm(work, "build-rft-data", "--config", str(TINY / "build_rft_data.yaml")))
    report = json.loads((out / "rft_data" / "report.json").read_text())
    rows = (out / "rft_data" / "train.jsonl").read_text().splitlines()
    assert report["examples"] == 16 and report["kept_samples"] == len(rows) > 0
    # Resumable: a rerun finds every example sampled and samples nothing new.
    before = (out / "rft_data" / "samples.jsonl").read_text()
    ok(trl_grm(work, "build-rft-data", "--config", str(TINY / "build_rft_data.yaml")))
    assert (out / "rft_data" / "samples.jsonl").read_text() == before

    ok(trl_grm(work, "rft", "--config", str(TINY / "rft.yaml")))
    assert (out / "rft" / "model.safetensors").exists() and (out / "rft" / "grm_config.json").exists()
    assert json.loads((out / "rft" / "spct_stages.json").read_text())[0]["name"] == "rejective fine-tuning"
    assert "rejective fine-tuning" in (out / "rft" / "README.md").read_text()

    ok(trl_grm(work, "grpo", "--config", str(TINY / "grpo.yaml")))
    stages = json.loads((out / "grpo" / "spct_stages.json").read_text())
    assert [s["name"] for s in stages] == ["rejective fine-tuning", "rule-based GRPO"]  # carried from rft

    ok(trl_grm(work, "build-meta-data", "--config", str(TINY / "build_meta_data.yaml")))
    meta = json.loads((out / "meta_data" / "report.json").read_text())
    assert meta["positives"] > 0 and meta["negatives"] > 0

    ok(trl_grm(work, "meta-rm", "--config", str(TINY / "meta_rm.yaml")))
    assert (out / "meta_rm" / "model.safetensors").exists()
    # With LoRA: TRL's lora_task_type default (CAUSAL_LM) would be refused; the command makes it SEQ_CLS, and the
    # adapter (score head included) loads back as a Meta RM on its base.
    lora_args = ["--use_peft", "--lora_r", "4", "--lora_alpha", "8", "--output_dir", "outputs/tiny/meta_rm_lora"]
    ok(trl_grm(work, "meta-rm", "--config", str(TINY / "meta_rm.yaml"), *lora_args))
    assert json.loads((out / "meta_rm_lora" / "adapter_config.json").read_text())["task_type"] == "SEQ_CLS"
    from trl_grm.modeling.meta_rm import MetaRewardModel

    monkeypatch.chdir(work)  # the adapter records its base relative to the recipes' folder
    assert len(MetaRewardModel.from_pretrained(out / "meta_rm_lora")(["Q: 1 + 1? A: 2", "Q: 1 + 1? A: 3"])) == 2

    ok(trl_grm(work, "eval", "--config", str(TINY / "eval.yaml")))
    evaluation = json.loads((out / "eval" / "report.json").read_text())
    assert set(evaluation["groups"]["overall"]) >= {"voting", "metarm"}

    # push, in this process, with the network calls of huggingface_hub replaced (see test_hub.Uploads)
    from test_hub import Uploads

    from trl_grm.cli.main import main as cli

    uploads = Uploads(monkeypatch)
    code = cli(["push", "--model_dir", str(out / "grpo"), "--repo_id", "me/tiny-grm",
                "--eval_report", str(out / "eval" / "report.md")])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert "training_args.bin" not in uploads.files and "model.safetensors" in uploads.files
    card = uploads.files["README.md"]
    assert "rule-based GRPO" in card and "MetaRM@" in card  # stages and the eval table made it into the card


def test_dry_run_of_the_tiny_recipe_loads_nothing(work):
    printed = ok(trl_grm(work, "rft", "--config", str(TINY / "rft.yaml"), "--dry_run"))
    assert re.search(r"effective batch +2 per device x 1 accumulation x 1 processes = 2", printed), printed
    assert "none (this run can start here)" in printed


def test_two_cpu_processes(work):
    """rft and grpo through `accelerate launch` with 2 processes (gloo); the rft rows come from the module run."""
    out = work / "outputs" / "tiny"
    if not (out / "rft_data" / "train.jsonl").exists():
        ok(trl_grm(work, "build-rft-data", "--config", str(TINY / "build_rft_data.yaml")))
    common = ("--accelerate_config", "multi_cpu")
    printed = ok(
        trl_grm(work, "rft", "--config", str(TINY / "rft.yaml"), *common, "--output_dir", "outputs/tiny/rft2")
    )
    assert (out / "rft2" / "model.safetensors").exists(), printed
    ok(trl_grm(work, "grpo", "--config", str(TINY / "grpo.yaml"), *common, "--model_name_or_path",
               "outputs/tiny/rft2", "--output_dir", "outputs/tiny/grpo2"))  # fmt: skip
    assert (out / "grpo2" / "model.safetensors").exists()


def test_resume_from_checkpoint_true_continues_the_last_checkpoint(work):
    """`--resume_from_checkpoint true` (TRL's scripts accept it) resumes from the newest checkpoint-N of output_dir;
    with none there it is a one-line usage error, before anything is loaded."""
    out = work / "outputs" / "tiny"
    if not (out / "rft_data" / "train.jsonl").exists():
        ok(trl_grm(work, "build-rft-data", "--config", str(TINY / "build_rft_data.yaml")))
    base = ("rft", "--config", str(TINY / "rft.yaml"), "--output_dir", "outputs/tiny/rft_resume")
    refused = trl_grm(work, *base, "--resume_from_checkpoint", "true")
    assert refused.returncode == 2 and "no checkpoint-N folder in outputs/tiny/rft_resume" in refused.stderr
    assert "Traceback" not in refused.stderr
    ok(trl_grm(work, *base, "--max_steps", "2", "--save_strategy", "steps", "--save_steps", "1"))
    saved = out / "rft_resume" / "checkpoint-2" / "trainer_state.json"
    before = saved.stat().st_mtime_ns
    resumed = trl_grm(work, *base, "--max_steps", "3", "--save_strategy", "steps", "--save_steps", "1",
                      "--resume_from_checkpoint", "true")  # fmt: skip
    ok(resumed)
    state = json.loads((out / "rft_resume" / "checkpoint-3" / "trainer_state.json").read_text())
    assert state["global_step"] == 3
    assert [h["step"] for h in state["log_history"] if "loss" in h] == [1, 2, 3]
    assert saved.stat().st_mtime_ns == before  # steps 1-2 were not trained (and saved) again


def test_rft_continues_a_lora_adapter_folder(work):
    """A LoRA adapter folder as --model_name_or_path (an earlier stage's output, or the embedded default) is loaded
    trainable on its base and trained further, not replaced by a fresh adapter: at learning rate 0 the saved adapter
    is the one given, with a learning rate it moves. A base that is not here is a one-line usage error."""
    from safetensors.torch import load_file

    out = work / "outputs" / "tiny"
    if not (out / "rft_data" / "train.jsonl").exists():
        ok(trl_grm(work, "build-rft-data", "--config", str(TINY / "build_rft_data.yaml")))
    base = ("rft", "--config", str(TINY / "rft.yaml"), "--max_steps", "1")
    ok(trl_grm(work, *base, "--use_peft", "true", "--lora_r", "4", "--lora_target_modules", "q_proj", "v_proj",
               "--learning_rate", "1e-2", "--output_dir", "outputs/tiny/lora1"))  # fmt: skip
    first = load_file(out / "lora1" / "adapter_model.safetensors")
    assert any(k.endswith("lora_B.weight") and v.abs().max() > 0 for k, v in first.items())  # trained: B != 0

    plan = ok(trl_grm(work, *base, "--model_name_or_path", "outputs/tiny/lora1", "--dry_run"))
    assert "continues the adapter in outputs/tiny/lora1 (r = 4, modules ['q_proj', 'v_proj'])" in plan, plan
    weights = {}
    for name, lr in (("lora_same", "0"), ("lora_moved", "1e-2")):
        ok(trl_grm(work, *base, "--model_name_or_path", "outputs/tiny/lora1", "--base_model", "outputs/tiny/base",
                   "--learning_rate", lr, "--output_dir", f"outputs/tiny/{name}"))  # fmt: skip
        assert (out / name / "grm_config.json").exists()
        weights[name] = load_file(out / name / "adapter_model.safetensors")
    assert weights["lora_same"].keys() == first.keys()  # the same adapter (r 4, q/v), continued
    assert all(bool((weights["lora_same"][k] == v).all()) for k, v in first.items())
    assert any(not bool((weights["lora_moved"][k] == v).all()) for k, v in first.items())

    config = json.loads((out / "lora1" / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "/elsewhere/tiny-base"  # where the machine that trained it kept the base
    (out / "lora1" / "adapter_config.json").write_text(json.dumps(config))
    refused = trl_grm(work, *base, "--model_name_or_path", "outputs/tiny/lora1", "--output_dir", "outputs/tiny/x")
    assert refused.returncode == 2 and "is a LoRA adapter whose base model ('/elsewhere/tiny-base')" in refused.stderr
    assert "Traceback" not in refused.stderr
