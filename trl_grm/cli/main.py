"""The ``trl-grm`` command line: ``trl-grm <command> [--config recipe.yaml] [--arg value ...] [--debug]``.

Errors are one line on stderr (``trl-grm <command>: error: <message>``) with exit status 2 for bad input or
arguments and 1 for failures while running; ``--debug`` or ``TRL_GRM_DEBUG=1`` adds the traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

from .common import DEBUG_ENV, EXIT_USAGE, run_command

COMMANDS = {
    "build-rft-data": ("trl_grm.cli.build_rft_data", "SPCT 1a: rejective sampling into fine-tuning rows"),
    "rft": ("trl_grm.cli.rft", "SPCT 1b: rejective fine-tuning (accelerate launch)"),
    "grpo": ("trl_grm.cli.grpo", "SPCT 2: rule-based online GRPO (accelerate launch)"),
    "build-meta-data": ("trl_grm.cli.build_meta_data", "labelled judgements of the final GRM for the Meta RM"),
    "meta-rm": ("trl_grm.cli.meta_rm", "train the Meta RM (accelerate launch)"),
    "eval": ("trl_grm.cli.eval", "greedy / Voting@k / MetaRM@k accuracy on a benchmark, with report and plot"),
    "score": ("trl_grm.cli.score", "score responses with a GRM (JSON / JSONL in, JSON / JSONL out)"),
    "serve": ("trl_grm.cli.serve", "serve a GRM over HTTP (POST /v1/score, GET /health, GET /ready)"),
    "push": ("trl_grm.cli.push", "upload a GRM / Meta RM folder with its model card to the Hub"),
    "plan": ("trl_grm.cli.plan", "memory per GPU of a recipe (offline, no weights)"),
}
# Launched through `accelerate launch` (options the script does not know go to accelerate), like `trl sft`.
TRAINING_COMMANDS = ("rft", "grpo", "meta-rm")


def _usage() -> str:
    lines = ["usage: trl-grm <command> [--config FILE.yaml] [options] [--debug]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines.append("\nRun 'trl-grm <command> --help' for the options of a command.")
    lines.append(f"--debug (or {DEBUG_ENV}=1) prints the traceback of an error.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get(DEBUG_ENV, "").lower() in ("1", "true", "yes")
    argv = [a for a in argv if a != "--debug"]
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"trl-grm: error: unknown command {name!r}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
        return EXIT_USAGE
    module = importlib.import_module(COMMANDS[name][0])
    if name in TRAINING_COMMANDS:
        return run_command(f"trl-grm {name}", lambda: _launch_training(name, module, rest, debug), debug)
    return run_command(f"trl-grm {name}", lambda: module.main(rest), debug)


def _launch_training(name: str, module, argv: list[str], debug: bool = False) -> int:
    """Check the run here (bad keys, model, LoRA targets, hardware: one line, nothing launched); a dry run prints
    its plan here; a real run goes through ``accelerate launch`` with the script's own arguments."""
    from .launch import launch, parse_training_command

    parser = module.make_parser()
    if any(a in ("-h", "--help") for a in argv):
        parser.parse_args_and_config(argv)  # prints the help, exits 0
    launch_args, script_argv, (script_args, training_args, model_args) = parse_training_command(parser, argv)
    if script_args.dry_run:
        return module.run(script_args, training_args, model_args, launch_args=launch_args)
    from .plan_stage import check_training_run

    check_training_run(f"trl-grm {name}", name, script_args, training_args, model_args, launch_args)
    if not debug:
        return launch(module.__file__, launch_args, script_argv)
    previous = os.environ.get(DEBUG_ENV)
    os.environ[DEBUG_ENV] = "1"  # the processes `accelerate launch` starts print tracebacks too
    try:
        return launch(module.__file__, launch_args, script_argv)
    finally:
        if previous is None:
            os.environ.pop(DEBUG_ENV, None)
        else:
            os.environ[DEBUG_ENV] = previous


if __name__ == "__main__":
    raise SystemExit(main())
