"""Meta RM: data building (fresh and from rejective sampling), MetaRMTrainer on tiny real models, MetaRM@k vs
Voting@k on the same samples, and GRM + Meta RM save/load round trips."""

from __future__ import annotations

import json
import os
import random

import pytest
import torch
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from trl_grm import GRMConfig, GRMForPointwiseScoring, MetaRewardModel
from trl_grm.data.formats import LabeledInput
from trl_grm.data.meta import build_meta_dataset, downsample, positive_weight, sample_meta_records
from trl_grm.data.rejective import RejectiveSampler
from trl_grm.data.sampling import read_samples
from trl_grm.evaluation.metrics import roc_auc
from trl_grm.modeling.meta_rm import encode_meta_inputs
from trl_grm.protocol.judging import parse_sample
from trl_grm.protocol.meta import render_meta_input
from trl_grm.protocol.voting import vote
from trl_grm.trainers.meta_rm_config import MetaRMConfig
from trl_grm.trainers.meta_rm_trainer import MetaRMTrainer

CPU = dict(use_cpu=True, bf16=False, report_to="none", logging_steps=5, save_strategy="no", seed=0)

CAREFUL = "Checked every claim."
SLOPPY = "Judged at a glance."


class ScriptedGRM:
    """A sampler whose judgements are right with probability ``p_right``; right ones end in CAREFUL, wrong ones in
    SLOPPY, so whether a judgement is right is visible in its text (a learnable meta label). Parsing is the real
    protocol's (``parse_sample``)."""

    def __init__(self, p_right: float = 0.3):
        self.config = GRMConfig()
        self.p_right = p_right
        self.calls = 0

    def sample_judgements(self, items, orders, *, seed=0, hints=None, binary_single=False, **kwargs):
        self.calls += 1
        rng = random.Random(f"scripted:{seed}")
        out = []
        for item, item_orders in zip(items, orders):
            samples = []
            for order in item_orders:
                right = rng.random() < self.p_right
                best = item.label if right else (item.label + 1) % len(item.responses)
                shown = [9 if i == best else 3 for i in order]
                text = (
                    "Specific Criteria:\n- Correctness (Weight: 100%)\nAnalysis: compared the replies.\n"
                    f"Scores: \\boxed{{{', '.join(map(str, shown))}}}\n{CAREFUL if right else SLOPPY}"
                )
                samples.append(parse_sample(self.config, item, order, text, "stop", binary_single))
            out.append(samples)
        return out


def _examples(num: int, start: int = 0) -> list[LabeledInput]:
    return [
        LabeledInput(f"What is {i} plus {i}?", [f"{2 * i}.", f"{2 * i + 1}."], label=i % 2, id=i)
        for i in range(start, start + num)
    ]


def _seq_cls(tiny_model_dir):
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=1)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    return model, tokenizer


# ------------------------------------------------------------------------------------------------------- data
def test_sample_meta_records_labels_every_sample_and_resumes(tmp_path):
    examples = _examples(6)
    grm = ScriptedGRM()
    records = sample_meta_records(grm, examples, tmp_path, num_samples=4, batch_size=2, progress=False)
    assert [r["index"] for r in records] == list(range(6))
    assert all(len(r["samples"]) == 4 and not r["hinted"] for r in records)
    for r in records:
        for s in r["samples"]:
            assert s["correct"] == s["text"].endswith(CAREFUL)  # the rule agrees with the script
            assert sorted(s["order"]) == [0, 1]
    calls = grm.calls
    again = sample_meta_records(grm, examples, tmp_path, num_samples=4, batch_size=2, progress=False)
    assert grm.calls == calls and again == records  # everything was on disk: nothing sampled twice
    with pytest.raises(ValueError, match="other settings"):
        sample_meta_records(grm, examples, tmp_path, num_samples=8, progress=False)


def test_build_meta_dataset_renders_the_shared_meta_input_and_counts(tmp_path):
    examples = _examples(8)
    records = sample_meta_records(ScriptedGRM(), examples, tmp_path, num_samples=4, progress=False)
    rows, report = build_meta_dataset(examples, records)
    assert report.samples == 32 and len(rows) == 32 and report.skipped_unparsed == 0
    assert report.positives == sum(r["label"] for r in rows) and report.positives + report.negatives == 32
    first = records[0]["samples"][0]
    shown = [examples[0].responses[i] for i in first["order"]]
    assert rows[0]["text"] == render_meta_input(examples[0].context, shown, first["text"])
    assert rows[0]["label"] == int(first["correct"])

    balanced, report = build_meta_dataset(examples, records, balance="downsample", seed=1)
    assert (
        report.positives == report.negatives == min(sum(r["label"] for r in rows), 32 - sum(r["label"] for r in rows))
    )
    assert report.dropped_by_balance == 32 - len(balanced)
    with pytest.raises(ValueError, match="balance must be one of"):
        build_meta_dataset(examples, records, balance="upsample")
    with pytest.raises(ValueError, match="Record index 8 is not an example index"):
        build_meta_dataset(examples[:8], [{**records[0], "index": 8}])


