"""Issue 11: training from the command line. Every shipped recipe passes its dry run (no weights: models are built on
the meta device from the configs shipped in recipes/model_configs); bad recipes fail with one line naming the key;
the tiny recipe runs end to end through `trl-grm` and real `accelerate launch` (see test_tiny_pipeline.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trl_grm.cli.main import main as cli

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted(p for p in (ROOT / "recipes").glob("*/*.yaml") if p.parent.name not in ("tiny", "accelerate_configs"))


def _plan(capsys, *args: str) -> str:
    code = cli(["plan", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_every_model_has_the_paper_stages():
    names = {p.parent.name: {q.stem for q in p.parent.glob("*.yaml")} for p in RECIPES}
    assert set(names) == {"deepseek-v2-lite", "gemma-2-27b", "deepseek-v2.5", "deepseek-v3", "smollm2-135m"}
    full = {"build_rft_data", "rft", "rft_qlora", "grpo", "grpo_qlora", "build_meta_data", "meta_rm"}
    assert names["deepseek-v2-lite"] >= full and names["gemma-2-27b"] >= full
    for rft_only in ("deepseek-v2.5", "deepseek-v3"):  # the paper trains sizes above 27B with RFT only
        assert names[rft_only] == {"build_rft_data", "rft", "rft_qlora"}


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_shipped_recipe_dry_run(recipe, capsys):
    out = _plan(capsys, str(recipe))
    assert "dry run (no weights loaded)" in out
    assert "does NOT fit" not in out, out  # each recipe fits the GPUs it states
    if recipe.stem in ("rft", "grpo", "meta_rm") and recipe.parent.name != "smollm2-135m":
        batch = int(re.search(r"effective batch .* = (\d+)", out).group(1))
        paper = {"rft": 1024, "grpo": 512, "meta_rm": 512}[recipe.stem]
        assert batch == paper, out  # the paper's batch sizes, with the GPUs each recipe states


def test_plan_counts_moe_experts_from_real_modules(capsys):
    out = _plan(capsys, str(ROOT / "recipes/deepseek-v3/rft.yaml"))
    assert "671.03B (653.91B in fused routed experts)" in out  # counted from the meta-device modules
    assert "are NOT adapted" in out  # target_modules cannot reach the fused experts
    qlora = _plan(capsys, str(ROOT / "recipes/deepseek-v2-lite/rft_qlora.yaml"))
    assert "fused routed-expert parameters stay at 2 B each" in qlora
    weights = float(re.search(r"weights\s+([\d.]+) GiB", qlora).group(1))
    assert 27 < weights < 33, qlora  # ~14.4B experts in bf16 + the rest in 4-bit, not 15.7B x 0.5 B


def test_plan_answers_for_other_gpu_counts(capsys):
    eight = _plan(capsys, str(ROOT / "recipes/deepseek-v2.5/rft.yaml"), "--num_gpus", "8", "--gpu_memory_gib", "40")
    assert "does NOT fit" in eight and "x 8 processes = 256" in eight
    many = _plan(capsys, str(ROOT / "recipes/deepseek-v2.5/rft.yaml"))
    assert "fits (" in many


def test_gemma_recipes_keep_eager_attention(capsys, tmp_path):
    recipe = (ROOT / "recipes/gemma-2-27b/rft.yaml").read_text().replace("attn_implementation: eager", "")
    (tmp_path / "rft.yaml").write_text(recipe + "attn_implementation: sdpa\n")
    assert cli(["plan", str(tmp_path / "rft.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "attn_implementation" in err[0] and "softcapping" in err[0]


def test_4bit_without_bitsandbytes_is_one_line(tmp_path, capsys, monkeypatch):
    """4-bit runs on this CPU (issue 26) when bitsandbytes is installed; without it, one line says what to install."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "bitsandbytes" else real(name, *a)
    )
    recipe = tmp_path / "rft.yaml"
    recipe.write_text(
        "model_name_or_path: HuggingFaceTB/SmolLM2-135M-Instruct\n"
        f"dataset_name: {tmp_path}\noutput_dir: {tmp_path / 'out'}\nreport_to: none\nbf16: false\nload_in_4bit: true\n"
    )
    assert cli(["rft", "--config", str(recipe)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["trl-grm rft: error: load_in_4bit: true needs bitsandbytes (pip install bitsandbytes, or "
                   "trl-grm[bitsandbytes])"]  # fmt: skip


@pytest.mark.parametrize(
    "yaml_text, expected",
    [
        ("model_name_or_path: x\n  bad: [\n", "trl-grm rft: error:"),
        ("learning_rte: 1.0e-5\n", "unknown option --learning_rte (from the --config file)"),
        ("use_peft: true\nlora_target_modules: [q_proj, wq]\n", "lora_target_modules ['wq'] are not Linear modules"),
        ("bf16: true\n", "bf16: true needs a GPU"),
        ("bf16: false\nattn_implementation: flash_attention_2\n", "attn_implementation: flash_attention_2 needs"),
        ("bf16: false\nmax_length: 100000\n", "exceed the model's context of 8192"),
    ],
    ids=["malformed", "unknown-key", "lora-target", "bf16", "flash-attn", "context"],
)
def test_bad_recipe_is_one_line_naming_the_key(yaml_text, expected, tmp_path, capsys):
    """A real run (not a dry run) that this CPU machine cannot do, or a wrong recipe: one line, exit 2, nothing
    launched."""
    recipe = tmp_path / "rft.yaml"
    recipe.write_text(
        "model_name_or_path: HuggingFaceTB/SmolLM2-135M-Instruct\n"
        f"dataset_name: {tmp_path}\noutput_dir: {tmp_path / 'out'}\nreport_to: none\n" + yaml_text
    )
    code = cli(["rft", "--config", str(recipe)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("trl-grm rft: error:") and expected in err[0], err[0]


@pytest.mark.parametrize(
    "option",
    [["--num_rft_samples", "5"], ["--rft_temperature", "1.0"], ["--sampler_model_name_or_path", "some/model"]],
    ids=["num_rft_samples", "rft_temperature", "sampler"],
)
def test_rft_refuses_the_sampling_options_it_would_ignore(option, tmp_path, capsys):
    """Issue 24, defect 2: `trl-grm rft` trains on build-rft-data's rows; RejectiveSFTConfig's sampling options were
    accepted and silently ignored (this dry run exited 0). Now one line naming the option and where it belongs."""
    argv = ["rft", "--model_name_or_path", "HuggingFaceTB/SmolLM2-135M-Instruct", "--dataset_name", str(tmp_path)]
    argv += ["--output_dir", str(tmp_path / "out"), "--use_cpu", "true", "--dry_run", *option]
    code = cli(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert option[0] in err[0] and "build-rft-data" in err[0], err[0]
    assert cli(argv[: -len(option)]) == 0  # the same dry run without it passes
    capsys.readouterr()


def test_a_missing_local_model_folder_is_named_as_one(tmp_path, capsys, monkeypatch):
    """Issue 25, item 6: the tiny recipe planned before its base model exists (before: the Hub's own complaint,
    "Repo id must be in the form 'repo_name' or 'namespace/repo_name': 'outputs/tiny/base'")."""
    monkeypatch.chdir(tmp_path)
    assert cli(["rft", "--config", str(ROOT / "recipes" / "tiny" / "rft.yaml"), "--dry_run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such folder: outputs/tiny/base" in err[0] and "Repo id" not in err[0], err


def test_unknown_command_line_option(capsys):
    assert cli(["grpo", "--model_name_or_path", "HuggingFaceTB/SmolLM2-135M-Instruct", "--beta_typo", "1"]) == 2
    assert "unknown option --beta_typo (from the command line)" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["build-rft-data", "rft", "grpo", "build-meta-data", "meta-rm", "push", "plan"])
def test_help_of_every_new_command(command, capsys):
    assert cli([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage:" in out and len(out) > 400


def test_dry_run_of_score_eval_and_push(judge_dir, tmp_path, capsys, monkeypatch):
    """The other commands' --dry_run: everything checked, nothing loaded, written or uploaded."""
    import json

    from test_hub import Uploads

    inputs = tmp_path / "in.jsonl"
    inputs.write_text(json.dumps({"prompt": "2+2?", "responses": ["4", "5"]}) + "\n")
    out = tmp_path / "scores.jsonl"
    assert cli(["score", "--input", str(inputs), "--output", str(out), "--model_name_or_path", str(judge_dir),
                "--num_samples", "4", "--dry_run"]) == 0  # fmt: skip
    assert re.search(r"judgements +4", capsys.readouterr().out) and not out.exists()

    evaluation = ["eval", "--dataset", "synthetic", "--synthetic_num_examples", "5", "--ks", "1", "2"]
    assert cli([*evaluation, "--output_dir", str(tmp_path / "eval"), "--model_name_or_path", str(judge_dir),
                "--dry_run"]) == 0  # fmt: skip
    assert "5 x 2 at temperature 0.5 + 5 greedy" in capsys.readouterr().out and not (tmp_path / "eval").exists()

    uploads = Uploads(monkeypatch)
    (tmp_path / "grm").mkdir()
    for name in ("model.safetensors", "grm_config.json", "training_args.bin"):
        (tmp_path / "grm" / name).write_text("x")
    assert cli(["push", "--model_dir", str(tmp_path / "grm"), "--repo_id", "me/x", "--dry_run"]) == 0
    printed = capsys.readouterr().out
    assert "would upload" in printed and "model.safetensors" in printed and "training_args.bin" not in printed
    assert uploads.calls == []
