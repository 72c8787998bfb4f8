"""``trl-grm score``: score responses from JSON / JSONL (or inline flags) and write JSON / JSONL results.

With ``--output FILE.jsonl`` results are appended as each batch finishes; running the same command again after a
crash skips the inputs already written. Every record carries the hash of its input and of the settings, so a rerun
with other inputs or settings is refused instead of silently keeping old results. An input's result depends only on
the seed, the input and the settings (not on the batch size or the other inputs), so a resumed run gives exactly
the results of an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..modeling.loading import BackendArguments, check_backend_arguments, grm_config_for, load_grm
from ..protocol.inputs import to_inputs
from ..protocol.parameters import ScoringParameters
from ..utils.hashing import fingerprint
from .common import (
    UsageError,
    check_input_file,
    check_output_file,
    check_positive,
    make_command_parser,
    quiet_loading,
)

logger = logging.getLogger(__name__)

PROG = "trl-grm score"


@dataclass
class ScoreArguments:
    """Arguments of ``trl-grm score``."""

    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "GRM or causal-LM checkpoint (directory or Hub id). Default: the embedded SmolLM2-135M demo."
        },
    )
    input: str | None = field(
        default=None, metadata={"help": "JSON (a dict or a list) or JSONL file of inputs, or '-' for standard input."}
    )
    prompt: str | None = field(default=None, metadata={"help": "Inline query (instead of --input)."})
    responses: list[str] | None = field(default=None, metadata={"help": "Inline responses to score (with --prompt)."})
    output: str | None = field(
        default=None, metadata={"help": "JSONL file for the results (resumable). Default: JSON on standard output."}
    )
    dry_run: bool = field(
        default=False, metadata={"help": "Check everything that needs no weights, print the plan and exit."}
    )
    overwrite: bool = field(
        default=False, metadata={"help": "Start --output afresh even if it holds results of other inputs/settings."}
    )
    meta_rm: str | None = field(default=None, metadata={"help": "Meta RM (directory or Hub id) for guided voting."})
    batch_size: int = field(
        default=8,
        metadata={"help": "Inputs per scoring call (a unit of resumable progress; results do not depend on it)."},
    )
    max_batch_size: int = field(default=64, metadata={"help": "Most sequences decoded together."})
    return_samples: bool = field(
        default=True,
        metadata={
            "help": "Keep every sample's trail (order, principles, critique, scores, status) in the output; "
            "--no_return_samples writes only the voted result."
        },
    )
    pretty: bool = field(default=False, metadata={"help": "Print a human-readable report instead of JSON."})
    strict_context: bool = field(
        default=False,
        metadata={
            "help": "Stop at an input that does not fit the model's context (default: it is unscored, its samples "
            "failed as context_overflow, and the others are scored)."
        },
    )


def make_parser():
    return make_command_parser(
        [ScoreArguments, ScoringParameters, BackendArguments],
        PROG,
        description="Score 1..n responses per query with a pointwise GRM (principles, critique, voting over k "
        "samples).",
    )


# ----------------------------------------------------------------------------------------------------------- input
def read_inputs(args: ScoreArguments) -> tuple[list[dict], bool]:
    """Inputs from ``--input`` or ``--prompt/--responses``; also whether one JSON object was given (its result is
    printed as one object; a list or a ``.jsonl`` file, even of one line, gives a list)."""
    from ..utils.jsonl import parse_json_or_jsonl, read_text

    if args.input is None:
        if args.prompt is None or not args.responses:
            raise UsageError("Give --input FILE (JSON/JSONL, or '-') or --prompt TEXT with --responses A B ...")
        return [{"prompt": args.prompt, "responses": list(args.responses)}], True
    if args.prompt is not None or args.responses:
        raise UsageError("Give either --input or --prompt/--responses, not both")
    check_input_file(args.input)
    if args.input == "-":
        text = sys.stdin.read()
    else:
        text = read_text(args.input)
    data, _ = parse_json_or_jsonl(text, "standard input" if args.input == "-" else args.input)
    if isinstance(data, dict):  # one JSON object: one result object; a .jsonl file is a list however many lines
        return [data], not args.input.endswith(".jsonl")
    if not isinstance(data, list):
        raise UsageError(f"{args.input}: expected a JSON object, a list of objects or JSONL")
    return data, False


# ---------------------------------------------------------------------------------------------------- resumability
def check_resume(path: str, records: list[dict], keys: list[str]) -> None:
    """The finished records in ``path`` (same settings: the store checked) must be the first inputs, in order."""
    if len(records) > len(keys):
        raise UsageError(
            f"--output {path} holds {len(records)} results but the input has only {len(keys)}: it belongs to other "
            "inputs; use --overwrite or another --output"
        )
    for j, record in enumerate(records):
        if record.get("index") != j or record.get("input_hash") != keys[j]:
            raise UsageError(
                f"--output {path} holds results of other inputs (its record {j} is not input {j} of this input); "
                "use --overwrite or another --output"
            )


# ---------------------------------------------------------------------------------------------------------- report
def _reply(i: int) -> str:
    return f"Reply {i + 1}"


def _ordinal(position: int) -> str:
    return f"{position + 1}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(position + 1, 'th') }"


def _own_best(scores: list[int]) -> int | None:
    top = max(scores)
    return scores.index(top) if scores.count(top) == 1 else None


def format_summary(result: dict) -> str:
    """One line per input: samples parsed, failures by type, and how the samples agree on the best reply (by reply
    and by shown position, so a judge that follows position is visible)."""
    samples = result.get("samples")
    k, failed = result.get("num_drawn") or result["num_samples"], result["num_failed"]
    failures = ", ".join(f"{n} {status}" for status, n in sorted(result["failures"].items())) or "none"
    line = f"{k - failed} of {k} samples parsed (failures: {failures})"
    if result.get("stopped_by"):
        line += f"; stopped after {k} of {result['num_samples']} ({result['stopped_by']} rule)"
    if not samples:
        return line
    picks: Counter = Counter()
    positions: Counter = Counter()
    for s in samples:
        if s["scores"] is None:
            continue
        best = _own_best(s["scores"])
        picks[_reply(best) if best is not None else "a tie"] += 1
        if best is not None:
            positions[s["order"].index(best)] += 1
    if picks:
        line += "; each sample's own best: " + ", ".join(f"{name} x{n}" for name, n in picks.most_common())
    if positions:
        line += "; its position as shown: " + ", ".join(f"{_ordinal(p)} x{n}" for p, n in sorted(positions.items()))
    return line


def format_report(item: dict, result: dict, seed: int) -> str:
    """A human-readable account of one scored input. Replies are numbered 1..n everywhere, as the judge's prompt
    numbers them; each sample says which of your replies it showed at which position."""
    prompt = item["prompt"] if isinstance(item["prompt"], str) else item["prompt"][-1]["content"]
    n = len(item["responses"])
    out = [f"Prompt: {prompt}"]
    out += [f"  {_reply(i)}: {response}" for i, response in enumerate(item["responses"])]
    samples = result.get("samples") or []
    for j, s in enumerate(samples):
        shown = ", ".join(_reply(i) for i in s["order"])
        state = (
            "ok"
            if s["status"] == "ok"
            else f"FAILED: {s['status']}" + (f" ({s['detail']})" if s.get("detail") else "")
        )
        out.append(f"\n--- sample {j + 1} of {len(samples)}: shown in the order {shown} - {state}")
        if list(s["order"]) != list(range(n)):
            renumber = ", ".join(f"'Reply {p + 1}' = {_reply(i)}" for p, i in enumerate(s["order"]))
            out.append(f"(the judge numbers replies as shown: {renumber})")
        if s["principles"]:
            out.append("Principles:\n" + s["principles"])
        if s["critique"]:
            out.append("Critique:\n" + s["critique"])
        if s["scores"] is not None:
            yours = ", ".join(f"{_reply(i)} = {x}" for i, x in enumerate(s["scores"]))
            if list(s["order"]) == list(range(n)):
                out.append("Scores: " + yours)
            else:  # the critique above numbers replies as shown; say which numbering each line uses
                shown = ", ".join(f"Reply {p + 1} = {s['scores'][i]}" for p, i in enumerate(s["order"]))
                out.append(f"Scores as the judge numbered the replies: {shown}; in your numbering: {yours}")
    out.append("")
    if result["scores"] is None:
        out.append(f"No verdict: {result['error']}")
    else:
        used = result.get("num_used") or ((result.get("num_drawn") or result["num_samples"]) - result["num_failed"])
        sums = ", ".join(f"{_reply(i)} = {x}" for i, x in enumerate(result["scores"]))
        means = ", ".join(f"{x / used:.2f}" for x in result["scores"])
        out.append(f"Voted scores (sums over the {used} sample(s) used, each 1-10): {sums}; mean per sample: {means}")
        best = result["best"]
        line = f"Best: {_reply(best)} -> {item['responses'][best]}"
        if result.get("tied"):
            tied = " vs ".join(f"{_reply(i)} {result['scores'][i]}" for i in result["tied"])
            line += f"  (a tie: {tied}, broken at random with seed {seed})"
        out.append(line)
    out.append("Summary: " + format_summary(result))
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------------------- run
def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run; errors propagate (``trl-grm`` turns them into one line and an exit status)."""
    args, params, backend = make_parser().parse_args_and_config(argv)
    return run(args, params, backend)


