"""Model cards and Hub uploads of GRMs and Meta RMs: the cards come from the templates shipped in the wheel
(``trl_grm/templates``), carry the GRM settings, the SPCT stages the model went through (``spct_stages.json``, which
each trainer extends) and the ``trl-grm eval`` table; uploads go through ``huggingface_hub``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
STAGES_FILE = "spct_stages.json"
CARD_FILE = "README.md"
PAPER = {
    "title": "Inference-Time Scaling for Generalist Reward Modeling",
    "id": "2504.02495",
    "citation": """@article{liu2025inference,
  title   = {{Inference-Time Scaling for Generalist Reward Modeling}},
  author  = {Zijun Liu and Peiyi Wang and Runxin Xu and Shirong Ma and Chong Ruan and Peng Li and Yang Liu and Yu Wu},
  journal = {arXiv preprint arXiv:2504.02495},
  year    = {2025}
}""",
}
# Pickles and training state stay home: the trainer's arguments, optimizer states, intermediate checkpoints.
UPLOAD_IGNORE = ["training_args.bin", "*.pt", "*.pth", "checkpoint-*", "checkpoint-*/**"]
TAGS = ["trl-grm", "reward-model", "generative-reward-model", "spct"]


def read_stages(folder: str | os.PathLike | None) -> list[dict[str, Any]]:
    """The SPCT stages recorded with a model folder (none for a Hub id or a folder without a record)."""
    if folder is None:
        return []
    path = Path(folder) / STAGES_FILE
    return json.loads(path.read_text()) if path.is_file() else []


def record_stage(output_dir: str | os.PathLike, base: str | None, name: str, settings: dict[str, Any]) -> None:
    """Append this stage to the stages of the model it started from and save them with the new model."""
    stages = read_stages(base if base and os.path.isdir(base) else None)
    stages.append({"name": name, "settings": settings})
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    (Path(output_dir) / STAGES_FILE).write_text(json.dumps(stages, indent=2) + "\n")


def _card_data(base_model: str | None, dataset_name: str | None, tags: list[str] | None, pipeline: str | None):
    from huggingface_hub import ModelCardData

    datasets = [dataset_name] if dataset_name and "/" in dataset_name and not os.path.exists(dataset_name) else None
    return ModelCardData(
        license="apache-2.0",
        library_name="transformers",
        base_model=base_model if base_model and not os.path.exists(base_model) else None,
        datasets=datasets,
        tags=sorted(set(TAGS + list(tags or []))),
        pipeline_tag=pipeline,
    )


def grm_card(
    folder: str | os.PathLike,
    *,
    repo_id: str | None = None,
    base_model: str | None = None,
    dataset_name: str | None = None,
    eval_markdown: str | None = None,
    recipe: str | None = None,
    tags: list[str] | None = None,
):
    """The model card of the GRM saved in ``folder`` (its ``grm_config.json`` and recorded stages)."""
    from huggingface_hub import ModelCard

    from .configuration_grm import GRMConfig

    config = GRMConfig.from_model(folder)
    name = repo_id or Path(folder).resolve().name
    stages = [
        {"name": s["name"], "settings": ", ".join(f"{k} {v}" for k, v in s["settings"].items())}
        for s in read_stages(folder)
    ]
    return ModelCard.from_template(
        _card_data(base_model, dataset_name, tags, "text-generation"),
        template_path=str(TEMPLATES / "grm_card.md"),
        model_name=name,
        repo_id=repo_id or "path/to/this/model",
        base_model=base_model if base_model and not os.path.exists(base_model) else None,
        has_meta_rm=bool(config.meta_rm),
        num_samples=config.num_samples,
        temperature=config.temperature,
        k_meta=config.k_meta if config.k_meta is not None else "k/2",
        order_strategy=config.order_strategy,
        score_min=config.score_min,
        score_max=config.score_max,
        principles_mode=config.principles_mode,
        max_new_tokens=config.max_new_tokens,
        stages=stages,
        dataset_name=dataset_name,
        recipe=recipe,
        eval_markdown=eval_markdown,
        citation=PAPER["citation"],
    )


def meta_rm_card(
    folder: str | os.PathLike,
    *,
    repo_id: str | None = None,
    base_model: str | None = None,
    dataset_name: str | None = None,
    tags: list[str] | None = None,
):
    from huggingface_hub import ModelCard

    stages = read_stages(folder)
    training = "; ".join(", ".join(f"{k} {v}" for k, v in s["settings"].items()) for s in stages)
    return ModelCard.from_template(
        _card_data(base_model, dataset_name, (tags or []) + ["meta-rm"], "text-classification"),
        template_path=str(TEMPLATES / "meta_rm_card.md"),
        model_name=repo_id or Path(folder).resolve().name,
        repo_id=repo_id or "path/to/this/meta-rm",
        base_model=base_model if base_model and not os.path.exists(base_model) else None,
        training=f"Settings: {training}." if training else "",
        dataset_name=dataset_name,
        citation=PAPER["citation"],
    )


def is_grm_folder(folder: str | os.PathLike) -> bool:
    return (Path(folder) / "grm_config.json").is_file()


def write_card(folder: str | os.PathLike, **kwargs) -> Path:
    """Render the right card (GRM or Meta RM) for ``folder`` and save it as its README.md."""
    card = (
        grm_card(folder, **kwargs)
        if is_grm_folder(folder)
        else meta_rm_card(
            folder, **{k: v for k, v in kwargs.items() if k in ("repo_id", "base_model", "dataset_name", "tags")}
        )
    )
    path = Path(folder) / CARD_FILE
    card.save(str(path))
    return path


def push_folder(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    private: bool | None = None,
    revision: str | None = None,
    token: str | None = None,
    create_pr: bool = False,
    commit_message: str | None = None,
) -> str:
    """Upload ``folder`` (weights or adapter, ``grm_config.json``, ``meta_rm/``, card) as one commit; returns the
    commit (or pull request) URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    if revision is not None and not create_pr:
        api.create_branch(repo_id, branch=revision, exist_ok=True)
    info = api.upload_folder(
        repo_id=repo_id,
        folder_path=str(folder),
        revision=revision,
        create_pr=create_pr,
        commit_message=commit_message or f"Upload {Path(folder).name} with trl-grm",
        ignore_patterns=UPLOAD_IGNORE,
    )
    return str(getattr(info, "pr_url", None) or info)
