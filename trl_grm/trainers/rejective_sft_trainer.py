"""SPCT stage 1: rejective fine-tuning on a GRM's own (or a teacher's) correct critiques."""

from __future__ import annotations

import logging
from typing import Any

from accelerate import PartialState
from datasets import Dataset
from transformers import AutoTokenizer, PreTrainedModel
from trl import SFTTrainer
from trl.trainer.utils import create_model_from_path

from ..data.formats import load_preference_data
from ..data.rejective import RejectiveSampler, RejectiveSamplingReport
from ..modeling.configuration_grm import GRMConfig
from ..modeling.modeling_grm import GRMForPointwiseScoring
from .model_card import GRMModelCardMixin
from .rejective_sft_config import RejectiveSFTConfig

logger = logging.getLogger(__name__)


class RejectiveSFTTrainer(GRMModelCardMixin, SFTTrainer):
    """[`~trl.SFTTrainer`] for SPCT rejective fine-tuning.

    Give it a preference dataset (pairwise, best-of-N, rated listwise or single 0/1, see
    :func:`~trl_grm.data.formats.load_preference_data`): it samples ``num_rft_samples`` judgements per example from
    the model being trained (or ``sampler_model_name_or_path`` / ``sampler_base_url``, or a ``sampler`` object),
    keeps the correct ones of examples that were not too easy, and trains on them, completion tokens only. A dataset
    that already has ``prompt``/``completion`` columns is used as it is. LoRA via ``peft_config`` and QLoRA via
    ``quantization_config`` work as in TRL. Saved checkpoints (adapters included) carry ``grm_config.json``.
    """

    _tag_names = ["trl", "sft", "trl-grm", "grm", "spct", "rejective-sft"]
    _name = "Rejective SFT"
    _spct_stage = "rejective fine-tuning"
    _paper = {
        "title": "Inference-Time Scaling for Generalist Reward Modeling",
        "id": "2504.02495",
    }

    def __init__(
        self,
        model: str | PreTrainedModel,
        args: RejectiveSFTConfig | None = None,
        train_dataset: Dataset | str | list[dict] | None = None,
        eval_dataset: Dataset | None = None,
        processing_class=None,
        peft_config=None,
        quantization_config=None,
        sampler: Any = None,
        **kwargs,
    ):
        if args is None:
            name = model if isinstance(model, str) else model.config._name_or_path
            args = RejectiveSFTConfig(f"{str(name).split('/')[-1]}-RFT")
        if not isinstance(args, RejectiveSFTConfig):
            raise TypeError(f"args must be a RejectiveSFTConfig, got {type(args).__name__}")
        if train_dataset is None:
            raise ValueError("train_dataset is required: a preference dataset or a prebuilt prompt/completion dataset")
        model_path = model if isinstance(model, str) else getattr(model, "name_or_path", None)
        if isinstance(model, str):
            init_kwargs = dict(args.model_init_kwargs or {})
            if quantization_config is not None:
                init_kwargs["quantization_config"] = quantization_config
            model = create_model_from_path(model, **init_kwargs)
            quantization_config = None
            args.model_init_kwargs = None  # used here (TRL would warn that an instantiated model ignores them)
        if processing_class is None:
            processing_class = AutoTokenizer.from_pretrained(model_path or model.config._name_or_path)
        self.grm_config = GRMConfig.resolve(args.grm_config, model_path)
        self.rejective_report: RejectiveSamplingReport | None = None

        if not _is_prompt_completion(train_dataset):
            sampler = sampler or self._make_sampler(args, model, processing_class)
            train_dataset = self._build(args, train_dataset, sampler)
        super().__init__(
            model=model,
            args=args,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=processing_class,
            peft_config=peft_config,
            quantization_config=quantization_config,
            **kwargs,
        )

    def _make_sampler(self, args: RejectiveSFTConfig, model: PreTrainedModel, tokenizer) -> Any:
        from ..modeling.loading import BackendArguments, load_grm

        if args.sampler_base_url:
            engine = BackendArguments(backend="openai", base_url=args.sampler_base_url)
            return load_grm(args.sampler_model, engine, config=self.grm_config)
        if args.sampler_model_name_or_path:
            return load_grm(args.sampler_model_name_or_path, config=self.grm_config)
        return GRMForPointwiseScoring(model, tokenizer, self.grm_config)

    def _build(self, args: RejectiveSFTConfig, data: Any, sampler: Any) -> Dataset:
        examples, load_report = load_preference_data(data, seed=args.seed)
        logger.info("Preference data: %s", load_report.as_dict())
        builder = RejectiveSampler(
            sampler,
            num_samples=args.num_rft_samples,
            hinted_fraction=args.hinted_fraction,
            temperature=args.rft_temperature,
            max_new_tokens=args.rft_max_new_tokens,
            binary_single=args.binary_single,
            prompt_config=self.grm_config,
            balance_positions=args.balance_positions,
            require_all_positions=args.require_all_positions,
            order_strategy=args.rft_order_strategy,
            seed=args.seed,
            batch_size=args.rft_batch_size,
        )
        # The main process samples; the others then find every example finished on disk and only read it.
        with PartialState().main_process_first():
            rows, report = builder.build(examples, args.rejective_output_dir, progress=PartialState().is_main_process)
        self.rejective_report = report
        logger.info("Rejective sampling: %s", report.as_dict())
        if not rows:
            raise ValueError(
                f"Rejective sampling kept no sample out of {report.examples} examples ({report.as_dict()}); the "
                "model never judged correctly. Use a stronger sampler, hinted_fraction > 0, or easier data."
            )
        return Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])

    def _save(self, output_dir: str | None = None, state_dict=None):
        super()._save(output_dir, state_dict=state_dict)
        if self.args.should_save:
            self.grm_config.save_pretrained(output_dir or self.args.output_dir)
            self.record_spct_stage(output_dir)


def _is_prompt_completion(data: Any) -> bool:
    columns = data.column_names if isinstance(data, Dataset) else None
    return columns is not None and "prompt" in columns and "completion" in columns and "chosen" not in columns
