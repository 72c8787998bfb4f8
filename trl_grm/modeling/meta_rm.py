"""Meta RM scorers for guided voting: a sequence-classification model or any callable on rendered meta inputs."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

MetaScorer = Callable[[Sequence[str]], Sequence[float]]


class MetaRewardModel:
    """A scalar (one-label) sequence classifier that scores rendered meta inputs; higher = more trustworthy sample."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, batch_size: int = 16):
        if getattr(model.config, "num_labels", 1) != 1:
            raise ValueError(f"A Meta RM has one output label, this model has {model.config.num_labels}")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike, **kwargs) -> MetaRewardModel:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, **kwargs)
        if model.config.pad_token_id is None:
            model.config.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        return cls(model, tokenizer)

    def save_pretrained(self, path: str | os.PathLike) -> None:
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)

    @torch.no_grad()
    def __call__(self, texts: Sequence[str]) -> list[float]:
        scores: list[float] = []
        max_length = min(getattr(self.tokenizer, "model_max_length", 4096), 4096)
        for i in range(0, len(texts), self.batch_size):
            enc = self.tokenizer(
                list(texts[i : i + self.batch_size]),
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=max_length,
            ).to(self.model.device)
            scores += self.model(**enc).logits[:, 0].float().tolist()
        return scores


def as_meta_scorer(meta_rm: MetaScorer | str | os.PathLike | None) -> MetaScorer | None:
    """Accept a :class:`MetaRewardModel`, a path/Hub id of one, or any callable ``texts -> scores``."""
    if meta_rm is None or callable(meta_rm):
        return meta_rm
    if isinstance(meta_rm, (str, os.PathLike)):
        return MetaRewardModel.from_pretrained(meta_rm)
    raise TypeError(f"meta_rm must be a path, a MetaRewardModel or a callable, got {type(meta_rm).__name__}")
