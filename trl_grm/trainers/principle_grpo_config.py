"""Configuration of rule-based online RL (SPCT stage 2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trl import GRPOConfig

from ..utils.compat import quiet_checkpointing_alias


@dataclass
class PrincipleGRPOConfig(GRPOConfig):
    r"""[`~trl.GRPOConfig`] with the paper's SPCT RL settings set explicitly.

    Defaults that differ from [`~trl.GRPOConfig`] (TRL's own are in brackets): `beta=0.08` [0.0], `num_generations=4`
    [8], `loss_type="grpo"` ["dapo"], `max_completion_length=1024` [512] so critiques fit, `learning_rate=4e-7`
    (the paper's RL rate). The paper uses beta 0.08 for 27B and 0.002 for 16B.

    Parameters:
        binary_single (`bool`, defaults to `True`): rate single responses 0/1 (the paper's n = 1 variant).
        drop_too_easy (`bool`, defaults to `True`): leave out the examples the RFT stage found too easy.
        all_orders (`bool`, defaults to `False`): one prompt per order of an example's responses (cyclic shifts:
            both orders of a pair), adjacent; with `shuffle_dataset=False` they share a batch (not in the paper).
        rft_report (`str`, *optional*): the RFT stage's `report.json` (or its rejective directory) naming them.
        grm_config (`dict` or `str`, *optional*): GRM settings as a dict of [`GRMConfig`] fields or a directory
            holding `grm_config.json`; the model's own when unset.
    """

    _VALID_DICT_FIELDS = GRPOConfig._VALID_DICT_FIELDS + ["grm_config"]

    learning_rate: float = field(default=4e-7, metadata={"help": "Learning rate (paper RL: 4e-7)."})
    beta: float = field(default=0.08, metadata={"help": "KL coefficient (paper: 0.08 for 27B, 0.002 for 16B)."})
    num_generations: int | None = field(default=4, metadata={"help": "Group size G (paper: 4)."})
    loss_type: str = field(default="grpo", metadata={"help": "GRPO loss (paper: the original 'grpo')."})
    max_completion_length: int | None = field(
        default=1024, metadata={"help": "Room for principles, critique and scores."}
    )
    binary_single: bool = field(default=True, metadata={"help": "Rate single responses 0/1 (paper's n = 1 variant)."})
    drop_too_easy: bool = field(default=True, metadata={"help": "Leave out examples the RFT stage found too easy."})
    all_orders: bool = field(
        default=False,
        metadata={"help": "One prompt per order of an example's responses, adjacent (with shuffle_dataset false)."},
    )
    rft_report: str | None = field(
        default=None, metadata={"help": "RFT report.json (or rejective directory) naming the too-easy examples."}
    )
    grm_config: dict[str, Any] | str | None = field(
        default=None,
        metadata={"help": "GRM settings: a dict of GRMConfig fields or a directory with grm_config.json."},
    )

    def __post_init__(self):
        with quiet_checkpointing_alias():
            super().__post_init__()
