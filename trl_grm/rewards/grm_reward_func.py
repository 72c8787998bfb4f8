"""The GRM as a TRL reward function: each prompt's group of completions is judged together, in one GRM input.

TRL's GRPO sampler repeats every prompt ``num_generations`` (G) times in a row and cuts the generation batch into
equal contiguous slices, one per process; a reward function sees only its process's slice, so a group can be split
between two processes. :class:`GRMReward` therefore gathers the rows of all processes (the batch in process
order), cuts it into groups of G, scores each group once (group ``j`` on process ``j mod P``, all of a process's
groups in one batched GRM call, or one request to ``trl-grm serve``) and gathers the outcomes again, so every
process returns the rewards of its own rows. With one process nothing is exchanged.

TRL's asynchronous GRPO trainer (``trl.experimental.async_grpo``) calls reward functions once per rollout group,
without ``trainer_state``: such a call is scored on its own (no exchange between processes), its rows are one
group, and its draws depend only on the group and the settings (step 0), since groups finish in no fixed order.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..protocol.seeding import fingerprint
from .grm_reward_config import GRMRewardConfig
from .groups import (
    Group,
    GroupOutcome,
    GroupPlan,
    group_outcomes,
    infer_group_size,
    plan_groups,
    split_groups,
    step_seed,
)
from .processes import all_gather, completion_text, distributed, process_device

logger = logging.getLogger(__name__)

API_KEY_ENV = "TRL_GRM_API_KEY"
_MAX_DELAY = 30.0  # seconds; cap of one backoff wait between server retries
_MAX_INPUTS_PER_REQUEST = 256  # trl-grm serve's default limit


@dataclass
class _Batch:
    """One reward call after the rows of all processes were gathered and this process's groups were planned."""

    step: int
    seed: int
    rank: int
    world: int
    offset: int  # global index of this process's first row
    num_local: int
    group_size: int
    groups: list[int]  # the groups this process scores
    plan: GroupPlan  # their GRM inputs (the one group-reward core)


