"""The ONE description of a scoring call's parameters (:class:`ScoringParameters`): ``GRMForPointwiseScoring.score``,
the ``pointwise-reward`` pipeline, ``trl-grm score``'s flags, the server's request body and
:class:`~trl_grm.rewards.GRMRewardConfig` all take their fields from it, and :meth:`ScoringParameters.resolve`
fills and checks them against a GRM's settings before any model runs."""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field
from typing import Any

from .stopping import STOP_RULES
from .template import PRINCIPLES_MODES
from .voting import ORDER_STRATEGIES

# A scoring call's principles: the template's modes, plus "shared" (the first sample of an input writes them, the
# other samples of that input continue after them).
SCORING_PRINCIPLES_MODES = (*PRINCIPLES_MODES, "shared")


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
        metadata={
            "help": f"Principles: one of {', '.join(SCORING_PRINCIPLES_MODES)} (default: the GRM's). 'shared': the "
            "first sample of an input writes them and the other samples continue after them."
        },
    )
    k_meta: int | None = field(
        default=None, metadata={"help": "Samples the Meta RM keeps before voting (default: k/2; needs a Meta RM)."}
    )
    adaptive: bool = field(
        default=False,
        metadata={
            "help": "Draw the k samples in rounds and stop once the best response is settled (adaptive_rule); each "
            "result records num_drawn. The first m samples are those of full-k scoring."
        },
    )
    adaptive_rule: str = field(
        default="predictive",
        metadata={
            "help": f"Stopping rule of adaptive scoring: one of {', '.join(STOP_RULES)} ('exact': no remaining "
            "sample could change the winner; 'predictive': that, or a Bayesian predictive test at adaptive_alpha)."
        },
    )
    adaptive_alpha: float = field(
        default=0.02,
        metadata={"help": "Error level of the predictive rule: the modelled chance that the full-k winner differs."},
    )
    adaptive_round: int = field(
        default=2, metadata={"help": "Samples per input drawn in each round of adaptive scoring (the first >= 2)."}
    )
    constrained_scores: bool = field(
        default=False,
        metadata={
            "help": "Once the judge writes 'Scores:', decode only a valid \\boxed{...} with n integers in the score "
            "range (transformers and vLLM backends)."
        },
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

    def identity(self) -> dict[str, Any]:
        """:meth:`as_dict` without the cheaper-vote options while they are off (their defaults), so that results
        stored before those options existed keep their settings hash."""
        defaults = {f.name: f.default for f in dataclasses.fields(ScoringParameters) if f.name in _LATER_OPTIONS}
        return {k: v for k, v in self.as_dict().items() if not (k in _LATER_OPTIONS and v == defaults[k])}

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
        if self.principles_mode is not None and self.principles_mode not in SCORING_PRINCIPLES_MODES:
            raise ValueError(
                f"principles_mode must be one of {SCORING_PRINCIPLES_MODES}, got {self.principles_mode!r}"
            )
        self._check_adaptive(has_meta_rm)
        if self.seed is not None and (not isinstance(self.seed, numbers.Integral) or isinstance(self.seed, bool)):
            raise ValueError(f"seed must be an integer or None, got {self.seed!r}")
        own = {name: getattr(self, name) for name in ScoringParameters.names()}
        resolved = dict(num_samples=k, temperature=float(temperature), top_p=float(top_p))
        resolved.update(max_new_tokens=max_new_tokens, order_strategy=strategy, k_meta=k_meta)
        return ScoringParameters(**{**own, **resolved, "adaptive_alpha": float(self.adaptive_alpha)})

    def _check_adaptive(self, has_meta_rm: bool) -> None:
        for name in ("adaptive", "constrained_scores"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.adaptive_rule not in STOP_RULES:
            raise ValueError(f"adaptive_rule must be one of {STOP_RULES}, got {self.adaptive_rule!r}")
        if not _is_number(self.adaptive_alpha) or not 0 < self.adaptive_alpha < 1:
            raise ValueError(f"adaptive_alpha must be a number in (0, 1), got {self.adaptive_alpha!r}")
        if not _is_int(self.adaptive_round) or self.adaptive_round < 1:
            raise ValueError(f"adaptive_round must be an integer >= 1, got {self.adaptive_round!r}")
        if self.adaptive and has_meta_rm:
            raise ValueError(
                "adaptive scoring stops on the summed vote and cannot combine with Meta RM guided voting: score "
                "without a Meta RM (no meta_rm / --meta_rm) or without adaptive"
            )


_LATER_OPTIONS = ("adaptive", "adaptive_rule", "adaptive_alpha", "adaptive_round", "constrained_scores")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
