"""``trl-grm serve``: an HTTP scoring service over one GRM (+ optional Meta RM), on FastAPI + uvicorn.

``POST /v1/score`` takes the ``trl-grm score`` input schema (``{"inputs": {...} | [{...}, ...], "num_samples": ...}``)
and answers with its result shape. ``POST /get_reward`` is OpenRLHF's remote reward model contract (see
:func:`create_app`). Concurrent requests with the same sampling settings are micro-batched into one
engine call (an input's result depends only on the seed, the input and the settings, so batching never changes an
answer). The queue is bounded (429 with ``Retry-After`` when full); bad input is a 4xx naming the field; an engine
error fails only the requests of its batch (500); ``GET /health`` is liveness and ``GET /ready`` says whether the
model is loaded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError

logger = logging.getLogger(__name__)


class ScoreRequest(BaseModel):
    """The body of ``POST /v1/score``: inputs as for ``trl-grm score`` plus the scoring options."""

    model_config = ConfigDict(extra="forbid")

    inputs: dict[str, Any] | list[dict[str, Any]]
    num_samples: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_new_tokens: int | None = None
    seed: int = 0
    order_strategy: str | None = None
    principles_mode: str | None = None
    k_meta: int | None = None
    return_samples: bool = True


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


class RewardRequest(BaseModel):
    """The body of ``POST /get_reward`` (OpenRLHF's remote reward model): ``query`` (prompt + response texts),
    ``prompts`` (the prompt texts, each a prefix of its query) and ``labels`` (unused by the GRM)."""

    model_config = ConfigDict(extra="ignore")  # OpenRLHF may add fields (e.g. metas)

    query: list[str]
    prompts: list[str] | None = None
    labels: list[Any] | None = None


@dataclass
class _Job:
    items: list[Any]
    params: dict[str, Any]
    future: asyncio.Future = field(repr=False)


class MicroBatcher:
    """Collects jobs with equal scoring parameters into engine calls of at most ``max_batch_inputs`` inputs."""

    def __init__(self, score: Callable[..., list[Any]], settings: ServeSettings):
        self.score, self.settings = score, settings
        self.queue: asyncio.Queue[_Job] = asyncio.Queue()
        self.pending_inputs = 0
        self.engine_calls = 0
        self._task: asyncio.Task | None = None
        self._lock = threading.Lock()  # one engine call at a time

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def full(self, n: int) -> bool:
        return self.pending_inputs + n > self.settings.max_queue_inputs

    async def submit(self, items: list[Any], params: dict[str, Any]) -> list[Any]:
        job = _Job(items, params, asyncio.get_running_loop().create_future())
        self.pending_inputs += len(items)
        await self.queue.put(job)
        # shield: a client that disconnects cancels its handler, not the job; its result is simply not sent
        return await asyncio.shield(job.future)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        carry: list[_Job] = []
        while True:
            first = carry.pop(0) if carry else await self.queue.get()
            batch, size = [first], len(first.items)
            deadline = loop.time() + self.settings.max_wait_ms / 1000
            while size < self.settings.max_batch_inputs:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self.queue.get(), timeout)
                except asyncio.TimeoutError:
                    break
                if job.params == first.params and size + len(job.items) <= self.settings.max_batch_inputs:
                    batch.append(job)
                    size += len(job.items)
                else:
                    carry.append(job)  # other settings, or too big for this batch: the next one
            items = [it for job in batch for it in job.items]
            try:
                results = await loop.run_in_executor(None, self._score, items, first.params)
            except Exception as err:  # noqa: BLE001 - the batch fails, the server stays up
                logger.exception("engine error in a batch of %d input(s)", len(items))
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(err)
            else:
                start = 0
                for job in batch:
                    if not job.future.done():  # the client may have gone: its result is dropped, nobody else's
                        job.future.set_result(results[start : start + len(job.items)])
                    start += len(job.items)
            finally:
                self.pending_inputs -= size

    def _score(self, items: list[Any], params: dict[str, Any]) -> list[Any]:
        with self._lock:
            self.engine_calls += 1
            return self.score(items, **params)


def create_app(
    load_grm: Callable[[], Any],
    settings: ServeSettings | None = None,
    model_name: str = "grm",
) -> FastAPI:
    """The ASGI app. ``load_grm`` builds the GRM (called once, in a thread, at startup: ``/ready`` says when)."""
    from ..modeling.modeling_grm import resolve_score_settings
    from ..protocol.inputs import to_inputs

    settings = settings or ServeSettings()
    state: dict[str, Any] = {"grm": None, "error": None, "batcher": None}

    async def lifespan(app: FastAPI):
        def load() -> None:
            try:
                state["grm"] = load_grm()
            except Exception as err:  # noqa: BLE001 - reported by /ready
                logger.exception("loading the GRM failed")
                state["error"] = f"{type(err).__name__}: {err}"

        loader = threading.Thread(target=load, name="grm-loader", daemon=True)
        loader.start()
        batcher = MicroBatcher(lambda items, **p: state["grm"].score(items, **p), settings)
        state["batcher"] = batcher
        batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="trl-grm", lifespan=lifespan)
    app.state.grm_state = state

    def fail(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"error": {"message": message, "code": status}}, status_code=status, headers=headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return fail(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    def authorize(request: Request) -> None:
        if settings.api_key is None:
            return
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        if not secrets.compare_digest(token.encode(), settings.api_key.encode()):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready():
        if state["grm"] is not None:
            return {"ready": True, "model": model_name}
        return fail(503, state["error"] or "the model is loading")

    async def read_body(request: Request, schema: type[BaseModel]) -> Any:
        """Authorise, check the model is loaded and the body's size, and validate it against ``schema``."""
        authorize(request)
        if state["grm"] is None:
            raise HTTPException(503, state["error"] or "the model is loading", headers={"Retry-After": "5"})
        length = request.headers.get("content-length")
        if length is not None and int(length) > settings.max_body_bytes:
            raise HTTPException(413, f"request body over {settings.max_body_bytes} bytes")
        raw = await request.body()
        if len(raw) > settings.max_body_bytes:
            raise HTTPException(413, f"request body over {settings.max_body_bytes} bytes")
        try:
            return schema.model_validate_json(raw)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "body"
            raise HTTPException(422, f"{where}: {first['msg']}") from None

    async def run_batch(items: list[Any], params: dict[str, Any]) -> list[Any]:
        """Queue inputs for the engine; a full queue is 429, an input the engine refuses 422, an engine error 500."""
        batcher: MicroBatcher = state["batcher"]
        if batcher.full(len(items)):
            raise HTTPException(429, "the queue is full; retry later", headers={"Retry-After": "1"})
        try:
            return await batcher.submit(items, params)
        except ValueError as err:  # e.g. an input that does not fit the model's context
            raise HTTPException(422, str(err)) from None
        except Exception as err:  # noqa: BLE001
            raise HTTPException(500, f"the engine failed on this batch: {type(err).__name__}: {err}") from None

    @app.post("/v1/score")
    async def score(request: Request):
        body = await read_body(request, ScoreRequest)
        single = isinstance(body.inputs, dict)
        raw_items = [body.inputs] if single else body.inputs
        if len(raw_items) > settings.max_inputs_per_request:
            raise HTTPException(413, f"inputs: {len(raw_items)} inputs, over the limit of "
                                     f"{settings.max_inputs_per_request} per request")  # fmt: skip
        grm = state["grm"]
        try:
            items, _ = to_inputs(raw_items)
            for i, item in enumerate(items):
                if len(item.responses) > settings.max_responses:
                    raise HTTPException(413, f"inputs[{i}].responses: {len(item.responses)} responses, over the "
                                             f"limit of {settings.max_responses}")  # fmt: skip
            resolved = resolve_score_settings(
                grm.config,
                has_meta_rm=grm.meta_rm is not None,
                num_samples=body.num_samples,
                temperature=body.temperature,
                top_p=body.top_p,
                max_new_tokens=body.max_new_tokens,
                order_strategy=body.order_strategy,
                principles_mode=body.principles_mode,
                k_meta=body.k_meta,
            )
        except (ValueError, TypeError) as err:
            raise HTTPException(422, str(err)) from None
        params = {**dataclasses.asdict(resolved), "seed": body.seed, "return_samples": body.return_samples}
        results = await run_batch(items, params)
        out = [r.to_dict() for r in results]
        return out[0] if single else {"results": out}

    @app.post("/get_reward")
    async def get_reward(request: Request):
        """OpenRLHF's remote reward model. The completions of one prompt in a request are judged together (one GRM
        input of n responses; sub-lists beyond ``reward_max_group_size``); the answer holds ``rewards`` (per
        ``reward_normalization``), ``scores`` (the mean score scaled to 0..1, for OpenRLHF's dynamic filtering),
        ``extra_logs`` (numbers per sample: ``grm_mean_score``, ``grm_unscored``, ``grm_tied``, ``grm_votes``)
        and ``critiques`` (text, per sample). A completion the GRM could not score gets ``unscored_reward``
        (``null`` unless the server sets one)."""
        from ..protocol.seeding import derive_rng, fingerprint
        from ..rewards.groups import group_outcome, plan_sublists

        body = await read_body(request, RewardRequest)
        if body.prompts is None:
            raise HTTPException(422, "prompts: required (the GRM judges each response against its prompt)")
        if len(body.prompts) != len(body.query):
            raise HTTPException(422, f"prompts: {len(body.prompts)} prompts for {len(body.query)} queries")
        responses = []
        for i, (query, prompt) in enumerate(zip(body.query, body.prompts)):
            if not query.startswith(prompt):
                raise HTTPException(422, f"query[{i}] does not start with prompts[{i}]")
            responses.append(query[len(prompt) :])
        groups: dict[str, list[int]] = {}
        for i, prompt in enumerate(body.prompts):
            groups.setdefault(prompt, []).append(i)
        grm = state["grm"]
        seed = 0
        plans, items = [], []
        for prompt, rows in groups.items():
            members = [responses[i] for i in rows]
            rng = derive_rng(seed, fingerprint([prompt, members]), "sublists")
            plan = plan_sublists(len(rows), settings.reward_max_group_size, settings.reward_large_group_strategy, rng)
            plans.append(plan)
            items.extend({"prompt": prompt, "responses": [members[m] for m in sub]} for sub in plan)
        try:
            inputs, _ = to_inputs(items)
            resolved = resolve_score_settings(grm.config, has_meta_rm=grm.meta_rm is not None)
        except (ValueError, TypeError) as err:
            raise HTTPException(422, str(err)) from None
        results = await run_batch(inputs, {**dataclasses.asdict(resolved), "seed": seed, "return_samples": True})
        n = len(body.query)
        rewards: list[float | None] = [None] * n
        scores: list[float | None] = [None] * n
        logs: dict[str, list[float]] = {k: [0.0] * n for k in ("grm_mean_score", "grm_unscored", "grm_tied",
                                                                 "grm_votes")}  # fmt: skip
        critiques = [""] * n
        low, high = grm.config.score_range
        start = 0
        for rows, plan in zip(groups.values(), plans):
            outcome = group_outcome(len(rows), plan, results[start : start + len(plan)],
                                    settings.reward_normalization)  # fmt: skip
            start += len(plan)
            for m, i in enumerate(rows):
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

    return app
