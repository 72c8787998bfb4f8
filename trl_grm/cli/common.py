"""What every ``trl-grm`` command shares: its parser, its error handling and checks that run before a model loads."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ..utils.compat import quiet_optional_kernels
from ..utils.errors import UsageError

quiet_optional_kernels()

__all__ = ["UsageError"]  # re-exported: the commands raise it

DEBUG_ENV = "TRL_GRM_DEBUG"

# Exit codes: bad input or bad arguments, and failures while running.
EXIT_USAGE = 2
EXIT_RUNTIME = 1


def _usage_errors() -> tuple[type[BaseException], ...]:
    import yaml

    return (ValueError, TypeError, FileNotFoundError, NotADirectoryError, IsADirectoryError, yaml.YAMLError)


def make_command_parser(dataclass_types: Sequence[type], prog: str, description: str | None = None):
    """A ``TrlParser`` over ``dataclass_types`` (``--config recipe.yaml``, flags override it) whose help always
    renders (a ``%`` in a help text is escaped), whose ``--no_<flag>`` switches say what they do, and whose argument
    errors are one line on stderr with exit status 2."""
    from trl import TrlParser

    epilog = (
        "Options can also come from --config FILE.yaml (keys are the option names; an 'env:' mapping sets "
        "environment variables); flags given on the command line override it. --debug (or TRL_GRM_DEBUG=1) prints "
        "the traceback of an error."
    )
    parser = TrlParser(tuple(dataclass_types), prog=prog, description=description, epilog=epilog)
    for action in parser._actions:
        if action.help and action.help is not argparse.SUPPRESS:
            action.help = re.sub(r"%(?!\()", "%%", action.help)
        negated = [o for o in action.option_strings if o.startswith("--no_")]
        if negated and isinstance(action, argparse._StoreFalseAction):
            action.help = f"Turn --{action.dest} off."
            action.default = argparse.SUPPRESS  # the positive flag owns the default; do not print a second one

    def error(message: str) -> NoReturn:
        print(f"{prog}: error: {message} (see {prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)

    parser.error = error  # type: ignore[method-assign]
    return parser


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.strip().splitlines() if part.strip())


def run_command(prog: str, body: Callable[[], int], debug: bool = False) -> int:
    """Run a command's body; turn exceptions into one ``<prog>: error: <message>`` line and an exit status:
    2 for bad input or arguments, 1 for failures while running, 130 when interrupted. With ``debug`` (``--debug``
    or ``TRL_GRM_DEBUG=1``, which the processes a training command launches inherit) the traceback is printed as
    well."""
    debug = debug or os.environ.get(DEBUG_ENV, "").lower() in ("1", "true", "yes")
    try:
        return body()
    except SystemExit as exit_:  # argparse: --help (0) or a bad argument (2, its one line already printed)
        return exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else EXIT_RUNTIME
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the CLI reports every failure as one line
        usage = isinstance(err, _usage_errors())
        if debug:
            traceback.print_exc()
        message = _one_line(str(err)) or type(err).__name__
        if not usage:
            message = f"{type(err).__name__}: {message}"
            if not debug:
                message += f" (run with --debug or {DEBUG_ENV}=1 for the traceback)"
        print(f"{prog}: error: {message}", file=sys.stderr)
        return EXIT_USAGE if usage else EXIT_RUNTIME


def quiet_loading() -> None:
    """No per-run "Loading weights" bars or library chatter: progress bars are for long work only."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# --------------------------------------------------------------------------------------------- checks before loading
def check_input_file(path: str | None, flag: str = "--input") -> None:
    if path is None or path == "-":
        return
    if not os.path.exists(path):
        raise FileNotFoundError(f"{flag}: no such file: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{flag}: {path} is a directory, not a file")


def check_output_file(path: str | None, flag: str = "--output") -> None:
    """The output's folder must exist before any work is done (else the first finished batch would be lost)."""
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{flag}: the folder of {path} does not exist ({folder}); create it first")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{flag}: {path} is a directory; give a file name")


def check_positive(**values: Any) -> None:
    for name, value in values.items():
        if value is not None and value < 1:
            raise UsageError(f"--{name} must be >= 1, got {value}")


