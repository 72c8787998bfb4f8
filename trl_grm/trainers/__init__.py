"""SPCT trainers (thin subclasses of TRL's) and their configs."""

from .meta_rm_config import MetaRMConfig
from .meta_rm_trainer import MetaRMTrainer
from .principle_grpo_config import PrincipleGRPOConfig
from .principle_grpo_trainer import PrincipleGRPOTrainer
from .rejective_sft_config import RejectiveSFTConfig
from .rejective_sft_trainer import RejectiveSFTTrainer

__all__ = [
    "MetaRMConfig",
    "MetaRMTrainer",
    "PrincipleGRPOConfig",
    "PrincipleGRPOTrainer",
    "RejectiveSFTConfig",
    "RejectiveSFTTrainer",
]
