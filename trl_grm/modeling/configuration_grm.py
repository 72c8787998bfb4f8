"""GRM settings, saved as ``grm_config.json`` beside an ordinary causal-LM checkpoint."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig

from ..protocol.template import PRINCIPLES_MODES, GRMTemplate
from ..protocol.voting import ORDER_STRATEGIES

GRM_CONFIG_NAME = "grm_config.json"
# The fields of GRMConfig that are GRM settings (the rest is PreTrainedConfig's, meaningless for a GRM).
GRM_SETTINGS = (
    "template",
    "score_min",
    "score_max",
    "num_samples",
    "temperature",
    "top_p",
    "max_new_tokens",
    "order_strategy",
    "principles_mode",
    "k_meta",
    "meta_rm",
)

logger = logging.getLogger(__name__)

# Released GRMs without a grm_config.json: the settings their authors' card describes (1..10 scores in one box,
# responses shuffled per sample, voting) and, for the 27B, its Meta RM.
RELEASED_GRMS: dict[str, dict[str, Any]] = {
    "BBQGOD/DeepSeek-GRM-16B": {"order_strategy": "random"},
    "BBQGOD/DeepSeek-GRM-27B": {"order_strategy": "random", "meta_rm": "BBQGOD/DeepSeek-GRM-27B-MetaRM"},
}


@strict
class GRMConfig(PreTrainedConfig):
    r"""Settings of a pointwise generative reward model.

    The causal LM's own ``config.json`` is left untouched (so plain transformers and vLLM still load the checkpoint);
    these settings live in ``grm_config.json`` and travel with the model through ``save_pretrained`` / the Hub.

    Args:
        template (`dict`, *optional*): overrides of :class:`~trl_grm.protocol.template.GRMTemplate` fields; the
            full template is stored.
        score_min (`int`, defaults to 1), score_max (`int`, defaults to 10): the integer score range.
        num_samples (`int`, defaults to 1): default k for voting.
        temperature (`float`, defaults to 0.5): sampling temperature when k > 1 (the paper's value); k = 1 is greedy.
        top_p (`float`, defaults to 1.0): nucleus sampling when sampling.
        max_new_tokens (`int`, defaults to 512): length budget of one judgement.
        order_strategy (`str`, defaults to `"random"`): `"random"` (paper), `"balanced"` (cyclic shifts) or `"fixed"`.
        principles_mode (`str`, defaults to `"self"`): `"self"`, `"given"` or `"none"`.
        k_meta (`int`, *optional*): samples kept by Meta RM guided voting; k/2 when unset.
        meta_rm (`str`, *optional*): path (relative to the GRM directory) or Hub id of a Meta RM.
    """

    model_type = "pointwise_grm"

    template: dict[str, Any] | None = None
    score_min: int = 1
    score_max: int = 10
    num_samples: int = 1
    temperature: float = 0.5
    top_p: float = 1.0
    max_new_tokens: int = 512
    order_strategy: str = "random"
    principles_mode: str = "self"
    k_meta: int | None = None
    meta_rm: str | None = None

    def __post_init__(self, **kwargs):
        # Store the complete template, so that later changes of the default wording never change a saved model.
        self.template = GRMTemplate.from_dict(self.template).to_dict()
        super().__post_init__(**kwargs)
        self.validate_settings()

    def validate_settings(self) -> None:
        if self.score_min >= self.score_max:
            raise ValueError(f"score_min ({self.score_min}) must be below score_max ({self.score_max})")
        if self.num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {self.num_samples}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.order_strategy not in ORDER_STRATEGIES:
            raise ValueError(f"order_strategy must be one of {ORDER_STRATEGIES}, got {self.order_strategy!r}")
        if self.principles_mode not in PRINCIPLES_MODES:
            raise ValueError(f"principles_mode must be one of {PRINCIPLES_MODES}, got {self.principles_mode!r}")

    @property
    def grm_template(self) -> GRMTemplate:
        return GRMTemplate.from_dict(self.template)

    @property
    def score_range(self) -> tuple[int, int]:
        return (self.score_min, self.score_max)

    def save_pretrained(self, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs) -> None:
        """Write ``grm_config.json`` (never ``config.json``, which belongs to the causal LM)."""
        if push_to_hub:
            raise ValueError("Push the whole GRM with GRMForPointwiseScoring.push_to_hub")
        os.makedirs(save_directory, exist_ok=True)
        with open(os.path.join(save_directory, GRM_CONFIG_NAME), "w", encoding="utf-8") as f:
            json.dump(self.grm_settings(), f, indent=2, sort_keys=True)
            f.write("\n")

    def grm_settings(self) -> dict[str, Any]:
        """The GRM settings alone (what ``grm_config.json`` holds): none of ``PreTrainedConfig``'s model keys."""
        return {"model_type": self.model_type, **{name: getattr(self, name) for name in GRM_SETTINGS}}

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs) -> GRMConfig:
        """Read ``grm_config.json`` from a directory or Hub repo; raises ``OSError`` when there is none."""
        kwargs.setdefault("_configuration_file", GRM_CONFIG_NAME)
        return super().from_pretrained(pretrained_model_name_or_path, **kwargs)

    @classmethod
    def from_model(cls, pretrained_model_name_or_path: str | os.PathLike, **hub_kwargs) -> GRMConfig:
        """The GRM settings saved with a model, or the defaults for a plain causal LM without ``grm_config.json``."""
        try:
            return cls.from_pretrained(pretrained_model_name_or_path, **hub_kwargs)
        except OSError:
            released = RELEASED_GRMS.get(str(pretrained_model_name_or_path))
            if released is not None:
                logger.info(
                    "%s: the settings of the released checkpoint (%s)", pretrained_model_name_or_path, released
                )
                return cls(**released)
            logger.info("No %s in %s: using the default GRM settings", GRM_CONFIG_NAME, pretrained_model_name_or_path)
            return cls()

    @classmethod
    def resolve(cls, setting: dict[str, Any] | str | os.PathLike | None, model_path: str | None = None) -> GRMConfig:
        """GRM settings from a dict, a directory / Hub id holding ``grm_config.json``, or else the model's own
        (defaults when it has none): how the trainers read their ``grm_config`` argument."""
        if isinstance(setting, dict):
            return cls(**setting)
        if isinstance(setting, (str, os.PathLike)):
            return cls.from_pretrained(setting)
        return cls.from_model(model_path) if model_path else cls()
