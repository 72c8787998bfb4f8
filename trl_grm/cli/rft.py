"""``trl-grm rft``: SPCT stage 1b, rejective fine-tuning (TRL SFT) on the rows of ``trl-grm build-rft-data``.

Runs through ``accelerate launch`` (``--accelerate_config zero3``, ``--num_processes 8``, ...); resumes with
``--resume_from_checkpoint``. The trained model (or LoRA adapter) is saved with its ``grm_config.json`` and a GRM
model card.
"""

from __future__ import annotations

import os
import sys

from trl_grm.cli.common import GRMScriptArguments, make_command_parser, run_command, train_and_save
from trl_grm.data.sources import stage_rows
from trl_grm.trainers.model_init import training_model

PROG = "trl-grm rft"


def make_parser(prog: str = PROG):
    from trl import ModelConfig

    from trl_grm.trainers.rejective_sft_config import RejectiveSFTConfig

    return make_command_parser(
        [GRMScriptArguments, RejectiveSFTConfig, ModelConfig],
        prog,
        description="SPCT stage 1b: rejective fine-tuning on the rows of build-rft-data (--dataset_name: its "
        "output_dir). The rejective-sampling options (--num_rft_samples, --rft_temperature, --sampler_*, ...) belong "
        "to build-rft-data and are refused here. Extra options go to accelerate launch (--num_processes, "
        "--accelerate_config).",
    )


def main(argv: list[str] | None = None) -> int:
    from trl_grm.cli.common import parse_training_args

    script_args, training_args, model_args = parse_training_args(make_parser(), argv)
    return run(script_args, training_args, model_args)


# RejectiveSFTConfig's rejective-sampling fields (used when RejectiveSFTTrainer is given preference data) and the
# build-rft-data option that does the same: this command trains on the rows build-rft-data sampled, so they would be
# silently ignored here.
SAMPLING_OPTIONS = {
    "num_rft_samples": "--num_rft_samples",
    "hinted_fraction": "--hinted_fraction",
    "rft_temperature": "--temperature",
    "rft_max_new_tokens": "--max_new_tokens",
    "rft_batch_size": "--batch_size",
    "binary_single": "--binary_single",
    "balance_positions": "--balance_positions",
    "rft_order_strategy": "--order_strategy",
    "require_all_positions": "--require_all_positions",
    "sampler_model_name_or_path": "--model_name_or_path",
    "sampler_base_url": "--backend openai --base_url",
    "sampler_model": "--served_model_name",
}


def check_no_sampling_options(training_args) -> None:
    """A rejective-sampling option set for ``trl-grm rft`` is an error naming the build-rft-data option to use."""
    import dataclasses

    from trl_grm.cli.common import UsageError

    defaults = {f.name: f.default for f in dataclasses.fields(training_args) if f.name in SAMPLING_OPTIONS}
    given = [name for name, default in defaults.items() if getattr(training_args, name) != default]
    if training_args.rejective_output_dir != f"{training_args.output_dir}/rejective":
        given.append("rejective_output_dir")
    if given:
        instead = ", ".join(f"--{n} -> {SAMPLING_OPTIONS.get(n, '--output_dir')}" for n in given)
        raise UsageError(
            f"{', '.join('--' + n for n in given)}: rejective-sampling options, which trl-grm rft does not use (it "
            f"trains on the rows of trl-grm build-rft-data, --dataset_name); give them to build-rft-data ({instead})"
        )


def run(script_args, training_args, model_args, launch_args: list[str] | None = None) -> int:
    from trl_grm.cli.common import UsageError
    from trl_grm.cli.plan_stage import check_training_run

    check_no_sampling_options(training_args)
    if not model_args.model_name_or_path:
        raise UsageError("Give --model_name_or_path: the model to fine-tune")
    if not script_args.dataset_name:
        raise UsageError("Give --dataset_name: the output_dir of trl-grm build-rft-data")
    data = script_args.dataset_name
    if training_args.grm_config is None and os.path.exists(os.path.join(data, "grm_config.json")):
        training_args.grm_config = data  # the student settings the rows were rendered with
    if check_training_run(PROG, "rft", script_args, training_args, model_args, launch_args):
        return 0  # dry run: plan printed
    from datasets import Dataset

    from trl_grm.trainers.rejective_sft_trainer import RejectiveSFTTrainer

    rows = stage_rows(data, "rejective fine-tuning data (prompt/completion rows)", ("prompt", "completion"))
    if script_args.max_examples is not None:
        rows = rows[: script_args.max_examples]
    dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
    model, peft_config = training_model(training_args, model_args, script_args.base_model)
    trainer = RejectiveSFTTrainer(
        model,
        args=training_args,
        train_dataset=dataset,
        peft_config=peft_config,
    )
    train_and_save(trainer, script_args, training_args, "RFT model")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_command(PROG, lambda: main(sys.argv[1:])))
