"""What the SPCT stage scripts share: the data arguments, reading a stage's output, and the checks of a run that
need no weights (``--dry_run``)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from ..cli.common import UsageError

SYNTHETIC = "synthetic"
STAGE_DATA_FILE = "train.jsonl"  # what build-rft-data / build-meta-data write for the next stage


@dataclass
class GRMScriptArguments:
    """The data of a stage and whether to only check the run."""

    dataset_name: str | None = field(
        default=None,
        metadata={
            "help": "Preference data: a JSON/JSONL file, a Hub dataset id, or 'synthetic' (the verifiable tasks "
            "of trl_grm.data.synthetic, generated here). rft and meta-rm read the output_dir of build-rft-data / "
            "build-meta-data instead."
        },
    )
    dataset_config: str | None = field(default=None, metadata={"help": "Configuration name of a Hub dataset."})
    dataset_train_split: str = field(default="train", metadata={"help": "Split of a Hub dataset."})
    max_examples: int | None = field(default=None, metadata={"help": "Use only the first N examples."})
    synthetic_num_examples: int = field(default=256, metadata={"help": "With dataset_name=synthetic: examples."})
    synthetic_num_responses: int = field(default=2, metadata={"help": "With dataset_name=synthetic: n per example."})
    synthetic_difficulty: float = field(
        default=0.5, metadata={"help": "With dataset_name=synthetic: share of near-miss distractors, in [0, 1]."}
    )
    synthetic_seed: int = field(default=0, metadata={"help": "With dataset_name=synthetic: seed of the stream."})
    synthetic_families: list[str] | None = field(
        default=None,
        metadata={
            "help": "With dataset_name=synthetic: the families that take turns (default: all); a family named twice "
            "is drawn twice as often."
        },
    )
    base_model: str | None = field(
        default=None,
        metadata={
            "help": "Config to check against while model_name_or_path is an earlier stage's output that does not "
            "exist yet (a Hub id or folder, e.g. the base model of the recipe)."
        },
    )
    gpu_memory_gib: float = field(
        default=80.0, metadata={"help": "GPU memory the plan of --dry_run / trl-grm plan checks the run against."}
    )
    dry_run: bool = field(
        default=False,
        metadata={
            "help": "Build every config, resolve the model config (no weights), check the run against it, print the "
            "plan and exit."
        },
    )


def data_source(args: GRMScriptArguments) -> Any:
    """What :func:`~trl_grm.data.formats.load_preference_data` reads for ``args``: a local file, a Hub split (a clear
    error offline), or the synthetic tasks as a ``datasets.Dataset``."""
    if not args.dataset_name:
        raise UsageError("Give --dataset_name: a JSON/JSONL file, a Hub dataset id, or 'synthetic'")
    if args.dataset_name == SYNTHETIC:
        from ..data.synthetic import FAMILIES, SyntheticTasks

        if args.synthetic_families is not None:
            unknown = sorted(set(args.synthetic_families) - set(FAMILIES))
            if unknown or not args.synthetic_families:
                raise UsageError(f"--synthetic_families: unknown {unknown or 'none given'}; the families: {FAMILIES}")
        tasks = SyntheticTasks(
            seed=args.synthetic_seed,
            families=args.synthetic_families,
            num_responses=args.synthetic_num_responses,
            difficulty=args.synthetic_difficulty,
        )
        count = args.synthetic_num_examples
        if args.max_examples is not None:
            count = min(count, args.max_examples)
        return tasks.to_dataset(count)
    source = args.dataset_name
    if os.path.exists(source):
        return source
    if source.endswith((".json", ".jsonl")) or source.startswith((".", "/", "~")):
        raise FileNotFoundError(f"--dataset_name: no such file: {source}")
    from datasets import load_dataset

    try:
        return load_dataset(source, args.dataset_config, split=args.dataset_train_split)
    except Exception as err:  # noqa: BLE001 - offline or unknown id: say what to do instead
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UsageError(
            f"--dataset_name {source!r} is neither a local file nor a loadable Hub dataset ({first}); offline, give "
            "a local JSON/JSONL file in the same schema"
        ) from None


def load_examples(args: GRMScriptArguments, seed: int = 0) -> list:
    """The labelled examples of ``args`` (:class:`~trl_grm.data.formats.LabeledInput`)."""
    from ..data.formats import load_preference_data

    examples, report = load_preference_data(data_source(args), seed=seed, limit=args.max_examples)
    if not examples:
        raise UsageError(f"--dataset_name {args.dataset_name}: no usable example ({report.as_dict()})")
    return examples


def stage_rows(path: str, what: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows a data stage wrote (its output_dir or the file), checked for the columns the next stage needs."""
    file = os.path.join(path, STAGE_DATA_FILE) if os.path.isdir(path) else path
    if not os.path.exists(file):
        raise FileNotFoundError(f"--dataset_name: no {what} at {file} (run the stage that builds it first)")
    with open(file) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    if not rows:
        raise UsageError(f"--dataset_name: {file} holds no rows")
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        raise UsageError(f"--dataset_name: {file} is not {what} (no {missing} column)")
    return rows