def test_build_meta_dataset_skips_unparsed_unless_asked():
    ex = _examples(1)
    record = {
        "index": 0,
        "hinted": False,
        "samples": [
            {"order": [0, 1], "text": "no verdict", "status": "no_box", "scores": None, "correct": False},
            {"order": [1, 0], "text": "Scores: \\boxed{3, 9}", "status": "ok", "scores": [9, 3], "correct": True},
        ],
    }
    rows, report = build_meta_dataset(ex, [record])
    assert [r["label"] for r in rows] == [1] and report.skipped_unparsed == 1
    rows, report = build_meta_dataset(ex, [record], include_unparsed=True)
    assert [r["label"] for r in rows] == [0, 1] and report.skipped_unparsed == 0


def test_rejective_samples_are_reused_without_the_hinted_ones(tmp_path):
    """The non-hinted rejective samples (kept AND rejected) become Meta RM rows; hinted ones never do."""
    examples = _examples(12)
    builder = RejectiveSampler(ScriptedGRM(p_right=0.5), num_samples=3, hinted_fraction=0.5, seed=0, batch_size=4)
    sft_rows, report = builder.build(examples, tmp_path, progress=False)
    records = read_samples(tmp_path)
    rows, meta_report = build_meta_dataset(examples, records)
    hinted = [r for r in records if r["hinted"]]
    assert 0 < len(hinted) < 12 and meta_report.skipped_hinted == len(hinted)
    assert len(rows) == 3 * (12 - len(hinted))
    assert meta_report.negatives > 0  # the rejected samples are the negatives
    assert meta_report.negatives == sum(not s["correct"] for r in records if not r["hinted"] for s in r["samples"])


def test_downsample_and_positive_weight():
    rows = [{"label": y} for y in [1, 0, 0, 0, 1, 0]]
    kept, dropped = downsample(rows, seed=0)
    assert dropped == 2 and sorted(r["label"] for r in kept) == [0, 0, 1, 1]
    assert positive_weight([1, 0, 0, 0]) == 3.0
    with pytest.raises(ValueError, match="both classes are needed"):
        positive_weight([1, 1])


def test_roc_auc_hand_computed():
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    assert roc_auc([1, 1, 1, 1], [0, 1, 0, 1]) == 0.5  # all tied: chance
    assert roc_auc([3, 2, 1], [1, 0, 0]) == 1.0
    with pytest.raises(ValueError, match="both classes"):
        roc_auc([1, 2], [1, 1])


def test_encode_meta_inputs_keeps_the_end_of_long_inputs(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    text = "Query: " + "two plus two " * 100 + "Judgement: Scores: \\boxed{8, 3}"
    (ids,) = encode_meta_inputs(tokenizer, [text], max_length=32)
    assert len(ids) == 32 and tokenizer.decode(ids).endswith("\\boxed{8, 3}")
    assert tokenizer.truncation_side == "right"  # restored


# ------------------------------------------------------------------------------------------------------ trainer
def test_config_defaults_and_validation():
    args = MetaRMConfig(output_dir="x", use_cpu=True, bf16=False)
    assert args.learning_rate == 1e-5 and args.class_balance == "weight"
    with pytest.raises(ValueError, match="class_balance must be one of"):
        MetaRMConfig(output_dir="x", use_cpu=True, bf16=False, class_balance="upsample")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"text": "a"}], r"lacks column\(s\) \['label'\]"),
        ([{"text": "a", "label": 2}], "column 'label' must be 0 or 1"),
    ],
)
def test_trainer_rejects_bad_rows(tiny_model_dir, tmp_path, rows, message):
    model, tokenizer = _seq_cls(tiny_model_dir)
    args = MetaRMConfig(output_dir=str(tmp_path), **CPU)
    with pytest.raises(ValueError, match=message):
        MetaRMTrainer(model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer)


