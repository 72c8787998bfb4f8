"""The Meta RM: a pointwise scalar model that rates sampled judgements, trained with binary cross-entropy."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch
from datasets import Dataset
from torch import nn
from transformers import AutoTokenizer, PreTrainedModel
from transformers.data.data_collator import DataCollatorMixin
from trl import RewardTrainer
from trl.trainer.utils import pad

from ..data.meta import downsample, positive_weight
from ..evaluation.metrics import roc_auc
from ..modeling.meta_rm import encode_meta_inputs, meta_max_length
from .meta_rm_config import MetaRMConfig
from .model_card import GRMModelCardMixin

logger = logging.getLogger(__name__)


@dataclass
class DataCollatorForPointwise(DataCollatorMixin):
    """Pads ``input_ids`` (right side) and stacks the 0/1 ``label`` of every row as ``meta_labels``."""

    pad_token_id: int
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"

    def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        ids = [torch.tensor(e["input_ids"]) for e in examples]
        mask = [torch.ones_like(x) for x in ids]
        return {
            "input_ids": pad(ids, padding_value=self.pad_token_id, pad_to_multiple_of=self.pad_to_multiple_of),
            "attention_mask": pad(mask, padding_value=0, pad_to_multiple_of=self.pad_to_multiple_of),
            "meta_labels": torch.tensor([float(e["label"]) for e in examples]),
        }


def _check_rows(dataset: Dataset, name: str) -> None:
    missing = [c for c in ("text", "label") if c not in dataset.column_names]
    if missing:
        raise ValueError(
            f"The {name} dataset lacks column(s) {missing}: a Meta RM trains on rows {{'text', 'label'}} "
            "(see trl_grm.data.meta.build_meta_dataset)"
        )
    for i, label in enumerate(dataset["label"]):
        if label not in (0, 1) or isinstance(label, float) and label not in (0.0, 1.0):
            raise ValueError(f"Row {i} of the {name} dataset: column 'label' must be 0 or 1, got {label!r}")


class MetaRMTrainer(GRMModelCardMixin, RewardTrainer):
    """[`~trl.RewardTrainer`] turned pointwise: one scalar per rendered meta input (query, responses as shown, one
    sampled judgement), trained with binary cross-entropy on whether that judgement was right (paper Eq. 4).

    ``train_dataset`` / ``eval_dataset``: rows ``{"text", "label"}`` from
    :func:`~trl_grm.data.meta.build_meta_dataset`. The model is any ``AutoModelForSequenceClassification`` with one
    label (a causal-LM backbone or a small encoder), given as a path or an instance. With ``peft_config`` (LoRA) the
    score head is trained too. Logs accuracy, and on evaluation ROC-AUC. Saved models load with
    :meth:`~trl_grm.modeling.meta_rm.MetaRewardModel.from_pretrained` and plug into guided voting.
    """

    _tag_names = ["trl", "reward-trainer", "trl-grm", "meta-rm"]
    _name = "Meta RM"
    _spct_stage = "Meta RM (BCE)"
    _paper = {"title": "Inference-Time Scaling for Generalist Reward Modeling", "id": "2504.02495"}

    def __init__(
        self,
        model: str | PreTrainedModel,
        args: MetaRMConfig | None = None,
        train_dataset: Dataset | None = None,
        eval_dataset: Dataset | dict[str, Dataset] | None = None,
        processing_class=None,
        peft_config=None,
        **kwargs,
    ):
        if args is None:
            name = model if isinstance(model, str) else model.config._name_or_path
            args = MetaRMConfig(f"{str(name).split('/')[-1]}-MetaRM")
        if not isinstance(args, MetaRMConfig):
            raise TypeError(f"args must be a MetaRMConfig, got {type(args).__name__}")
        if not isinstance(train_dataset, Dataset):
            raise TypeError(
                f"train_dataset must be a datasets.Dataset of {{'text', 'label'}} rows, got {train_dataset!r}"
            )
        _check_rows(train_dataset, "train")
        for key, data in (eval_dataset if isinstance(eval_dataset, dict) else {"eval": eval_dataset}).items():
            if data is not None:
                _check_rows(data, key)
        if args.class_balance == "downsample":
            rows, dropped = downsample(train_dataset.to_list(), args.seed)
            train_dataset = Dataset.from_list(rows)
            logger.info("Downsampled the Meta RM training data: %d rows dropped", dropped)
        labels = train_dataset["label"]
        self.pos_weight = args.pos_weight
        if self.pos_weight is None and args.class_balance == "weight":
            self.pos_weight = positive_weight(labels)
        logger.info(
            "Meta RM data: %d positive, %d negative rows; BCE pos_weight %s",
            sum(labels),
            len(labels) - sum(labels),
            self.pos_weight,
        )
        if peft_config is not None:
            task = getattr(peft_config, "task_type", None)
            if task is None:
                peft_config.task_type = "SEQ_CLS"  # PEFT then trains the score head ('score' / 'classifier') too
            elif str(getattr(task, "value", task)) != "SEQ_CLS":
                raise ValueError(f"A Meta RM's peft_config needs task_type='SEQ_CLS' (got {task!r})")
        if processing_class is None:
            processing_class = AutoTokenizer.from_pretrained(model if isinstance(model, str) else model.name_or_path)
        if processing_class.pad_token is None:
            processing_class.pad_token = processing_class.eos_token
        pad_multiple = args.pad_to_multiple_of if isinstance(args.pad_to_multiple_of, int) else None
        self._eval_outputs: list[tuple[torch.Tensor, torch.Tensor]] = []
        super().__init__(
            model=model,
            args=args,
            data_collator=kwargs.pop("data_collator", None)
            or DataCollatorForPointwise(processing_class.pad_token_id, pad_to_multiple_of=pad_multiple),
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=processing_class,
            peft_config=peft_config,
            **kwargs,
        )

    # --------------------------------------------------------------------------------------------------- data
    def _prepare_dataset(self, dataset: Dataset, processing_class, args: MetaRMConfig, dataset_name: str) -> Dataset:
        if "input_ids" in dataset.column_names:
            return dataset
        max_length = meta_max_length(processing_class, None, args.max_length)

        def tokenize(batch):
            return {"input_ids": encode_meta_inputs(processing_class, batch["text"], max_length)}

        return dataset.map(tokenize, batched=True, desc=f"Tokenizing {dataset_name} meta inputs")

    def _set_signature_columns_if_needed(self):
        if self._signature_columns is None:
            self._signature_columns = ["input_ids", "label"]

    # --------------------------------------------------------------------------------------------------- loss
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        mode = "train" if self.model.training else "eval"
        labels = inputs.pop("meta_labels")
        inputs["use_cache"] = False
        outputs = model(**inputs)
        logits = outputs.logits.squeeze(-1).float()
        pos_weight = None if self.pos_weight is None else torch.tensor(self.pos_weight, device=logits.device)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, labels, pos_weight=pos_weight)
        with torch.no_grad():
            all_logits = self.accelerator.gather_for_metrics(logits.detach())
            all_labels = self.accelerator.gather_for_metrics(labels)
            self._metrics[mode]["accuracy"].append(((all_logits > 0).float() == all_labels).float().mean().item())
            self._metrics[mode]["mean_score"].append(all_logits.mean().item())
            if mode == "eval":
                self._eval_outputs.append((all_logits.cpu(), all_labels.cpu()))
        return (loss, outputs) if return_outputs else loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if self._eval_outputs and not self.model.training:
            scores = torch.cat([s for s, _ in self._eval_outputs]).tolist()
            labels = torch.cat([y for _, y in self._eval_outputs]).int().tolist()
            self._eval_outputs.clear()
            try:
                self._metrics["eval"]["roc_auc"] = [roc_auc(scores, labels)]
            except ValueError:  # one class only in this eval set
                logger.warning("ROC-AUC skipped: the eval set has only one class")
        super().log(logs, start_time)

    def _save(self, output_dir: str | None = None, state_dict=None):
        super()._save(output_dir, state_dict=state_dict)
        if self.args.should_save:
            self.record_spct_stage(output_dir)
