"""trl-grm: DeepSeek-GRM pointwise generative reward models for the Hugging Face ecosystem.

Importing the package registers ``GRMConfig`` / ``GRMForPointwiseScoring`` with the transformers Auto classes
(model type ``pointwise_grm``) and the ``"pointwise-reward"`` pipeline task.
"""

from transformers import AutoConfig, AutoModel, AutoModelForCausalLM
from transformers.pipelines import PIPELINE_REGISTRY

from .modeling.configuration_grm import GRM_CONFIG_NAME, GRMConfig
from .modeling.meta_rm import MetaRewardModel
from .modeling.modeling_grm import GRMForPointwiseScoring, GRMResult
from .pipelines.pointwise_reward import PointwiseRewardPipeline
from .protocol.inputs import GRMInput
from .protocol.judging import GRMSample
from .protocol.parameters import ScoringParameters
from .protocol.parsing import ParsedOutput, ParseStatus, parse_output
from .protocol.rules import is_correct, rule_reward
from .protocol.template import GRMTemplate, build_messages
from .protocol.voting import make_orders, map_back, pick_best, vote

__version__ = "0.1.0"

# The trainers import TRL's trainer stack, which scoring does not need: they load on first use.
_LAZY = {
    "MetaRMConfig",
    "MetaRMTrainer",
    "PrincipleGRPOConfig",
    "PrincipleGRPOTrainer",
    "RejectiveSFTConfig",
    "RejectiveSFTTrainer",
}


def __getattr__(name: str):
    if name in _LAZY:
        from . import trainers

        return getattr(trainers, name)
    raise AttributeError(f"module 'trl_grm' has no attribute {name!r}")


class _DefaultGRM:
    """``pipeline("pointwise-reward")`` without a model: the embedded default GRM, built into the local cache on
    first use (never at import). transformers unpacks the task default as ``(model, revision)``."""

    def __iter__(self):
        from .modeling.default_model import default_grm_path

        return iter((str(default_grm_path()), None))


AutoConfig.register(GRMConfig.model_type, GRMConfig, exist_ok=True)
AutoModel.register(GRMConfig, GRMForPointwiseScoring, exist_ok=True)
PIPELINE_REGISTRY.register_pipeline(
    "pointwise-reward",
    pipeline_class=PointwiseRewardPipeline,
    pt_model=AutoModelForCausalLM,
    default={"model": _DefaultGRM()},
)

__all__ = [
    "GRM_CONFIG_NAME",
    "GRMConfig",
    "GRMForPointwiseScoring",
    "GRMInput",
    "GRMResult",
    "GRMSample",
    "GRMTemplate",
    "MetaRMConfig",
    "MetaRMTrainer",
    "MetaRewardModel",
    "ParseStatus",
    "ParsedOutput",
    "PointwiseRewardPipeline",
    "PrincipleGRPOConfig",
    "PrincipleGRPOTrainer",
    "RejectiveSFTConfig",
    "RejectiveSFTTrainer",
    "ScoringParameters",
    "build_messages",
    "is_correct",
    "make_orders",
    "map_back",
    "parse_output",
    "pick_best",
    "rule_reward",
    "vote",
]
