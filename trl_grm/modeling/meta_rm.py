"""Meta RM scorers for guided voting: a sequence-classification model or any callable on rendered meta inputs."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

MetaScorer = Callable[[Sequence[str]], Sequence[float]]

DEFAULT_META_MAX_LENGTH = 2048


def meta_max_length(
    tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel | None = None, limit: int | None = None
):
    """The token budget of one meta input: ``limit`` (default 2048), capped by the model's and tokenizer's window."""
    bounds = [limit or DEFAULT_META_MAX_LENGTH]
    window = getattr(model.config, "max_position_embeddings", None) if model is not None else None
    if isinstance(window, int) and window > 0:
        bounds.append(window)
    if isinstance(tokenizer.model_max_length, int) and tokenizer.model_max_length < 10**9:
        bounds.append(tokenizer.model_max_length)
    return min(bounds)


def encode_meta_inputs(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids of rendered meta inputs, as training and guided voting both see them.

    Too long inputs lose their BEGINNING (the judgement, which the Meta RM rates, comes last).
    """
    side = tokenizer.truncation_side
    tokenizer.truncation_side = "left"
    try:
        return tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    finally:
        tokenizer.truncation_side = side


class MetaRewardModel:
    """A scalar (one-label) sequence classifier that scores rendered meta inputs; higher = more trustworthy sample.

    A PEFT model (e.g. a LoRA Meta RM straight from :class:`~trl_grm.trainers.meta_rm_trainer.MetaRMTrainer`) is
    merged for inference, so that ``save_pretrained`` writes a plain checkpoint.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        batch_size: int = 16,
        max_length: int | None = None,
    ):
        if hasattr(model, "merge_and_unload"):
            model = model.merge_and_unload()
        if getattr(model.config, "num_labels", 1) != 1:
            raise ValueError(f"A Meta RM has one output label, this model has {model.config.num_labels}")
        if model.config.pad_token_id is None:
            if tokenizer.pad_token_id is None:
                raise ValueError("The Meta RM's tokenizer has no pad token; set tokenizer.pad_token first")
            model.config.pad_token_id = tokenizer.pad_token_id
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_length = meta_max_length(tokenizer, model, max_length)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, **kwargs: Any) -> MetaRewardModel:
        """Load a Meta RM checkpoint, or a PEFT adapter directory of one (merged on load)."""
        tokenizer = AutoTokenizer.from_pretrained(path)
        if os.path.exists(os.path.join(str(path), "adapter_config.json")):
            from peft import AutoPeftModelForSequenceClassification

            model = AutoPeftModelForSequenceClassification.from_pretrained(path, num_labels=1, **kwargs)
        else:
            model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, **kwargs)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return cls(model, tokenizer)

    def save_pretrained(self, path: str | os.PathLike) -> None:
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)

    @torch.no_grad()
    def __call__(self, texts: Sequence[str]) -> list[float]:
        """One score (the logit) per rendered meta input."""
        scores: list[float] = []
        for i in range(0, len(texts), self.batch_size):
            ids = encode_meta_inputs(self.tokenizer, texts[i : i + self.batch_size], self.max_length)
            batch = self.tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(self.model.device)
            scores += self.model(**batch).logits[:, 0].float().tolist()
        return scores


def as_meta_scorer(meta_rm: MetaScorer | str | os.PathLike | None) -> MetaScorer | None:
    """Accept a :class:`MetaRewardModel`, a path/Hub id of one, or any callable ``texts -> scores``."""
    if meta_rm is None or callable(meta_rm):
        return meta_rm
    if isinstance(meta_rm, (str, os.PathLike)):
        return MetaRewardModel.from_pretrained(meta_rm)
    raise TypeError(f"meta_rm must be a path, a MetaRewardModel or a callable, got {type(meta_rm).__name__}")
