"""Progress bars for long sampling work, counted in samples (fractions while a batch decodes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm.auto import tqdm

# ``n`` is a float while a batch decodes: show it with one decimal. No rate: while a few long judgements finish
# after the rest, a per-sample rate reads like a stall ("55 s/sample"); the postfix says what is still decoding.
SAMPLE_BAR_FORMAT = "{l_bar}{bar}| {n:.1f}/{total_fmt} [{elapsed}<{remaining}{postfix}]"


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


def decode_status(callback: Callable[[float], None] | None, running: int, rows: int, step: int, budget: int) -> None:
    """Show on the bar behind ``callback`` (a sample bar's ``update``) how many judgements of the batch are still
    being written and how far (``running == 0`` clears it), so a slow tail reads as work, not as a stuck bar. Other
    callbacks are left alone."""
    bar = getattr(callback, "__self__", None)
    if isinstance(bar, tqdm):
        text = f"writing {running} of {rows}, token {step}/{budget}" if running else ""
        bar.set_postfix_str(text, refresh=False)
