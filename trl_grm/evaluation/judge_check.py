"""Does a GRM judge, or does it prefer a position? Every labelled pair judged in BOTH orders, plus Voting@k.

A judge that always prefers the first (or second) reply is right in one order and wrong in the other: it scores
50% per order and 0% "right in both orders", and its position consistency is 0. This check is what the learning
proof (tests/test_spct_learning.py) and the shipped default GRM's numbers (README) are measured with.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from ..data.formats import LabeledInput
from ..protocol.rules import is_correct
from . import metrics as M
from .harness import meta_scores_for


def both_orders_check(
    grm,
    examples: Sequence[LabeledInput],
    *,
    ks: Sequence[int] = (1, 8),
    temperature: float = 0.5,
    max_new_tokens: int | None = None,
    meta_rm: Callable[[Sequence[str]], Sequence[float]] | None = None,
    k_meta: int | None = None,
    group_by: str | None = "family",
    seed: int = 0,
) -> dict[str, Any]:
    """Greedy judgements of every pair (n = 2) in both orders, and ``max(ks)`` sampled judgements in random orders.

    Returns, overall and per ``meta[group_by]`` group:

    - ``valid``: share of judgements (greedy and sampled) with a parsable score line;
    - ``per_order``: greedy accuracy over the two orders; ``both_orders``: share of pairs right in both;
    - ``position_consistency``: share of pairs whose two greedy verdicts name the same reply (ties disagree);
    - ``voting@k`` (and ``metarm@k`` with ``meta_rm``): expected accuracy of voting over k of the sampled
      judgements (all k-subsets when few, else 64 seeded ones; ties broken by a seeded coin, the paper's rule);
    - ``sample_accuracy``: share of sampled judgements that are right;
    - ``meta_roc_auc`` (overall, with ``meta_rm``): ROC-AUC of the Meta RM's scores of the sampled judgements
      against whether they are right.
    """
    examples = list(examples)
    if not examples or any(len(ex.responses) != 2 for ex in examples):
        raise ValueError("both_orders_check needs labelled pairs (exactly 2 responses each)")
    ks = sorted(set(ks))
    greedy = grm.score(
        examples, num_samples=2, order_strategy="balanced", temperature=0.0, max_new_tokens=max_new_tokens, seed=seed
    )
    sampled = grm.score(
        examples,
        num_samples=ks[-1],
        order_strategy="random",
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        seed=seed,
    )
    samples = [[{"order": s.order, "text": s.text, "scores": s.scores} for s in r.samples] for r in sampled]
    metas = meta_scores_for(meta_rm, examples, samples, progress=False) if meta_rm is not None else None

    rows = [
        _pair_row(i, ex, g, s, ks, metas, k_meta, group_by, seed)
        for i, (ex, g, s) in enumerate(zip(examples, greedy, samples))
    ]
    report = {"overall": _summary(rows), "settings": {"ks": ks, "temperature": temperature, "seed": seed}}
    if metas is not None:
        pairs = [(m, r["sample_right"][j]) for ms, r in zip(metas, rows) for j, m in enumerate(ms) if m is not None]
        try:  # how well the Meta RM tells right sampled judgements from wrong ones
            report["overall"]["meta_roc_auc"] = M.roc_auc([m for m, _ in pairs], [int(y) for _, y in pairs])
        except ValueError:  # one class only
            report["overall"]["meta_roc_auc"] = None
    groups = sorted({r["group"] for r in rows} - {""})
    if groups:
        report["groups"] = {name: _summary([r for r in rows if r["group"] == name]) for name in groups}
    return report


def _pair_row(i: int, ex, greedy, samples, ks, metas, k_meta, group_by, seed) -> dict[str, Any]:
    """One pair's greedy verdicts in both orders and its Voting@k / MetaRM@k from the sampled judgements."""
    right = [is_correct(x.scores, ex.label) for x in greedy.samples]
    row = {
        "group": str(ex.meta.get(group_by, "")) if group_by else "",
        "valid": [x.scores is not None for x in greedy.samples] + [x["scores"] is not None for x in samples],
        "per_order": right,
        "both_orders": all(right),
        "consistent": M.position_consistency([x.order for x in greedy.samples], [x.scores for x in greedy.samples])
        or 0.0,
        "sample_right": [is_correct(x["scores"], ex.label) for x in samples],
    }
    scores = [x["scores"] for x in samples]
    for k in ks:
        rng = random.Random(f"{seed}:{i}:{k}")
        row[f"voting@{k}"] = M.example_accuracy(scores, ex.label, k, rng=rng)
        if metas is not None:
            rng = random.Random(f"{seed}:{i}:{k}")  # the same subsets and coins: only the selection differs
            kw = dict(meta_scores=metas[i], k_meta=k_meta, rng=rng)
            row[f"metarm@{k}"] = M.example_accuracy(scores, ex.label, k, **kw)
    return row


def _summary(part: list[dict]) -> dict[str, Any]:
    """The means of a group of pair rows."""
    out = {
        "pairs": len(part),
        "valid": M.mean([v for r in part for v in r["valid"]]),
        "per_order": M.mean([v for r in part for v in r["per_order"]]),
        "both_orders": M.mean([float(r["both_orders"]) for r in part]),
        "position_consistency": M.mean([r["consistent"] for r in part]),
        "sample_accuracy": M.mean([v for r in part for v in r["sample_right"]]),
    }
    for key in [k for k in part[0] if "@" in k]:
        out[key] = M.mean([r[key] for r in part])
    return out


def check_markdown(report: dict[str, Any], title: str = "") -> str:
    """``report`` of :func:`both_orders_check` as a markdown table (percentages), one row per group."""
    overall = report["overall"]
    keys = [k for k in overall if k != "pairs"]
    lines = [f"### {title}", ""] if title else []
    lines += ["| group | pairs | " + " | ".join(keys) + " |", "|---" * (len(keys) + 2) + "|"]
    for name, values in [*report.get("groups", {}).items(), ("overall", overall)]:
        cells = " | ".join("" if values.get(k) is None else f"{100 * values[k]:.1f}" for k in keys)
        lines.append(f"| {name} | {values['pairs']} | {cells} |")
    return "\n".join(lines) + "\n"


def make_parser():
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m trl_grm.evaluation.judge_check",
        description="Judge held-out synthetic verifiable pairs, and any labelled pair files, in both orders, plus "
        "Voting@k (results.json/md).",
    )
    parser.add_argument("--model", help="GRM folder; a LoRA adapter folder with --base; default: the embedded GRM")
    parser.add_argument("--base", help="base model of a LoRA adapter (default: the converted SmolLM2-135M-Instruct)")
    parser.add_argument("--grm_config", help="folder whose grm_config.json to judge with (default: the model's)")
    parser.add_argument("--meta_rm", help="Meta RM folder: also report MetaRM@k and its ROC-AUC")
    parser.add_argument("--k_meta", type=int, help="judgements the Meta RM keeps (default: k/2)")
    parser.add_argument("--num_pairs", type=int, default=48, help="held-out generator pairs (0: none)")
    parser.add_argument("--style", default="templates", choices=["templates", "varied"], help="the generator's style")
    parser.add_argument("--difficulty", type=float, default=0.0, help="share of near-miss distractors")
    parser.add_argument("--synthetic_seed", type=int, default=1000, help="seed of the held-out stream")
    parser.add_argument("--start", type=int, default=500_000, help="first index of the held-out stream")
    parser.add_argument(
        "--pairs",
        nargs="+",
        default=[],
        help="labelled pair files (prompt/chosen/rejected, grouped by their 'family' column), e.g. the hand-written "
        "tests/data/independent_pairs.jsonl; each is reported beside the generator's held-out pairs",
    )
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--max_new_tokens", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output_dir", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    import json
    import os
    import time
    from pathlib import Path

    from ..data.formats import load_preference_data
    from ..data.synthetic import SyntheticTasks
    from ..modeling.adapters import merge_base
    from ..modeling.configuration_grm import GRMConfig
    from ..modeling.default_model import default_model_path
    from ..modeling.loading import load_grm

    args = make_parser().parse_args(argv)
    if args.num_pairs <= 0 and not args.pairs:
        raise SystemExit("judge_check: nothing to judge (give --num_pairs > 0 or --pairs FILE)")
    started = time.time()
    grm = load_grm(args.model, base_model=merge_base(args.model, args.base or str(default_model_path())))
    if args.grm_config:
        grm.config = GRMConfig.from_pretrained(args.grm_config)
    meta = None
    if args.meta_rm:
        from ..modeling.meta_rm import MetaRewardModel

        meta = MetaRewardModel.from_pretrained(args.meta_rm)
    sets = {}
    if args.num_pairs > 0:
        tasks = SyntheticTasks(seed=args.synthetic_seed, num_responses=2, difficulty=args.difficulty, style=args.style)
        sets[f"held-out {args.style} pairs"] = tasks.generate(args.num_pairs, start=args.start)
    for path in args.pairs:
        sets[Path(path).stem], _ = load_preference_data(path, seed=args.seed)
    kw = dict(ks=args.ks, max_new_tokens=args.max_new_tokens, meta_rm=meta, k_meta=args.k_meta, seed=args.seed)
    reports = {name: both_orders_check(grm, examples, **kw) for name, examples in sets.items()}
    settings = {k: v for k, v in vars(args).items() if k != "output_dir"}
    result = {"sets": reports, "settings": settings, "seconds": round(time.time() - started)}
    os.makedirs(args.output_dir, exist_ok=True)
    with open(os.path.join(args.output_dir, "results.json"), "w") as f:
        json.dump(result, f, indent=2)
    who = args.model or "embedded default GRM"
    table = "\n".join(check_markdown(r, f"{who}: {name} in both orders (%)") for name, r in reports.items())
    with open(os.path.join(args.output_dir, "results.md"), "w") as f:
        f.write(table)
    print(table)
    print(f"{result['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
