"""How a training stage builds its model: a Hub id or folder (LoRA from ``--use_peft``, QLoRA from ``--load_in_4bit``,
TRL's ``ModelConfig`` helpers), or a LoRA adapter folder whose training continues; and where it resumes."""

from __future__ import annotations

import os
from typing import Any

from ..modeling.adapters import adapter_base, adapter_config
from ..utils.errors import UsageError


def model_init_kwargs(training_args, model_args) -> dict:
    """How the model is loaded (TRL's ModelConfig helpers): dtype, attention, revision, 4/8-bit + device map."""
    from trl import get_quantization_config

    kwargs = dict(training_args.model_init_kwargs or {})
    kwargs.update(revision=model_args.model_revision, attn_implementation=model_args.attn_implementation)
    if model_args.dtype is not None:
        kwargs["dtype"] = model_args.dtype
    quantization = get_quantization_config(model_args)
    if quantization is not None:
        kwargs["quantization_config"] = quantization
        kwargs["device_map"] = {"": kbit_device(training_args)}
    return {k: v for k, v in kwargs.items() if v is not None}


def kbit_device(training_args) -> int | str:
    """Where a 4/8-bit model lives: each process its own GPU (k-bit + DDP), or the CPU (``use_cpu``, or no GPU)."""
    import torch
    from accelerate import PartialState

    if getattr(training_args, "use_cpu", False) or not torch.cuda.is_available():
        return "cpu"
    return PartialState().local_process_index


def training_model(training_args, model_args, base_model: str | None = None) -> tuple[Any, Any]:
    """What a trainer starts from, and its ``peft_config``: the model (a Hub id or folder, LoRA from ``--use_peft``),
    or, when ``model_name_or_path`` is a LoRA adapter folder (an earlier stage's output, or the embedded default),
    its base with that adapter loaded trainable, so that training continues the adapter (the ``lora_*`` options then
    do not apply). The base is ``--base_model`` or the one the adapter records; the adapter's ``grm_config.json``
    is used unless ``--grm_config`` is given."""
    from trl import get_peft_config

    path = model_args.model_name_or_path
    if adapter_config(path) is None:
        training_args.model_init_kwargs = model_init_kwargs(training_args, model_args)
        return path, get_peft_config(model_args)
    base = adapter_base(path, base_model)
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, **model_init_kwargs(training_args, model_args))
    model = PeftModel.from_pretrained(model, path, is_trainable=True)
    model.spct_source = path  # the adapter folder this stage continues: its recorded SPCT stages carry over
    training_args.model_init_kwargs = None  # the model is built here
    if getattr(training_args, "grm_config", None) is None and os.path.isfile(os.path.join(path, "grm_config.json")):
        training_args.grm_config = path
    return model, None


def resolve_resume(value: str | bool | None, output_dir: str) -> str | None:
    """``--resume_from_checkpoint``: a checkpoint folder, or ``true`` / ``last`` for the newest ``checkpoint-N`` in
    ``output_dir`` (as TRL's scripts accept); ``None`` / ``false`` start afresh."""
    from transformers.trainer_utils import get_last_checkpoint

    if value is None or value is False or str(value).lower() in ("false", "no", "0", "none"):
        return None
    if value is True or str(value).lower() in ("true", "yes", "1", "last"):
        last = get_last_checkpoint(output_dir) if os.path.isdir(output_dir) else None
        if last is None:
            raise UsageError(f"--resume_from_checkpoint {value}: no checkpoint-N folder in {output_dir}")
        return last
    if not os.path.isdir(str(value)):
        raise UsageError(f"--resume_from_checkpoint: {value} is not a checkpoint folder")
    return str(value)
