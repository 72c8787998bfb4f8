"""A policy trained with GRPO on a CPU, rewarded (a) by the code verifier (the oracle) and (b) by the shipped GRM.

    python examples/policy_grpo_cpu.py --output_dir outputs/policy_grpo_cpu

Policy: SmolLM2-135M-Instruct + LoRA (``--policy tiny``: the tiny test Llama, for a quick smoke run). Tasks: the
synthetic verifiable prompts of :mod:`trl_grm.data.synthetic` (capital letters, word counts, keywords, formats,
arithmetic, yes/no); a completion succeeds when the family's checker accepts it. Both arms start from the same
policy, see the same prompts in the same order, and are evaluated on the same held-out prompts (greedy decoding)
before and after.

Arm (b) trains on the GRM reward alone but also computes the oracle reward with weight 0 (TRL's
``reward_weights``, the way a GRM reward is mixed with rule rewards), so the GRM's rewards and the oracle's are
known for the same completions: the *agreement* is, over pairs of completions of one prompt that the oracle tells
apart, the fraction where the GRM gives the verified one the higher reward (ties count one half; 0.5 is chance).
Timing: seconds per GRPO step of each arm and the GRM's own scoring seconds per step, so that the cost of the GRM
reward can be compared with the time the GRM itself needs.

Resumable by stage: each finished stage (baseline, oracle, grm) is saved in ``--output_dir/results.json`` and
skipped on a rerun. Writes results.json and results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from itertools import combinations
from pathlib import Path

import torch
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer

from trl_grm.data.synthetic import SyntheticTasks, verify
from trl_grm.modeling.default_model import default_grm_path, default_model_path
from trl_grm.rewards import GRMReward


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output_dir", default="outputs/policy_grpo_cpu")
    parser.add_argument("--policy", choices=["smollm2", "tiny"], default="smollm2")
    parser.add_argument("--steps", type=int, default=24, help="GRPO steps per arm")
    parser.add_argument("--prompts_per_step", type=int, default=2)
    parser.add_argument("--num_generations", type=int, default=4)
    parser.add_argument("--max_completion_length", type=int, default=32)
    parser.add_argument("--num_eval", type=int, default=240, help="held-out prompts (families take turns)")
    parser.add_argument("--grm", help="GRM folder or LoRA adapter folder (default: the embedded default GRM)")
    parser.add_argument("--grm_base", help="base model of a LoRA adapter --grm (default: the converted SmolLM2)")
    parser.add_argument("--grm_samples", type=int, default=2, help="k of the GRM reward")
    parser.add_argument(
        "--grm_group_size",
        type=int,
        default=2,
        help="most completions in one GRM input: 2 judges a group of 4 as its 6 pairs (what the default GRM was "
        "trained on); 4 judges it as one list",
    )
    parser.add_argument("--learning_rate", type=float, default=1e-4)
    parser.add_argument("--families", nargs="+", default=None, help="synthetic families (default: all six)")
    parser.add_argument("--style", choices=["templates", "varied"], default="templates", help="the prompts' style")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def rows(tasks: SyntheticTasks, num: int, start: int) -> list[dict]:
    out = []
    for ex in tasks.generate(num, start):
        out.append({"prompt": [{"role": "user", "content": ex.context}], "family": ex.meta["family"],
                    "params": json.dumps(ex.meta["params"])})  # fmt: skip
    return out


class Verifier:
    """The oracle: 1.0 when the family's checker accepts the completion, else 0.0 (records what it returned)."""

    __name__ = "verifier"

    def __init__(self) -> None:
        self.history: list[list[float]] = []

    def __call__(self, completions, family, params, **kwargs) -> list[float]:
        out = [float(verify(f, p, c[0]["content"])) for c, f, p in zip(completions, family, params)]
        self.history.append(out)
        return out


@torch.no_grad()
def success_rate(model, tokenizer, eval_rows: list[dict], max_new_tokens: int) -> dict:
    """Greedy completions of the held-out prompts, checked by code: overall and per family."""
    model.eval()
    tokenizer.padding_side = "left"
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    texts = [tokenizer.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True) for r in eval_rows]
    ok = []
    for i in range(0, len(texts), 16):
        batch = tokenizer(texts[i : i + 16], return_tensors="pt", padding=True, add_special_tokens=False)
        out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id)  # fmt: skip
        for r, seq in zip(eval_rows[i : i + 16], out[:, batch["input_ids"].shape[1] :]):
            ok.append(verify(r["family"], r["params"], tokenizer.decode(seq, skip_special_tokens=True)))
    families = sorted({r["family"] for r in eval_rows})
    per = {f: sum(o for o, r in zip(ok, eval_rows) if r["family"] == f) / sum(r["family"] == f for r in eval_rows)
           for f in families}  # fmt: skip
    return {"success": sum(ok) / len(ok), "per_family": per, "ok": [int(o) for o in ok]}


def gain(before: dict, after: dict) -> dict:
    """The success gain on the same held-out prompts with its 95% paired bootstrap interval (prompts resampled)."""
    from trl_grm.evaluation.metrics import bootstrap_ci

    diffs = [a - b for a, b in zip(after["ok"], before["ok"])]
    lo, hi = bootstrap_ci(diffs, num_resamples=2000, seed="policy-gain")
    return {"gain": sum(diffs) / len(diffs), "ci": [lo, hi]}


