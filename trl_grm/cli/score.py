"""``trl-grm score``: score responses from JSON / JSONL (or inline flags) and write JSON / JSONL results.

With ``--output FILE.jsonl`` results are appended as each batch finishes; running the same command again after a
crash skips the inputs already written.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from ..utils.jsonl import append_records, read_finished

logger = logging.getLogger(__name__)


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
    num_samples: int | None = field(default=None, metadata={"help": "k, the number of sampled judgements to vote."})
    temperature: float | None = field(default=None, metadata={"help": "Default: 0.5 when k > 1, greedy when k = 1."})
    max_new_tokens: int | None = field(default=None, metadata={"help": "Length budget of one judgement."})
    seed: int = field(default=0, metadata={"help": "Seeds response orders, sampling and tie-breaks."})
    order_strategy: str | None = field(default=None, metadata={"help": "'random' (paper), 'balanced' or 'fixed'."})
    principles_mode: str | None = field(default=None, metadata={"help": "'self', 'given' or 'none'."})
    meta_rm: str | None = field(default=None, metadata={"help": "Meta RM (directory or Hub id) for guided voting."})
    k_meta: int | None = field(default=None, metadata={"help": "Samples kept by the Meta RM (default k/2)."})
    batch_size: int = field(default=8, metadata={"help": "Inputs per scoring call (a unit of resumable progress)."})
    max_batch_size: int = field(default=64, metadata={"help": "Most sequences decoded together."})
    return_samples: bool = field(default=True, metadata={"help": "Include every sample's trail in the output."})
    pretty: bool = field(default=False, metadata={"help": "Print a human-readable report instead of JSON."})


def read_inputs(args: ScoreArguments) -> tuple[list[dict], bool]:
    """Inputs from ``--input`` or ``--prompt/--responses``; also whether a single dict was given."""
    if args.input is None:
        if args.prompt is None or not args.responses:
            raise ValueError("Give --input FILE (JSON/JSONL, or '-') or --prompt TEXT with --responses A B ...")
        return [{"prompt": args.prompt, "responses": list(args.responses)}], True
    if args.prompt is not None or args.responses:
        raise ValueError("Give either --input or --prompt/--responses, not both")
    text = sys.stdin.read() if args.input == "-" else open(args.input, encoding="utf-8").read()
    if not text.strip():
        raise ValueError(f"Input {args.input!r} is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if data is None:
        data = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    data.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise ValueError(f"{args.input}: line {number} is not valid JSON ({err.msg})") from None
    if isinstance(data, dict):
        return [data], True
    if not isinstance(data, list):
        raise ValueError(f"{args.input}: expected a JSON object, a list of objects or JSONL")
    return data, False


def format_report(item: dict, result: dict) -> str:
    """A human-readable account of one scored input."""
    out = [f"Prompt: {item['prompt'] if isinstance(item['prompt'], str) else item['prompt'][-1]['content']}"]
    for i, response in enumerate(item["responses"]):
        out.append(f"  Response {i}: {response}")
    for j, s in enumerate(result.get("samples") or []):
        out.append(f"\n--- sample {j + 1}: responses shown in order {s['order']}, {s['status']}")
        if s["principles"]:
            out.append("Principles:\n" + s["principles"])
        if s["critique"]:
            out.append("Critique:\n" + s["critique"])
        out.append(f"Scores (original order): {s['scores'] if s['scores'] is not None else 'none (unparseable)'}")
    out.append("")
    if result["scores"] is None:
        out.append(f"No verdict: {result['error']}")
    else:
        out.append(
            f"Voted scores ({result['num_samples'] - result['num_failed']} of {result['num_samples']} samples "
            f"parsed): {result['scores']}"
        )
        out.append(f"Best response: {result['best']} -> {item['responses'][result['best']]}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    from trl import TrlParser

    (args,) = TrlParser((ScoreArguments,), prog="trl-grm score").parse_args_and_config(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return run(args)


def run(args: ScoreArguments) -> int:
    from ..modeling.default_model import load_grm
    from ..protocol.inputs import to_inputs

    items, single = read_inputs(args)
    to_inputs(items)  # validate everything before loading a model
    if args.batch_size < 1:
        raise ValueError(f"--batch_size must be >= 1, got {args.batch_size}")
    grm = load_grm(args.model_name_or_path, meta_rm=args.meta_rm, max_batch_size=args.max_batch_size)
    params = dict(
        num_samples=args.num_samples,
        temperature=args.temperature,
        max_new_tokens=args.max_new_tokens,
        order_strategy=args.order_strategy,
        principles_mode=args.principles_mode,
        k_meta=args.k_meta,
        return_samples=args.return_samples or args.pretty,
    )
    start = len(read_finished(args.output)) if args.output else 0
    if start:
        logger.warning("%s already holds %d result(s): resuming at input %d", args.output, start, start)
    results = []
    with tqdm(total=len(items), initial=start, desc="Scoring", unit="input", disable=None) as bar:
        for lo in range(start, len(items), args.batch_size):
            batch = items[lo : lo + args.batch_size]
            # The seed is offset per batch, so a resumed run gives the same results as an uninterrupted one.
            scored = grm.score(batch, seed=args.seed + lo, **params)
            records = [
                {"index": lo + i, **({"id": batch[i]["id"]} if "id" in batch[i] else {}), **r.to_dict()}
                for i, r in enumerate(scored)
            ]
            if args.output:
                append_records(args.output, records)
            results += records
            bar.update(len(batch))
    if args.pretty:
        for record in results:
            print(format_report(items[record["index"]], record) + "\n")
    elif not args.output:
        print(json.dumps(results[0] if single else results, indent=2, ensure_ascii=False))
    return 0
