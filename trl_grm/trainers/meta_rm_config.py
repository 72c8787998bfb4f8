"""Configuration of the Meta RM: a pointwise scalar classifier of sampled judgements (right / wrong)."""

from __future__ import annotations

from dataclasses import dataclass, field

from trl import RewardConfig

from ..utils.compat import quiet_checkpointing_alias

CLASS_BALANCE_MODES = ("weight", "downsample", "none")


@dataclass
class MetaRMConfig(RewardConfig):
    r"""[`~trl.RewardConfig`] for a pointwise Meta RM trained with binary cross-entropy.

    Defaults that differ from [`~trl.RewardConfig`]: `learning_rate=1e-5` (the paper's Meta RM rate) [1e-4],
    `max_length=2048` [1024]. Unlike the pairwise reward trainer, rows longer than `max_length` are not dropped:
    they lose their beginning, exactly as in guided voting (the judgement comes last).

    Parameters:
        class_balance (`str`, defaults to `"weight"`): `"weight"` sets the BCE `pos_weight` to negatives/positives
            of the training data, `"downsample"` drops random rows of the larger class, `"none"` does neither.
        pos_weight (`float`, *optional*): an explicit BCE `pos_weight` (overrides `class_balance="weight"`).
    """

    learning_rate: float = field(default=1e-5, metadata={"help": "Learning rate (paper Meta RM: 1e-5)."})
    max_length: int | None = field(
        default=2048, metadata={"help": "Token budget of one meta input; longer ones lose their beginning."}
    )
    class_balance: str = field(
        default="weight",
        metadata={"help": "'weight' (BCE pos_weight = negatives/positives), 'downsample' or 'none'."},
    )
    pos_weight: float | None = field(default=None, metadata={"help": "Explicit BCE pos_weight."})

    def __post_init__(self):
        with quiet_checkpointing_alias():
            super().__post_init__()
        if self.class_balance not in CLASS_BALANCE_MODES:
            raise ValueError(f"class_balance must be one of {CLASS_BALANCE_MODES}, got {self.class_balance!r}")
        if self.pos_weight is not None and self.pos_weight <= 0:
            raise ValueError(f"pos_weight must be > 0, got {self.pos_weight}")
