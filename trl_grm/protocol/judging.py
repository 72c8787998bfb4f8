"""One judgement of one input, from prompt to parsed sample: the judge prompt of an input shown in a given response
order, the grouping of a batch's samples into distinct prompts, and the parsing of a generation back into original
order. Every engine path (the GRM, the rejective sampler, the GRPO dataset) goes through these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from .inputs import GRMInput
from .parsing import ParseStatus, parse_output
from .template import GRMTemplate, build_messages
from .voting import map_back


class JudgeSettings(Protocol):
    """What a judgement depends on (satisfied by :class:`~trl_grm.GRMConfig`)."""

    principles_mode: str

    @property
    def grm_template(self) -> GRMTemplate: ...

    @property
    def score_range(self) -> tuple[int, int]: ...


@dataclass
class GRMSample:
    """One sampled judgement. ``scores`` are in the ORIGINAL response order; ``order[p]`` is the original index of
    the response shown at position ``p``. ``status`` is ``"ok"`` or the failure reason, explained by ``detail``."""

    order: list[int]
    text: str
    status: str
    principles: str
    critique: str
    scores: list[int] | None
    finish_reason: str
    meta_score: float | None = None
    used: bool = False
    detail: str = ""
    num_tokens: int = 0  # tokens the engine generated for this sample (shared principles: the continuation only)


def item_score_range(config: JudgeSettings, item: GRMInput, binary_single: bool = False) -> tuple[int, int]:
    """0/1 for a single response when ``binary_single`` (the paper's n = 1 training variant), else the config's."""
    return (0, 1) if binary_single and len(item.responses) == 1 else config.score_range


def item_messages(
    config: JudgeSettings,
    item: GRMInput,
    order: Sequence[int],
    principles_mode: str | None = None,
    hint: int | None = None,
    binary_single: bool = False,
) -> list[dict[str, str]]:
    """The judge prompt (chat messages) for ``item`` with its responses shown in ``order``.

    ``hint`` is the ORIGINAL index of the best response (hinted sampling); it is shown at its new position. Given
    principles on the item switch ``"self"`` mode to ``"given"``.
    """
    mode = principles_mode or config.principles_mode
    if mode == "self" and item.principles:
        mode = "given"
    return build_messages(
        item.context,
        [item.responses[i] for i in order],
        config.grm_template,
        score_range=item_score_range(config, item, binary_single),
        principles_mode=mode,
        principles=item.principles,
        reference=item.reference,
        hint=None if hint is None else list(order).index(hint),
    )


class SampleGroup(NamedTuple):
    """Samples of one item that see the same response order, hence share one prompt."""

    item: int  # index of the item in the batch
    order: tuple[int, ...]  # order[p]: original index of the response shown at position p
    samples: list[int]  # indices into the item's orders
    hint: int | None  # ORIGINAL index of the best response (hinted sampling), or None


def group_samples(
    items: Sequence[GRMInput],
    orders: Sequence[Sequence[Sequence[int]]],
    hints: Sequence[int | None] | None = None,
) -> list[SampleGroup]:
    """The distinct prompts of a batch, item by item and by first appearance of each order within an item."""
    if len(orders) != len(items):
        raise ValueError(f"{len(items)} items but {len(orders)} lists of orders")
    if hints is not None and len(hints) != len(items):
        raise ValueError(f"{len(items)} items but {len(hints)} hints")
    groups = []
    for b, item_orders in enumerate(orders):
        by_order: dict[tuple[int, ...], list[int]] = {}
        for s, order in enumerate(item_orders):
            by_order.setdefault(tuple(order), []).append(s)
        hint = hints[b] if hints is not None else None
        groups += [SampleGroup(b, order, ids, hint) for order, ids in by_order.items()]
    return groups


def parse_sample(
    config: JudgeSettings,
    item: GRMInput,
    order: Sequence[int],
    text: str,
    finish_reason: str,
    binary_single: bool = False,
    max_new_tokens: int | None = None,
    num_tokens: int = 0,
) -> GRMSample:
    """Parse one generated judgement of ``item`` shown in ``order``; its scores are mapped back to original order.
    ``text`` is the whole judgement (with shared principles: the principles it continued after, then its own text).

    A judgement that failed to parse because the length budget cut it off (``finish_reason == "length"`` before a
    complete score box) is reported as ``truncated``."""
    order = list(order)
    shown = [item.responses[i] for i in order]
    parsed = parse_output(text, len(order), item_score_range(config, item, binary_single), shown)
    scores = map_back(parsed.scores, order) if parsed.ok else None
    status, detail = parsed.status.value, parsed.detail
    if finish_reason == "length" and parsed.status in (ParseStatus.NO_BOX, ParseStatus.QUOTED_BOX):
        budget = f"max_new_tokens={max_new_tokens}" if max_new_tokens else "max_new_tokens"
        status = ParseStatus.TRUNCATED.value
        detail = f"the judgement was cut off at {budget} before its score line; raise max_new_tokens"
    return GRMSample(
        order, text, status, parsed.principles, parsed.critique, scores, finish_reason, detail=detail,
        num_tokens=num_tokens,
    )  # fmt: skip
