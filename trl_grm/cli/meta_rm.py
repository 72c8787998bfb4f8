"""``trl-grm meta-rm``: train the Meta RM (a scalar classifier, BCE on whether a sampled judgement was right) on the
rows of ``trl-grm build-meta-data`` (``--dataset_name``: its output_dir).

Runs through ``accelerate launch``; resumes with ``--resume_from_checkpoint``. Saves a sequence-classification
model that ``GRMForPointwiseScoring(meta_rm=...)``, ``trl-grm eval --meta_rm`` and ``trl-grm serve --meta_rm`` load.
"""

from __future__ import annotations

import sys

from trl_grm.cli.common import GRMScriptArguments, make_command_parser, run_command, train_and_save
from trl_grm.data.sources import stage_rows
from trl_grm.trainers.model_init import model_init_kwargs

PROG = "trl-grm meta-rm"


def make_parser(prog: str = PROG):
    from trl import ModelConfig

    from trl_grm.trainers.meta_rm_config import MetaRMConfig

    return make_command_parser(
        [GRMScriptArguments, MetaRMConfig, ModelConfig],
        prog,
        description="Train the Meta RM on the rows of build-meta-data. Extra options go to accelerate launch "
        "(--num_processes, --accelerate_config).",
    )


def main(argv: list[str] | None = None) -> int:
    from trl_grm.cli.common import parse_training_args

    script_args, training_args, model_args = parse_training_args(make_parser(), argv)
    return run(script_args, training_args, model_args)


def run(script_args, training_args, model_args, launch_args: list[str] | None = None) -> int:
    from trl_grm.cli.common import UsageError
    from trl_grm.cli.plan_stage import check_training_run

    if not model_args.model_name_or_path:
        raise UsageError("Give --model_name_or_path: the base model of the Meta RM (a sequence classifier is built)")
    if not script_args.dataset_name:
        raise UsageError("Give --dataset_name: the output_dir of trl-grm build-meta-data")
    if check_training_run(PROG, "meta-rm", script_args, training_args, model_args, launch_args):
        return 0
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification
    from trl import get_peft_config

    from trl_grm.trainers.meta_rm_trainer import MetaRMTrainer

    rows = stage_rows(script_args.dataset_name, "Meta RM data (text/label rows)", ("text", "label"))
    if script_args.max_examples is not None:
        rows = rows[: script_args.max_examples]
    dataset = Dataset.from_list([{"text": r["text"], "label": r["label"]} for r in rows])
    kwargs = model_init_kwargs(training_args, model_args)
    model = AutoModelForSequenceClassification.from_pretrained(model_args.model_name_or_path, num_labels=1, **kwargs)
    if model_args.lora_task_type == "CAUSAL_LM":  # TRL's default, for language models: a Meta RM is a classifier
        model_args.lora_task_type = "SEQ_CLS"
    trainer = MetaRMTrainer(model, args=training_args, train_dataset=dataset, peft_config=get_peft_config(model_args))
    train_and_save(trainer, script_args, training_args, "Meta RM")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_command(PROG, lambda: main(sys.argv[1:])))
