"""LoRA adapter folders (PEFT's ``adapter_config.json``): their base model, and a GRM made from base + adapter."""

from __future__ import annotations

import json
import os
import re
import warnings
from typing import Any

from ..utils.errors import UsageError


def adapter_config(model_name_or_path: str | os.PathLike) -> dict[str, Any] | None:
    """The ``adapter_config.json`` of a LoRA adapter folder given as the model, else ``None``."""
    path = os.path.join(str(model_name_or_path), "adapter_config.json")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def adapter_base(adapter_dir: str | os.PathLike, base_model: str | None = None) -> str:
    """The base model a LoRA adapter folder is trained on: ``base_model``, else the one the adapter records (an
    error when that is neither a folder here nor a Hub id, e.g. a path on the machine that trained it)."""
    recorded = (adapter_config(adapter_dir) or {}).get("base_model_name_or_path")
    base = base_model or recorded
    if not base or not (os.path.isdir(base) or re.fullmatch(r"[\w.-]+/[\w.-]+", base)):  # a folder or a Hub id
        raise UsageError(
            f"--model_name_or_path {adapter_dir} is a LoRA adapter whose base model ({recorded!r}) is not here: give "
            "--base_model (the base model's folder or Hub id)"
        )
    return base


def merge_base(model_name_or_path: str | os.PathLike | None, base_model: str | None = None) -> str | None:
    """The base to merge ``model_name_or_path`` into when it is a LoRA adapter folder (see :func:`adapter_base`),
    else ``None`` (a full checkpoint loads as it is): the ``base_model`` argument of ``load_grm``."""
    if not model_name_or_path or adapter_config(model_name_or_path) is None:
        return None
    return adapter_base(model_name_or_path, base_model)


def config_source(model_name_or_path: str, base_model: str | None = None) -> str:
    """Where the model config comes from: the model, or ``base_model`` while the model is a stage output to come
    or a LoRA adapter folder."""
    if adapter_config(model_name_or_path) is not None:
        return adapter_base(model_name_or_path, base_model)
    if base_model and not os.path.isdir(model_name_or_path):
        return base_model
    return model_name_or_path


def load_grm_with_adapter(
    base: str | os.PathLike,
    adapter_dir: str | os.PathLike,
    meta_rm: Any = None,
    max_batch_size: int = 64,
    **model_kwargs: Any,
):
    """A GRM from a base checkpoint plus a LoRA adapter directory (merged), with the adapter's ``grm_config.json``.

    The base is given explicitly: an adapter's recorded ``base_model_name_or_path`` may be a path on another machine.
    ``model_kwargs`` go to the base's ``from_pretrained`` (``dtype``, ``device_map``, ...).
    """
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .configuration_grm import GRMConfig
    from .modeling_grm import GRMForPointwiseScoring

    model = AutoModelForCausalLM.from_pretrained(base, **model_kwargs)
    with warnings.catch_warnings():  # PEFT calls a transformers method that transformers 5 marks as deprecated
        warnings.simplefilter("ignore", FutureWarning)
        model = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    config = GRMConfig.from_pretrained(str(adapter_dir))
    return GRMForPointwiseScoring(
        model, AutoTokenizer.from_pretrained(base), config, meta_rm=meta_rm, max_batch_size=max_batch_size
    )
