"""``trl-grm serve``'s HTTP routes, on FastAPI + uvicorn, thin over the scoring service (:mod:`.service`).

``POST /v1/score`` takes the ``trl-grm score`` input schema and the scoring parameters
(``{"inputs": {...} | [{...}, ...], "num_samples": ...}``) and answers with its result shape; ``POST /get_reward`` is
OpenRLHF's remote reward model contract. Concurrent requests with the same parameters are micro-batched into one
engine call. The queue is bounded (429 with ``Retry-After`` when full); bad input is a 4xx naming the field; an engine
error fails only the requests of its batch (500); ``GET /health`` is liveness and ``GET /ready`` says whether the
model is loaded.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from .batching import MicroBatcher
from .service import RewardRequest, ScoreRequest, ScoringService, ServeSettings, ServiceError

__all__ = ["MicroBatcher", "RewardRequest", "ScoreRequest", "ServeSettings", "create_app"]


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "code": status}}, status_code=status, headers=headers)


def create_app(
    load_grm: Callable[[], Any],
    settings: ServeSettings | None = None,
    model_name: str = "grm",
    model_note: str | None = None,
) -> FastAPI:
    """The ASGI app. ``load_grm`` builds the GRM (called once, in a thread, at startup: ``/ready`` says when);
    ``model_note`` (e.g. that it is the embedded demonstration GRM) is said by ``/health`` and ``/ready``."""
    settings = settings or ServeSettings()
    service = ScoringService(load_grm, settings, model_name)

    async def lifespan(app: FastAPI):
        service.start()
        yield
        await service.stop()

    app = FastAPI(title="trl-grm", lifespan=lifespan)
    app.state.service = service

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return _error(exc.status, exc.message, exc.headers)

    async def read_body(request: Request, schema: type[BaseModel]) -> Any:
        """Authorise, check the model is loaded and the body's size, and validate it against ``schema``."""
        authorize(request, settings.api_key)
        service.require_ready()
        length = request.headers.get("content-length")
        if length is not None and int(length) > settings.max_body_bytes:
            raise ServiceError(413, f"request body over {settings.max_body_bytes} bytes")
        raw = await request.body()
        if len(raw) > settings.max_body_bytes:
            raise ServiceError(413, f"request body over {settings.max_body_bytes} bytes")
        try:
            return schema.model_validate_json(raw)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "body"
            raise ServiceError(422, f"{where}: {first['msg']}") from None

    about = {"model": model_name, **({"note": model_note} if model_note else {})}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", **about}

    @app.get("/ready")
    async def ready():
        if service.grm is not None:
            return {"ready": True, **about}
        return _error(503, service.error or "the model is loading")

    @app.post("/v1/score")
    async def score(request: Request):
        return await service.score(await read_body(request, ScoreRequest))

    @app.post("/get_reward")
    async def get_reward(request: Request):
        """OpenRLHF's remote reward model (see :meth:`ScoringService.reward`)."""
        return await service.reward(await read_body(request, RewardRequest))

    return app


def authorize(request: Request, api_key: str | None) -> None:
    """A bearer token equal to ``api_key`` (compared in constant time), when the server has one; else 401."""
    if api_key is None:
        return
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else ""
    if not secrets.compare_digest(token.encode(), api_key.encode()):
        raise ServiceError(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
