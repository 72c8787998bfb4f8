"""The scoring service behind ``trl-grm serve``: one GRM (loaded in a thread at startup), a micro-batcher in front of
its engine, and what the routes ask of it. ``POST /v1/score`` takes the ``trl-grm score`` input schema plus the
scoring parameters (the one description, :class:`~trl_grm.protocol.parameters.ScoringParameters`);
``POST /get_reward`` is OpenRLHF's remote reward model over the one group-reward core (:mod:`trl_grm.rewards.groups`).
The routes (:mod:`trl_grm.serving.app`) only authorise, read and validate bodies and turn :class:`ServiceError` into
an HTTP answer.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from ..protocol.inputs import to_inputs
from ..protocol.parameters import ScoringParameters
from ..rewards.groups import Group, group_outcomes, plan_groups, step_seed
from .batching import MicroBatcher

logger = logging.getLogger(__name__)


@dataclass
class ServeSettings:
    """Limits and batching of the service."""

    max_batch_inputs: int = 32  # inputs scored together in one engine call
    max_wait_ms: float = 10.0  # how long a batch waits for more requests
    max_queue_inputs: int = 1024  # inputs waiting; beyond that: 429
    max_body_bytes: int = 4 * 1024 * 1024
    max_inputs_per_request: int = 256
    max_responses: int = 64  # responses per input
    api_key: str | None = None  # bearer token; none: no authentication (loopback only, see the CLI)
    # POST /get_reward (OpenRLHF): how a group's voted scores become rewards (see trl_grm.rewards.groups)
    reward_normalization: str = "mean"
    reward_max_group_size: int = 8
    reward_large_group_strategy: str = "overlap"
    unscored_reward: float | None = None  # the reward of a completion the GRM could not score; None: JSON null
    reward_seed: int = 0  # the base seed of /get_reward; step s samples with step_seed(reward_seed, s)


def _parameter_fields() -> dict[str, Any]:
    """The request fields of the scoring parameters: their types, defaults and help, from the one dataclass."""
    types = typing.get_type_hints(ScoringParameters)
    return {
        f.name: (types[f.name], Field(default=f.default, description=f.metadata.get("help")))
        for f in dataclasses.fields(ScoringParameters)
    }


# The body of ``POST /v1/score``: inputs as for ``trl-grm score``, the scoring parameters, and return_samples.
ScoreRequest = create_model(
    "ScoreRequest",
    __config__=ConfigDict(extra="forbid"),
    inputs=(dict[str, Any] | list[dict[str, Any]], ...),
    return_samples=(bool, True),
    **_parameter_fields(),
)


class RewardRequest(BaseModel):
    """The body of ``POST /get_reward`` (OpenRLHF's remote reward model): ``query`` (prompt + response texts),
    ``prompts`` (the prompt texts, each a prefix of its query), ``labels`` (unused by the GRM) and ``step`` (the
    training step, which seeds the draws; the server counts its calls when it is missing)."""

    model_config = ConfigDict(extra="ignore")  # OpenRLHF may add fields (e.g. metas)

    query: list[str]
    prompts: list[str] | None = None
    labels: list[Any] | None = None
    step: int | None = None


class ServiceError(Exception):
    """A request the service refuses or could not serve: an HTTP status, a message and optional headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


class ScoringService:
    """One GRM behind a micro-batcher. ``load_grm`` builds it (in a thread, from :meth:`start`)."""

    def __init__(self, load_grm: Callable[[], Any], settings: ServeSettings, model_name: str = "grm"):
        self.load_grm, self.settings, self.model_name = load_grm, settings, model_name
        self.grm: Any = None
        self.error: str | None = None
        self.reward_calls = 0
        self.batcher: MicroBatcher | None = None  # built in start(), inside the event loop that serves

    def _score(self, items: list[Any], **params: Any) -> list[Any]:
        return self.grm.score(items, **params)

    # ------------------------------------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Load the GRM in a thread (``ready`` says when) and start the batcher (inside the event loop)."""

        def load() -> None:
            try:
                self.grm = self.load_grm()
            except Exception as err:  # noqa: BLE001 - reported by /ready
                logger.exception("loading the GRM failed")
                self.error = f"{type(err).__name__}: {err}"

        threading.Thread(target=load, name="grm-loader", daemon=True).start()
        s = self.settings
        self.batcher = MicroBatcher(self._score, s.max_batch_inputs, s.max_wait_ms, s.max_queue_inputs)
        self.batcher.start()

    async def stop(self) -> None:
        if self.batcher is not None:
            await self.batcher.stop()

    def require_ready(self) -> None:
        if self.grm is None:
            raise ServiceError(503, self.error or "the model is loading", {"Retry-After": "5"})

    # ------------------------------------------------------------------------------------------------ scoring
    async def run_batch(self, items: list[Any], params: dict[str, Any]) -> list[Any]:
        """Queue inputs for the engine; a full queue is 429, an input the engine refuses 422, an engine error 500."""
        if self.batcher.full(len(items)):
            raise ServiceError(429, "the queue is full; retry later", {"Retry-After": "1"})
        try:
            return await self.batcher.submit(items, params)
        except ValueError as err:  # e.g. an input that does not fit the model's context
            raise ServiceError(422, str(err)) from None
        except Exception as err:  # noqa: BLE001
            raise ServiceError(500, f"the engine failed on this batch: {type(err).__name__}: {err}") from None

    def _inputs(self, raw_items: list[Any], limits: bool = True) -> list[Any]:
        """Validated inputs (422 for a bad field), within the request limits when ``limits`` (else 413)."""
        s = self.settings
        if limits and len(raw_items) > s.max_inputs_per_request:
            raise ServiceError(413, f"inputs: {len(raw_items)} inputs, over the limit of {s.max_inputs_per_request} "
                                    "per request")  # fmt: skip
        try:
            items, _ = to_inputs(raw_items)
        except (ValueError, TypeError) as err:
            raise ServiceError(422, str(err)) from None
        for i, item in enumerate(items):
            if limits and len(item.responses) > s.max_responses:
                raise ServiceError(413, f"inputs[{i}].responses: {len(item.responses)} responses, over the limit "
                                        f"of {s.max_responses}")  # fmt: skip
        return items

    def _resolve(self, params: ScoringParameters) -> dict[str, Any]:
        """The call's parameters resolved against the GRM's settings (422 when they are bad)."""
        try:
            resolved = params.resolve(self.grm.config, has_meta_rm=self.grm.meta_rm is not None)
        except (ValueError, TypeError) as err:
            raise ServiceError(422, str(err)) from None
        return resolved.as_dict()

    async def score(self, body: Any) -> dict[str, Any]:
        """``POST /v1/score``: one result for a single input, else ``{"results": [...]}``."""
        single = isinstance(body.inputs, dict)
        items = self._inputs([body.inputs] if single else body.inputs)
        params = ScoringParameters(**{name: getattr(body, name) for name in ScoringParameters.names()})
        resolved = self._resolve(params)
        results = await self.run_batch(items, {**resolved, "return_samples": body.return_samples})
        out = [r.to_dict() for r in results]
        return out[0] if single else {"results": out}

    async def reward(self, body: RewardRequest) -> dict[str, Any]:
        """``POST /get_reward``: the completions of one prompt are judged together (one group of the group-reward
        core); see :func:`reward_answer` for the answer."""
        if body.prompts is None:
            raise ServiceError(422, "prompts: required (the GRM judges each response against its prompt)")
        if len(body.prompts) != len(body.query):
            raise ServiceError(422, f"prompts: {len(body.prompts)} prompts for {len(body.query)} queries")
        responses = []
        for i, (query, prompt) in enumerate(zip(body.query, body.prompts)):
            if not query.startswith(prompt):
                raise ServiceError(422, f"query[{i}] does not start with prompts[{i}]")
            responses.append(query[len(prompt) :])
        rows: dict[str, list[int]] = {}
        for i, prompt in enumerate(body.prompts):
            rows.setdefault(prompt, []).append(i)
        step = self.reward_calls if body.step is None else body.step
        self.reward_calls += 1
        s = self.settings
        seed = step_seed(s.reward_seed, step)
        groups = [Group(prompt, [responses[i] for i in members]) for prompt, members in rows.items()]
        plan = plan_groups(groups, seed, s.reward_max_group_size, s.reward_large_group_strategy)
        inputs = self._inputs(plan.items, limits=False)
        resolved = self._resolve(ScoringParameters(seed=seed))
        results = await self.run_batch(inputs, {**resolved, "return_samples": True})
        outcomes = group_outcomes(plan, results, s.reward_normalization)
        return reward_answer(len(body.query), list(rows.values()), outcomes, self.grm.config.score_range, s)


def reward_answer(n: int, rows: list[list[int]], outcomes: list[Any], score_range, settings: ServeSettings) -> dict:
    """OpenRLHF's answer: ``rewards`` (per ``reward_normalization``), ``scores`` (the mean score scaled to 0..1, for
    its dynamic filtering), ``extra_logs`` (numbers per sample: ``grm_mean_score``, ``grm_unscored``, ``grm_tied``,
    ``grm_votes``) and ``critiques`` (text, per sample). A completion the GRM could not score gets
    ``unscored_reward`` (``null`` unless the server sets one)."""
    rewards: list[float | None] = [None] * n
    scores: list[float | None] = [None] * n
    logs: dict[str, list[float]] = {k: [0.0] * n for k in ("grm_mean_score", "grm_unscored", "grm_tied", "grm_votes")}
    critiques = [""] * n
    low, high = score_range
    for members, outcome in zip(rows, outcomes):
        for m, i in enumerate(members):
            mean = outcome.mean_scores[m]
            rewards[i] = outcome.rewards[m] if mean is not None else settings.unscored_reward
            if mean is not None:
                scores[i] = (mean - low) / (high - low)
            elif settings.unscored_reward is not None:
                scores[i] = 0.0
            logs["grm_mean_score"][i] = float(mean) if mean is not None else 0.0
            logs["grm_unscored"][i] = float(mean is None)
            logs["grm_tied"][i] = float(outcome.tied)
            logs["grm_votes"][i] = float(len(outcome.votes[m]))
            critiques[i] = outcome.critiques[m]
    return {"rewards": rewards, "scores": scores, "extra_logs": logs, "critiques": critiques}
