"""``trl-grm eval``: greedy, Voting@k and MetaRM@k of a GRM on a preference benchmark, with a JSON report, a
markdown table and a plot of accuracy against k.

Samples are drawn once at the largest k and cached in ``--output_dir``: an interrupted run resumes, and a later run
with a larger k samples only what is missing.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from ..modeling.loading import BackendArguments, check_backend_arguments, grm_config_for, load_grm
from .common import (
    UsageError,
    check_positive,
    make_command_parser,
    quiet_loading,
)

logger = logging.getLogger(__name__)
PROG = "trl-grm eval"


@dataclass
class EvalArguments:
    """Arguments of ``trl-grm eval``."""

    dataset: str | None = field(
        default=None,
        metadata={
            "help": "JSON/JSONL file of preference rows, a Hugging Face dataset id (with --dataset_split), or "
            "'synthetic' (held-out verifiable tasks, see --synthetic_*)."
        },
    )
    output_dir: str | None = field(default=None, metadata={"help": "Sample caches and reports go here (resumable)."})
    model_name_or_path: str | None = field(
        default=None, metadata={"help": "GRM or causal-LM checkpoint. Default: the embedded SmolLM2-135M GRM."}
    )
    benchmark: list[str] | None = field(
        default=None,
        metadata={
            "help": "Score by a benchmark's own rules: NAME or NAME=PATH, one or more of rewardbench, rewardbench2, "
            "judgebench, rm-bench, ppe-preference, ppe-correctness, rmb. Data: PATH (a local file or folder in the "
            "published schema), else --dataset (one benchmark), else the benchmark's Hub dataset. Several benchmarks "
            "go to --output_dir/NAME, with a summary (and the paper's Overall when rewardbench, ppe-preference, "
            "ppe-correctness and rmb are all there)."
        },
    )
    dataset_config: str | None = field(default=None, metadata={"help": "Configuration name of a Hub dataset."})
    dataset_split: str | None = field(
        default=None, metadata={"help": "Split of a Hub dataset (default: 'test', or the benchmark's own split)."}
    )
    format: str | None = field(
        default=None, metadata={"help": "'pairwise', 'best_of_n', 'ratings' or 'single'; detected when unset."}
    )
    ks: list[int] = field(default_factory=lambda: [1, 2, 4, 8], metadata={"help": "k values of Voting@k / MetaRM@k."})
    greedy: bool = field(default=True, metadata={"help": "Also evaluate one greedy judgement per example."})
    temperature: float = field(default=0.5, metadata={"help": "Sampling temperature of the voting samples."})
    max_new_tokens: int | None = field(default=None, metadata={"help": "Length budget of one judgement."})
    principles_mode: str | None = field(default=None, metadata={"help": "'self', 'given' or 'none' (ablation)."})
    meta_rm: str | None = field(default=None, metadata={"help": "Meta RM (directory or Hub id) for MetaRM@k."})
    k_meta: int | None = field(default=None, metadata={"help": "Samples kept by MetaRM@k (default k/2)."})
    limit: int | None = field(
        default=None,
        metadata={
            "help": "Evaluate N rows: the first N of a --dataset; of a --benchmark a seeded sample spread over its "
            "sections (the report says which it took and which sections the limit cut)."
        },
    )
    num_subsets: int = field(default=64, metadata={"help": "k-subsets averaged per example for k < max k."})
    tie_break: str = field(default="random", metadata={"help": "'random' (seeded, paper) or 'expected'."})
    bootstrap: int = field(default=1000, metadata={"help": "Bootstrap resamples of the 95% confidence intervals."})
    seed: int = field(default=0, metadata={"help": "Seeds orders, sampling, subsets, tie-breaks, bootstrap."})
    batch_size: int = field(
        default=64, metadata={"help": "Judgements sampled per call, whole examples (a unit of resumable work)."}
    )
    max_batch_size: int = field(default=64, metadata={"help": "Most sequences decoded together."})
    title: str | None = field(default=None, metadata={"help": "Title of the table and the plot."})
    dry_run: bool = field(
        default=False, metadata={"help": "Check everything that needs no weights, print the plan and exit."}
    )
    strict_context: bool = field(
        default=False,
        metadata={
            "help": "Stop at a row that does not fit the model's context (default: its judgements fail as "
            "context_overflow, are scored by the benchmark's rule for a failure and are counted in the report)."
        },
    )
    synthetic_num_examples: int = field(default=64, metadata={"help": "With --dataset synthetic: examples."})
    synthetic_num_responses: int = field(default=2, metadata={"help": "With --dataset synthetic: n per example."})
    synthetic_difficulty: float = field(default=0.5, metadata={"help": "With --dataset synthetic: near-miss share."})
    synthetic_seed: int = field(
        default=1000, metadata={"help": "With --dataset synthetic: seed of the stream (training recipes use 0)."}
    )
    synthetic_style: str = field(
        default="templates",
        metadata={"help": "With --dataset synthetic: 'templates' or 'varied' (trl_grm.data.varied_families)."},
    )


def make_parser():
    return make_command_parser(
        [EvalArguments, BackendArguments],
        PROG,
        description="Greedy, Voting@k and MetaRM@k accuracy of a GRM on preference data, with a JSON report, a "
        "markdown table and a plot.",
    )


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run; errors propagate (``trl-grm`` turns them into one line and an exit status)."""
    args, backend = make_parser().parse_args_and_config(argv)
    return run(args, backend)