def run(args: ScoreArguments, params: ScoringParameters | None = None, backend: BackendArguments | None = None) -> int:
    from ..modeling.loading import check_model_source

    # Everything that needs no model is checked before one loads.
    backend = backend or BackendArguments()
    check_backend_arguments(backend)
    check_positive(batch_size=args.batch_size, max_batch_size=args.max_batch_size)
    check_output_file(args.output)
    raw, single = read_inputs(args)
    items, _ = to_inputs(raw)
    config = grm_config_for(backend, args.model_name_or_path)
    if args.meta_rm:
        check_model_source(args.meta_rm, what="meta RM")
    settings = (params or ScoringParameters()).resolve(config, has_meta_rm=bool(args.meta_rm or config.meta_rm))
    model_id, demo = model_identity(args, backend)
    store_settings = {
        "model": model_id,
        "backend": backend.backend,
        "meta_rm": args.meta_rm,
        "return_samples": args.return_samples or args.pretty,
        **settings.identity(),
    }
    if args.dry_run:
        return print_dry_run(items, settings, model_id, backend, args.output)
    done, store = open_output(args, items, store_settings)
    if demo:
        from ..modeling.default_model import DEMO_NOTE

        print(DEMO_NOTE, file=sys.stdout if args.pretty else sys.stderr)
    results = list(done)
    if len(done) == len(items):
        if args.output:
            print(f"{PROG}: {args.output} already holds all {len(items)} result(s); nothing to do", file=sys.stderr)
    else:
        if done:
            print(f"{PROG}: {args.output} holds {len(done)} result(s); resuming at input {len(done)}", file=sys.stderr)
        quiet_loading()
        grm = load_grm(args.model_name_or_path, backend, meta_rm=args.meta_rm, max_batch_size=args.max_batch_size)
        results += score_batches(grm, items, len(done), settings, args, store, fingerprint(store_settings))
    if args.pretty:
        for record in results:
            header = f"=== input {record['index'] + 1} of {len(items)}" + (
                f" (id {record['id']})" if "id" in record else ""
            )
            print(header + " ===\n" + format_report(raw[record["index"]], record, settings.seed) + "\n")
    elif not args.output:
        print(json.dumps(results[0] if single else results, indent=2, ensure_ascii=False))
    return 0


