"""``trl-grm build-meta-data``: the Meta RM's training rows. Samples fresh judgements from the final GRM (any
engine), labels each by the correctness rule, adds the non-hinted samples of rejective sampling
(``--rft_data_dir``: the build-rft-data output_dir, as in the paper) and writes ``{"text", "label"}`` rows
(``train.jsonl``) for ``trl-grm meta-rm``. Resumable like build-rft-data.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from trl_grm.cli.common import (
    GRMScriptArguments,
    UsageError,
    make_command_parser,
    quiet_loading,
    run_command,
)
from trl_grm.cli.plan_stage import examples_or_reason, sampling_plan
from trl_grm.data.sources import write_rows
from trl_grm.modeling.adapters import merge_base
from trl_grm.modeling.loading import BackendArguments, check_backend_arguments, load_grm
from trl_grm.planning.preflight import check_hardware

PROG = "trl-grm build-meta-data"


@dataclass
class BuildMetaDataConfig:
    """Sampling settings of the Meta RM data."""

    output_dir: str | None = field(default=None, metadata={"help": "Where samples, rows and report go (resumable)."})
    model_name_or_path: str | None = field(
        default=None, metadata={"help": "The final GRM whose judgements the Meta RM will rank."}
    )
    rft_data_dir: str | None = field(
        default=None,
        metadata={"help": "build-rft-data output_dir: its non-hinted samples are added (same dataset required)."},
    )
    num_samples: int = field(default=8, metadata={"help": "Fresh judgements per example."})
    temperature: float = field(default=0.5, metadata={"help": "Sampling temperature (paper: 0.5)."})
    max_new_tokens: int = field(default=512, metadata={"help": "Length budget of one judgement."})
    binary_single: bool = field(default=True, metadata={"help": "Rate single responses 0/1 (as rejective sampling)."})
    include_unparsed: bool = field(
        default=False,
        metadata={"help": "Keep judgements without a score line (label 0); voting never asks about them."},
    )
    balance: str = field(default="none", metadata={"help": "'none' (weight the loss instead) or 'downsample'."})
    batch_size: int = field(default=8, metadata={"help": "Examples per sampling call and per durable write."})
    max_batch_size: int = field(default=64, metadata={"help": "transformers: most sequences decoded together."})
    seed: int = field(default=1, metadata={"help": "Seeds orders and sampling (differs from RFT's by default)."})


def make_parser(prog: str = PROG):
    return make_command_parser(
        [GRMScriptArguments, BuildMetaDataConfig, BackendArguments],
        prog,
        description="Meta RM training rows: fresh labelled judgements of the final GRM plus rejective sampling's.",
    )


def main(argv: list[str] | None = None) -> int:
    script_args, config, backend = make_parser().parse_args_and_config(argv)
    return run(script_args, config, backend)


def run(script_args: GRMScriptArguments, config: BuildMetaDataConfig, backend: BackendArguments) -> int:
    from trl_grm.data.formats import examples_fingerprint
    from trl_grm.data.meta import BALANCE_MODES, build_meta_dataset, sample_meta_records
    from trl_grm.data.sampling import read_samples

    if not config.output_dir:
        raise UsageError("Give --output_dir: samples, rows and the report are written there")
    if config.balance not in BALANCE_MODES:
        raise UsageError(f"--balance must be one of {BALANCE_MODES}, got {config.balance!r}")
    check_backend_arguments(backend, check_install=not script_args.dry_run)
    examples, data = examples_or_reason(script_args, config.seed)
    rft_records: list[dict[str, Any]] = []
    if config.rft_data_dir and examples is not None and os.path.isdir(config.rft_data_dir):
        stage_file = os.path.join(config.rft_data_dir, "stage.json")
        if not os.path.exists(stage_file):
            raise FileNotFoundError(f"--rft_data_dir: {config.rft_data_dir} is not a build-rft-data output_dir")
        with open(stage_file) as f:
            stage = json.load(f)
        if stage["data"] != examples_fingerprint(examples):
            raise UsageError(
                f"--rft_data_dir: {config.rft_data_dir} was sampled from other data than --dataset_name "
                f"{script_args.dataset_name}; give the same dataset arguments as build-rft-data"
            )
        rft_records = read_samples(config.rft_data_dir)
    elif config.rft_data_dir and not script_args.dry_run:
        raise FileNotFoundError(f"--rft_data_dir: no such directory: {config.rft_data_dir}")
    if script_args.dry_run:
        count = len(examples) if examples is not None else "N"
        sampling = {
            "judgements": f"{count} examples x {config.num_samples} at temperature {config.temperature}, <= "
            f"{config.max_new_tokens} new tokens each",
            "rft samples added": f"{len(rft_records)} records from {config.rft_data_dir}" if rft_records else "none",
            "output_dir": config.output_dir,
        }
        seq_tokens = 1024 + config.max_new_tokens  # a typical judge prompt and its judgement
        return sampling_plan(PROG, script_args, backend, config.model_name_or_path, data, sampling, seq_tokens)
    check_hardware(backend=backend.backend)
    quiet_loading()
    base = merge_base(config.model_name_or_path, script_args.base_model)  # a training stage's LoRA adapter folder
    grm = load_grm(config.model_name_or_path, backend, max_batch_size=config.max_batch_size, base_model=base)
    fresh = sample_meta_records(
        grm,
        examples,
        os.path.join(config.output_dir, "samples"),
        num_samples=config.num_samples,
        temperature=config.temperature,
        max_new_tokens=config.max_new_tokens,
        binary_single=config.binary_single,
        seed=config.seed,
        batch_size=config.batch_size,
    )
    rows, report = build_meta_dataset(
        examples,
        [*rft_records, *fresh],
        include_unparsed=config.include_unparsed,
        balance=config.balance,
        seed=config.seed,
    )
    path = write_rows(config.output_dir, rows)
    with open(os.path.join(config.output_dir, "report.json"), "w") as f:
        json.dump(report.as_dict(), f, indent=2)
    print(json.dumps(report.as_dict()))
    if not rows or report.positives == 0 or report.negatives == 0:
        raise UsageError(
            f"The Meta RM data needs both right and wrong judgements; got {report.positives} right and "
            f"{report.negatives} wrong. Sample more (--num_samples) or from a different GRM."
        )
    print(f"Wrote {len(rows)} rows to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_command(PROG, lambda: main(sys.argv[1:])))
