"""Real, short SPCT runs on tiny local models: RejectiveSFTTrainer and PrincipleGRPOTrainer change the weights,
save GRM settings with the checkpoint and report what they did."""

import json
import os
import shutil

import pytest
import torch
from datasets import Dataset

from trl_grm.modeling.configuration_grm import GRM_CONFIG_NAME, GRMConfig
from trl_grm.trainers.principle_grpo_config import PrincipleGRPOConfig
from trl_grm.trainers.principle_grpo_trainer import PrincipleGRPOTrainer, build_grpo_dataset
from trl_grm.trainers.rejective_sft_config import RejectiveSFTConfig
from trl_grm.trainers.rejective_sft_trainer import RejectiveSFTTrainer

PAIRS = Dataset.from_list(
    [
        {"prompt": f"Question {i}: what is {i} plus {i}?", "chosen": f"{2 * i}.", "rejected": f"{2 * i + 1}."}
        for i in range(8)
    ]
)

CPU = dict(use_cpu=True, bf16=False, report_to="none", logging_steps=1, save_strategy="no", seed=0)


@pytest.fixture()
def judge_copy(judge_dir, tmp_path):
    path = tmp_path / "judge"
    shutil.copytree(judge_dir, path)
    return str(path)


def _snapshot(model):
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def _changed(before, model):
    now = dict(model.named_parameters())
    return [n for n, p in before.items() if not torch.equal(p, now[n].detach())]


def test_rejective_sft_full_run(judge_copy, tmp_path):
    args = RejectiveSFTConfig(
        output_dir=str(tmp_path / "rft"),
        max_steps=2,
        per_device_train_batch_size=2,
        learning_rate=1e-3,
        num_rft_samples=3,
        rft_max_new_tokens=80,
        rft_temperature=0.5,
        **CPU,
    )
    assert RejectiveSFTConfig(output_dir="x", use_cpu=True, bf16=False).learning_rate == 5e-6  # the paper RFT rate
    trainer = RejectiveSFTTrainer(judge_copy, args=args, train_dataset=PAIRS)
    report = trainer.rejective_report
    assert report.examples == 8 and report.kept_samples > 0
    assert report.kept_samples + report.rejected_wrong + 3 * report.rejected_easy == 8 * 3
    assert len(trainer.train_dataset) == report.kept_samples
    before = _snapshot(trainer.model)
    trainer.train()
    assert _changed(before, trainer.model), "no trainable parameter changed"
    trainer.save_model(str(tmp_path / "out"))
    saved = GRMConfig.from_pretrained(str(tmp_path / "out"))
    assert saved.template == GRMConfig.from_pretrained(judge_copy).template  # the GRM settings travel along
    assert os.path.exists(tmp_path / "out" / "model.safetensors")
    assert json.load(open(tmp_path / "rft" / "rejective" / "report.json"))["kept_samples"] == report.kept_samples


def test_rejective_sft_trains_on_completions_only(judge_copy, tmp_path):
    args = RejectiveSFTConfig(output_dir=str(tmp_path / "rft"), max_steps=1, rft_max_new_tokens=80, **CPU)
    trainer = RejectiveSFTTrainer(judge_copy, args=args, train_dataset=PAIRS)
    batch = trainer.data_collator([trainer.train_dataset[0]])
    labels, ids = batch["labels"][0], batch["input_ids"][0]
    supervised = trainer.processing_class.decode(ids[labels != -100])
    assert "\\boxed{" in supervised and "Rate the" not in supervised  # the judgement, not the prompt