def test_trainer_rejects_one_class_with_weighting(tiny_model_dir, tmp_path):
    model, tokenizer = _seq_cls(tiny_model_dir)
    data = Dataset.from_list([{"text": "a", "label": 1}, {"text": "b", "label": 1}])
    with pytest.raises(ValueError, match="both classes are needed"):
        MetaRMTrainer(model, args=MetaRMConfig(output_dir=str(tmp_path), **CPU), train_dataset=data)


@pytest.fixture(scope="module")
def meta_data(tmp_path_factory):
    """Meta RM rows from the scripted GRM (30% right), for training and held-out evaluation."""
    root = tmp_path_factory.mktemp("meta")
    train_ex, eval_ex = _examples(24), _examples(16, start=100)
    train_rows, _ = build_meta_dataset(
        train_ex, sample_meta_records(ScriptedGRM(), train_ex, root / "train", num_samples=4, progress=False)
    )
    eval_records = sample_meta_records(ScriptedGRM(), eval_ex, root / "eval", num_samples=8, seed=7, progress=False)
    return train_rows, eval_ex, eval_records


@pytest.fixture(scope="module")
def trained_meta_rm(meta_data, tiny_model_dir, tmp_path_factory):
    train_rows, eval_ex, eval_records = meta_data
    eval_rows, _ = build_meta_dataset(eval_ex, eval_records)
    model, tokenizer = _seq_cls(tiny_model_dir)
    out = tmp_path_factory.mktemp("meta_rm") / "run"
    args = MetaRMConfig(
        output_dir=str(out),
        learning_rate=3e-3,
        num_train_epochs=6,
        per_device_train_batch_size=8,
        eval_strategy="no",
        gradient_checkpointing=False,
        **CPU,
    )
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = MetaRMTrainer(
        model,
        args=args,
        train_dataset=Dataset.from_list(train_rows),
        eval_dataset=Dataset.from_list(eval_rows),
        processing_class=tokenizer,
    )
    assert trainer.pos_weight == pytest.approx(
        sum(1 - r["label"] for r in train_rows) / sum(r["label"] for r in train_rows)
    )
    trainer.train()
    metrics = trainer.evaluate()
    changed = [n for n, p in trainer.model.named_parameters() if not torch.equal(p.detach(), before[n])]
    trainer.save_model(str(out / "final"))
    return trainer, metrics, changed, out / "final"


def test_trained_meta_rm_learns_the_label(trained_meta_rm):
    trainer, metrics, changed, _ = trained_meta_rm
    assert changed, "training changed no parameter"
    assert metrics["eval_roc_auc"] > 0.95 and metrics["eval_accuracy"] > 0.9
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert losses[-1] < losses[0]


def test_meta_rm_at_k_beats_voting_on_the_same_samples(trained_meta_rm, meta_data):
    """Most samples are wrong (30% right), so plain voting usually picks the wrong response; the Meta RM keeps the
    right ones. All three votes use the same 8 samples per example; the oracle ranks by the true label."""
    _, _, _, path = trained_meta_rm
    _, eval_ex, eval_records = meta_data
    meta = MetaRewardModel.from_pretrained(path)
    voting = metarm = oracle = 0
    for item, record in zip(eval_ex, eval_records):
        scores = [s["scores"] for s in record["samples"]]
        texts = [
            render_meta_input(item.context, [item.responses[i] for i in s["order"]], s["text"])
            for s in record["samples"]
        ]
        truth = [float(s["correct"]) for s in record["samples"]]
        voting += vote(scores, random.Random(0)).best == item.label
        metarm += vote(scores, random.Random(0), meta_scores=meta(texts), k_meta=4).best == item.label
        oracle += vote(scores, random.Random(0), meta_scores=truth, k_meta=4).best == item.label
    assert metarm >= voting + 4, (voting, metarm, oracle)
    assert metarm >= oracle - 1, (voting, metarm, oracle)


def test_grm_with_trained_meta_rm_round_trips(trained_meta_rm, judge_dir, tmp_path):
    """A GRM saved with its Meta RM loads back with it and gives the same results (meta scores included)."""
    _, _, _, path = trained_meta_rm
    grm = GRMForPointwiseScoring.from_pretrained(judge_dir, meta_rm=str(path))
    pair = {"prompt": "What is 2 plus 2?", "responses": ["4.", "5."]}
    first = grm.score(pair, num_samples=4, k_meta=2, seed=3)
    grm.save_pretrained(tmp_path / "grm")
    saved = json.loads((tmp_path / "grm" / "grm_config.json").read_text())
    assert saved["meta_rm"] == "meta_rm" and os.path.exists(tmp_path / "grm" / "meta_rm" / "model.safetensors")
    loaded = GRMForPointwiseScoring.from_pretrained(tmp_path / "grm")
    assert isinstance(loaded.meta_rm, MetaRewardModel)
    again = loaded.score(pair, num_samples=4, k_meta=2, seed=3)
    assert again.to_dict() == first.to_dict()
    assert all(s.meta_score is not None for s in again.samples if s.scores is not None)
    assert sum(s.used for s in again.samples) == 2


