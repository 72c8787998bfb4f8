"""The settings that evaluation numbers depend on."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EvalSettings:
    """What the numbers depend on.

    Args:
        ks: the k values of Voting@k / MetaRM@k; samples are drawn once, at ``max(ks)``.
        greedy: also evaluate one greedy (temperature 0) judgement per example.
        temperature: sampling temperature of the voting samples (paper: 0.5).
        max_new_tokens: length budget of one judgement (the model's GRM setting when ``None``).
        principles_mode: ``"self"``, ``"given"`` or ``"none"`` (ablation); the model's setting when ``None``.
        k_meta: samples kept by MetaRM@k (k/2 when ``None``).
        num_subsets: k-subsets averaged per example and k (all of them when there are at most this many).
        tie_break: ``"random"`` (seeded, the paper's rule) or ``"expected"`` (1/m credit for an m-way tie).
        bootstrap: resamples of the bootstrap confidence intervals (95%).
        seed: seeds orders, sampling, subsets, tie-breaks and the bootstrap.
        strict_context: an example that does not fit the model's context stops the evaluation (default: its
            judgements fail as ``context_overflow``, are scored by the metric's rule for a failed judgement and are
            counted in the report).
    """

    ks: list[int] = field(default_factory=lambda: [1, 2, 4, 8])
    greedy: bool = True
    temperature: float = 0.5
    max_new_tokens: int | None = None
    principles_mode: str | None = None
    k_meta: int | None = None
    num_subsets: int = 64
    tie_break: str = "random"
    bootstrap: int = 1000
    seed: int = 0
    strict_context: bool = False

    def __post_init__(self) -> None:
        if not self.ks or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in self.ks):
            raise ValueError(f"ks must be a non-empty list of positive integers, got {self.ks!r}")
        self.ks = sorted(set(self.ks))
        if self.k_meta is not None and not 1 <= self.k_meta <= min(self.ks):
            raise ValueError(f"k_meta must be in 1..{min(self.ks)} (the smallest k), got {self.k_meta}")
        if self.tie_break not in ("random", "expected"):
            raise ValueError(f"tie_break must be 'random' or 'expected', got {self.tie_break!r}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0 for Voting@k samples, got {self.temperature}")
        if self.num_subsets < 1 or self.bootstrap < 1:
            raise ValueError("num_subsets and bootstrap must be >= 1")