def model_identity(args: ScoreArguments, backend: BackendArguments) -> tuple[str | None, bool]:
    """What identifies the model in the output's settings guard, and whether it is the embedded demonstration GRM."""
    from ..modeling.default_model import default_grm_digest, is_default_grm

    if backend.backend == "openai":
        return f"{backend.base_url}:{backend.served_model_name or args.model_name_or_path}", False
    if is_default_grm(args.model_name_or_path):
        return f"embedded:{default_grm_digest()}", True
    return args.model_name_or_path, False


def print_dry_run(items, settings: ScoringParameters, model_id, backend: BackendArguments, output) -> int:
    from ..planning.preflight import hardware_problems
    from .common import print_plan

    print_plan(
        PROG,
        {
            "inputs": {"inputs": len(items), "judgements": len(items) * settings.num_samples},
            "model": {"model": model_id or "embedded default GRM", "backend": backend.backend},
            "settings": settings.as_dict(),
            "output": {"output": output or "standard output"},
            "this machine": {"problems": "; ".join(hardware_problems(backend=backend.backend)) or "none"},
        },
    )
    return 0


def open_output(args: ScoreArguments, items, settings: dict[str, Any]):
    """The results ``--output`` already holds (checked: same settings, the first inputs in order) and its store."""
    from ..utils.jsonl import SettingsMismatch
    from ..utils.store import SampleStore

    if not args.output:
        return [], None
    store = SampleStore.in_file(args.output, settings)
    if args.overwrite:
        store.clear()
    done = store.records()
    check_resume(args.output, done, [it.fingerprint for it in items])  # other inputs first, as before
    try:
        store.check(done)
    except SettingsMismatch:
        raise UsageError(
            f"--output {args.output} holds results made with other settings (model, seed or sampling options); "
            "use the same settings, --overwrite or another --output"
        ) from None
    return done, store


def score_batches(
    grm, items, start: int, settings: ScoringParameters, args: ScoreArguments, store, settings_hash: str
) -> list[dict]:
    """Score ``items[start:]`` batch by batch, each batch's records (stamped with the settings hash) appended to the
    store as soon as it finishes."""
    from ..utils.progress import sample_bar

    k = settings.num_samples
    out: list[dict] = []
    with sample_bar(len(items) * k, initial=start * k, desc="Scoring", disable=None) as bar:
        for lo in range(start, len(items), args.batch_size):
            batch = items[lo : lo + args.batch_size]
            before = bar.n
            scored = grm.score(
                batch,
                settings,
                return_samples=args.return_samples or args.pretty,
                progress=bar.update,
                strict_context=args.strict_context,
            )
            records = [
                {
                    "index": lo + i,
                    **({"id": it.id} if it.id is not None else {}),
                    "input_hash": it.fingerprint,
                    "settings_hash": settings_hash,
                    **r.to_dict(),
                }
                for i, (it, r) in enumerate(zip(batch, scored))
            ]
            if store is not None:
                store.append(records)
            out += records
            bar.update(before + len(batch) * k - bar.n)
    return out
