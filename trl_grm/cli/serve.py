"""``trl-grm serve``: serve a GRM over HTTP (``POST /v1/score``, ``GET /health``, ``GET /ready``).

Binds 127.0.0.1 by default. Binding any other address needs a bearer token (``--api_key`` or
``$TRL_GRM_API_KEY``), or ``--insecure`` to do without one on purpose. SIGTERM (or Ctrl-C) stops accepting
connections, lets the requests in flight finish, then exits.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from dataclasses import dataclass, field

from ..modeling.loading import BackendArguments, check_backend_arguments, load_grm
from .common import (
    UsageError,
    check_positive,
    make_command_parser,
    quiet_loading,
)

PROG = "trl-grm serve"
API_KEY_ENV = "TRL_GRM_API_KEY"


@dataclass
class ServeArguments:
    """Arguments of ``trl-grm serve``."""

    model_name_or_path: str | None = field(
        default=None, metadata={"help": "GRM or causal-LM checkpoint. Default: the embedded SmolLM2-135M demo."}
    )
    meta_rm: str | None = field(default=None, metadata={"help": "Meta RM (directory or Hub id) for guided voting."})
    host: str = field(default="127.0.0.1", metadata={"help": "Address to bind (another than loopback needs a token)."})
    port: int = field(default=8000, metadata={"help": "Port to bind."})
    api_key: str | None = field(
        default=None, metadata={"help": f"Bearer token clients must send (default: ${API_KEY_ENV})."}
    )
    insecure: bool = field(default=False, metadata={"help": "Allow a non-loopback address without a token."})
    max_batch_inputs: int = field(default=32, metadata={"help": "Inputs scored together in one engine call."})
    max_wait_ms: float = field(default=10.0, metadata={"help": "How long a batch waits for more requests."})
    max_queue_inputs: int = field(default=1024, metadata={"help": "Inputs waiting at most; beyond: HTTP 429."})
    max_body_bytes: int = field(default=4 * 1024 * 1024, metadata={"help": "Largest request body."})
    max_inputs_per_request: int = field(default=256, metadata={"help": "Most inputs in one request."})
    max_responses: int = field(default=64, metadata={"help": "Most responses per input."})
    max_batch_size: int = field(default=64, metadata={"help": "transformers: most sequences decoded together."})
    reward_normalization: str = field(
        default="mean",
        metadata={"help": "POST /get_reward (OpenRLHF): rewards as the voted mean score, 'centered' or 'rank'."},
    )
    reward_max_group_size: int = field(
        default=8, metadata={"help": "POST /get_reward: most completions of one prompt judged in one GRM input."}
    )
    reward_large_group_strategy: str = field(
        default="overlap", metadata={"help": "POST /get_reward: sub-lists of larger groups: 'overlap' or 'pairwise'."}
    )
    unscored_reward: float | None = field(
        default=None,
        metadata={"help": "POST /get_reward: the reward of a completion the GRM could not score (default: null)."},
    )
    reward_seed: int = field(
        default=0,
        metadata={
            "help": "POST /get_reward: the base seed; a request's 'step' (else the count of calls) derives each "
            "call's seed from it."
        },
    )
    graceful_timeout: float = field(
        default=600.0, metadata={"help": "Seconds SIGTERM waits for requests in flight before exiting."}
    )


def make_parser():
    return make_command_parser(
        [ServeArguments, BackendArguments],
        PROG,
        description="Serve a GRM over HTTP: POST /v1/score with the trl-grm score input schema, POST /get_reward "
        "(OpenRLHF's remote reward model); GET /health, /ready.",
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    args, backend = make_parser().parse_args_and_config(argv)
    return run(args, backend)


def run(args: ServeArguments, backend: BackendArguments | None = None) -> int:
    import uvicorn

    from ..serving.app import ServeSettings, create_app

    backend = backend or BackendArguments()
    check_backend_arguments(backend)
    check_positive(
        max_batch_inputs=args.max_batch_inputs,
        max_queue_inputs=args.max_queue_inputs,
        max_inputs_per_request=args.max_inputs_per_request,
        max_responses=args.max_responses,
        max_batch_size=args.max_batch_size,
    )
    from ..rewards.groups import LARGE_GROUP_STRATEGIES, NORMALIZATIONS

    if args.reward_normalization not in NORMALIZATIONS:
        raise UsageError(
            f"--reward_normalization must be one of {', '.join(NORMALIZATIONS)}, got {args.reward_normalization!r}"
        )
    if args.reward_large_group_strategy not in LARGE_GROUP_STRATEGIES:
        raise UsageError(f"--reward_large_group_strategy must be one of {', '.join(LARGE_GROUP_STRATEGIES)}, "
                         f"got {args.reward_large_group_strategy!r}")  # fmt: skip
    if args.reward_max_group_size < 2:
        raise UsageError(f"--reward_max_group_size must be >= 2, got {args.reward_max_group_size}")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be in 0..65535, got {args.port}")
    api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
    if not _is_loopback(args.host) and api_key is None and not args.insecure:
        raise UsageError(
            f"--host {args.host} is not a loopback address: give a token (--api_key or ${API_KEY_ENV}) or "
            "--insecure to serve without one"
        )
    settings = ServeSettings(
        max_batch_inputs=args.max_batch_inputs,
        max_wait_ms=args.max_wait_ms,
        max_queue_inputs=args.max_queue_inputs,
        max_body_bytes=args.max_body_bytes,
        max_inputs_per_request=args.max_inputs_per_request,
        max_responses=args.max_responses,
        api_key=api_key,
        reward_normalization=args.reward_normalization,
        reward_max_group_size=args.reward_max_group_size,
        reward_large_group_strategy=args.reward_large_group_strategy,
        unscored_reward=args.unscored_reward,
        reward_seed=args.reward_seed,
    )
    quiet_loading()
    from ..modeling.default_model import DEMO_NOTE, is_default_grm

    name = args.model_name_or_path or "embedded default GRM"
    demo = backend.backend != "openai" and is_default_grm(args.model_name_or_path)
    app = create_app(
        lambda: load_grm(args.model_name_or_path, backend, meta_rm=args.meta_rm, max_batch_size=args.max_batch_size),
        settings,
        model_name=name,
        model_note=DEMO_NOTE if demo else None,
    )
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=args.graceful_timeout
    )
    server = uvicorn.Server(config)
    print(f"{PROG}: http://{args.host}:{args.port} (POST /v1/score; GET /ready says when the model is loaded)",
          file=sys.stderr, flush=True)  # fmt: skip
    server.run()  # handles SIGTERM / SIGINT: stop accepting, finish in-flight requests, exit
    return 0
