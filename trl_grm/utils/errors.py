"""The library's error for bad input or arguments: the ``trl-grm`` commands report it as one line, exit status 2."""

from __future__ import annotations


class UsageError(ValueError):
    """Bad input or arguments (a ``ValueError``), reported by the command line as one line and exit status 2."""
