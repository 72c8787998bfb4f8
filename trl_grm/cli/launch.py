"""Training commands run through ``accelerate launch``, the way ``trl sft`` does: options the script does not know
(``--num_processes 2``, ``--accelerate_config zero3``, ...) go to accelerate, the rest to the script."""

from __future__ import annotations

import os

from ..utils.resources import shipped_dir, shipped_file
from .common import UsageError

# The accelerate configs we ship (recipes/accelerate_configs/NAME.yaml; trl_grm/recipes/accelerate_configs in a
# wheel). These names always mean OUR files, never TRL's files of the same name (TRL's fsdp2 saves FULL_STATE_DICT,
# ours SHARDED_STATE_DICT): one of them missing is an incomplete installation, not a reason to fall back to TRL.
SHIPPED_ACCELERATE_CONFIGS = ("fsdp2", "multi_cpu", "multi_gpu", "zero2", "zero3")


def trl_accelerate_configs() -> dict[str, str]:
    """TRL's shipped accelerate configs (``single_gpu``, ``zero1``, ``fsdp1``, ...): name -> file."""
    import importlib.resources as resources

    try:
        folder = resources.files("trl.accelerate_configs")
    except ModuleNotFoundError:
        return {}
    return {f.name[: -len(".yaml")]: str(f) for f in folder.iterdir() if f.name.endswith(".yaml") and f.is_file()}


def resolve_accelerate_config(name: str) -> str:
    """A file path as given; else one of our shipped names (``SHIPPED_ACCELERATE_CONFIGS``), always our file; else a
    name only TRL ships (``single_gpu``, ``zero1``, ``fsdp1``, ...), TRL's file."""
    if os.path.isfile(name):
        return name
    if name in SHIPPED_ACCELERATE_CONFIGS:
        try:
            path = shipped_file("accelerate_configs", f"{name}.yaml")
        except FileNotFoundError as err:
            raise UsageError(f"--accelerate_config {name}: {err}") from None
        if path is None:
            raise UsageError(
                f"--accelerate_config {name}: accelerate_configs/{name}.yaml is missing from this installation "
                f"(looked in {shipped_dir() / 'accelerate_configs'}); reinstall trl-grm"
            )
        return str(path)
    theirs = trl_accelerate_configs()
    if name in theirs:
        return theirs[name]
    ours = ", ".join(SHIPPED_ACCELERATE_CONFIGS)
    only_trl = ", ".join(sorted(set(theirs) - set(SHIPPED_ACCELERATE_CONFIGS))) or "none"
    raise UsageError(
        f"--accelerate_config {name!r} is neither a file nor a shipped config (ours: {ours}; TRL's: {only_trl})"
    )


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


def _one_config_file(launch_args: list[str]) -> list[str]:
    """``launch_args`` with its accelerate config as one ``--config_file PATH`` (a shipped name resolved): the last
    ``--accelerate_config`` / ``--config_file`` wins, so a flag overrides the recipe's ``accelerate_config``."""
    out, chosen, i = [], None, 0
    while i < len(launch_args):
        key, eq, value = launch_args[i].partition("=")
        if key not in ("--accelerate_config", "--config_file"):
            out.append(launch_args[i])
            i += 1
            continue
        if not eq:
            if i + 1 >= len(launch_args):
                raise UsageError(f"{key} needs a value: a file or a shipped name")
            value = launch_args[i + 1]
        chosen = (key, value)
        i += 1 if eq else 2
    if chosen is None:
        return out
    key, value = chosen
    return out + ["--config_file", resolve_accelerate_config(value) if key == "--accelerate_config" else value]


def split_launch_args(parser, argv: list[str]) -> tuple[list[str], list[str]]:
    """(accelerate launch arguments, script arguments) of ``argv``; a key neither the script nor accelerate knows
    (from the command line or the YAML) is a one-line error naming it."""
    from accelerate.commands.launch import launch_command_parser

    *_, config_rest, cli_rest = parser.parse_args_and_config(
        argv, return_remaining_strings=True, separate_remaining_strings=True
    )
    launch_args = _one_config_file(config_rest + cli_rest)
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
