"""Issue 14, part 1: SPCT demonstrably teaches judgement, on a tiny Llama in CPU minutes.

The task (trl_grm.testing.yes_reply_pairs): two replies, "yes" and "no"; the better one is "yes". Every held-out pair
is judged in BOTH orders, so a judge that prefers a position is right in one order only (0% "both orders").
The weak start (build_undecided_judge) writes the format and a faithful analysis but draws its verdict by coin.

- Rejective fine-tuning (RejectiveSFTTrainer: rejective sampling N = 3 from the weak judge itself, then SFT on the
  kept samples) takes it from 0% to >= 90% right in both orders.
- Rule-based GRPO (PrincipleGRPOTrainer), started from a weak checkpoint (RFT stopped at half the steps), raises
  its Voting@1 and Voting@4 in a fixed number of steps.
- A Meta RM (MetaRMTrainer, initialised from the RFT judge) trained on the weak judge's labelled samples tells its
  right samples from wrong ones (ROC-AUC) and MetaRM@k beats Voting@k.

Negative control: TRL_GRM_BREAK_LABELS=1 points every TRAINING label at the other reply (held-out labels stay true),
as a label-mapping bug would. Every test here then fails (the closing note of issue 14 shows the run).
"""

from __future__ import annotations

import dataclasses
import os

import pytest
import torch

from trl_grm import GRMForPointwiseScoring, MetaRewardModel
from trl_grm.evaluation.judge_check import both_orders_check
from trl_grm.testing import build_undecided_judge, yes_reply_pairs

BROKEN = os.environ.get("TRL_GRM_BREAK_LABELS") == "1"
COMMON = dict(
    use_cpu=True,
    bf16=False,
    gradient_checkpointing=False,
    report_to="none",
    save_strategy="no",
    logging_steps=50,
    seed=0,
)
MAX_NEW_TOKENS = 64


def training_rows(examples) -> list[dict]:
    """Best-of-n rows of the training examples; with the negative control, the label names the other reply."""
    return [
        {"prompt": ex.context, "responses": ex.responses, "best_index": 1 - ex.label if BROKEN else ex.label}
        for ex in examples
    ]


