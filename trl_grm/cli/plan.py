"""``trl-grm plan RECIPE``: the memory per GPU of a recipe's stage, offline (the model is built on the meta device
from a shipped, local or Hub config; no weights), with the rest of the stage's ``--dry_run`` checks.

The stage comes from the recipe's file name (``build_rft_data``, ``rft``, ``grpo``, ``build_meta_data``,
``meta_rm``, each with an optional ``_qlora`` suffix) or ``--stage``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from trl_grm.cli.common import EXIT_USAGE, UsageError, run_command

PROG = "trl-grm plan"
STAGES = {
    "build_rft_data": "trl_grm.cli.build_rft_data",
    "rft": "trl_grm.cli.rft",
    "grpo": "trl_grm.cli.grpo",
    "build_meta_data": "trl_grm.cli.build_meta_data",
    "meta_rm": "trl_grm.cli.meta_rm",
}
TRAINING = ("rft", "grpo", "meta_rm")


def make_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.split("\n\n")[0],
        epilog="RECIPE is what the stage command reads with --config; 'trl-grm <stage> --config RECIPE --dry_run' "
        "prints the same plan. The recipes shipped with trl-grm (recipes/ of the repository, trl_grm/recipes in an "
        "installed package) are found by name from any folder.",
    )
    parser.add_argument(
        "recipe",
        help="a recipe YAML file, or the name of a recipe shipped with trl-grm (relative to its recipes folder, "
        "with or without .yaml), e.g. gemma-2-27b/rft_qlora",
    )
    parser.add_argument("--stage", choices=list(STAGES), help="the stage (default: from the file name)")
    parser.add_argument("--num_gpus", type=int, help="processes (training) or tensor_parallel_size (sampling)")
    parser.add_argument(
        "--gpu_memory_gib", type=float, help="memory of one GPU (default: the recipe's gpu_memory_gib, else 80)"
    )

    def error(message: str):
        print(f"{prog}: error: {message} (see {prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)

    parser.error = error  # type: ignore[method-assign]
    return parser


def stage_of(recipe: str) -> str:
    """The stage a recipe file is named after: ``rft.yaml``, ``rft_qlora.yaml``, ``rft_stage2.yaml`` -> ``rft``."""
    stem = os.path.splitext(os.path.basename(recipe))[0]
    named = [s for s in STAGES if stem == s or stem.startswith(s + "_")]
    if not named:
        raise UsageError(f"cannot tell the stage of {recipe} from its name; give --stage ({', '.join(STAGES)})")
    return max(named, key=len)


def resolve_recipe(recipe: str) -> str:
    """A recipe file as given; else a recipe shipped with trl-grm, named relative to the shipped recipes folder (in
    the installed package, or the checkout's ``recipes/``) with or without ``.yaml``: ``gemma-2-27b/rft_qlora``."""
    if os.path.isfile(recipe):
        return recipe
    from trl_grm.utils.resources import shipped_dir

    try:
        folder = shipped_dir()
    except FileNotFoundError as err:
        raise FileNotFoundError(f"no such recipe: {recipe} (not a file, and {err})") from None
    name = recipe.replace(os.sep, "/").removeprefix("recipes/")  # the checkout-relative form of the README works too
    for candidate in (name, name + ".yaml"):
        path = folder / candidate
        if path.is_file():
            return str(path)
    raise FileNotFoundError(
        f"no such recipe: {recipe} (neither a file nor a recipe shipped in {folder}, e.g. gemma-2-27b/rft_qlora)"
    )


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    recipe = resolve_recipe(args.recipe)
    stage = args.stage or stage_of(recipe)
    module = importlib.import_module(STAGES[stage])
    argv = ["--config", recipe, "--dry_run"]
    if args.gpu_memory_gib:
        argv += ["--gpu_memory_gib", str(args.gpu_memory_gib)]
    if stage not in TRAINING:
        if args.num_gpus:
            argv += ["--tensor_parallel_size", str(args.num_gpus)]
        return module.main(argv)
    from trl_grm.cli.launch import parse_training_command

    if args.num_gpus:
        argv += ["--num_processes", str(args.num_gpus)]
    parser = module.make_parser(f"trl-grm {stage.replace('_', '-')}")
    launch_args, _, (script_args, training_args, model_args) = parse_training_command(parser, argv)
    return module.run(script_args, training_args, model_args, launch_args=launch_args)


if __name__ == "__main__":
    raise SystemExit(run_command(PROG, lambda: main(sys.argv[1:])))