def load_dataset_arg(args: EvalArguments):
    """A local JSON/JSONL path as it is; anything else through ``datasets.load_dataset``."""
    if args.dataset is None:
        raise UsageError("Give --dataset: a JSON/JSONL file, a Hugging Face dataset id or 'synthetic'")
    if args.dataset == "synthetic":
        from ..data.sources import synthetic_tasks

        tasks, count = synthetic_tasks(args)
        return tasks.to_dataset(count)
    if os.path.exists(args.dataset):
        return args.dataset
    if args.dataset.endswith((".json", ".jsonl")) or args.dataset.startswith((".", "/", "~")):
        raise FileNotFoundError(f"--dataset: no such file: {args.dataset}")
    from datasets import load_dataset

    return load_dataset(args.dataset, args.dataset_config, split=args.dataset_split or "test")


def benchmark_sources(args: EvalArguments) -> list[tuple[str, str | None]]:
    """``--benchmark NAME[=PATH] ...`` as (name, local source or None for the Hub); ``--dataset`` is the source of a
    single benchmark."""
    from ..evaluation.benchmarks import BENCHMARKS

    specs = []
    for spec in args.benchmark or []:
        name, _, path = spec.partition("=")
        if name not in BENCHMARKS:
            raise UsageError(f"--benchmark: unknown benchmark {name!r}; expected one of {', '.join(BENCHMARKS)}")
        if any(name == n for n, _ in specs):
            raise UsageError(f"--benchmark: {name} is given twice")
        specs.append((name, path or None))
    if args.dataset is not None:
        if len(specs) > 1:
            raise UsageError("--dataset names the data of ONE benchmark; with several, use --benchmark NAME=PATH")
        if specs[0][1] is not None:
            raise UsageError(f"--benchmark {specs[0][0]}=PATH and --dataset both give the data; give one")
        specs[0] = (specs[0][0], args.dataset)
    return specs


def run(args: EvalArguments, backend: BackendArguments | None = None) -> int:
    from ..evaluation.harness import REPORT_JSON, REPORT_MD, REPORT_PNG, evaluate
    from ..modeling.loading import check_model_source
    from ..protocol.parameters import ScoringParameters

    backend = backend or BackendArguments()
    check_backend_arguments(backend)
    if not args.output_dir:
        raise UsageError("Give --output_dir: the sample caches and the reports are written there")
    check_positive(batch_size=args.batch_size, max_batch_size=args.max_batch_size, limit=args.limit)
    settings = eval_settings(args)
    # Bad data, a missing model and bad sampling options all fail here, before a model is loaded.
    benchmarks, data = load_data(args)
    config = grm_config_for(backend, args.model_name_or_path)
    if args.meta_rm:
        check_model_source(args.meta_rm, what="meta RM")
    params = ScoringParameters(
        num_samples=max(settings.ks),
        temperature=args.temperature,
        max_new_tokens=args.max_new_tokens,
        principles_mode=args.principles_mode,
        k_meta=args.k_meta,
    )
    params.resolve(config, has_meta_rm=bool(args.meta_rm))
    if args.dry_run:
        return print_dry_run(args, backend, settings, benchmarks, data)
    quiet_loading()
    grm = load_grm(args.model_name_or_path, backend, meta_rm=args.meta_rm, max_batch_size=args.max_batch_size)
    model_id = args.model_name_or_path or "embedded default GRM (SmolLM2-135M-Instruct)"
    note = demo_note(args, backend)
    if benchmarks:
        return run_benchmarks(args, grm, model_id, settings, benchmarks, note)
    title = args.title or f"{model_id} on {os.path.basename(str(args.dataset))}"
    evaluate(grm, data, args.output_dir, settings, model_id=model_id, batch_size=args.batch_size, title=title,
             model_note=note)  # fmt: skip
    with open(os.path.join(args.output_dir, REPORT_MD)) as f:
        print(f.read())
    print(f"Wrote {', '.join(os.path.join(args.output_dir, n) for n in (REPORT_JSON, REPORT_MD, REPORT_PNG))}")
    return 0


