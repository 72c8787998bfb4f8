"""``trl-grm build-rft-data``: SPCT stage 1a, rejective sampling. Samples N_RFT judgements per labelled example
with a sampler GRM (any engine: transformers, vLLM, a server), keeps the right ones, drops the too-easy examples
and writes the prompt/completion rows that ``trl-grm rft`` trains on.

Resumable: samples are appended per finished batch to ``output_dir/samples.jsonl``; a rerun samples only what is
missing. Writes ``train.jsonl`` (the rows), ``report.json`` (kept / rejected counts, too-easy ids, read by
``trl-grm grpo``), ``grm_config.json`` (the student's GRM settings, read by ``trl-grm rft``) and ``stage.json``.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field

from trl_grm.cli.common import (
    GRMScriptArguments,
    UsageError,
    make_command_parser,
    quiet_loading,
    run_command,
)
from trl_grm.cli.plan_stage import examples_or_reason, sampling_plan
from trl_grm.data.sources import write_rows
from trl_grm.modeling.loading import BackendArguments, check_backend_arguments, load_grm
from trl_grm.planning.preflight import check_hardware

PROG = "trl-grm build-rft-data"


@dataclass
class BuildRFTDataConfig:
    r"""Rejective sampling settings (paper defaults).

    Parameters:
        output_dir: where samples, rows and the report go (resumable).
        model_name_or_path: the sampler GRM (the model to be trained, or a stronger teacher); the embedded default
            when unset.
        num_rft_samples: N_RFT, judgements per unhinted example (paper: 3).
        hinted_fraction: share of examples sampled once with the best response revealed.
        temperature, max_new_tokens: sampling settings (paper: 0.5).
        grm_config: the STUDENT's GRM settings that render the training prompts (a dict of GRMConfig fields or a
            folder with grm_config.json); the sampler's own when unset.
    """

    output_dir: str | None = field(default=None, metadata={"help": "Where samples, rows and report go (resumable)."})
    model_name_or_path: str | None = field(
        default=None, metadata={"help": "Sampler GRM (the model to train or a teacher). Default: the embedded GRM."}
    )
    teacher: str | None = field(
        default=None,
        metadata={
            "help": "'synthetic': sample from the code-written teacher of the synthetic tasks (trl_grm.data.teacher) "
            "instead of a model; needs --dataset_name synthetic."
        },
    )
    teacher_error_rate: float = field(
        default=0.25, metadata={"help": "With --teacher synthetic: share of samples with one wrong observation."}
    )
    teacher_score_spread: int = field(
        default=3,
        metadata={"help": "With --teacher synthetic: a passing (failing) reply draws from the top (bottom) N scores."},
    )
    teacher_inline_scores: bool = field(
        default=False,
        metadata={"help": "With --teacher synthetic: end each analysis sentence with the reply's score."},
    )
    teacher_show_work: bool = field(
        default=False,
        metadata={
            "help": "With --teacher synthetic: write the evidence before each verdict (word counts one by one, the "
            "keyword's phrase quoted)."
        },
    )
    sampler_grm_config: str | None = field(
        default=None, metadata={"help": "Folder with the sampler's grm_config.json (default: the sampler's own)."}
    )
    grm_config: str | None = field(
        default=None,
        metadata={
            "help": "Folder with the student's grm_config.json, rendering the training prompts (default: the "
            "sampler's settings)."
        },  # fmt: skip
    )
    num_rft_samples: int = field(default=3, metadata={"help": "N_RFT: judgements per unhinted example (paper: 3)."})
    hinted_fraction: float = field(
        default=0.0, metadata={"help": "Share of examples sampled once with the best response revealed."}
    )
    temperature: float = field(default=0.5, metadata={"help": "Sampling temperature (paper: 0.5)."})
    max_new_tokens: int = field(default=512, metadata={"help": "Length budget of one judgement."})
    binary_single: bool = field(default=True, metadata={"help": "Rate single responses 0/1 (paper's n = 1 variant)."})
    balance_positions: bool = field(
        default=False, metadata={"help": "Keep equally many samples per shown position of the best response."}
    )
    order_strategy: str = field(
        default="random",
        metadata={"help": "Sample orders: 'random' (paper) or 'balanced' (every order equally often)."},
    )
    require_all_positions: bool = field(
        default=False,
        metadata={"help": "Keep an example only if its correct samples show the best response in every position."},
    )
    batch_size: int = field(default=8, metadata={"help": "Examples per sampling call and per durable write."})
    max_batch_size: int = field(default=64, metadata={"help": "transformers: most sequences decoded together."})
    seed: int = field(default=0, metadata={"help": "Seeds orders, hints and sampling."})


def make_parser(prog: str = PROG):
    return make_command_parser(
        [GRMScriptArguments, BuildRFTDataConfig, BackendArguments],
        prog,
        description="SPCT stage 1a: rejective sampling of judgements into rejective fine-tuning rows (resumable).",
    )


def main(argv: list[str] | None = None) -> int:
    script_args, config, backend = make_parser().parse_args_and_config(argv)
    return run(script_args, config, backend)


def _read_config(path: str | None, flag: str):
    from trl_grm.modeling.configuration_grm import GRMConfig

    if path is None:
        return None
    if not os.path.exists(os.path.join(path, "grm_config.json")):
        raise FileNotFoundError(f"--{flag}: no grm_config.json in {path}")
    return GRMConfig.from_pretrained(path)


def _check_teacher(config: BuildRFTDataConfig, script_args: GRMScriptArguments) -> None:
    from trl_grm.data.sources import SYNTHETIC

    if config.teacher != SYNTHETIC:
        raise UsageError(f"--teacher: the only code-written teacher is '{SYNTHETIC}', got {config.teacher!r}")
    if script_args.dataset_name != SYNTHETIC:
        raise UsageError("--teacher synthetic judges only the synthetic tasks: give --dataset_name synthetic")
    if config.model_name_or_path is not None:
        raise UsageError("Give either --teacher or --model_name_or_path (the sampler), not both")
    if not 0.0 <= config.teacher_error_rate <= 1.0:
        raise UsageError(f"--teacher_error_rate must be in [0, 1], got {config.teacher_error_rate}")
    if config.teacher_score_spread < 1:
        raise UsageError(f"--teacher_score_spread must be >= 1, got {config.teacher_score_spread}")


def _teacher(config: BuildRFTDataConfig, student):
    """The code-written teacher, parsing with the student's settings (the default GRM's when unset)."""
    from trl_grm.data.teacher import SyntheticTeacher
    from trl_grm.modeling.loading import resolve_grm_config

    return SyntheticTeacher(
        student or resolve_grm_config(None),
        error_rate=config.teacher_error_rate,
        score_spread=config.teacher_score_spread,
        inline_scores=config.teacher_inline_scores,
        show_work=config.teacher_show_work,
    )


def run(script_args: GRMScriptArguments, config: BuildRFTDataConfig, backend: BackendArguments) -> int:
    from trl_grm.data.formats import examples_fingerprint
    from trl_grm.data.rejective import RejectiveSampler
    from trl_grm.modeling.loading import grm_config_for

    if not config.output_dir:
        raise UsageError("Give --output_dir: samples, rows and the report are written there")
    check_backend_arguments(backend, check_install=not script_args.dry_run)
    if config.teacher is not None:
        _check_teacher(config, script_args)
    if config.order_strategy not in ("random", "balanced"):
        raise UsageError(f"--order_strategy must be 'random' or 'balanced', got {config.order_strategy!r}")
    examples, data = examples_or_reason(script_args, config.seed)
    student = _read_config(config.grm_config, "grm_config")
    sampler_config = _read_config(config.sampler_grm_config, "sampler_grm_config")
    if script_args.dry_run:
        count = len(examples) if examples is not None else "N"
        sampling = {
            "judgements": f"{count} examples x N_RFT {config.num_rft_samples} (hinted ones: 1) at temperature "
            f"{config.temperature}, <= {config.max_new_tokens} new tokens each",
            "hinted_fraction": config.hinted_fraction,
            "output_dir": config.output_dir,
        }
        seq_tokens = 1024 + config.max_new_tokens  # a typical judge prompt and its judgement
        return sampling_plan(PROG, script_args, backend, config.model_name_or_path, data, sampling, seq_tokens)
    if config.teacher is not None:
        sampler = _teacher(config, student)
    else:
        check_hardware(backend=backend.backend)
        quiet_loading()
        sampler = load_grm(config.model_name_or_path, backend, max_batch_size=config.max_batch_size)
        if sampler_config is not None:
            sampler.config = sampler_config
        elif config.model_name_or_path is None or backend.backend == "openai":
            sampler.config = grm_config_for(backend, config.model_name_or_path)
    builder = RejectiveSampler(
        sampler,
        num_samples=config.num_rft_samples,
        hinted_fraction=config.hinted_fraction,
        temperature=config.temperature,
        max_new_tokens=config.max_new_tokens,
        binary_single=config.binary_single,
        prompt_config=student,
        balance_positions=config.balance_positions,
        require_all_positions=config.require_all_positions,
        order_strategy=config.order_strategy,
        seed=config.seed,
        batch_size=config.batch_size,
    )
    rows, report = builder.build(examples, config.output_dir)
    path = write_rows(config.output_dir, rows)
    (student or sampler.config).save_pretrained(config.output_dir)
    with open(os.path.join(config.output_dir, "stage.json"), "w") as f:
        json.dump(
            {"stage": "build-rft-data", "data": examples_fingerprint(examples), "examples": len(examples)}, f, indent=2
        )
    print(json.dumps(report.as_dict(), default=str))
    if not rows and report.kept_samples:
        raise UsageError(
            f"balance_positions dropped all {report.kept_samples} kept samples (they favour one position); use more "
            "examples or --balance_positions false"
        )
    if not rows:
        raise UsageError(
            f"Rejective sampling kept no sample out of {report.examples} examples; the sampler never judged "
            "correctly. Use a stronger sampler, --hinted_fraction > 0, or easier data."
        )
    print(f"Wrote {len(rows)} rows to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_command(PROG, lambda: main(sys.argv[1:])))
