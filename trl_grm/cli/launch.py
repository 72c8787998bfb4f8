"""Training commands run through ``accelerate launch``, the way ``trl sft`` does: options the script does not know
(``--num_processes 2``, ``--accelerate_config zero3``, ...) go to accelerate, the rest to the script."""

from __future__ import annotations

import os
from pathlib import Path

from .common import UsageError

ACCELERATE_CONFIGS = Path(__file__).resolve().parents[2] / "recipes" / "accelerate_configs"


def resolve_accelerate_config(name: str) -> str:
    """A file path, or a shipped name: ours (recipes/accelerate_configs/NAME.yaml in a checkout), else TRL's
    (single_gpu, multi_gpu, zero1/2/3, fsdp1/2)."""
    if os.path.isfile(name):
        return name
    ours = ACCELERATE_CONFIGS / f"{name}.yaml"
    if ours.exists():
        return str(ours)
    import importlib.resources as resources

    theirs = resources.files("trl.accelerate_configs").joinpath(f"{name}.yaml")
    if theirs.is_file():
        return str(theirs)
    known = sorted({p.stem for p in ACCELERATE_CONFIGS.glob("*.yaml")} | {"single_gpu", "multi_gpu", "zero2", "zero3"})
    raise UsageError(f"--accelerate_config {name!r} is neither a file nor a shipped config ({', '.join(known)})")


def _subtract_subsequence(items: list[str], sub: list[str]) -> list[str]:
    it = iter(sub)
    current = next(it, None)
    out = []
    for item in items:
        if current is not None and item == current:
            current = next(it, None)
        else:
            out.append(item)
    return out


def split_launch_args(parser, argv: list[str]) -> tuple[list[str], list[str]]:
    """(accelerate launch arguments, script arguments) of ``argv``; a key neither the script nor accelerate knows
    (from the command line or the YAML) is a one-line error naming it."""
    from accelerate.commands.launch import launch_command_parser

    *_, config_rest, cli_rest = parser.parse_args_and_config(
        argv, return_remaining_strings=True, separate_remaining_strings=True
    )
    launch_args = config_rest + cli_rest
    if "--accelerate_config" in launch_args:
        i = launch_args.index("--accelerate_config")
        if i + 1 >= len(launch_args):
            raise UsageError("--accelerate_config needs a value: a file or a shipped name")
        launch_args = (
            launch_args[:i] + ["--config_file", resolve_accelerate_config(launch_args[i + 1])] + launch_args[i + 2 :]
        )
    known = {o for a in launch_command_parser()._actions for o in a.option_strings}
    for arg in launch_args:
        if arg.startswith("--") and arg.split("=", 1)[0] not in known:
            source = "the --config file" if arg in config_rest else "the command line"
            raise UsageError(f"unknown option {arg.split('=', 1)[0]} (from {source}): not an option of this command")
    return launch_args, _subtract_subsequence(argv, cli_rest)


def _cpu_threads_per_process(args) -> int | None:
    """Without a GPU, the CPU cores shared among the processes (accelerate would set OMP_NUM_THREADS=1 unless it is
    told ``--cpu``, which makes a one-process CPU run use one core); ``None`` (accelerate's choice) with a GPU."""
    import torch

    if torch.cuda.is_available() or getattr(torch, "xpu", None) and torch.xpu.is_available():
        return None
    processes = args.num_processes
    if processes is None:
        from accelerate.commands.config import default_config_file, load_config_from_file

        config_file = args.config_file or (default_config_file if os.path.isfile(default_config_file) else None)
        processes = load_config_from_file(config_file).num_processes if config_file else 1
    return max(1, (os.cpu_count() or 1) // max(1, processes or 1))


def launch(script: str, launch_args: list[str], script_args: list[str]) -> int:
    """``accelerate launch [launch_args] script [script_args]``; returns the exit status."""
    import subprocess

    from accelerate.commands.launch import launch_command, launch_command_parser

    args = launch_command_parser().parse_args(launch_args + [script] + script_args)
    if args.num_cpu_threads_per_process is None and "OMP_NUM_THREADS" not in os.environ:
        args.num_cpu_threads_per_process = _cpu_threads_per_process(args)
    try:
        launch_command(args)
    except subprocess.CalledProcessError as err:  # the script has printed its own one-line error
        return err.returncode or 1
    except SystemExit as exit_:  # accelerate exits with the child's status when it fails
        return exit_.code if isinstance(exit_.code, int) else 1
    return 0


def parse_training_command(parser, argv: list[str]):
    """``(launch_args, script_argv, (script_args, training_args, model_args))`` of a training command's ``argv``:
    accelerate's options split off and checked, the script's parsed for the recipe's target hardware."""
    from ..planning.preflight import target_hardware
    from .common import parse_training_args

    with target_hardware():
        launch_args, script_argv = split_launch_args(parser, argv)
    return launch_args, script_argv, parse_training_args(parser, script_argv)
