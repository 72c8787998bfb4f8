"""Settings of the GRM as a policy reward (:class:`~trl_grm.rewards.GRMReward`)."""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..backends.base import BACKENDS
from ..protocol.parameters import SCORING_PRINCIPLES_MODES, ScoringParameters
from ..protocol.voting import ORDER_STRATEGIES
from .groups import LARGE_GROUP_STRATEGIES, NORMALIZATIONS

ENV_PREFIX = "TRL_GRM_REWARD_"


@dataclass
class GRMRewardConfig(ScoringParameters):
    """How the GRM scores a policy's completions: the scoring parameters of every call (the fields of
    :class:`~trl_grm.protocol.parameters.ScoringParameters`; here ``num_samples`` defaults to 4 and ``seed`` is the
    base seed each training step derives its own from) plus the reward's own settings. Every field can also be set by
    an environment variable ``TRL_GRM_REWARD_<FIELD>`` (e.g. ``TRL_GRM_REWARD_NUM_SAMPLES=8``), which is what the
    ``env:`` block of a TRL YAML config sets; see :meth:`from_env`."""

    model: str | None = field(
        default=None,
        metadata={"help": "GRM checkpoint (directory or Hub id) run in-process. Default: the embedded demo GRM."},
    )
    server_url: str | None = field(
        default=None,
        metadata={
            "help": "Root URL of a `trl-grm serve` (e.g. http://127.0.0.1:8000): score there instead of in-process "
            "(the reward function is then async)."
        },
    )
    api_key: str | None = field(
        default=None, metadata={"help": "Bearer token for the server (default: $TRL_GRM_API_KEY)."}
    )
    backend: str = field(default="transformers", metadata={"help": "In-process engine: 'transformers' or 'vllm'."})
    meta_rm: str | None = field(default=None, metadata={"help": "Meta RM (directory or Hub id) for guided voting."})
    num_samples: int = field(default=4, metadata={"help": "k: judgements per group, response order shuffled each."})
    order_strategy: str = field(
        default="random", metadata={"help": f"Response order per sample: one of {ORDER_STRATEGIES}."}
    )
    normalization: str = field(
        default="mean",
        metadata={"help": f"Reward per completion: one of {NORMALIZATIONS} (see trl_grm.rewards.groups)."},
    )
    num_generations: int | None = field(
        default=None,
        metadata={
            "help": "Completions per prompt (GRPOConfig.num_generations). Default: inferred from the runs of "
            "equal prompts in the gathered batch."
        },
    )
    max_group_size: int = field(
        default=8, metadata={"help": "Most completions judged in one GRM input; larger groups use sub-lists."}
    )
    large_group_strategy: str = field(
        default="overlap",
        metadata={"help": f"Sub-lists of a larger group: one of {LARGE_GROUP_STRATEGIES}."},
    )
    seed: int = field(default=0, metadata={"help": "Base seed; each training step derives its own from it."})
    log_critiques: bool = field(
        default=True, metadata={"help": "Add the judge's principles, critique and votes to TRL's completions table."}
    )
    max_logged_chars: int = field(default=1000, metadata={"help": "Longest principles / critique text logged."})
    max_batch_size: int = field(default=64, metadata={"help": "transformers: most sequences decoded together."})
    timeout: float = field(default=600.0, metadata={"help": "Seconds to wait for one server response."})
    max_retries: int = field(
        default=5, metadata={"help": "Retries of a server request after a connection error, HTTP 429 or 5xx."}
    )
    trace_dir: str | None = field(
        default=None,
        metadata={
            "help": "Write one JSON line per reward call and process (rank<i>.jsonl): the rows it got, the groups "
            "it scored and the rewards (for checking how groups were formed)."
        },
    )

    def __post_init__(self) -> None:
        if self.model is not None and self.server_url is not None:
            raise ValueError("give either model (in-process) or server_url (a trl-grm serve), not both")
        if self.server_url is not None and not str(self.server_url).startswith(("http://", "https://")):
            raise ValueError(f"server_url must be an http(s) URL (http://127.0.0.1:8000), got {self.server_url!r}")
        if self.backend not in BACKENDS[:2]:
            raise ValueError(f"backend must be 'transformers' or 'vllm' (or give server_url), got {self.backend!r}")
        if self.principles_mode is not None and self.principles_mode not in SCORING_PRINCIPLES_MODES:
            raise ValueError(
                f"principles_mode must be one of {SCORING_PRINCIPLES_MODES}, got {self.principles_mode!r}"
            )
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.order_strategy not in ORDER_STRATEGIES:
            raise ValueError(f"order_strategy must be one of {ORDER_STRATEGIES}, got {self.order_strategy!r}")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {self.normalization!r}")
        if self.large_group_strategy not in LARGE_GROUP_STRATEGIES:
            raise ValueError(
                f"large_group_strategy must be one of {LARGE_GROUP_STRATEGIES}, got {self.large_group_strategy!r}"
            )
        for name in ("num_samples", "max_group_size", "max_batch_size", "max_logged_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_group_size < 2:
            raise ValueError(f"max_group_size must be >= 2, got {self.max_group_size}")
        if self.num_generations is not None and self.num_generations < 1:
            raise ValueError(f"num_generations must be >= 1, got {self.num_generations}")
        if self.k_meta is not None and not 1 <= self.k_meta <= self.num_samples:
            raise ValueError(f"k_meta must be in 1..{self.num_samples} (num_samples), got {self.k_meta}")
        if self.max_retries < 0 or self.timeout <= 0:
            raise ValueError("max_retries must be >= 0 and timeout > 0")

    def scoring_parameters(self, seed: int) -> ScoringParameters:
        """The parameters of one scoring call (this config's fields of the one description) with ``seed``."""
        values = {name: getattr(self, name) for name in ScoringParameters.names()}
        return ScoringParameters(**{**values, "seed": seed})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> GRMRewardConfig:
        """Read ``TRL_GRM_REWARD_<FIELD>`` variables (``overrides`` win). An unknown ``TRL_GRM_REWARD_*`` variable or
        a value of the wrong type is an error that names the variable."""
        environ = os.environ if environ is None else environ
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in environ.items():
            if not key.startswith(ENV_PREFIX):
                continue
            name = key[len(ENV_PREFIX) :].lower()
            if name not in names:
                known = ", ".join(ENV_PREFIX + n.upper() for n in sorted(names))
                raise ValueError(f"unknown setting {key}; known: {known}")
            try:
                values[name] = _convert(raw, hints[name])
            except ValueError:
                raise ValueError(f"{key}={raw!r} is not a valid {_type_name(hints[name])}") from None
        values.update(overrides)
        return cls(**values)


def _type_name(hint: Any) -> str:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return (args[0] if args else hint).__name__


def _convert(raw: str, hint: Any) -> Any:
    args = typing.get_args(hint)
    optional = type(None) in args
    if optional and raw.strip().lower() in ("", "none", "null"):
        return None
    base = next((a for a in args if a is not type(None)), hint) if isinstance(hint, types.UnionType) or args else hint
    if base is bool:
        low = raw.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(raw)
    if base is int:
        return int(raw)
    if base is float:
        return float(raw)
    return raw
