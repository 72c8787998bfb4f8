"""The ``--dry_run`` of a training stage: resolve and check everything a run needs, without weights, and print the
plan (with the memory per GPU); a real run gets the same checks, minus the printing, before anything loads."""

from __future__ import annotations

import os
from typing import Any

from ..planning.preflight import (
    build_on_meta,
    check_hardware,
    check_training,
    hardware_problems,
    model_facts,
    resolve_model_config,
    train_setup,
)
from .common import UsageError, print_plan


def accelerate_config_of(launch_args: list[str] | None) -> tuple[dict[str, Any] | None, str | None]:
    import yaml

    launch_args = launch_args or []
    for flag in ("--config_file", "--accelerate_config"):
        if flag in launch_args:
            from .launch import resolve_accelerate_config

            path = resolve_accelerate_config(launch_args[launch_args.index(flag) + 1])
            with open(path) as f:
                config = yaml.safe_load(f) or {}
            if "--mixed_precision" in launch_args:  # a flag overrides the file, the last one winning
                last = len(launch_args) - 1 - launch_args[::-1].index("--mixed_precision")
                config["mixed_precision"] = launch_args[last + 1]
            return config, path
    return None, None


def num_processes(launch_args: list[str] | None, accelerate_config: dict[str, Any] | None) -> int:
    launch_args = launch_args or []
    if "--num_processes" in launch_args:  # the last one wins, as in accelerate's own parsing
        last = len(launch_args) - 1 - launch_args[::-1].index("--num_processes")
        return int(launch_args[last + 1])
    if accelerate_config and accelerate_config.get("num_processes"):
        return int(accelerate_config["num_processes"])
    return int(os.environ.get("WORLD_SIZE", 1))


def check_training_run(
    prog: str, stage: str, script_args, training_args, model_args, launch_args: list[str] | None = None
) -> bool:
    """Check a training run (the library's preflight); with ``--dry_run`` print its plan and return ``True`` (the
    caller stops there)."""
    from ..trainers.model_init import resolve_resume

    args = training_args
    args.resume_from_checkpoint = resolve_resume(args.resume_from_checkpoint, args.output_dir)
    check = check_training(stage, model_args.model_name_or_path, script_args.base_model, training_args, model_args)
    if not script_args.dry_run:
        check_hardware(training_args, model_args, accelerate_config=accelerate_config_of(launch_args)[0])
        return False
    print_training_plan(prog, stage, script_args, training_args, model_args, launch_args, check)
    return True


def print_training_plan(prog: str, stage: str, script_args, training_args, model_args, launch_args, check) -> None:
    """The plan of a training dry run: the model, the training settings, the memory per GPU, notes, this machine."""
    from ..modeling.adapters import adapter_config
    from ..planning.memory import train_memory

    accelerate_config, accelerate_path = accelerate_config_of(launch_args)
    processes = num_processes(launch_args, accelerate_config)
    setup = train_setup(stage, check, training_args, model_args, accelerate_config, processes)
    memory = train_memory(check.model, setup)
    facts, per_device = check.facts, training_args.per_device_train_batch_size
    accumulation = training_args.gradient_accumulation_steps
    if adapter_config(model_args.model_name_or_path) is not None:
        lora_row = f"continues the adapter in {model_args.model_name_or_path} (r = {setup.lora_r}, modules "
        lora_row += f"{setup.lora_target_modules})"
    elif model_args.use_peft:
        lora_row = (
            f"r = {model_args.lora_r}, alpha = {model_args.lora_alpha}, modules {model_args.lora_target_modules}"
        )
        if model_args.lora_target_parameters:
            lora_row += f", parameters {model_args.lora_target_parameters}"
    else:
        lora_row = "no (full fine-tune)"
    experts = f" ({facts.fused_expert_numel / 1e9:.2f}B in fused routed experts)" if facts.fused_expert_numel else ""
    steps = training_args.max_steps if training_args.max_steps > 0 else f"{training_args.num_train_epochs} epochs"
    sections: dict[str, dict[str, Any]] = {
        "model": {
            "model_name_or_path": model_args.model_name_or_path,
            "architecture": f"{facts.model_type} ({type(check.model).__name__})",
            "parameters": f"{facts.num_parameters / 1e9:.2f}B{experts}",
            "context": facts.max_position_embeddings,
            "dtype / attention": f"{setup.dtype} / {model_args.attn_implementation or 'default'}",
            "quantization": "4-bit NF4" if model_args.load_in_4bit else "8-bit" if model_args.load_in_8bit else "none",
        },
        "training": {
            "stage": stage,
            "data": script_args.dataset_name,
            "learning rate": training_args.learning_rate,
            "effective batch": f"{per_device} per device x {accumulation} accumulation x {processes} processes = "
            f"{per_device * accumulation * processes}",
            "steps": steps,
            "sequence length": check.seq_len,
            "gradient checkpointing": training_args.gradient_checkpointing,
            "LoRA": lora_row,
            "accelerate": accelerate_path or f"{processes} process(es), accelerate defaults (no --accelerate_config)",
            "output_dir": training_args.output_dir,
        },
        f"memory per GPU ({setup.sharding}, {processes} processes)": memory.as_rows(script_args.gpu_memory_gib),
    }
    if stage == "grpo":
        sections["training"]["GRPO"] = f"G = {training_args.num_generations}, beta = {training_args.beta}"
    if check.notes or memory.notes:
        sections["notes"] = {str(i + 1): n for i, n in enumerate(check.notes + memory.notes)}
    sections["this machine"] = {
        "problems": "; ".join(hardware_problems(training_args, model_args, accelerate_config=accelerate_config))
        or "none (this run can start here)"
    }
    print_plan(prog, sections)


