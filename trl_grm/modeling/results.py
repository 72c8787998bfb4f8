"""The result of scoring one input: its samples voted (Meta RM guided or not) into summed scores, the best response
and the failures counted, never turned into a score."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..protocol.judging import GRMSample
from ..protocol.parameters import ScoringParameters
from ..protocol.parsing import ParseStatus
from ..protocol.voting import vote


@dataclass
class GRMResult:
    """Voted result for one input. ``scores`` are sums over the samples that were used (a range of
    ``used * min .. used * max``); ``scores``/``best`` are ``None`` when no sample could be parsed (see ``error``).
    ``tied`` lists the responses that shared the top sum when ``best`` was picked by the seeded random tie-break.
    ``num_samples`` is the k asked for and ``num_drawn`` how many samples were drawn (fewer when adaptive scoring
    stopped early: ``stopped_by`` names the rule); ``num_tokens`` counts the tokens generated for this input."""

    scores: list[int] | None
    best: int | None
    num_samples: int
    num_failed: int
    failures: dict[str, int]
    samples: list[GRMSample] | None = None
    error: str | None = None
    tied: list[int] = dataclasses.field(default_factory=list)
    num_used: int = 0
    num_drawn: int = 0
    num_tokens: int = 0
    stopped_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def voted_result(
    samples: list[GRMSample],
    settings: ScoringParameters,
    rng: Any,
    guided: bool,
    return_samples: bool,
    stopped_by: str | None = None,
) -> GRMResult:
    """Vote one input's samples (Meta RM guided when ``guided``) into its result; failures counted, never scored."""
    metas = [s.meta_score if s.meta_score is not None else float("-inf") for s in samples]
    v = vote([s.scores for s in samples], rng, meta_scores=metas if guided else None, k_meta=settings.k_meta)
    for i in v.used:
        samples[i].used = True
    failures = Counter(s.status for s in samples if s.status != "ok")
    error = None
    if v.scores is None:
        error = f"none of the {len(samples)} sample(s) could be parsed ({dict(failures)})"
        overflow = next((s for s in samples if s.status == ParseStatus.CONTEXT_OVERFLOW.value), None)
        if overflow is not None:
            error += f"; the input does not fit the model's context: {overflow.detail}"
        truncated = failures.get(ParseStatus.TRUNCATED.value)
        if truncated:
            error += (
                f"; {truncated} were cut off at max_new_tokens={settings.max_new_tokens} before their score line: "
                "raise max_new_tokens"
            )
    return GRMResult(
        v.scores,
        v.best,
        settings.num_samples,
        v.num_failed,
        dict(failures),
        samples if return_samples else None,
        error,
        tied=v.tied,
        num_used=len(v.used),
        num_drawn=len(samples),
        num_tokens=sum(s.num_tokens for s in samples),
        stopped_by=stopped_by,
    )
