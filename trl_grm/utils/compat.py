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
