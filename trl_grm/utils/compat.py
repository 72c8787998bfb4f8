"""Small shims over what the ecosystem's versions disagree on."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_checkpointing_alias() -> Iterator[None]:
    """Silence transformers' "`gradient_checkpointing` is deprecated ... Use `activation_checkpointing`" warning.

    TRL's configs set ``gradient_checkpointing`` (default ``True``), which newer transformers releases treat as a
    deprecated alias of ``activation_checkpointing`` and warn about on every config built, whatever the user wrote.
    The value is still honoured (transformers copies it over); only that one warning is dropped.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"`gradient_checkpointing(_kwargs)?` is deprecated", category=FutureWarning
        )
        yield


# Loggers of optional kernel downloads that fail without network and fall back by themselves: bitsandbytes' CPU
# backend tries the Hub's kernels-community/quantization-bitsandbytes on import and warns when it cannot.
_OPTIONAL_KERNEL_LOGGERS = ("bitsandbytes.backends.cpu.ops", "kernels._internals.hf_hub")


def quiet_optional_kernels() -> None:
    """Keep the command line free of warnings about optional kernels that could not be fetched (the fallback runs)."""
    import logging

    for name in _OPTIONAL_KERNEL_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