# ----------------------------------------------------------------------------------------------- stage commands
@dataclass
class GRMScriptArguments:
    """The data of a stage and whether to only check the run."""

    dataset_name: str | None = field(
        default=None,
        metadata={
            "help": "Preference data: a JSON/JSONL file, a Hub dataset id, or 'synthetic' (the verifiable tasks "
            "of trl_grm.data.synthetic, generated here). rft and meta-rm read the output_dir of build-rft-data / "
            "build-meta-data instead."
        },
    )
    dataset_config: str | None = field(default=None, metadata={"help": "Configuration name of a Hub dataset."})
    dataset_train_split: str = field(default="train", metadata={"help": "Split of a Hub dataset."})
    max_examples: int | None = field(default=None, metadata={"help": "Use only the first N examples."})
    synthetic_num_examples: int = field(default=256, metadata={"help": "With dataset_name=synthetic: examples."})
    synthetic_num_responses: int = field(default=2, metadata={"help": "With dataset_name=synthetic: n per example."})
    synthetic_difficulty: float = field(
        default=0.5, metadata={"help": "With dataset_name=synthetic: share of near-miss distractors, in [0, 1]."}
    )
    synthetic_seed: int = field(default=0, metadata={"help": "With dataset_name=synthetic: seed of the stream."})
    synthetic_style: str = field(
        default="templates",
        metadata={
            "help": "With dataset_name=synthetic: 'templates' (one prompt template per family) or 'varied' (many "
            "wordings, reply shapes and instruction variants, trl_grm.data.varied_families)."
        },
    )
    synthetic_single_fraction: float = field(
        default=0.0,
        metadata={
            "help": "With dataset_name=synthetic: share of examples with one response and a 0/1 label (rating "
            "rows) mixed into the pairs; build-rft-data and build-meta-data only."
        },
    )
    synthetic_families: list[str] | None = field(
        default=None,
        metadata={
            "help": "With dataset_name=synthetic: the families that take turns (default: all); a family named twice "
            "is drawn twice as often."
        },
    )
    base_model: str | None = field(
        default=None,
        metadata={
            "help": "Config to check against while model_name_or_path is an earlier stage's output that does not "
            "exist yet (a Hub id or folder, e.g. the base model of the recipe)."
        },
    )
    gpu_memory_gib: float = field(
        default=80.0, metadata={"help": "GPU memory the plan of --dry_run / trl-grm plan checks the run against."}
    )
    dry_run: bool = field(
        default=False,
        metadata={
            "help": "Build every config, resolve the model config (no weights), check the run against it, print the "
            "plan and exit."
        },
    )


def train_and_save(trainer, script_args: GRMScriptArguments, training_args, what: str) -> None:
    """Train (resuming from ``resume_from_checkpoint``), save the model with its card, push when asked."""
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model(training_args.output_dir)
    if trainer.accelerator.is_main_process:
        trainer.create_model_card(dataset_name=script_args.dataset_name)
    if training_args.push_to_hub:
        trainer.push_to_hub(dataset_name=script_args.dataset_name)
    trainer.accelerator.print(f"Saved the {what} to {training_args.output_dir}")
    trainer.accelerator.end_training()  # accelerate's end of a script: the process group is torn down cleanly


def print_plan(title: str, sections: dict[str, dict[str, Any]]) -> None:
    """The resolved plan of a dry run, one ``key: value`` per line under each section."""
    print(f"{title}: dry run (no weights loaded)")
    for section, values in sections.items():
        print(f"\n[{section}]")
        width = max((len(k) for k in values), default=0)
        for key, value in values.items():
            print(f"  {key:<{width}}  {value}")


def parse_training_args(parser, argv: list[str] | None):
    """``parser.parse_args_and_config(argv)`` under :func:`target_hardware`. Keys of the ``--config`` file that the
    script does not know are accelerate's (``num_processes``, ``accelerate_config``, ...): the ``trl-grm`` launcher
    has checked them all (see :func:`trl_grm.cli.launch.split_launch_args`), so they are left to accelerate here."""
    from ..planning.preflight import target_hardware

    with target_hardware():
        return parser.parse_args_and_config(argv, fail_with_unknown_args=False)