def test_rejective_sft_lora_and_prebuilt_dataset(judge_copy, tmp_path):
    from peft import LoraConfig

    # A prebuilt prompt/completion dataset is used as it is (no sampling).
    rows = Dataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": "Rate the 2 replies from 1 to 10."}],
                "completion": [{"role": "assistant", "content": "Analysis: fine.\nScores: \\boxed{8, 3}"}],
            }
        ]
        * 4
    )
    args = RejectiveSFTConfig(
        output_dir=str(tmp_path / "lora"), max_steps=2, per_device_train_batch_size=2, learning_rate=1e-2, **CPU
    )
    trainer = RejectiveSFTTrainer(
        judge_copy, args=args, train_dataset=rows, peft_config=LoraConfig(r=4, target_modules=["q_proj", "v_proj"])
    )
    assert trainer.rejective_report is None and len(trainer.train_dataset) == 4
    before = _snapshot(trainer.model)
    assert before and all("lora" in n for n in before)  # only the adapter trains
    trainer.train()
    assert _changed(before, trainer.model)
    trainer.save_model(str(tmp_path / "adapter"))
    files = os.listdir(tmp_path / "adapter")
    assert "adapter_model.safetensors" in files and GRM_CONFIG_NAME in files


def test_grpo_dataset_maps_labels_to_the_shown_order(judge_dir):
    from trl_grm.data.formats import load_preference_data

    examples, _ = load_preference_data(PAIRS, seed=0)
    config = GRMConfig.from_pretrained(judge_dir)
    data = build_grpo_dataset(examples, config, seed=0, binary_single=True)
    assert len(data) == 8
    for row, item in zip(data, examples):
        assert row["shown_responses"][row["label"]] == item.responses[item.label]
        assert sorted(row["shown_responses"]) == sorted(item.responses)
        assert row["prompt"][-1]["role"] == "user"
    assert len({tuple(r["shown_responses"]) == tuple(e.responses) for r, e in zip(data, examples)}) == 2  # shuffled


def test_grpo_dataset_with_all_orders_puts_both_orders_of_a_pair_side_by_side(judge_dir):
    from trl_grm.data.formats import load_preference_data

    examples, _ = load_preference_data(PAIRS, seed=0)
    config = GRMConfig.from_pretrained(judge_dir)
    data = build_grpo_dataset(examples, config, seed=0, binary_single=True, all_orders=True)
    assert len(data) == 2 * len(examples)
    seen = []
    for first, second in zip(data.select(range(0, len(data), 2)), data.select(range(1, len(data), 2))):
        assert first["shown_responses"] == second["shown_responses"][::-1]
        assert first["label"] == 1 - second["label"]
        assert first["shown_responses"][first["label"]] == second["shown_responses"][second["label"]]
        seen.append(tuple(sorted(first["shown_responses"])))
    assert sorted(seen) == sorted(tuple(sorted(e.responses)) for e in examples)  # every example once
    assert seen != [tuple(sorted(e.responses)) for e in examples]  # in a shuffled order


def test_principle_grpo_run(judge_copy, tmp_path):
    defaults = PrincipleGRPOConfig(output_dir="x", use_cpu=True, bf16=False)
    assert (defaults.beta, defaults.num_generations, defaults.loss_type) == (0.08, 4, "grpo")
    args = PrincipleGRPOConfig(
        output_dir=str(tmp_path / "grpo"),
        max_steps=2,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=64,
        learning_rate=1e-3,
        temperature=0.7,
        **CPU,
    )
    trainer = PrincipleGRPOTrainer(judge_copy, args=args, train_dataset=PAIRS)
    assert trainer.args.reward_weights == [1.0, 0.0, 0.0]
    before = _snapshot(trainer.model)
    trainer.train()
    assert _changed(before, trainer.model)
    logs = {k for entry in trainer.state.log_history for k in entry}
    assert {"rewards/grm_rule_reward/mean", "rewards/grm_accuracy/mean", "rewards/grm_format_failure/mean"} <= logs
    trainer.save_model(str(tmp_path / "grpo-out"))
    assert GRM_CONFIG_NAME in os.listdir(tmp_path / "grpo-out")


def test_principle_grpo_drops_too_easy_examples(judge_copy, tmp_path):
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"too_easy_ids": [0, 3]}))
    args = PrincipleGRPOConfig(output_dir=str(tmp_path / "g"), rft_report=str(report), max_steps=1, **CPU)
    trainer = PrincipleGRPOTrainer(judge_copy, args=args, train_dataset=PAIRS)
    assert len(trainer.train_dataset) == 6
