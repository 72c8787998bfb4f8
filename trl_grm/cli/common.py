"""What every ``trl-grm`` command shares: its parser, its error handling and checks that run before a model loads."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

DEBUG_ENV = "TRL_GRM_DEBUG"

# Exit codes: bad input or bad arguments, and failures while running.
EXIT_USAGE = 2
EXIT_RUNTIME = 1


class UsageError(ValueError):
    """Bad input or arguments, reported as one line and exit status 2."""


def _usage_errors() -> tuple[type[BaseException], ...]:
    import yaml

    return (ValueError, TypeError, FileNotFoundError, NotADirectoryError, IsADirectoryError, yaml.YAMLError)


def make_command_parser(dataclass_types: Sequence[type], prog: str, description: str | None = None):
    """A ``TrlParser`` over ``dataclass_types`` (``--config recipe.yaml``, flags override it) whose help always
    renders (a ``%`` in a help text is escaped), whose ``--no_<flag>`` switches say what they do, and whose argument
    errors are one line on stderr with exit status 2."""
    from trl import TrlParser

    epilog = (
        "Options can also come from --config FILE.yaml (keys are the option names; an 'env:' mapping sets "
        "environment variables); flags given on the command line override it. --debug (or TRL_GRM_DEBUG=1) prints "
        "the traceback of an error."
    )
    parser = TrlParser(tuple(dataclass_types), prog=prog, description=description, epilog=epilog)
    for action in parser._actions:
        if action.help and action.help is not argparse.SUPPRESS:
            action.help = re.sub(r"%(?!\()", "%%", action.help)
        negated = [o for o in action.option_strings if o.startswith("--no_")]
        if negated and isinstance(action, argparse._StoreFalseAction):
            action.help = f"Turn --{action.dest} off."
            action.default = argparse.SUPPRESS  # the positive flag owns the default; do not print a second one

    def error(message: str) -> NoReturn:
        print(f"{prog}: error: {message} (see {prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)

    parser.error = error  # type: ignore[method-assign]
    return parser


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.strip().splitlines() if part.strip())


def run_command(prog: str, body: Callable[[], int], debug: bool = False) -> int:
    """Run a command's body; turn exceptions into one ``<prog>: error: <message>`` line and an exit status:
    2 for bad input or arguments, 1 for failures while running, 130 when interrupted. With ``debug`` (``--debug``
    or ``TRL_GRM_DEBUG=1``) the traceback is printed as well."""
    try:
        return body()
    except SystemExit as exit_:  # argparse: --help (0) or a bad argument (2, its one line already printed)
        return exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else EXIT_RUNTIME
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the CLI reports every failure as one line
        usage = isinstance(err, _usage_errors())
        if debug:
            traceback.print_exc()
        message = _one_line(str(err)) or type(err).__name__
        if not usage:
            message = f"{type(err).__name__}: {message}"
            if not debug:
                message += f" (run with --debug or {DEBUG_ENV}=1 for the traceback)"
        print(f"{prog}: error: {message}", file=sys.stderr)
        return EXIT_USAGE if usage else EXIT_RUNTIME


def quiet_loading() -> None:
    """No per-run "Loading weights" bars or library chatter: progress bars are for long work only."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# --------------------------------------------------------------------------------------------- checks before loading
def check_input_file(path: str | None, flag: str = "--input") -> None:
    if path is None or path == "-":
        return
    if not os.path.exists(path):
        raise FileNotFoundError(f"{flag}: no such file: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{flag}: {path} is a directory, not a file")


def check_output_file(path: str | None, flag: str = "--output") -> None:
    """The output's folder must exist before any work is done (else the first finished batch would be lost)."""
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{flag}: the folder of {path} does not exist ({folder}); create it first")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{flag}: {path} is a directory; give a file name")


def check_positive(**values: Any) -> None:
    for name, value in values.items():
        if value is not None and value < 1:
            raise UsageError(f"--{name} must be >= 1, got {value}")