def write_rows(output_dir: str, rows: list[dict[str, Any]]) -> str:
    """Write a stage's rows atomically (a crash leaves the previous file or none, never half of one)."""
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, STAGE_DATA_FILE)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    os.replace(tmp, path)
    return path


def config_source(model_name_or_path: str, script_args: GRMScriptArguments) -> str:
    """Where the model config comes from: the model, or ``base_model`` while the model is a stage output to come
    or a LoRA adapter folder."""
    if adapter_config(model_name_or_path) is not None:
        return adapter_base(model_name_or_path, script_args)
    if script_args.base_model and not os.path.isdir(model_name_or_path):
        return script_args.base_model
    return model_name_or_path


def adapter_config(model_name_or_path: str) -> dict[str, Any] | None:
    """The ``adapter_config.json`` of a LoRA adapter folder given as the model, else ``None``."""
    path = os.path.join(model_name_or_path, "adapter_config.json")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def adapter_base(adapter_dir: str, script_args: GRMScriptArguments) -> str:
    """The base model a LoRA adapter folder is trained on: ``--base_model``, else the one the adapter records (an
    error when that is neither a folder here nor a Hub id, e.g. a path on the machine that trained it)."""
    recorded = (adapter_config(adapter_dir) or {}).get("base_model_name_or_path")
    base = script_args.base_model or recorded
    if not base or not (os.path.isdir(base) or re.fullmatch(r"[\w.-]+/[\w.-]+", base)):  # a folder or a Hub id
        raise UsageError(
            f"--model_name_or_path {adapter_dir} is a LoRA adapter whose base model ({recorded!r}) is not here: give "
            "--base_model (the base model's folder or Hub id)"
        )
    return base


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
        from accelerate import PartialState

        kwargs["device_map"] = {"": PartialState().local_process_index}  # each process its own GPU (k-bit + DDP)
    return {k: v for k, v in kwargs.items() if v is not None}


def training_model(training_args, model_args, script_args: GRMScriptArguments) -> tuple[Any, Any]:
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
    base = adapter_base(path, script_args)
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, **model_init_kwargs(training_args, model_args))
    model = PeftModel.from_pretrained(model, path, is_trainable=True)
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


def train_and_save(trainer, script_args: GRMScriptArguments, training_args, what: str) -> None:
    """Train (resuming from ``resume_from_checkpoint``), save the model with its card, push when asked."""
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model(training_args.output_dir)
    if trainer.accelerator.is_main_process:
        trainer.create_model_card(dataset_name=script_args.dataset_name)
    if training_args.push_to_hub:
        trainer.push_to_hub(dataset_name=script_args.dataset_name)
    trainer.accelerator.print(f"Saved the {what} to {training_args.output_dir}")