def demo_note(args: EvalArguments, backend: BackendArguments) -> str | None:
    """The demonstration-model note when the embedded default GRM produces the numbers, else ``None``."""
    from ..modeling.default_model import DEMO_NOTE, is_default_grm

    return DEMO_NOTE if backend.backend != "openai" and is_default_grm(args.model_name_or_path) else None


def eval_settings(args: EvalArguments):
    """The evaluation settings of ``args`` (:class:`~trl_grm.evaluation.settings.EvalSettings`)."""
    from ..evaluation.harness import EvalSettings

    return EvalSettings(
        ks=list(args.ks),
        greedy=args.greedy,
        temperature=args.temperature,
        max_new_tokens=args.max_new_tokens,
        principles_mode=args.principles_mode,
        k_meta=args.k_meta,
        num_subsets=args.num_subsets,
        tie_break=args.tie_break,
        bootstrap=args.bootstrap,
        seed=args.seed,
        strict_context=args.strict_context,
    )


def load_data(args: EvalArguments) -> tuple[dict, Any]:
    """``({name: (benchmark, its data)}, None)`` with ``--benchmark``, else ``({}, the loaded preference data)``."""
    from ..evaluation.harness import load_eval_data

    if not args.benchmark:
        return {}, load_eval_data(load_dataset_arg(args), format=args.format, seed=args.seed, limit=args.limit)
    from ..evaluation.benchmarks import get_benchmark

    if args.format is not None:
        raise UsageError("--format does not apply to --benchmark (each benchmark reads its published schema)")
    benchmarks = {}
    for name, source in benchmark_sources(args):
        bench = get_benchmark(name)
        benchmarks[name] = (bench, bench.load(source, split=args.dataset_split, limit=args.limit, seed=args.seed))
    return benchmarks, None


def print_dry_run(args: EvalArguments, backend: BackendArguments, settings, benchmarks: dict, data: Any) -> int:
    from ..evaluation.benchmarks import limit_note
    from ..planning.preflight import hardware_problems
    from .common import print_plan

    if benchmarks:
        data_plan = {
            name: f"{b.title}: {d.rows} rows -> {len(d.inputs)} GRM inputs ({d.source})"
            + (f"; {limit_note(d.limit)}" if d.limit else "")
            for name, (b, d) in benchmarks.items()
        }
        num_inputs = sum(len(d.inputs) for _, d in benchmarks.values())
    else:
        data_plan = {"dataset": args.dataset, "examples": len(data[0])}
        num_inputs = len(data[0])
    print_plan(
        PROG,
        {
            "data": data_plan,
            "model": {"model": args.model_name_or_path or "embedded default GRM", "meta_rm": args.meta_rm},
            "sampling": {
                "judgements": f"{num_inputs} x {max(settings.ks)} at temperature {settings.temperature}"
                + (f" + {num_inputs} greedy" if settings.greedy else ""),
                "ks": settings.ks,
            },
            "output": {"output_dir": args.output_dir},
            "this machine": {"problems": "; ".join(hardware_problems(backend=backend.backend)) or "none"},
        },
    )
    return 0


def run_benchmarks(args: EvalArguments, grm, model_id: str, settings, benchmarks: dict, note: str | None) -> int:
    """Evaluate each benchmark (into --output_dir, or --output_dir/NAME when there are several) and, for several,
    write ``benchmarks.json`` / ``benchmarks.md``: each headline metric per mode and the paper's Overall."""
    import json

    from ..evaluation.benchmarks import paper_overall, summary_markdown
    from ..evaluation.harness import REPORT_MD, evaluate

    reports = {}
    for name, (bench, data) in benchmarks.items():
        out = args.output_dir if len(benchmarks) == 1 else os.path.join(args.output_dir, name)
        reports[name] = evaluate(
            grm, data, out, settings, model_id=model_id, batch_size=args.batch_size, benchmark=name,
            title=args.title or f"{model_id} on {bench.title}", model_note=note,
        )  # fmt: skip
        with open(os.path.join(out, REPORT_MD)) as f:
            print(f.read())
    if len(benchmarks) > 1:
        summary = {
            "model": model_id,
            "model_note": note,
            "benchmarks": {n: r["benchmark"] for n, r in reports.items()},
            "paper_overall": paper_overall(reports),
        }
        with open(os.path.join(args.output_dir, "benchmarks.json"), "w") as f:
            json.dump(summary, f, indent=2)
        text = (f"> {note}\n\n" if note else "") + summary_markdown(reports)
        with open(os.path.join(args.output_dir, "benchmarks.md"), "w") as f:
            f.write(text)
        print(text)
    print(f"Wrote reports under {args.output_dir}")
    return 0
