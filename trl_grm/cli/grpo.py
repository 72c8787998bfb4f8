"""``trl-grm grpo``: SPCT stage 2, rule-based online GRPO of the GRM (TRL GRPO with the +1 / -1 correctness reward),
on preference data, leaving out the examples rejective sampling found too easy (``--rft_report``: the
build-rft-data output_dir).

Runs through ``accelerate launch``; resumes with ``--resume_from_checkpoint``; TRL's vLLM generation options
(``--use_vllm``, ``--vllm_mode``) work unchanged.
"""

from __future__ import annotations

import sys

from trl_grm.cli.common import GRMScriptArguments, make_command_parser, run_command, train_and_save

PROG = "trl-grm grpo"


def make_parser(prog: str = PROG):
    from trl import ModelConfig

    from trl_grm.trainers.principle_grpo_config import PrincipleGRPOConfig

    return make_command_parser(
        [GRMScriptArguments, PrincipleGRPOConfig, ModelConfig],
        prog,
        description="SPCT stage 2: rule-based online GRPO of the GRM on preference data. Extra options go to "
        "accelerate launch (--num_processes, --accelerate_config).",
    )


def main(argv: list[str] | None = None) -> int:
    from trl_grm.cli.common import parse_training_args

    script_args, training_args, model_args = parse_training_args(make_parser(), argv)
    return run(script_args, training_args, model_args)


def run(script_args, training_args, model_args, launch_args: list[str] | None = None) -> int:
    from trl_grm.cli.common import UsageError
    from trl_grm.cli.plan_stage import check_training_run
    from trl_grm.data.sources import data_source
    from trl_grm.trainers.model_init import training_model

    if not model_args.model_name_or_path:
        raise UsageError("Give --model_name_or_path: the GRM to train (e.g. the output_dir of trl-grm rft)")
    if check_training_run(PROG, "grpo", script_args, training_args, model_args, launch_args):
        return 0
    source = data_source(script_args)
    from trl_grm.trainers.principle_grpo_trainer import PrincipleGRPOTrainer

    if script_args.max_examples is not None and not isinstance(source, str):
        source = source.select(range(min(script_args.max_examples, len(source))))
    model, peft_config = training_model(training_args, model_args, script_args.base_model)
    trainer = PrincipleGRPOTrainer(
        model,
        args=training_args,
        train_dataset=source,
        peft_config=peft_config,
    )
    train_and_save(trainer, script_args, training_args, "GRPO model")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_command(PROG, lambda: main(sys.argv[1:])))
