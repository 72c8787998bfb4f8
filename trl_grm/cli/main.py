"""The ``trl-grm`` command line: ``trl-grm <command> [--config recipe.yaml] [--arg value ...]``."""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "score": ("trl_grm.cli.score", "score responses with a GRM (JSON / JSONL in, JSON / JSONL out)"),
    "eval": ("trl_grm.cli.eval", "greedy / Voting@k / MetaRM@k accuracy on a benchmark, with report and plot"),
}


def _usage() -> str:
    lines = ["usage: trl-grm <command> [--config FILE.yaml] [options]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines.append("\nRun 'trl-grm <command> --help' for the options of a command.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"trl-grm: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return module.main(rest)


if __name__ == "__main__":
    raise SystemExit(main())
