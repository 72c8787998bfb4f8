"""The GRM as the reward of policy training.

- :class:`GRMReward` for TRL's ``GRPOTrainer`` (listwise per prompt group, groups kept whole across processes,
  in-process or over ``trl-grm serve``);
- ``trl_grm.rewards.grm_reward`` for the stock TRL CLI (``trl grpo --reward_funcs trl_grm.rewards.grm_reward``):
  a :class:`GRMReward` built on first access from ``TRL_GRM_REWARD_*`` environment variables (the YAML's ``env:``
  block), once per process;
- :func:`trl_grm.rewards.verl.compute_score` for verl's reward loop; OpenRLHF's remote reward model is
  ``POST /get_reward`` on ``trl-grm serve``.
"""

from __future__ import annotations

from typing import Any

from .grm_reward_config import GRMRewardConfig
from .grm_reward_func import GRMReward, ServedGRMReward
from .groups import LARGE_GROUP_STRATEGIES, NORMALIZATIONS, group_outcome, infer_group_size, normalize, plan_sublists
from .processes import completion_text

__all__ = [
    "GRMReward",
    "GRMRewardConfig",
    "LARGE_GROUP_STRATEGIES",
    "NORMALIZATIONS",
    "ServedGRMReward",
    "completion_text",
    "group_outcome",
    "infer_group_size",
    "normalize",
    "plan_sublists",
]

_FROM_ENV: GRMReward | None = None


def __getattr__(name: str) -> Any:
    # ``grm_reward`` is built lazily so that the environment (set by TrlParser from the YAML's env: block before
    # the reward functions are imported) decides its settings, and whether it is sync (in-process) or async (server).
    global _FROM_ENV
    if name == "grm_reward":
        if _FROM_ENV is None:
            _FROM_ENV = GRMReward.from_env()
            _FROM_ENV.__name__ = "grm_reward"
        return _FROM_ENV
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
