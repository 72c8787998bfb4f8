"""The ONE loader of a GRM, used by the commands, the server, the rewards, the verl adapter, ``judge_check`` and the
trainers' samplers: which engine runs it (:class:`BackendArguments`), its GRM settings read without weights, and the
model itself (a folder or Hub id, a LoRA adapter folder on its base, or the embedded default when none is given)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..utils.errors import UsageError
from .configuration_grm import GRMConfig


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
    max_retries: int = field(
        default=3, metadata={"help": "openai: retries of a request after a connection error, HTTP 429 or 5xx."}
    )


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


def resolve_grm_config(model_name_or_path: str | os.PathLike | None = None) -> GRMConfig:
    """The GRM settings of a model without loading its weights (the embedded default's when ``None``)."""
    from .default_model import default_grm_config

    if not model_name_or_path:
        return default_grm_config()
    check_model_source(model_name_or_path)
    return GRMConfig.from_model(model_name_or_path)


def grm_config_for(args: BackendArguments, model_name_or_path: str | None) -> GRMConfig:
    """The GRM settings that will be used, read without loading any weights. A server has the model; its GRM
    settings come from a local folder when ``model_name_or_path`` names one, else they are the defaults."""
    if args.backend == "openai":
        local = model_name_or_path and os.path.isdir(model_name_or_path)
        return resolve_grm_config(model_name_or_path) if local else GRMConfig()
    return resolve_grm_config(model_name_or_path)


def load_grm(
    model_name_or_path: str | os.PathLike | None = None,
    backend: BackendArguments | None = None,
    *,
    meta_rm: Any = None,
    max_batch_size: int = 64,
    config: GRMConfig | None = None,
    base_model: str | None = None,
    **model_kwargs: Any,
):
    """The GRM on the engine that ``backend`` chooses (transformers when ``None``).

    ``model_name_or_path``: a GRM or causal-LM folder or Hub id (a LoRA adapter folder too, which transformers loads
    on the base it records), or ``None`` for the embedded default GRM (except over a server, which serves its own
    model). With ``base_model``, the adapter folder is merged into that base instead. ``config`` replaces the
    model's GRM settings; ``model_kwargs`` go to ``from_pretrained`` (transformers: ``device_map``, ``dtype``, ...).
    A path that does not exist and is not a Hub model fails at once, clearly.
    """
    from .modeling_grm import GRMForPointwiseScoring

    args = backend or BackendArguments()
    if args.backend == "openai":
        model = args.served_model_name or (str(model_name_or_path) if model_name_or_path else None)
        if not model:
            raise UsageError("--backend openai needs --served_model_name (or --model_name_or_path)")
        return GRMForPointwiseScoring.from_endpoint(
            args.base_url,
            model,
            config=config or grm_config_for(args, model_name_or_path),
            meta_rm=meta_rm,
            endpoint=args.endpoint,
            tokenizer=model_name_or_path if args.endpoint == "completions" else None,
            api_key=args.endpoint_api_key,
            timeout=args.request_timeout,
            max_concurrency=args.max_concurrency,
            max_retries=args.max_retries,
        )
    path = _model_path(model_name_or_path)
    if args.backend == "vllm":
        options = dict(
            tensor_parallel_size=args.tensor_parallel_size,
            gpu_memory_utilization=args.gpu_memory_utilization,
            max_model_len=args.max_model_len,
            dtype=args.dtype or "auto",
            quantization=args.quantization,
            lora_path=args.lora_path,
        )
        return GRMForPointwiseScoring.from_pretrained(
            path, backend="vllm", backend_kwargs=options, meta_rm=meta_rm, config=config
        )
    kwargs = {**_transformers_kwargs(args), **model_kwargs}
    if base_model is not None:  # a LoRA adapter folder merged into this base (its recorded base may be elsewhere)
        from .adapters import load_grm_with_adapter

        grm = load_grm_with_adapter(base_model, path, meta_rm=meta_rm, max_batch_size=max_batch_size, **kwargs)
        if config is not None:
            grm.config = config
        return grm
    return GRMForPointwiseScoring.from_pretrained(
        path, config=config, meta_rm=meta_rm, max_batch_size=max_batch_size, **kwargs
    )


def _model_path(model_name_or_path: str | os.PathLike | None) -> str:
    """The checkpoint to load: the given one (checked), or the embedded default GRM's folder."""
    if model_name_or_path:
        check_model_source(model_name_or_path)
        return str(model_name_or_path)
    from .default_model import default_grm_path

    return str(default_grm_path())


def _transformers_kwargs(args: BackendArguments) -> dict[str, Any]:
    """``from_pretrained`` keywords of the transformers engine options (dtype, attention, device map, k-bit)."""
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
    return kwargs


def check_model_source(name: str | os.PathLike, what: str = "model") -> None:
    """Fail fast and clearly when ``name`` is neither a local directory nor a Hub model.

    A local-looking path that does not exist is reported at once. A Hub id is looked up in the local cache when
    ``HF_HUB_OFFLINE`` is set, else asked of the Hub once (no retries): a mistyped id is "no such directory or Hub
    model", an unreachable Hub says so and points at ``HF_HUB_OFFLINE``.
    """
    from huggingface_hub import constants, model_info, try_to_load_from_cache
    from huggingface_hub.errors import GatedRepoError, HFValidationError, RepositoryNotFoundError
    from huggingface_hub.utils import validate_repo_id

    name = str(name)
    path = Path(name).expanduser()
    if path.is_dir():
        return
    if path.exists():
        raise NotADirectoryError(f"{what} {name!r} is a file; give a model directory or a Hub model id")
    missing = f"no such directory or Hub model: {name}"
    try:
        validate_repo_id(name)
    except HFValidationError:
        raise FileNotFoundError(missing) from None
    if name.startswith((".", "~")) or name.endswith("/"):
        raise FileNotFoundError(missing)
    if constants.HF_HUB_OFFLINE:
        cached = try_to_load_from_cache(name, "config.json")
        if not isinstance(cached, str):
            raise FileNotFoundError(
                f"{missing} (HF_HUB_OFFLINE is set and the local Hub cache does not hold it; unset HF_HUB_OFFLINE "
                "to download it)"
            )
        return
    try:
        model_info(name, timeout=10)
    except GatedRepoError:
        return  # exists; from_pretrained reports the access problem with its own message
    except RepositoryNotFoundError:
        raise FileNotFoundError(missing) from None
    except Exception as err:  # network errors of whatever HTTP client huggingface_hub uses
        if isinstance(try_to_load_from_cache(name, "config.json"), str):
            return  # the Hub is unreachable but the cache holds it: loading works offline
        raise ConnectionError(
            f"{name} is not a local directory and the Hugging Face Hub could not be reached to look it up "
            f"({type(err).__name__}: {err}); check the name, or set HF_HUB_OFFLINE=1 to use only local files"
        ) from None