# ------------------------------------------------------------------------------------------------------- engines
@dataclass
class BackendArguments:
    """Which engine runs the GRM, and how the model is loaded on it."""

    backend: str = field(
        default="transformers",
        metadata={"help": "'transformers' (default), 'vllm' (offline engine) or 'openai' (a server at --base_url)."},
    )
    dtype: str | None = field(
        default=None, metadata={"help": "Weights dtype, e.g. bfloat16 (transformers and vllm). Default: the model's."}
    )
    attn_implementation: str | None = field(
        default=None, metadata={"help": "transformers: 'sdpa', 'eager', 'flash_attention_2', ..."}
    )
    device_map: str | None = field(default=None, metadata={"help": "transformers: e.g. 'auto' to spread over GPUs."})
    load_in_4bit: bool = field(default=False, metadata={"help": "transformers: 4-bit NF4 weights (bitsandbytes)."})
    load_in_8bit: bool = field(default=False, metadata={"help": "transformers: 8-bit weights (bitsandbytes)."})
    tensor_parallel_size: int = field(default=1, metadata={"help": "vllm: GPUs per model."})
    gpu_memory_utilization: float = field(default=0.9, metadata={"help": "vllm: share of GPU memory to use."})
    max_model_len: int | None = field(default=None, metadata={"help": "vllm: context length (default: the model's)."})
    quantization: str | None = field(default=None, metadata={"help": "vllm: e.g. 'awq', 'gptq', 'fp8'."})
    lora_path: str | None = field(default=None, metadata={"help": "vllm: a LoRA adapter served over the model."})
    base_url: str | None = field(
        default=None, metadata={"help": "openai: API root of the server, e.g. http://127.0.0.1:8000/v1."}
    )
    served_model_name: str | None = field(
        default=None, metadata={"help": "openai: the model name the server knows (default: --model_name_or_path)."}
    )
    endpoint: str = field(default="chat", metadata={"help": "openai: 'chat' or 'completions'."})
    endpoint_api_key: str | None = field(
        default=None, metadata={"help": "openai: bearer token sent to the server (default: $OPENAI_API_KEY)."}
    )
    request_timeout: float = field(default=120.0, metadata={"help": "openai: seconds per HTTP request."})
    max_concurrency: int = field(default=8, metadata={"help": "openai: requests in flight at once."})


def check_backend_arguments(args: BackendArguments, check_install: bool = True) -> None:
    """Check the engine options (``check_install=False``: not whether vLLM is installed here, for dry runs)."""
    from ..backends.base import BACKENDS

    if args.backend not in BACKENDS:
        raise UsageError(f"--backend must be one of {', '.join(BACKENDS)}, got {args.backend!r}")
    if args.backend == "openai" and not args.base_url:
        raise UsageError("--backend openai needs --base_url (the server's API root, e.g. http://127.0.0.1:8000/v1)")
    if args.backend != "openai" and args.base_url:
        raise UsageError("--base_url is for --backend openai")
    if args.backend == "vllm" and check_install:
        import importlib.util

        from ..backends.vllm_backend import VLLM_INSTALL_HINT

        if importlib.util.find_spec("vllm") is None:
            raise UsageError(f"--backend vllm needs vLLM, which is not installed: {VLLM_INSTALL_HINT}")
    if args.load_in_4bit and args.load_in_8bit:
        raise UsageError("give --load_in_4bit or --load_in_8bit, not both")


def grm_config_for(args: BackendArguments, model_name_or_path: str | None):
    """The GRM settings that will be used, read without loading any weights. A server has the model; its GRM
    settings come from a local folder when ``model_name_or_path`` names one, else they are the defaults."""
    from ..modeling.configuration_grm import GRMConfig
    from ..modeling.default_model import resolve_grm_config

    if args.backend == "openai":
        local = model_name_or_path and os.path.isdir(model_name_or_path)
        return resolve_grm_config(model_name_or_path) if local else GRMConfig()
    return resolve_grm_config(model_name_or_path)


def load_grm_for(
    args: BackendArguments, model_name_or_path: str | None, meta_rm: str | None = None, max_batch_size: int = 64
):
    """The GRM on the engine that ``args`` choose (the embedded default model when ``model_name_or_path`` is unset,
    except over a server, which serves its own model)."""
    from ..modeling.default_model import default_grm_path, load_grm
    from ..modeling.modeling_grm import GRMForPointwiseScoring

    if args.backend == "openai":
        model = args.served_model_name or model_name_or_path
        if not model:
            raise UsageError("--backend openai needs --served_model_name (or --model_name_or_path)")
        return GRMForPointwiseScoring.from_endpoint(
            args.base_url,
            model,
            config=grm_config_for(args, model_name_or_path),
            meta_rm=meta_rm,
            endpoint=args.endpoint,
            tokenizer=model_name_or_path if args.endpoint == "completions" else None,
            api_key=args.endpoint_api_key,
            timeout=args.request_timeout,
            max_concurrency=args.max_concurrency,
        )
    if args.backend == "vllm":
        path = model_name_or_path or str(default_grm_path())
        options = dict(
            tensor_parallel_size=args.tensor_parallel_size,
            gpu_memory_utilization=args.gpu_memory_utilization,
            max_model_len=args.max_model_len,
            dtype=args.dtype or "auto",
            quantization=args.quantization,
            lora_path=args.lora_path,
        )
        return GRMForPointwiseScoring.from_pretrained(path, backend="vllm", backend_kwargs=options, meta_rm=meta_rm)
    kwargs: dict[str, Any] = {}
    if args.dtype:
        kwargs["dtype"] = args.dtype
    if args.attn_implementation:
        kwargs["attn_implementation"] = args.attn_implementation
    if args.device_map:
        kwargs["device_map"] = args.device_map
    if args.load_in_4bit or args.load_in_8bit:
        from trl import ModelConfig, get_quantization_config

        kwargs["quantization_config"] = get_quantization_config(
            ModelConfig(load_in_4bit=args.load_in_4bit, load_in_8bit=args.load_in_8bit)
        )
        kwargs.setdefault("device_map", "auto")
    return load_grm(model_name_or_path, meta_rm=meta_rm, max_batch_size=max_batch_size, **kwargs)