class GRMReward:
    """A listwise GRM reward for TRL's ``GRPOTrainer``.

    ``GRPOTrainer(..., reward_funcs=[GRMReward("my-grm", num_samples=4)])`` scores in-process (the transformers or
    vLLM backend; the model is loaded on the first call, on this process's device);
    ``GRMReward(server_url="http://127.0.0.1:8000")`` sends the groups to ``trl-grm serve`` and is then an async
    reward function, which TRL runs concurrently with the others. Settings: :class:`GRMRewardConfig` (keywords,
    a config, or ``TRL_GRM_REWARD_*`` variables through :meth:`from_env`). For ``trl grpo --reward_funcs`` use
    ``trl_grm.rewards.grm_reward``.

    Each group of G completions of one prompt is one GRM input (n = G responses, k votes, optional Meta RM); the
    reward of a completion is its voted mean score, group-centred or its rank (``normalization``), ``None`` when no
    judgement of its group could be parsed. Larger groups than ``max_group_size`` are judged in sub-lists (see
    :mod:`trl_grm.rewards.groups`). Step ``s`` samples with the seed :func:`~trl_grm.rewards.groups.step_seed`
    derives from ``seed`` and ``s``, so a group's rewards depend only on the step, the group and the settings.

    Logged to TRL: the principles, critique and votes beside each completion (``log_extra``; columns
    ``grm_votes``, ``grm_principles``, ``grm_critique``) and ``grm/unscored_rate``, ``grm/failed_sample_rate``,
    ``grm/tie_rate``, ``grm/mean_votes`` and ``grm/seconds`` (``log_metric``).
    """

    def __new__(cls, model: Any = None, *args: Any, **kwargs: Any):
        config = kwargs.get("config") or (model if isinstance(model, GRMRewardConfig) else None)
        served = kwargs.get("server_url") or (config is not None and config.server_url)
        if cls is GRMReward and served:
            cls = ServedGRMReward
        return super().__new__(cls)

    def __init__(self, model: Any = None, *, config: GRMRewardConfig | None = None, **settings: Any):
        from ..modeling.modeling_grm import GRMForPointwiseScoring

        grm = None
        if isinstance(model, GRMRewardConfig):
            config, model = model, None
        elif isinstance(model, GRMForPointwiseScoring):
            grm, model = model, None
        elif model is not None and not isinstance(model, (str, os.PathLike)):
            raise TypeError(f"model must be a path, a Hub id or a GRMForPointwiseScoring, got {type(model).__name__}")
        if config is not None and (settings or model is not None):
            raise ValueError("give either a GRMRewardConfig or keyword settings, not both")
        if config is None:
            config = GRMRewardConfig(model=None if model is None else str(model), **settings)
        self.config = config
        self._grm = grm
        self._num_calls = 0
        self.calls: list[dict[str, Any]] = []  # what this process scored, call by call (also in the trace)
        self.__name__ = "grm"  # TRL's column name: rewards/grm/mean

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> GRMReward:
        """A reward configured by ``TRL_GRM_REWARD_*`` environment variables (a TRL YAML ``env:`` block sets them)."""
        return cls(config=GRMRewardConfig.from_env(environ, **overrides))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config})"

    def __getstate__(self) -> dict[str, Any]:  # picklable before and after loading: the engine stays behind
        return {**self.__dict__, "_grm": None}

    # ------------------------------------------------------------------------------------------------- engine
    @property
    def grm(self):
        """The in-process GRM, loaded on first use."""
        if self._grm is None:
            from ..modeling.loading import BackendArguments, load_grm

            kwargs: dict[str, Any] = {}
            device = process_device() if self.config.backend == "transformers" else None
            if device is not None:
                kwargs["device_map"] = {"": device}
            self._grm = load_grm(
                self.config.model,
                BackendArguments(backend=self.config.backend),
                meta_rm=self.config.meta_rm,
                max_batch_size=self.config.max_batch_size,
                **kwargs,
            )
        return self._grm

    def score_items(self, items: list[dict[str, Any]], seed: int) -> list[Any]:
        """Score GRM inputs in one batched call (in-process)."""
        return self.grm.score(items, self.config.scoring_parameters(seed), return_samples=True)

    # --------------------------------------------------------------------------------------------- the call
    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Any = None,
        trainer_state: Any = None,
        log_extra: Callable[[str, list], None] | None = None,
        log_metric: Callable[[str, float], None] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        batch = self._prepare(prompts, completions, trainer_state)
        start = time.perf_counter()
        results = self.score_items(batch.plan.items, batch.seed) if batch.plan.items else []
        return self._finish(batch, results, time.perf_counter() - start, log_extra, log_metric)

    def _prepare(self, prompts: Sequence[Any], completions: Sequence[Any], trainer_state: Any) -> _Batch:
        if len(prompts) != len(completions):
            raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
        texts = [completion_text(c) for c in completions]
        # TRL's synchronous trainer passes its state; a call without it (the async trainer's one group) is local.
        rank, world = distributed() if trainer_state is not None else (0, 1)
        rows = all_gather((list(prompts), texts), world)
        all_prompts = [p for part in rows for p in part[0]]
        all_texts = [t for part in rows for t in part[1]]
        offset = sum(len(part[0]) for part in rows[:rank])
        keys = [fingerprint(p) for p in all_prompts]
        size = self.config.num_generations or infer_group_size(keys)
        groups = split_groups(len(all_prompts), size)
        for j, rows_j in enumerate(groups):
            if len({keys[i] for i in rows_j}) != 1:
                raise ValueError(
                    f"group {j} (rows {rows_j.start}..{rows_j.stop - 1}) mixes prompts: num_generations={size} does "
                    "not match the trainer's"
                )
        step = int(getattr(trainer_state, "global_step", None) or 0)
        self._num_calls += 1
        seed = step_seed(self.config.seed, step)
        mine = [j for j in range(len(groups)) if j % world == rank]
        scored = [Group(all_prompts[groups[j].start], all_texts[groups[j].start : groups[j].stop]) for j in mine]
        plan = plan_groups(scored, seed, self.config.max_group_size, self.config.large_group_strategy)
        return _Batch(step, seed, rank, world, offset, len(prompts), size, mine, plan)

    def _finish(
        self,
        batch: _Batch,
        results: list[Any],
        seconds: float,
        log_extra: Callable[[str, list], None] | None,
        log_metric: Callable[[str, float], None] | None,
    ) -> list[float | None]:
        outcomes = dict(zip(batch.groups, group_outcomes(batch.plan, results, self.config.normalization)))
        gathered = all_gather({j: dataclasses.asdict(o) for j, o in outcomes.items()}, batch.world)
        every = {j: GroupOutcome(**o) for part in gathered for j, o in part.items()}
        rows = range(batch.offset, batch.offset + batch.num_local)
        located = [(every[g // batch.group_size], g % batch.group_size) for g in rows]
        rewards = [o.rewards[m] for o, m in located]
        call = {
            "step": batch.step,
            "rank": batch.rank,
            "rows": [rows.start, rows.stop],
            "group_size": batch.group_size,
            "scored_groups": batch.groups,
            "inputs_per_group": [len(p) for p in batch.plan.plans],
            "responses_per_input": [len(it["responses"]) for it in batch.plan.items],
            "engine_calls": int(bool(batch.plan.items)),
            "rewards": rewards,
            "seconds": round(seconds, 3),
        }
        self.calls.append(call)
        if self.config.trace_dir:
            path = Path(self.config.trace_dir)
            path.mkdir(parents=True, exist_ok=True)
            process = distributed()[0]  # the file of this process, also for a local (async GRPO) call
            with open(path / f"rank{process}.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps(call) + "\n")
        if log_extra is not None and self.config.log_critiques:
            cap = self.config.max_logged_chars
            log_extra("grm_votes", [_votes_text(o, m) for o, m in located])
            log_extra("grm_principles", [o.principles[m][:cap] for o, m in located])
            log_extra("grm_critique", [_critique_text(o, m, cap) for o, m in located])
        if log_metric is not None:
            # Global figures (every process knows every outcome), so the per-process average TRL takes is exact.
            all_outcomes = list(every.values())
            completions = sum(len(o.rewards) for o in all_outcomes)
            samples = sum(o.num_samples for o in all_outcomes)
            used = [u for o in all_outcomes for u in o.num_used]
            scored = [o for o in all_outcomes if o.scored]
            log_metric("grm/unscored_rate", sum(r is None for o in all_outcomes for r in o.rewards) / completions)
            log_metric("grm/failed_sample_rate", sum(o.num_failed_samples for o in all_outcomes) / max(samples, 1))
            log_metric("grm/tie_rate", sum(o.tied for o in scored) / len(scored) if scored else 0.0)
            log_metric("grm/mean_votes", sum(used) / len(used) if used else 0.0)
            inputs = sum(o.num_inputs for o in all_outcomes)
            log_metric("grm/context_overflow_rate", sum(o.num_context_overflow for o in all_outcomes) / max(inputs, 1))
            log_metric("grm/seconds", seconds)
        return rewards


def _votes_text(outcome: GroupOutcome, member: int) -> str:
    mean = outcome.mean_scores[member]
    if mean is None:
        return "unscored"
    return f"{mean:.2f} = mean({', '.join(map(str, outcome.votes[member]))})"


def _critique_text(outcome: GroupOutcome, member: int, cap: int) -> str:
    if outcome.shown_as[member] is None:
        return ""
    where = f"[this completion was Reply {outcome.shown_as[member]} of {outcome.shown_of[member]}] "
    return where + outcome.critiques[member][:cap]


class ServedGRMReward(GRMReward):
    """:class:`GRMReward` over ``trl-grm serve`` (``POST /v1/score``): an async reward function. Each process sends
    the groups it scores in one request (chunks of 256 inputs, sent together); the server micro-batches the
    requests of all processes into engine calls. Connection errors, HTTP 429 and 5xx are retried with exponential
    backoff (``Retry-After`` honoured); other 4xx answers fail at once with the server's message."""

    def __init__(self, model: Any = None, *, config: GRMRewardConfig | None = None, **settings: Any):
        super().__init__(model, config=config, **settings)
        if self.config.server_url is None:
            raise ValueError("ServedGRMReward needs server_url")

    @property
    def grm(self):
        raise AttributeError("a served GRM reward has no in-process model; it scores at server_url")

    async def __call__(  # type: ignore[override]
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        completion_ids: Any = None,
        trainer_state: Any = None,
        log_extra: Callable[[str, list], None] | None = None,
        log_metric: Callable[[str, float], None] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        batch = self._prepare(prompts, completions, trainer_state)
        start = time.perf_counter()
        results = await self.score_items_async(batch.plan.items, batch.seed) if batch.plan.items else []
        return self._finish(batch, results, time.perf_counter() - start, log_extra, log_metric)

    def score_items(self, items: list[dict[str, Any]], seed: int) -> list[Any]:
        return asyncio.run(self.score_items_async(items, seed))

    async def score_items_async(self, items: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
        """Score GRM inputs on the server (result dicts, in order)."""
        import httpx

        chunks = [items[i : i + _MAX_INPUTS_PER_REQUEST] for i in range(0, len(items), _MAX_INPUTS_PER_REQUEST)]
        params = {k: v for k, v in self.config.scoring_parameters(seed).identity().items() if v is not None}
        key = self.config.api_key or os.environ.get(API_KEY_ENV)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        url = self.config.server_url.rstrip("/") + "/v1/score"
        async with httpx.AsyncClient(timeout=self.config.timeout, headers=headers) as client:
            answers = await asyncio.gather(
                *(self._post(client, url, {"inputs": chunk, "return_samples": True, **params}) for chunk in chunks)
            )
        return [r for answer in answers for r in answer["results"]]

    async def _post(self, client: Any, url: str, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        delay = 1.0
        for attempt in range(self.config.max_retries + 1):
            last = attempt == self.config.max_retries
            try:
                response = await client.post(url, json=body)
            except httpx.TransportError as err:
                if last:
                    reason = f"{type(err).__name__}: {err}"
                    raise RuntimeError(f"the GRM server at {url} is unreachable: {reason}") from None
                wait = delay
            else:
                if response.status_code == 200:
                    return response.json()
                message = _error_message(response)
                if response.status_code != 429 and response.status_code < 500 or last:
                    raise RuntimeError(f"the GRM server at {url} answered HTTP {response.status_code}: {message}")
                wait = _retry_after(response, delay)
            logger.warning("GRM server: retrying in %.1f s (attempt %d)", wait, attempt + 1)
            await asyncio.sleep(min(wait, _MAX_DELAY))
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover


def _error_message(response: Any) -> str:
    try:
        return response.json()["error"]["message"]
    except Exception:  # noqa: BLE001 - not our server's error shape
        return response.text[:500]


def _retry_after(response: Any, default: float) -> float:
    try:
        return float(response.headers.get("retry-after", default))
    except ValueError:
        return default