def agreement(grm_rewards: list[float | None], oracle: list[float], group: int) -> dict:
    """Pairs of one prompt's completions that the oracle tells apart: how often the GRM ranks the verified one
    higher (ties 1/2); also how many completions the GRM left unscored."""
    wins, pairs = 0.0, 0
    for start in range(0, len(oracle), group):
        for i, j in combinations(range(start, start + group), 2):
            if oracle[i] == oracle[j] or grm_rewards[i] is None or grm_rewards[j] is None:
                continue
            good, bad = (i, j) if oracle[i] > oracle[j] else (j, i)
            pairs += 1
            g, b = grm_rewards[good], grm_rewards[bad]
            wins += 1.0 if g > b else 0.5 if g == b else 0.0
    return {
        "pairs": pairs,
        "agreement": wins / pairs if pairs else None,
        "unscored": sum(r is None for r in grm_rewards) / max(len(grm_rewards), 1),
        "oracle_success_in_training": sum(oracle) / max(len(oracle), 1),
    }


def judge_model(args):
    """The GRM of the GRM arm: a folder as it is, a LoRA adapter folder merged into its base."""
    from trl_grm.modeling.adapters import merge_base
    from trl_grm.modeling.loading import load_grm

    if not args.grm:
        return str(default_grm_path())
    base = merge_base(args.grm, args.grm_base or str(default_model_path()))
    return args.grm if base is None else load_grm(args.grm, base_model=base)


def train_arm(name: str, args, policy_path: str, train: Dataset, eval_rows: list[dict], out: Path) -> dict:
    tokenizer = AutoTokenizer.from_pretrained(policy_path)
    verifier = Verifier()
    reward_funcs, weights, grm_reward = [verifier], None, None
    if name == "grm":
        grm_reward = GRMReward(
            judge_model(args),
            num_samples=args.grm_samples,
            seed=args.seed,
            max_group_size=args.grm_group_size,
            large_group_strategy="pairwise",
        )
        reward_funcs, weights = [grm_reward, verifier], [1.0, 0.0]  # the oracle is computed and logged, not used
    config = GRPOConfig(
        output_dir=str(out / name),
        max_steps=args.steps,
        per_device_train_batch_size=args.prompts_per_step * args.num_generations,
        num_generations=args.num_generations,
        max_completion_length=args.max_completion_length,
        learning_rate=args.learning_rate,
        beta=0.0,
        reward_weights=weights,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        bf16=False,
        seed=args.seed,
        shuffle_dataset=False,
        disable_tqdm=False,
    )
    peft = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = GRPOTrainer(model=policy_path, reward_funcs=reward_funcs, args=config, train_dataset=train,
                          processing_class=tokenizer, peft_config=peft)  # fmt: skip
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    result = {
        "after": success_rate(trainer.model, tokenizer, eval_rows, args.max_completion_length),
        "grm": args.grm or "embedded default GRM",
        "seconds_per_step": seconds / args.steps,
        "mean_oracle_reward_first_half": _mean(verifier.history[: len(verifier.history) // 2]),
        "mean_oracle_reward_second_half": _mean(verifier.history[len(verifier.history) // 2 :]),
    }
    if grm_reward is not None:
        grm_rows = [r for call in grm_reward.calls for r in call["rewards"]]
        oracle_rows = [r for h in verifier.history for r in h]
        result["agreement"] = agreement(grm_rows, oracle_rows, args.num_generations)
        result["grm_seconds_per_step"] = sum(c["seconds"] for c in grm_reward.calls) / len(grm_reward.calls)
    return result


def _mean(history: list[list[float]]) -> float | None:
    values = [v for h in history for v in h]
    return sum(values) / len(values) if values else None


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results["settings"] = vars(args)
    if args.policy == "tiny":
        from trl_grm.testing import build_tiny_model

        policy_path = str(out / "tiny_policy")
        if not os.path.exists(policy_path):
            build_tiny_model(policy_path)
    else:
        policy_path = str(default_model_path())
    tasks = SyntheticTasks(seed=args.seed, families=args.families, num_responses=1, style=args.style)
    train = Dataset.from_list(rows(tasks, args.steps * args.prompts_per_step, 0))
    eval_rows = rows(tasks, args.num_eval, 100_000)

    def save() -> None:
        results_path.write_text(json.dumps(results, indent=2))

    if "baseline" not in results:
        model = AutoModelForCausalLM.from_pretrained(policy_path)
        results["baseline"] = success_rate(model, AutoTokenizer.from_pretrained(policy_path), eval_rows,
                                           args.max_completion_length)  # fmt: skip
        del model
        save()
    for arm in ("oracle", "grm"):
        if arm not in results:
            torch.manual_seed(args.seed)
            results[arm] = train_arm(arm, args, policy_path, train, eval_rows, out)
            save()
    (out / "results.md").write_text(report(results))
    print(report(results))
    return 0


def report(results: dict) -> str:
    base = results["baseline"]["success"]
    lines = ["| reward | success before | success after | gain [95% CI] | s / step | GRM s / step | agreement with "
             "oracle | unscored |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for arm in ("oracle", "grm"):
        r = results.get(arm)
        if r is None:
            continue
        agree = r.get("agreement", {})
        a = agree.get("agreement")
        agree_text = "-" if a is None else f"{a:.2f} over {agree['pairs']} pairs"
        grm_s = f"{r['grm_seconds_per_step']:.1f}" if "grm_seconds_per_step" in r else "-"
        g = gain(results["baseline"], r["after"]) if "ok" in r["after"] else None
        gain_text = "-" if g is None else f"{100 * g['gain']:+.1f} [{100 * g['ci'][0]:+.1f}, {100 * g['ci'][1]:+.1f}]"
        unscored = f"{agree['unscored']:.0%}" if agree else "-"
        lines.append(
            f"| {arm} | {base:.1%} | {r['after']['success']:.1%} | {gain_text} | {r['seconds_per_step']:.1f} | "
            f"{grm_s} | {agree_text} | {unscored} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
