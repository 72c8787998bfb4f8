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
        "output_dir). Extra options go to accelerate launch (--num_processes, --accelerate_config).",
    )


def main(argv: list[str] | None = None) -> int:
    from trl_grm.cli.common import parse_training_args

    script_args, training_args, model_args = parse_training_args(make_parser(), argv)
    return run(script_args, training_args, model_args)


def run(script_args, training_args, model_args, launch_args: list[str] | None = None) -> int:
    from trl_grm.cli.common import UsageError
    from trl_grm.cli.plan_stage import check_training_run

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
