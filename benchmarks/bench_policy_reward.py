"""Seconds per GRPO step with the GRM reward against a trivial reward, on the same setup, in one process.

    python benchmarks/bench_policy_reward.py                 # tiny policy + tiny 4-response judge, ~3 min
    python benchmarks/bench_policy_reward.py --model smollm2 # SmolLM2 policy + the embedded SmolLM2 GRM

Three runs of the same GRPO steps (same prompts, same seed): (1) a trivial reward (completion length, no model),
(2) :class:`~trl_grm.rewards.GRMReward` (all groups of a step in ONE batched GRM call), (3) the same GRM reward
scoring group after group (one GRM call per group: what a reward that serialises across groups costs). Reported:
seconds per step, the GRM's own scoring seconds per step, and the overhead of the GRM reward (step time minus the
trivial run's) divided by its scoring time: about 1.0 means the reward adds nothing beyond the GRM's own work.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from trl_grm.rewards import GRMReward  # noqa: E402


class PerGroupGRMReward(GRMReward):
    """The baseline a listwise reward must beat: one GRM call per group, one after the other."""

    def score_items(self, items, seed):
        return [self.grm.score(item, return_samples=True, **self._score_params(seed)) for item in items]


def trivial(completions, **kwargs):
    return [float(len(str(c))) for c in completions]


def run(policy: str, reward, args, prompts) -> float:
    """Seconds per step over steps 2..N (the first step loads models)."""
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    stamps: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, *a, **k):
            stamps.append(time.perf_counter())

    config = GRPOConfig(
        output_dir=tempfile.mkdtemp(),
        max_steps=args.steps,
        per_device_train_batch_size=args.groups * args.num_generations,
        num_generations=args.num_generations,
        max_completion_length=args.max_completion_length,
        beta=0.0,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        bf16=False,
        seed=0,
        shuffle_dataset=False,
        disable_tqdm=True,
    )
    trainer = GRPOTrainer(model=policy, reward_funcs=[reward], args=config, callbacks=[Clock()],
                          train_dataset=Dataset.from_list([{"prompt": p} for p in prompts]))  # fmt: skip
    trainer.train()
    return (stamps[-1] - stamps[0]) / (len(stamps) - 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["tiny", "smollm2"], default="tiny")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--groups", type=int, default=8, help="prompts per step")
    parser.add_argument("--num_generations", type=int, default=4)
    parser.add_argument("--max_completion_length", type=int, default=16)
    parser.add_argument("--num_samples", type=int, default=2, help="k of the GRM reward")
    args = parser.parse_args(argv)

    from trl_grm.data.synthetic import SyntheticTasks

    work = Path(tempfile.mkdtemp())
    if args.model == "tiny":
        from trl_grm.testing import TINY_JUDGEMENT, build_tiny_judge, build_tiny_model

        policy = str(build_tiny_model(work / "policy"))
        scores = ", ".join(str(s) for s in [8, 3, 5, 1, 7, 2, 6, 4][: args.num_generations])
        judge = str(build_tiny_judge(work / "judge", judgement=TINY_JUDGEMENT.replace("8, 3", scores),
                                     num_responses=args.num_generations))  # fmt: skip
    else:
        from trl_grm.modeling.default_model import default_grm_path, default_model_path

        policy, judge = str(default_model_path()), str(default_grm_path())
    prompts = [ex.context for ex in SyntheticTasks(num_responses=1).generate(args.groups * args.steps)]
    settings = dict(num_samples=args.num_samples, seed=0)
    results = {"trivial": run(policy, trivial, args, prompts)}
    for name, cls in (("grm", GRMReward), ("grm per group", PerGroupGRMReward)):
        reward = cls(judge, **settings)
        _ = reward.grm  # load before timing
        results[name] = run(policy, reward, args, prompts)
        results[name + " scoring"] = sum(c["seconds"] for c in reward.calls[1:]) / (len(reward.calls) - 1)
        rewards = [r for c in reward.calls for r in c["rewards"]]
        results[name + " unscored"] = sum(r is None for r in rewards) / len(rewards)
    print(f"{args.model}: {args.groups} groups of {args.num_generations} per step, k = {args.num_samples}, "
          f"{args.max_completion_length}-token completions; seconds per step (steps 2..{args.steps})")  # fmt: skip
    print("| reward | s / step | GRM scoring s / step | (step - trivial) / scoring | unscored completions |")
    print("|---|---|---|---|---|")
    print(f"| trivial | {results['trivial']:.2f} | - | - | - |")
    for name in ("grm", "grm per group"):
        scoring = results[name + " scoring"]
        ratio = (results[name] - results["trivial"]) / scoring
        unscored = results[name + " unscored"]
        print(f"| {name} | {results[name]:.2f} | {scoring:.2f} | {ratio:.2f} | {unscored:.0%} |")
    print(f"batched vs per-group GRM reward: {results['grm per group'] / results['grm']:.2f}x faster per step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
