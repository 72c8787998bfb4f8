"""The Meta RM's input: one renderer shared by Meta RM training and guided voting."""

from __future__ import annotations

from collections.abc import Sequence

from .template import Context, render_context


def render_meta_input(context: Context, shown_responses: Sequence[str], judgement: str) -> str:
    """Render (query, responses in the order the GRM saw them, one sampled judgement) as one text."""
    parts = [f"Query:\n{render_context(context)}"]
    parts += [f"Response {i + 1}:\n{r}" for i, r in enumerate(shown_responses)]
    parts.append(f"Judgement:\n{judgement.strip()}")
    return "\n\n".join(parts)