def check(path, held_out, **kwargs) -> dict:
    return both_orders_check(GRMForPointwiseScoring.from_pretrained(str(path)), held_out, **kwargs)["overall"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("spct_learning")
    base = build_undecided_judge(root / "base")
    return {
        "root": root,
        "base": base,
        "train": yes_reply_pairs(256, seed=3),
        "held_out": yes_reply_pairs(64, seed=7),
    }


def run_rft(work, name: str, steps: int):
    """RejectiveSFTTrainer from the weak judge: rejective sampling with the judge itself (N = 3, kept samples
    balanced over positions; the samples are shared by every run), then `steps` SFT steps."""
    from datasets import Dataset
    from transformers import AutoTokenizer

    from trl_grm.trainers.rejective_sft_config import RejectiveSFTConfig
    from trl_grm.trainers.rejective_sft_trainer import RejectiveSFTTrainer

    out = work["root"] / name
    trainer = RejectiveSFTTrainer(
        str(work["base"]),
        args=RejectiveSFTConfig(
            output_dir=str(out),
            max_steps=steps,
            per_device_train_batch_size=8,
            learning_rate=3e-3,  # tiny-model value
            num_rft_samples=3,
            rft_temperature=0.5,
            rft_max_new_tokens=MAX_NEW_TOKENS,
            balance_positions=True,
            rejective_output_dir=str(work["root"] / "rejective"),
            max_length=256,
            **COMMON,
        ),
        train_dataset=Dataset.from_list(training_rows(work["train"])),
        processing_class=AutoTokenizer.from_pretrained(work["base"]),
    )
    trainer.train()
    trainer.save_model(str(out))
    return out, trainer.rejective_report


@pytest.fixture(scope="module")
def rft_judge(work):
    return run_rft(work, "rft", steps=400)


def test_rejective_fine_tuning_teaches_judgement(work, rft_judge):
    before = check(work["base"], work["held_out"], ks=(1,))
    path, report = rft_judge
    after = check(path, work["held_out"], ks=(1, 4))
    print(f"\nrejective sampling: {report.as_dict()}\nweak judge: {before}\nafter RFT:  {after}")
    assert report.kept_samples >= 100 and report.rejected_wrong > 0
    assert before["valid"] == 1.0 and before["both_orders"] <= 0.1  # the weak judge: no opinion
    assert after["valid"] >= 0.95
    assert after["both_orders"] >= 0.9 and after["position_consistency"] >= 0.9
    assert after["both_orders"] - before["both_orders"] >= 0.8


def test_grpo_raises_a_weak_checkpoint(work):
    from datasets import Dataset
    from transformers import AutoTokenizer

    from trl_grm.trainers.principle_grpo_config import PrincipleGRPOConfig
    from trl_grm.trainers.principle_grpo_trainer import PrincipleGRPOTrainer

    # A short RFT run: it writes the format and leans towards "yes" when sampling, but its greedy verdict still
    # follows the position. (62 steps with the samples the one planner draws, seeding 3: Voting@1 66%, Voting@4 83%;
    # at 100 steps it already judges perfectly, at 60 it is a coin.)
    weak, _ = run_rft(work, "rft_weak", steps=62)
    before = check(weak, work["held_out"], ks=(1, 4))
    trainer = PrincipleGRPOTrainer(
        str(weak),
        args=PrincipleGRPOConfig(
            output_dir=str(work["root"] / "grpo"),
            max_steps=100,
            per_device_train_batch_size=16,
            num_generations=4,  # G (paper)
            beta=0.08,  # paper
            max_completion_length=MAX_NEW_TOKENS,
            learning_rate=1e-3,  # tiny-model value (3e-3 pushes this checkpoint back to a pure position judge)
            temperature=1.0,
            drop_too_easy=False,
            **COMMON,
        ),
        train_dataset=Dataset.from_list(training_rows(work["train"])),
        processing_class=AutoTokenizer.from_pretrained(weak),
    )
    trainer.train()
    trainer.save_model(str(work["root"] / "grpo"))
    after = check(work["root"] / "grpo", work["held_out"], ks=(1, 4))
    print(f"\nweak checkpoint: {before}\nafter GRPO:      {after}")
    assert after["valid"] >= 0.95
    assert after["voting@1"] >= before["voting@1"] + 0.05
    assert after["voting@4"] >= before["voting@4"] + 0.08


def test_meta_rm_picks_the_right_samples(work, rft_judge):
    from datasets import Dataset

    from trl_grm.data.meta import build_meta_dataset, sample_meta_records
    from trl_grm.trainers.meta_rm_config import MetaRMConfig
    from trl_grm.trainers.meta_rm_trainer import MetaRMTrainer

    weak = GRMForPointwiseScoring.from_pretrained(str(work["base"]))
    train = work["train"]
    if BROKEN:  # the labels the samples are judged against name the other reply
        train = [dataclasses.replace(ex, label=1 - ex.label) for ex in train]
    records = sample_meta_records(
        weak, train, work["root"] / "meta_samples", num_samples=4, max_new_tokens=MAX_NEW_TOKENS, progress=False
    )
    rows, report = build_meta_dataset(train, records)
    assert report.positives > 50 and report.negatives > 50
    path, _ = rft_judge
    trainer = MetaRMTrainer(
        str(path),  # initialised from the judge, as the paper's Meta RM shares the GRM's backbone
        args=MetaRMConfig(
            output_dir=str(work["root"] / "meta_run"),
            # 800 steps: from the RFT judge trained on the samples the one planner draws (seeding 3), the Meta RM's
            # ROC-AUC is 0.52 after 300 steps, 0.71 after 500, 0.79 after 600 and 1.0 after 800.
            max_steps=800,
            per_device_train_batch_size=16,
            learning_rate=1e-3,  # tiny-model value
            max_length=256,
            **COMMON,
        ),
        train_dataset=Dataset.from_list(rows),
    )
    trainer.train()
    trainer.save_model(str(work["root"] / "meta_rm"))
    meta = MetaRewardModel.from_pretrained(str(work["root"] / "meta_rm"))
    result = both_orders_check(weak, work["held_out"], ks=(2, 4, 8), meta_rm=meta)["overall"]
    print(f"\nMeta RM data: {report.as_dict()}\nweak judge with the Meta RM: {result}")
    assert result["meta_roc_auc"] >= 0.75
    for k in (2, 4, 8):
        assert result[f"metarm@{k}"] >= result[f"voting@{k}"]
    assert result["metarm@8"] >= result["voting@8"] + 0.2