def test_lora_meta_rm_trains_the_score_head(meta_data, tiny_model_dir, tmp_path):
    train_rows, _, _ = meta_data
    model, tokenizer = _seq_cls(tiny_model_dir)
    args = MetaRMConfig(output_dir=str(tmp_path), max_steps=3, per_device_train_batch_size=8, **CPU)
    trainer = MetaRMTrainer(
        model,
        args=args,
        train_dataset=Dataset.from_list(train_rows),
        processing_class=tokenizer,
        peft_config=LoraConfig(r=4, target_modules=["q_proj", "v_proj"]),
    )
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert any("lora_" in n for n in trainable) and any("score" in n for n in trainable)
    head = [p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad and "score" in n]
    trainer.train()
    now = [p for n, p in trainer.model.named_parameters() if p.requires_grad and "score" in n]
    assert any(not torch.equal(a, b.detach()) for a, b in zip(head, now))
    trainer.save_model(str(tmp_path / "adapter"))
    assert os.path.exists(tmp_path / "adapter" / "adapter_config.json")
    meta = MetaRewardModel.from_pretrained(tmp_path / "adapter")  # merged on load
    text = train_rows[0]["text"]
    trainer.model.eval()
    ids = torch.tensor([encode_meta_inputs(tokenizer, [text], meta.max_length)[0]])
    with torch.no_grad():
        expected = trainer.model(input_ids=ids).logits[0, 0].item()
    assert meta([text])[0] == pytest.approx(expected, abs=1e-4)
    with pytest.raises(ValueError, match="task_type='SEQ_CLS'"):
        MetaRMTrainer(
            _seq_cls(tiny_model_dir)[0],
            args=args,
            train_dataset=Dataset.from_list(train_rows),
            processing_class=tokenizer,
            peft_config=LoraConfig(r=4, task_type="CAUSAL_LM"),
        )


def test_pipeline_and_cli_take_a_meta_rm_path(trained_meta_rm, judge_dir, tmp_path, capsys):
    from transformers import pipeline

    from trl_grm.cli.main import main

    _, _, _, path = trained_meta_rm
    pair = {"prompt": "What is 2 plus 2?", "responses": ["4.", "5."]}
    judge = pipeline("pointwise-reward", model=str(judge_dir))
    out = judge(pair, num_samples=4, meta_rm=str(path), k_meta=1, seed=0)
    parsed = [s for s in out["samples"] if s["scores"] is not None]
    assert parsed and all(isinstance(s["meta_score"], float) for s in parsed)
    assert sum(s["used"] for s in out["samples"]) == 1

    data = tmp_path / "in.json"
    data.write_text(json.dumps(pair))
    argv = ["score", "--model_name_or_path", str(judge_dir), "--input", str(data), "--num_samples", "4"]
    assert main([*argv, "--meta_rm", str(path), "--k_meta", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert sum(s["used"] for s in result["samples"]) == 1
    assert [s["meta_score"] for s in result["samples"]] == [s["meta_score"] for s in out["samples"]]


def test_encoder_meta_rm(meta_data, tmp_path):
    """A small encoder backbone (a tiny BERT built here) trains and scores like the causal-LM one."""
    from transformers import BertConfig, BertForSequenceClassification

    from trl_grm.testing import build_tiny_tokenizer

    train_rows, _, _ = meta_data
    tokenizer = build_tiny_tokenizer()
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        num_labels=1,
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    args = MetaRMConfig(output_dir=str(tmp_path), max_steps=4, per_device_train_batch_size=8, max_length=256, **CPU)
    trainer = MetaRMTrainer(model, args=args, train_dataset=Dataset.from_list(train_rows), processing_class=tokenizer)
    head = trainer.model.classifier.weight.detach().clone()
    trainer.train()
    assert not torch.equal(head, trainer.model.classifier.weight.detach())
    trainer.save_model(str(tmp_path / "bert"))
    meta = MetaRewardModel.from_pretrained(tmp_path / "bert")
    assert meta.max_length == 256  # capped by the encoder's window
    scores = meta([r["text"] for r in train_rows[:3]])
    assert len(scores) == 3 and all(isinstance(x, float) for x in scores)
