"""The GRM in verl's reward loop: ``custom_reward_function.path=<this file's module path>``, ``name=compute_score``.

verl serves the reward model (``reward_model.model.path`` = a GRM checkpoint) behind an OpenAI-compatible router
and calls ``compute_score`` once per rollout, passing the router's address (``host:port``). This adapter judges
the rollout as a single response (n = 1; verl's reward loop scores one sample per call, so there is no group to
judge together) with k votes through :class:`~trl_grm.GRMForPointwiseScoring` over the router (the GRM's own
template, parsing and voting), and returns ``{"score": mean score, ...}`` with the critique in the extra info.

Settings: the ``TRL_GRM_REWARD_*`` variables of :class:`~trl_grm.rewards.GRMRewardConfig` (``NUM_SAMPLES``,
``TEMPERATURE``, ``MAX_NEW_TOKENS``, ``SEED``, ``API_KEY``, ``TIMEOUT``, ``MAX_RETRIES``) and:

- ``TRL_GRM_VERL_MODEL``: the served model name (default: the reward tokenizer's ``name_or_path``);
- ``TRL_GRM_VERL_QUESTION_KEY``: the ``extra_info`` key holding the question (default ``question``; ``prompt``
  is tried next);
- ``TRL_GRM_VERL_USE_REFERENCE``: ``1`` shows ``ground_truth`` to the judge as the reference answer;
- ``TRL_GRM_VERL_FAILURE_SCORE``: the score to return when no judgement could be parsed. verl needs a number for
  every rollout; there is no default, so without it an unscorable rollout is an error (never a made-up score).
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from .grm_reward_config import GRMRewardConfig
from .groups import Group, group_outcomes, plan_groups, step_seed

_GRMS: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()


def _grm_for(address: str, model: str, config: GRMRewardConfig):
    from ..modeling.configuration_grm import GRMConfig
    from ..modeling.loading import BackendArguments, load_grm

    base_url = address if address.startswith(("http://", "https://")) else f"http://{address}"
    key = (base_url, model)
    with _LOCK:
        if key not in _GRMS:
            engine = BackendArguments(
                backend="openai",
                base_url=base_url.rstrip("/") + "/v1",
                served_model_name=model,
                endpoint_api_key=config.api_key or os.environ.get("TRL_GRM_API_KEY") or "EMPTY",
                request_timeout=config.timeout,
                max_retries=config.max_retries,
            )
            _GRMS[key] = load_grm(None, engine, config=GRMConfig.from_model(model))
        return _GRMS[key]


def _question(extra_info: Any) -> Any:
    key = os.environ.get("TRL_GRM_VERL_QUESTION_KEY", "question")
    if isinstance(extra_info, dict):
        for name in (key, "prompt"):
            if extra_info.get(name):
                return extra_info[name]
    raise ValueError(
        f"extra_info has no {key!r} (or 'prompt'): the GRM judges a response against its question; put the question "
        "in extra_info when preparing the verl dataset, or name its key with TRL_GRM_VERL_QUESTION_KEY"
    )


async def compute_score(
    data_source: Any = None,
    solution_str: str = "",
    ground_truth: Any = None,
    extra_info: dict | None = None,
    reward_router_address: str | None = None,
    reward_model_tokenizer: Any = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """verl's async reward-loop signature. Returns ``score`` (the voted mean score, 1..10 on the default scale) and
    ``grm_scored`` / ``grm_votes`` / ``grm_failed_samples`` / ``grm_critique`` / ``grm_principles`` as extra info."""
    if not reward_router_address:
        raise ValueError(
            "reward_router_address is empty: enable verl's reward model (reward_model.enable=True) with the GRM "
            "checkpoint as reward_model.model.path"
        )
    config = GRMRewardConfig.from_env()
    model = os.environ.get("TRL_GRM_VERL_MODEL") or getattr(reward_model_tokenizer, "name_or_path", None)
    if not model:
        raise ValueError("no served model name: set TRL_GRM_VERL_MODEL (or pass reward_model_tokenizer)")
    reference = None
    if os.environ.get("TRL_GRM_VERL_USE_REFERENCE", "0").lower() in ("1", "true", "yes") and ground_truth:
        reference = str(ground_truth)
    grm = _grm_for(reward_router_address, model, config)
    # The one group-reward core: the rollout is a group of one, sampled with the seed of its training step (verl
    # passes no step to compute_score; extra_info["global_step"] is used when the dataset carries it, else step 0).
    step = (extra_info.get("global_step") if isinstance(extra_info, dict) else None) or 0
    seed = step_seed(config.seed, step)
    plan = plan_groups(
        [Group(_question(extra_info), [solution_str], reference)], seed, config.max_group_size, "overlap"
    )
    results = await asyncio.to_thread(grm.score, plan.items, config.scoring_parameters(seed), return_samples=True)
    outcome = group_outcomes(plan, results, "mean")[0]
    info = {
        "grm_scored": outcome.scored,
        "grm_votes": outcome.num_used[0],
        "grm_failed_samples": outcome.num_failed_samples,
        "grm_principles": outcome.principles[0],
        "grm_critique": outcome.critiques[0] or (results[0].error or ""),
    }
    if not outcome.scored:
        fallback = os.environ.get("TRL_GRM_VERL_FAILURE_SCORE")
        if fallback is None:
            raise RuntimeError(
                f"the GRM could not score this rollout ({results[0].error}); set TRL_GRM_VERL_FAILURE_SCORE to the "
                "score verl should use for rollouts the GRM cannot judge"
            )
        return {"score": float(fallback), **info}
    return {"score": outcome.mean_scores[0], **info}
