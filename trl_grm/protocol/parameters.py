"""The ONE description of a scoring call's parameters (:class:`ScoringParameters`): ``GRMForPointwiseScoring.score``,
the ``pointwise-reward`` pipeline, ``trl-grm score``'s flags, the server's request body and
:class:`~trl_grm.rewards.GRMRewardConfig` all take their fields from it, and :meth:`ScoringParameters.resolve`
fills and checks them against a GRM's settings before any model runs."""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field
from typing import Any

from .template import PRINCIPLES_MODES
from .voting import ORDER_STRATEGIES


@dataclass
class ScoringParameters:
    """How one scoring call samples and votes. ``None`` means the GRM's own setting (its ``grm_config.json``)."""

    num_samples: int | None = field(
        default=None, metadata={"help": "k, the number of sampled judgements to vote (default: the GRM's)."}
    )
    temperature: float | None = field(
        default=None,
        metadata={"help": "Default: the GRM's (0.5) when k > 1, greedy when k = 1."},
    )
    top_p: float | None = field(default=None, metadata={"help": "Nucleus sampling, in (0, 1] (default: the GRM's)."})
    max_new_tokens: int | None = field(
        default=None, metadata={"help": "Length budget of one judgement (default: the GRM's)."}
    )
    seed: int | None = field(
        default=0, metadata={"help": "Seeds the response orders, the sampling and the tie-break (none: random)."}
    )
    order_strategy: str | None = field(
        default=None,
        metadata={"help": f"Response order per sample: one of {', '.join(ORDER_STRATEGIES)} (default: the GRM's)."},
    )
    principles_mode: str | None = field(
        default=None,
        metadata={"help": f"Principles: one of {', '.join(PRINCIPLES_MODES)} (default: the template's)."},
    )
    k_meta: int | None = field(
        default=None, metadata={"help": "Samples the Meta RM keeps before voting (default: k/2; needs a Meta RM)."}
    )

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_kwargs(cls, where: str = "score()", **values: Any) -> ScoringParameters:
        """Parameters from keywords; an unknown keyword is a ``TypeError`` that names it and the known ones."""
        unknown = sorted(set(values) - set(cls.names()))
        if unknown:
            raise TypeError(f"{where} got unknown parameter(s) {unknown}; known: {list(cls.names())}")
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def resolve(self, config: Any, *, has_meta_rm: bool) -> ScoringParameters:
        """A copy with every unset value taken from ``config`` (a :class:`~trl_grm.GRMConfig`), all checked; needs no
        model, so callers can check before loading one. Temperature defaults to the config's when k > 1 and to
        greedy (0) when k = 1; ``k_meta`` to the config's when there is a Meta RM."""
        k = config.num_samples if self.num_samples is None else self.num_samples
        if not _is_int(k) or k < 1:
            raise ValueError(f"num_samples must be an integer >= 1, got {k!r}")
        k_meta = self.k_meta
        if k_meta is None:
            k_meta = config.k_meta if has_meta_rm else None
        elif not has_meta_rm:
            raise ValueError("k_meta was given but there is no meta_rm to rank the samples")
        if k_meta is not None and (not _is_int(k_meta) or not 1 <= k_meta <= k):
            raise ValueError(f"k_meta must be an integer in 1..{k} (num_samples), got {k_meta!r}")
        temperature = self.temperature
        if temperature is None:
            temperature = config.temperature if k > 1 else 0.0
        if not _is_number(temperature) or temperature < 0:
            raise ValueError(f"temperature must be a number >= 0, got {temperature!r}")
        top_p = config.top_p if self.top_p is None else self.top_p
        if not _is_number(top_p) or not 0 < top_p <= 1:
            raise ValueError(f"top_p must be a number in (0, 1], got {top_p!r}")
        max_new_tokens = config.max_new_tokens if self.max_new_tokens is None else self.max_new_tokens
        if not _is_int(max_new_tokens) or max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be an integer >= 1, got {max_new_tokens!r}")
        strategy = self.order_strategy or config.order_strategy
        if strategy not in ORDER_STRATEGIES:
            raise ValueError(f"order_strategy must be one of {ORDER_STRATEGIES}, got {strategy!r}")
        if self.principles_mode is not None and self.principles_mode not in PRINCIPLES_MODES:
            raise ValueError(f"principles_mode must be one of {PRINCIPLES_MODES}, got {self.principles_mode!r}")
        if self.seed is not None and (not isinstance(self.seed, numbers.Integral) or isinstance(self.seed, bool)):
            raise ValueError(f"seed must be an integer or None, got {self.seed!r}")
        return ScoringParameters(
            k, float(temperature), float(top_p), max_new_tokens, self.seed, strategy, self.principles_mode, k_meta
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
