"""What every ``trl-grm`` command shares: its parser, its error handling and checks that run before a model loads."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

DEBUG_ENV = "TRL_GRM_DEBUG"

# Exit codes: bad input or bad arguments, and failures while running.
EXIT_USAGE = 2
EXIT_RUNTIME = 1


class UsageError(ValueError):
    """Bad input or arguments, reported as one line and exit status 2."""


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
    or ``TRL_GRM_DEBUG=1``) the traceback is printed as well."""
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
