"""Progress bars for long sampling work, counted in samples (fractions while a batch decodes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm.auto import tqdm

# ``n`` is a float while a batch decodes: show it with one decimal.
SAMPLE_BAR_FORMAT = "{l_bar}{bar}| {n:.1f}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]"


def sample_bar(total: float, *, desc: str = "Sampling", initial: float = 0, disable: bool | None = False) -> tqdm:
    """A tqdm bar over samples whose count moves while a batch decodes, with an ETA."""
    return tqdm(total=total, initial=initial, desc=desc, unit="sample", bar_format=SAMPLE_BAR_FORMAT, disable=disable)


@contextmanager
def progress_reporter(
    progress: bool | Callable[[float], None], total: float
) -> Iterator[Callable[[float], None] | None]:
    """What a backend reports finished samples to: a bar of ``total`` samples when ``progress`` is ``True``, the
    caller's callback when it is one, else nothing (``None``)."""
    if progress is True:
        with sample_bar(total) as bar:
            yield bar.update
    else:
        yield progress if callable(progress) else None
