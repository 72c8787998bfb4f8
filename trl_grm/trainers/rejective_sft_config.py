"""Configuration of rejective fine-tuning (SPCT stage 1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trl import SFTConfig

from ..utils.compat import quiet_checkpointing_alias


@dataclass
class RejectiveSFTConfig(SFTConfig):
    r"""[`~trl.SFTConfig`] plus the rejective-sampling settings of SPCT stage 1.

    Defaults that differ from [`~trl.SFTConfig`]: `learning_rate=5e-6` (the paper's RFT value).

    Parameters:
        num_rft_samples (`int`, defaults to `3`): N_RFT, judgements sampled per (unhinted) example.
        hinted_fraction (`float`, defaults to `0.0`): fraction of examples sampled once, best response revealed.
        rft_temperature (`float`, defaults to `0.5`): sampling temperature of the rejective sampling.
        rft_max_new_tokens (`int`, defaults to `512`): length budget of one sampled judgement.
        rft_batch_size (`int`, defaults to `8`): examples per sampling call and per durable write.
        binary_single (`bool`, defaults to `True`): rate single responses 0/1 (the paper's n = 1 variant).
        balance_positions (`bool`, defaults to `False`): keep equally many samples for every shown position of the
            best response (not in the paper; for samplers whose correct samples favour one position).
        rft_order_strategy (`str`, defaults to `"random"`): response orders of an example's samples: `"random"`
            (paper) or `"balanced"` (cyclic shifts: each order equally often).
        require_all_positions (`bool`, defaults to `False`): keep an example only when its correct samples show the
            best response in every position (not in the paper; use with `rft_order_strategy="balanced"`).
        rejective_output_dir (`str`, *optional*): where samples are written (resumable); `<output_dir>/rejective`.
        sampler_model_name_or_path (`str`, *optional*): sample from this checkpoint (a stronger teacher) instead of the
            model being trained.
        sampler_base_url (`str`, *optional*), sampler_model (`str`, *optional*): sample from an OpenAI-compatible
            endpoint instead.
        grm_config (`dict` or `str`, *optional*): GRM settings (template, score range) as a dict of
            [`GRMConfig`] fields or a directory holding `grm_config.json`; the model's own when unset.
    """

    _VALID_DICT_FIELDS = SFTConfig._VALID_DICT_FIELDS + ["grm_config"]

    learning_rate: float = field(default=5e-6, metadata={"help": "Learning rate (paper RFT: 5e-6)."})
    num_rft_samples: int = field(default=3, metadata={"help": "N_RFT: judgements sampled per unhinted example."})
    hinted_fraction: float = field(
        default=0.0, metadata={"help": "Fraction of examples sampled once with the best response revealed."}
    )
    rft_temperature: float = field(default=0.5, metadata={"help": "Sampling temperature of rejective sampling."})
    rft_max_new_tokens: int = field(default=512, metadata={"help": "Length budget of one sampled judgement."})
    rft_batch_size: int = field(default=8, metadata={"help": "Examples per sampling call and per durable write."})
    binary_single: bool = field(default=True, metadata={"help": "Rate single responses 0/1 (paper's n = 1 variant)."})
    balance_positions: bool = field(
        default=False, metadata={"help": "Keep equally many samples per shown position of the best response."}
    )
    rft_order_strategy: str = field(
        default="random",
        metadata={"help": "Sample orders: 'random' (paper) or 'balanced' (every order equally often)."},
    )
    require_all_positions: bool = field(
        default=False,
        metadata={"help": "Keep an example only if its correct samples show the best response in every position."},
    )
    rejective_output_dir: str | None = field(
        default=None, metadata={"help": "Where samples are written (resumable). Default: <output_dir>/rejective."}
    )
    sampler_model_name_or_path: str | None = field(
        default=None, metadata={"help": "Sample from this checkpoint instead of the model being trained."}
    )
    sampler_base_url: str | None = field(
        default=None, metadata={"help": "Sample from this OpenAI-compatible endpoint (e.g. http://127.0.0.1:8000/v1)."}
    )
    sampler_model: str | None = field(default=None, metadata={"help": "Model name served at sampler_base_url."})
    grm_config: dict[str, Any] | str | None = field(
        default=None,
        metadata={"help": "GRM settings: a dict of GRMConfig fields or a directory with grm_config.json."},
    )

    def __post_init__(self):
        with quiet_checkpointing_alias():
            super().__post_init__()
        if self.num_rft_samples < 1:
            raise ValueError(f"num_rft_samples must be >= 1, got {self.num_rft_samples}")
        if not 0.0 <= self.hinted_fraction <= 1.0:
            raise ValueError(f"hinted_fraction must be in [0, 1], got {self.hinted_fraction}")
        if self.rft_order_strategy not in ("random", "balanced"):
            raise ValueError(f"rft_order_strategy must be 'random' or 'balanced', got {self.rft_order_strategy!r}")
        if (self.sampler_base_url is None) != (self.sampler_model is None):
            raise ValueError("sampler_base_url and sampler_model go together")
        if self.rejective_output_dir is None:
            self.rejective_output_dir = f"{self.output_dir}/rejective"
