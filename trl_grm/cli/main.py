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
    "score": ("trl_grm.cli.score", "score responses with a GRM (JSON / JSONL in, JSON / JSONL out)"),
    "eval": ("trl_grm.cli.eval", "greedy / Voting@k / MetaRM@k accuracy on a benchmark, with report and plot"),
    "serve": ("trl_grm.cli.serve", "serve a GRM over HTTP (POST /v1/score, GET /health, GET /ready)"),
}


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
    return run_command(f"trl-grm {name}", lambda: module.main(rest), debug)


if __name__ == "__main__":
    raise SystemExit(main())