def examples_or_reason(script_args, seed: int) -> tuple[list | None, str]:
    """The stage's examples, or (for a dry run) why they cannot be read yet."""
    from ..data.sources import load_examples

    try:
        examples = load_examples(script_args, seed=seed)
    except (FileNotFoundError, UsageError) as err:
        if not script_args.dry_run:
            raise
        return None, f"{script_args.dataset_name} (not readable here: {err}; needed for the real run)"
    return examples, f"{script_args.dataset_name} ({len(examples)} examples)"


def sampling_plan(
    prog: str,
    script_args,
    backend,
    model_name_or_path: str | None,
    data: str,
    sampling: dict[str, Any],
    seq_tokens: int,
) -> int:
    """Print the plan of a sampling stage (the sampler model, the judgements, memory per GPU of a vLLM engine)."""
    from ..planning.memory import sampling_memory

    sections: dict[str, dict[str, Any]] = {
        "data": {"source": data},
        "sampler": {
            "model": model_name_or_path or "embedded default GRM",
            "backend": backend.backend,
            "dtype": backend.dtype or "the model's",
        },
        "sampling": sampling,
    }
    if model_name_or_path and backend.backend != "openai":
        from ..modeling.adapters import config_source

        config = resolve_model_config(config_source(model_name_or_path, script_args.base_model))
        limit = getattr(config, "max_position_embeddings", None)
        if backend.max_model_len and limit and backend.max_model_len > limit:
            raise UsageError(f"max_model_len: {backend.max_model_len} exceeds the model's context of {limit}")
        model = build_on_meta(config)
        facts = model_facts(model)
        sections["sampler"]["architecture"] = f"{facts.model_type}, {facts.num_parameters / 1e9:.2f}B parameters"
        sections["sampler"]["context"] = limit
        if backend.backend == "vllm":
            tp = backend.tensor_parallel_size
            dtype = "float8" if backend.quantization == "fp8" else backend.dtype
            plan, kv = sampling_memory(
                model, dtype, tp, script_args.gpu_memory_gib, backend.gpu_memory_utilization, seq_tokens
            )
            title = f"memory per GPU (vLLM, tensor_parallel_size {tp}, gpu_memory_utilization "
            title += f"{backend.gpu_memory_utilization})"
            sections[title] = {**plan.as_rows(script_args.gpu_memory_gib * backend.gpu_memory_utilization), **kv}
    sections["this machine"] = {"problems": "; ".join(hardware_problems(backend=backend.backend)) or "none"}
    print_plan(prog, sections)
    return 0
