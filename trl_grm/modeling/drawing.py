"""How a scoring call draws its samples: all k at once (the default), in rounds that stop once the vote is settled
(``adaptive``, :mod:`trl_grm.protocol.stopping`), and with principles written once per input
(``principles_mode="shared"``).

Whatever the schedule, sample ``j`` of an input shows the planned order ``j`` and is seeded with
:func:`~trl_grm.protocol.planner.sample_seed` of ``j`` (``sample_start`` tells the engine call where a round starts),
so the first ``m`` samples of an adaptive call are the first ``m`` samples of full-k scoring with the same settings,
and an input's samples never depend on the other inputs of the call. With shared principles, sample 0 of an input
is drawn as usual (it writes its principles); samples 1..k-1 continue after sample 0's text up to its ``Analysis:``
header (:func:`~trl_grm.protocol.parsing.principles_prefix`), in their own response order. An input whose sample 0
wrote no usable principles, or that brings its own, keeps writing (or restating) them in every sample.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..backends.base import ScoreLine
from ..protocol.inputs import GRMInput
from ..protocol.judging import GRMSample, JudgeSettings, SampleGroup, item_messages, item_score_range
from ..protocol.parameters import ScoringParameters
from ..protocol.parsing import principles_prefix
from ..protocol.stopping import settled
from ..protocol.template import SCORE_LINE_HEADER
from ..utils.progress import progress_reporter


def draw_samples(
    grm: Any,
    items: Sequence[GRMInput],
    orders: Sequence[Sequence[Sequence[int]]],
    settings: ScoringParameters,
    *,
    progress: bool | Callable[[float], None] = False,
    strict_context: bool = False,
) -> tuple[list[list[GRMSample]], list[str | None]]:
    """The samples of every input (``orders[b]``: its k planned orders) and, per input, the rule that stopped it
    early (``None``: all planned samples were drawn)."""
    mode = settings.principles_mode or grm.config.principles_mode
    shared = mode == "shared"
    common = dict(
        temperature=settings.temperature,
        top_p=settings.top_p,
        max_new_tokens=settings.max_new_tokens,
        seed=settings.seed,
        principles_mode="self" if shared else mode,
        strict_context=strict_context,
        constrained_scores=settings.constrained_scores,
    )
    k = settings.num_samples
    stops: list[str | None] = [None] * len(items)
    if not settings.adaptive and not shared:
        return grm.sample_judgements(items, orders, progress=progress, **common), stops
    samples: list[list[GRMSample]] = [[] for _ in items]
    prefixes: list[str | None] = [None] * len(items)
    live = list(range(len(items)))
    # shared: sample 0 alone (it writes the principles); adaptive: >= 2 first (no rule stops on fewer parsed)
    size = 1 if shared else max(2, settings.adaptive_round) if settings.adaptive else k
    with progress_reporter(progress, k * len(items)) as report:
        while live:
            start = [len(samples[b]) for b in live]
            drawn = grm.sample_judgements(
                [items[b] for b in live],
                [orders[b][s : s + size] for b, s in zip(live, start)],
                sample_start=start,
                prefixes=[prefixes[b] for b in live],
                progress=report if report is not None else False,
                **common,
            )
            for b, new in zip(live, drawn):
                samples[b] += new
                if shared and prefixes[b] is None and not items[b].principles:
                    prefixes[b] = principles_prefix(samples[b][0].text)
            still = []
            for b in live:
                if len(samples[b]) >= k:
                    continue
                if settings.adaptive:
                    stops[b] = settled(
                        [s.scores for s in samples[b]],
                        k,
                        grm.config.score_range,
                        settings.adaptive_rule,
                        settings.adaptive_alpha,
                    )
                    if stops[b] is not None or samples[b][-1].status == "context_overflow":
                        if report is not None:
                            report(k - len(samples[b]))  # the samples it will not need
                        continue
                still.append(b)
            live = still
            size = settings.adaptive_round if settings.adaptive else k
    return samples, stops


def judge_prompts(
    config: JudgeSettings,
    items: Sequence[GRMInput],
    groups: Sequence[SampleGroup],
    principles_mode: str | None,
    binary_single: bool,
    prefixes: Sequence[str | None],
    constrained_scores: bool,
) -> tuple[list[list[dict[str, str]]], dict[str, list[ScoreLine]]]:
    """The chat messages of every distinct prompt (continuing after its item's prefix, when it has one) and the
    engine's extra arguments (``score_lines`` when constrained)."""
    if len(prefixes) != len(items):
        raise ValueError(f"{len(items)} items but {len(prefixes)} prefixes")
    messages = []
    for g in groups:
        m = item_messages(config, items[g.item], g.order, principles_mode, g.hint, binary_single)
        prefix = prefixes[g.item]
        messages.append(m + [{"role": "assistant", "content": prefix}] if prefix else m)
    if not constrained_scores:
        return messages, {}
    ranges = [item_score_range(config, items[g.item], binary_single) for g in groups]
    return messages, {"score_lines": [ScoreLine(len(g.order), *r, SCORE_LINE_HEADER) for g, r in zip(groups, ranges)]}
