"""SPCT stage 2: online GRPO with the rule-based reward (+1 when the scores single out the labelled best, else -1)."""

from __future__ import annotations

import json
import logging
import os
import random
from typing import Any

from datasets import Dataset
from transformers import AutoTokenizer, PreTrainedModel
from trl import GRPOTrainer

from ..data.formats import load_preference_data
from ..data.rejective import REPORT_FILE
from ..modeling.configuration_grm import GRMConfig
from ..protocol.judging import item_messages, item_score_range
from ..protocol.parsing import parse_output
from ..protocol.planner import plan_orders
from ..protocol.rules import is_correct, rule_reward
from .model_card import GRMModelCardMixin
from .principle_grpo_config import PrincipleGRPOConfig

logger = logging.getLogger(__name__)


def _text(completion: Any) -> str:
    """A completion as TRL passes it: a string, or conversational ``[{"role": "assistant", "content": ...}]``."""
    if isinstance(completion, str):
        return completion
    return "".join(m.get("content", "") for m in completion if m.get("role") == "assistant")


def _parse(completions, shown_responses, score_range):
    return [
        parse_output(_text(c), len(r), tuple(sr), r) for c, r, sr in zip(completions, shown_responses, score_range)
    ]


def grm_rule_reward(completions, label, shown_responses, score_range, **kwargs) -> list[float]:
    """Paper Eq. 5 on the scores parsed from each completion (labels are in the shown order); no format reward."""
    return [rule_reward(p.scores, y) for p, y in zip(_parse(completions, shown_responses, score_range), label)]


def grm_accuracy(completions, label, shown_responses, score_range, **kwargs) -> list[float]:
    """1 when the completion's scores are correct (Eq. 4), else 0. Logged with weight 0."""
    return [float(is_correct(p.scores, y)) for p, y in zip(_parse(completions, shown_responses, score_range), label)]


def grm_format_failure(completions, shown_responses, score_range, **kwargs) -> list[float]:
    """1 when no valid score line could be parsed, else 0. Logged with weight 0."""
    return [float(not p.ok) for p in _parse(completions, shown_responses, score_range)]


def too_easy_ids(report: str | None) -> set:
    """The ids the RFT stage marked too easy, from its report.json or rejective directory."""
    if not report:
        return set()
    path = os.path.join(report, REPORT_FILE) if os.path.isdir(report) else report
    with open(path) as f:
        return set(json.load(f)["too_easy_ids"])


def build_grpo_dataset(
    examples,
    config: GRMConfig,
    seed: int,
    binary_single: bool,
    skip_ids=frozenset(),
    all_orders: bool = False,
) -> Dataset:
    """One GRM prompt per example, responses in the order the one planner gives its first sample (what ``score()``
    draws for the input and seed), the label mapped to that order.

    ``all_orders``: one prompt per cyclic shift of the responses instead (both orders of a pair), the examples in a
    seeded shuffled order and each example's prompts adjacent, so that an unshuffled sampler puts them in the same
    batch."""
    rows = []
    indices = list(range(len(examples)))
    if all_orders:
        random.Random(f"{seed}:grpo-examples").shuffle(indices)
    for i in indices:
        item = examples[i]
        if (item.id if item.id is not None else i) in skip_ids:
            continue
        n = len(item.responses)
        # The order(s) the one planner gives this input: its first sample's order in score(), or all cyclic shifts.
        orders = plan_orders(item.fingerprint, n, n if all_orders else 1, "balanced" if all_orders else "random", seed)
        for order in orders:
            rows.append(
                {
                    "prompt": item_messages(config, item, order, binary_single=binary_single),
                    "label": order.index(item.label) if n > 1 else item.label,
                    "shown_responses": [item.responses[j] for j in order],
                    "score_range": list(item_score_range(config, item, binary_single)),
                }
            )
    return Dataset.from_list(rows)


class PrincipleGRPOTrainer(GRMModelCardMixin, GRPOTrainer):
    """[`~trl.GRPOTrainer`] for SPCT's rule-based online RL.

    Give it a preference dataset: each example becomes a GRM prompt (responses shuffled, label carried along) and
    every sampled completion gets +1 when its extracted scores single out the labelled best response (ties and
    unparseable output: -1). Accuracy and format-failure rate are logged as ``rewards/grm_accuracy/mean`` and
    ``rewards/grm_format_failure/mean`` (weight 0). Extra ``reward_funcs`` are added after the rule reward. TRL's
    vLLM generation, LoRA (``peft_config``) and QLoRA (``quantization_config``) options work unchanged.
    """

    _tag_names = ["trl", "grpo", "trl-grm", "grm", "spct"]
    _name = "Principle GRPO"
    _spct_stage = "rule-based GRPO"
    _paper = {
        "title": "Inference-Time Scaling for Generalist Reward Modeling",
        "id": "2504.02495",
    }

    def __init__(
        self,
        model: str | PreTrainedModel,
        args: PrincipleGRPOConfig | None = None,
        train_dataset: Dataset | str | list[dict] | None = None,
        eval_dataset: Dataset | str | list[dict] | None = None,
        processing_class=None,
        reward_funcs: list | None = None,
        **kwargs,
    ):
        if args is None:
            name = model if isinstance(model, str) else model.config._name_or_path
            args = PrincipleGRPOConfig(f"{str(name).split('/')[-1]}-GRPO")
        if not isinstance(args, PrincipleGRPOConfig):
            raise TypeError(f"args must be a PrincipleGRPOConfig, got {type(args).__name__}")
        if train_dataset is None:
            raise ValueError("train_dataset is required: a preference dataset")
        model_path = model if isinstance(model, str) else getattr(model, "name_or_path", None)
        self.grm_config = GRMConfig.resolve(args.grm_config, model_path)
        skip = too_easy_ids(args.rft_report) if args.drop_too_easy else set()
        train = self._prepare(train_dataset, args, skip)
        logger.info("GRPO prompts: %d (%d too-easy examples left out)", len(train), len(skip))
        evaluation = self._prepare(eval_dataset, args, set()) if eval_dataset is not None else None
        funcs = [grm_rule_reward, grm_accuracy, grm_format_failure, *(reward_funcs or [])]
        if args.reward_weights is None:
            args.reward_weights = [1.0, 0.0, 0.0] + [1.0] * len(reward_funcs or [])
        if processing_class is None and model_path:
            processing_class = AutoTokenizer.from_pretrained(model_path)
        super().__init__(
            model=model,
            reward_funcs=funcs,
            args=args,
            train_dataset=train,
            eval_dataset=evaluation,
            processing_class=processing_class,
            **kwargs,
        )

    def _prepare(self, data: Any, args: PrincipleGRPOConfig, skip: set) -> Dataset:
        if isinstance(data, Dataset) and "shown_responses" in data.column_names:
            return data  # already built by build_grpo_dataset
        examples, report = load_preference_data(data, seed=args.seed)
        logger.info("Preference data: %s", report.as_dict())
        return build_grpo_dataset(
            examples, self.grm_config, args.seed, args.binary_single, skip, all_orders=args.all_orders
        )

    def _save(self, output_dir: str | None = None, state_dict=None):
        super()._save(output_dir, state_dict=state_dict)
        if self.args.should_save:
            self.grm_config.save_pretrained(output_dir or self.args.output_dir)
            self.record_spct_stage(output_dir)
