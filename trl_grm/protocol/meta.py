"""The Meta RM's input: one renderer shared by Meta RM training and guided voting."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tqdm.auto import tqdm

from .template import Context, render_context


def render_meta_input(context: Context, shown_responses: Sequence[str], judgement: str) -> str:
    """Render (query, responses in the order the GRM saw them, one sampled judgement) as one text."""
    parts = [f"Query:\n{render_context(context)}"]
    parts += [f"Response {i + 1}:\n{r}" for i, r in enumerate(shown_responses)]
    parts.append(f"Judgement:\n{judgement.strip()}")
    return "\n\n".join(parts)


def meta_rm_scores(
    scorer: Callable[[Sequence[str]], Sequence[float]],
    jobs: Sequence[tuple[Context, Sequence[str], str]],
    *,
    batch_size: int | None = None,
    progress: bool = False,
) -> list[float]:
    """The Meta RM's score of each ``(context, responses in shown order, judgement)`` job, in batches of
    ``batch_size`` (all at once when ``None``); the one path of guided voting and of the evaluation harness."""
    size = batch_size or max(len(jobs), 1)
    out: list[float] = []
    for lo in tqdm(range(0, len(jobs), size), desc="Meta RM", unit="batch", disable=not progress):
        texts = [render_meta_input(*job) for job in jobs[lo : lo + size]]
        values = list(scorer(texts))
        if len(values) != len(texts):
            raise ValueError(f"The meta RM returned {len(values)} scores for {len(texts)} samples")
        out += [float(v) for v in values]
    return out
