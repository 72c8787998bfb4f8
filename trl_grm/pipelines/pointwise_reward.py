"""``pipeline("pointwise-reward")``: a transformers pipeline over :class:`GRMForPointwiseScoring`."""

from __future__ import annotations

import os
from typing import Any

from transformers import Pipeline

from ..modeling.configuration_grm import GRMConfig
from ..modeling.modeling_grm import GRMForPointwiseScoring, GRMResult
from ..protocol.inputs import GRMInput, to_inputs
from ..protocol.parameters import ScoringParameters

# The scoring parameters (the one description) plus what a call does with its results.
SCORE_PARAMS = (*ScoringParameters.names(), "return_samples", "meta_rm", "progress", "strict_context")


class PointwiseRewardPipeline(Pipeline):
    """Score 1..n responses to a query with a generative reward model (principles, critique, voting@k).

    Input: a dict ``{"prompt": str | chat messages, "responses": [str, ...], "principles"?: str, "reference"?: str}``
    or a list of them. All samples of all inputs of one call are generated in one batched pass. Returns a dict per
    input with ``scores`` (voted, original order), ``best``, ``num_failed``, ``failures`` and ``samples``.

    Parameters (call time): the fields of :class:`~trl_grm.protocol.parameters.ScoringParameters` (``num_samples``,
    ``temperature``, ``top_p``, ``max_new_tokens``, ``seed``, ``order_strategy``, ``principles_mode``, ``k_meta``)
    and ``return_samples``, ``meta_rm``, ``progress``.
    """

    _load_tokenizer = None  # optional: a GRMForPointwiseScoring instance brings its own
    _load_processor = False
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False

    def __init__(
        self,
        model: Any,
        tokenizer: Any = None,
        grm_config: GRMConfig | None = None,
        meta_rm: Any = None,
        max_batch_size: int = 64,
        **kwargs,
    ):
        given = None
        if isinstance(model, GRMForPointwiseScoring):
            # A ready GRM is used as it is (its backend, batch limits and Meta RM stay), not rebuilt.
            if grm_config is not None or meta_rm is not None:
                raise ValueError("pass grm_config / meta_rm to the GRMForPointwiseScoring itself, not to the pipeline")
            if given_model := model.model:
                given, model, tokenizer = model, given_model, tokenizer or model.tokenizer
            else:
                raise ValueError(
                    "pipeline('pointwise-reward') needs a GRM on the transformers backend; call grm.score() directly "
                    "for a GRM on vLLM or a server"
                )
        if tokenizer is None:
            raise ValueError("pipeline('pointwise-reward') needs a tokenizer together with an already-loaded model")
        super().__init__(model=model, tokenizer=tokenizer, **kwargs)
        if grm_config is None:
            source = getattr(self.model, "name_or_path", "") or ""
            grm_config = GRMConfig.from_model(source) if source and (os.path.isdir(source) or "/" in source) else None
        self.grm = given or GRMForPointwiseScoring(
            self.model, self.tokenizer, grm_config, meta_rm=meta_rm, max_batch_size=max_batch_size
        )

    def _sanitize_parameters(self, **kwargs):
        unknown = sorted(set(kwargs) - set(SCORE_PARAMS))
        if unknown:
            raise TypeError(f"Unknown pointwise-reward parameter(s) {unknown}; known: {list(SCORE_PARAMS)}")
        return {}, kwargs, {}

    def preprocess(self, inputs) -> tuple[list[GRMInput], bool]:
        """Check and normalise the inputs (a clear error names the bad field); remembers whether one was given."""
        return to_inputs(inputs)

    def _forward(self, model_inputs: tuple[list[GRMInput], bool], **params) -> tuple[list[GRMResult], bool]:
        items, single = model_inputs
        return self.grm.score(items, **params), single

    def postprocess(self, model_outputs: tuple[list[GRMResult], bool]) -> dict | list[dict]:
        results, single = model_outputs
        dicts = [r.to_dict() for r in results]
        return dicts[0] if single else dicts

    def __call__(self, inputs, **kwargs) -> dict | list[dict]:
        """Score ``inputs`` (one dict or a list). The steps are the pipeline's (preprocess -> forward ->
        postprocess), but run once over ALL inputs: the base class would run them one input at a time, while the GRM
        batches every sample of every input into one generation pass (shared prefill, batch-independent seeds)."""
        _, params, _ = self._sanitize_parameters(**kwargs)
        return self.postprocess(self._forward(self.preprocess(inputs), **params))
