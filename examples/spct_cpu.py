"""SPCT on a CPU: rejective fine-tuning then rule-based GRPO of SmolLM2-135M-Instruct as a GRM (LoRA).

    python examples/spct_cpu.py --output_dir outputs/spct_cpu

Data: the synthetic verifiable tasks (trl_grm.data.synthetic), pairs whose better response is decided by code.
Teacher for rejective sampling: the same base model prompted with one worked demonstration (from instructions alone
it never writes a score line). The student (the LoRA being trained) sees the compact template WITHOUT the
demonstration. Every stage is evaluated on held-out pairs shown in BOTH orders, so a judge that only prefers a
position scores 0% "both orders", never 50%. Writes results.json, results.md and the adapter (safetensors +
grm_config.json) to --output_dir.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer

from trl_grm import GRMConfig, GRMForPointwiseScoring, is_correct
from trl_grm.data.synthetic import SyntheticTasks
from trl_grm.evaluation.metrics import position_consistency
from trl_grm.modeling.default_model import default_model_path
from trl_grm.trainers.principle_grpo_config import PrincipleGRPOConfig
from trl_grm.trainers.principle_grpo_trainer import PrincipleGRPOTrainer
from trl_grm.trainers.rejective_sft_config import RejectiveSFTConfig
from trl_grm.trainers.rejective_sft_trainer import RejectiveSFTTrainer

STUDENT_TEMPLATE = {
    "task_multi": "Judge the {n} replies to the user's request. Give each an integer score from {min} to {max}.",
    "principles_self": "Start with 'Specific Criteria:' and one or two weighted criteria for this request.",
    "output": "Then write 'Analysis:' with one sentence per reply, and end with 'Scores: \\boxed{{{example}}}'.",
}
DEMONSTRATION = {
    "prompt": "Write one word in capital letters.",
    "responses": ["HELLO", "hello"],
    "judgement": (
        "Specific Criteria:\n- Follows the instruction (Weight: 100%): the word must be in capital letters.\n\n"
        "Analysis: Reply 1 is in capital letters. Reply 2 is in small letters.\n\nScores: \\boxed{9, 2}"
    ),
}


def evaluate(grm: GRMForPointwiseScoring, examples, vote_k: int, seed: int = 0) -> dict:
    """Greedy judgements in both orders (format, accuracy, both-orders accuracy, consistency) and Voting@k."""
    start = time.time()
    results = grm.score(examples, num_samples=2, order_strategy="balanced", temperature=0.0, seed=seed)
    samples = [s for r in results for s in r.samples]
    correct = [[is_correct(s.scores, e.label) for s in r.samples] for r, e in zip(results, examples)]
    consistency = [position_consistency([s.order for s in r.samples], [s.scores for s in r.samples]) for r in results]
    known = [c for c in consistency if c is not None]  # both orders parsed
    voted = grm.score(examples, num_samples=vote_k, temperature=0.5, seed=seed)
    return {
        "format_valid": sum(s.scores is not None for s in samples) / len(samples),
        "accuracy_per_order": sum(map(sum, correct)) / len(samples),
        "accuracy_both_orders": sum(all(c) for c in correct) / len(examples),
        "position_consistency": sum(known) / len(known) if known else 0.0,
        f"voting@{vote_k}": sum(is_correct(r.scores, e.label) for r, e in zip(voted, examples)) / len(examples),
        f"voting@{vote_k}_no_verdict": sum(r.scores is None for r in voted) / len(examples),
        "seconds": round(time.time() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output_dir", default="outputs/spct_cpu")
    parser.add_argument("--num_train", type=int, default=144)
    parser.add_argument("--num_eval", type=int, default=24)
    parser.add_argument("--difficulty", type=float, default=0.0, help="0 = very visible differences")
    parser.add_argument("--hinted_fraction", type=float, default=0.5)
    parser.add_argument(
        "--balance_positions",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep as many RFT samples with the best reply shown first as second (the teacher favours the first)",
    )
    parser.add_argument("--rft_epochs", type=float, default=4.0)
    parser.add_argument("--rft_lr", type=float, default=4e-4)
    parser.add_argument("--grpo_steps", type=int, default=16)
    parser.add_argument("--grpo_lr", type=float, default=2e-5)
    parser.add_argument("--max_new_tokens", type=int, default=96)
    parser.add_argument("--vote_k", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 2)
    os.makedirs(args.output_dir, exist_ok=True)
    started = time.time()

    base = str(default_model_path())
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base)
    student = GRMConfig(template=STUDENT_TEMPLATE, max_new_tokens=args.max_new_tokens, num_samples=args.vote_k)
    teacher = GRMConfig(**{**student.to_dict(), "template": {**student.template, "demonstration": DEMONSTRATION}})
    tasks = SyntheticTasks(seed=args.seed, num_responses=2, difficulty=args.difficulty)
    train = tasks.to_dataset(args.num_train)
    held_out = tasks.generate(args.num_eval, start=100_000)
    report: dict = {"settings": vars(args), "stages": {}}

    def stage(name, grm):
        report["stages"][name] = evaluate(grm, held_out, args.vote_k, args.seed)
        print(f"[{time.time() - started:6.0f}s] {name}: {report['stages'][name]}", flush=True)

    stage("base", GRMForPointwiseScoring(model, tokenizer, student))
    stage("base + demonstration (teacher)", GRMForPointwiseScoring(model, tokenizer, teacher))

    common = dict(
        use_cpu=True,
        bf16=False,
        gradient_checkpointing=False,  # a 135M model fits easily; checkpointing would only cost time
        report_to="none",
        logging_steps=1,
        save_strategy="no",
        seed=args.seed,
    )
    lora = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
    rft = RejectiveSFTTrainer(
        model,
        args=RejectiveSFTConfig(
            output_dir=f"{args.output_dir}/rft",
            num_train_epochs=args.rft_epochs,
            per_device_train_batch_size=4,
            learning_rate=args.rft_lr,
            num_rft_samples=3,
            hinted_fraction=args.hinted_fraction,
            balance_positions=args.balance_positions,
            rft_max_new_tokens=args.max_new_tokens,
            rft_temperature=0.5,
            grm_config=student.to_dict(),
            **common,
        ),
        train_dataset=train,
        processing_class=tokenizer,
        peft_config=lora,
        sampler=GRMForPointwiseScoring(model, tokenizer, teacher),
    )
    report["rejective_sampling"] = rft.rejective_report.as_dict()
    print(f"[{time.time() - started:6.0f}s] rejective sampling: {report['rejective_sampling']}", flush=True)
    rft.train()
    report["rft_train_loss"] = [h["loss"] for h in rft.state.log_history if "loss" in h]
    stage("RFT", GRMForPointwiseScoring(rft.model, tokenizer, student))

    grpo = PrincipleGRPOTrainer(
        rft.model,
        args=PrincipleGRPOConfig(
            output_dir=f"{args.output_dir}/grpo",
            max_steps=args.grpo_steps,
            per_device_train_batch_size=4,
            num_generations=4,
            max_completion_length=args.max_new_tokens,
            learning_rate=args.grpo_lr,
            temperature=0.7,
            rft_report=f"{args.output_dir}/rft/rejective",
            grm_config=student.to_dict(),
            **common,
        ),
        train_dataset=train,
        processing_class=tokenizer,
    )
    grpo.train()
    report["grpo_log"] = [
        {k: h[k] for k in h if k.startswith("rewards/") or k in ("loss", "kl", "step")} for h in grpo.state.log_history
    ]
    stage("RFT + GRPO", GRMForPointwiseScoring(grpo.model, tokenizer, student))

    adapter_dir = f"{args.output_dir}/adapter"
    grpo.model.save_pretrained(adapter_dir)
    student.save_pretrained(adapter_dir)
    report["seconds"] = round(time.time() - started)
    with open(f"{args.output_dir}/results.json", "w") as f:
        json.dump(report, f, indent=2)
    metrics = list(next(iter(report["stages"].values())))
    lines = ["| stage | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for name, values in report["stages"].items():
        lines.append(f"| {name} | " + " | ".join(f"{values[m]:.2f}" for m in metrics) + " |")
    with open(f"{args.output_dir}/results.md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"total {report['seconds']} s; adapter in {adapter_dir}")


if __name__ == "__main__":
    main()
