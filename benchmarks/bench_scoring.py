"""Throughput of ``GRMForPointwiseScoring.score`` (shared prefill) against two plain-transformers baselines.

For every configuration (B inputs with n short or long responses, k samples each) three methods produce the same
k x B judgements of exactly ``--max-new-tokens`` tokens:

* ``ours``  : the public API, ``grm.score(inputs, num_samples=k, ...)``; every distinct prompt is prefilled once.
* ``raw``   : ONE ``model.generate`` call over the same k x B prompt texts (rendered with ``grm.render_prompt`` and the
              very orders ``score`` draws), left-padded; every row prefills its whole prompt.
* ``naive`` : a Python loop with one ``model.generate`` call per sample (batch size 1, no padding).

The methods run interleaved in one process (the order rotates every repeat); the first round is a warm-up that also
serves as a greedy correctness guard (ours must be token-identical to raw generate), then the median over
``--repeats`` rounds is reported. The end-of-sequence tokens are suppressed (``suppress_tokens`` in the model's
generation config, which all three methods read), so every sample has exactly ``--max-new-tokens`` tokens; the
benchmark checks and prints the counts.

Run ``python benchmarks/bench_scoring.py --help``; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

from trl_grm.modeling.configuration_grm import GRMConfig  # noqa: E402
from trl_grm.modeling.modeling_grm import GRMForPointwiseScoring, _seeded  # noqa: E402
from trl_grm.protocol.inputs import to_inputs  # noqa: E402
from trl_grm.protocol.voting import make_orders  # noqa: E402
from trl_grm.testing import TINY_TEMPLATE, build_tiny_model  # noqa: E402

METHODS = ("ours", "raw", "naive")

# ----------------------------------------------------------------------------------------------------- inputs
QUESTIONS = [
    "What is the capital of Australia, and why is it not Sydney?",
    "Explain in one paragraph what a hash table is.",
    "Give me a short tip for falling asleep faster.",
    "Is 221 a prime number?",
    "How do I reverse a list in Python?",
    "Why is the sky blue?",
    "Suggest a name for a small bakery.",
    "What does HTTP status code 404 mean?",
]
SHORT = [
    "Canberra. It was built as a compromise between Sydney and Melbourne.",
    "Sydney, because it is the largest city.",
    "Canberra.",
    "I am not sure, maybe Melbourne.",
]
# One ~25-word sentence per line; long responses cycle through them.
FILLER = [
    "The answer depends on a few details, so let me walk through them one at a time and explain the reasoning.",
    "First, consider the definition carefully, because most confusion comes from mixing two related ideas together.",
    "Second, a concrete example makes it easier to check the claim: try it with small numbers and see what happens.",
    "Third, there are edge cases, such as empty inputs or very large values, that deserve a separate sentence.",
    "Finally, to summarise: the short version is correct, but the longer explanation shows why it holds in general.",
    "Some sources disagree on this point, although the mainstream view has been stable for a long time now.",
    "In practice you would rarely notice the difference, unless performance or precision really matters to you.",
]


def long_response(i: int, sentences: int) -> str:
    return " ".join(FILLER[(i + j) % len(FILLER)] for j in range(sentences))


@dataclass
class Config:
    name: str
    n: int
    kind: str  # "short" | "long" | "1k"
    ks: tuple[int, ...] | None = None  # None: the --k list


CONFIGS = {
    "short-n2": Config("short-n2", 2, "short"),
    "short-n4": Config("short-n4", 4, "short"),
    "long-n2": Config("long-n2", 2, "long"),
    "long-n4": Config("long-n4", 4, "long"),
    # Prompt of ~1000 tokens (responses padded up to it), k = 8: the shared-prefill target (>= 2x raw generate).
    "1k-n2": Config("1k-n2", 2, "1k", ks=(8,)),
    "1k-n4": Config("1k-n4", 4, "1k", ks=(8,)),
}


def make_inputs(grm: GRMForPointwiseScoring, cfg: Config, batch: int, long_sentences: int, target_1k: int):
    """B inputs for a configuration. ``1k`` responses grow (all by the same number of sentences) until the prompt
    of input 0 (identity order) reaches ``target_1k`` tokens."""

    def build(sentences: int) -> list[dict]:
        items = []
        for b in range(batch):
            q = QUESTIONS[b % len(QUESTIONS)]
            if cfg.kind == "short":
                responses = [SHORT[(b + i) % len(SHORT)] for i in range(cfg.n)]
            else:
                # Different lengths per response (+-1 sentence), so the prompts of one input differ in length too.
                responses = [long_response(b + i, max(1, sentences + (i % 3) - 1)) for i in range(cfg.n)]
            items.append({"prompt": q, "responses": responses})
        return items

    if cfg.kind != "1k":
        return build(long_sentences)
    sentences = 1
    while True:
        items = build(sentences)
        item = to_inputs(items[0])[0][0]
        length = len(grm.backend.encode([grm.render_prompt(item, list(range(cfg.n)))])[0])
        if length >= target_1k or sentences > 400:
            return items
        sentences += max(1, (target_1k - length) // (30 * cfg.n))


# ------------------------------------------------------------------------------------------------- the methods
@dataclass
class Run:
    seconds: float
    generated: int  # generated tokens (all rows; for naive only the timed subset)
    rows: int
    prefill: int
    texts: list[list[str]] | None = None  # [b][s]
    extra: dict = field(default_factory=dict)


def rows_and_prompts(grm, items, k, strategy, seed):
    """The exact (b, s, prompt text) rows that ``grm.score`` builds: same orders (make_orders + _seeded), same
    render_prompt."""
    rows = []
    for b, item in enumerate(items):
        orders = make_orders(len(item.responses), k, strategy, _seeded(seed, b, "orders"))
        cache = {}
        for s, order in enumerate(orders):
            key = tuple(order)
            if key not in cache:
                cache[key] = grm.render_prompt(item, order)
            rows.append((b, s, cache[key]))
    return rows


def generation_config(grm, max_new_tokens: int, temperature: float) -> GenerationConfig:
    """What the backend uses (model's generation config + our settings), for the baselines."""
    config = GenerationConfig.from_dict(grm.model.generation_config.to_dict())
    tok = grm.tokenizer
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    sample = temperature > 0
    config.update(
        max_new_tokens=max_new_tokens,
        do_sample=sample,
        temperature=temperature if sample else None,
        top_p=1.0 if sample else None,
        top_k=None,
        num_return_sequences=1,
        pad_token_id=pad,
        eos_token_id=config.eos_token_id if config.eos_token_id is not None else tok.eos_token_id,
        max_length=None,
        min_new_tokens=None,
    )
    return config


def run_ours(grm, inputs, k, args, temperature, spy: bool = False) -> Run:
    captured = []
    if spy:  # record every generate call of the backend (input rows and outputs) for the token-level check
        original = grm.model.generate

        def generate(*a, **kw):
            out = original(*a, **kw)
            captured.append((kw["input_ids"].cpu(), kw["attention_mask"].cpu(), out.cpu()))
            return out

        grm.model.generate = generate
    try:
        start = time.perf_counter()
        results = grm.score(
            inputs,
            num_samples=k,
            order_strategy=args.order_strategy,
            max_new_tokens=args.max_new_tokens,
            temperature=temperature,
            seed=args.seed,
        )
        seconds = time.perf_counter() - start
    finally:
        if spy:
            del grm.model.generate
    stats = grm.backend.last_stats
    texts = [[s.text for s in r.samples] for r in results]
    extra = {"distinct_prompts": stats.distinct_prompts, "chunks": stats.chunks}
    if spy:
        by_prompt: dict[tuple, list[list[int]]] = {}
        for ids, mask, out in captured:
            width = ids.shape[1]
            for row in range(ids.shape[0]):
                key = tuple(ids[row][mask[row].bool()].tolist())
                by_prompt.setdefault(key, []).append(out[row, width:].tolist())
        extra["tokens_by_prompt"] = by_prompt
    return Run(seconds, stats.generated_tokens, stats.rows, stats.prefill_tokens, texts, extra)


def pad_left(ids: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(map(len, ids))
    input_ids = torch.full((len(ids), width), pad, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, row in enumerate(ids):
        input_ids[i, width - len(row) :] = torch.tensor(row)
        mask[i, width - len(row) :] = 1
    return input_ids, mask


@torch.no_grad()
def run_raw(grm, rows, batch, k, config: GenerationConfig, seed: int, keep_tokens: bool = False) -> Run:
    tok, model = grm.tokenizer, grm.model
    start = time.perf_counter()
    ids = tok([p for _, _, p in rows], add_special_tokens=False)["input_ids"]
    input_ids, mask = pad_left(ids, config.pad_token_id)
    torch.manual_seed(seed)
    out = model.generate(
        input_ids=input_ids.to(model.device), attention_mask=mask.to(model.device), generation_config=config
    )
    new = out[:, input_ids.shape[1] :].cpu()
    decoded = tok.batch_decode(new, skip_special_tokens=True)
    seconds = time.perf_counter() - start
    texts = [[""] * k for _ in range(batch)]
    for (b, s, _), text in zip(rows, decoded):
        texts[b][s] = text
    extra = {"padded_prefill": int(input_ids.numel()), "new_per_row": int(new.shape[1])}
    if keep_tokens:
        extra["tokens"] = [(tuple(row), new[i].tolist()) for i, row in enumerate(ids)]
    return Run(seconds, int(new.numel()), len(rows), sum(map(len, ids)), texts, extra)


@torch.no_grad()
def run_naive(grm, rows, subset, config: GenerationConfig, seed: int) -> Run:
    """One generate call per sample, for the rows in ``subset`` (indices into ``rows``)."""
    tok, model = grm.tokenizer, grm.model
    generated = prefill = 0
    start = time.perf_counter()
    for i in subset:
        ids = tok(rows[i][2], add_special_tokens=False, return_tensors="pt")["input_ids"].to(model.device)
        torch.manual_seed(seed + i)
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=config)
        new = out[0, ids.shape[1] :]
        tok.decode(new, skip_special_tokens=True)
        generated += int(new.numel())
        prefill += int(ids.shape[1])
    seconds = time.perf_counter() - start
    return Run(seconds, generated, len(subset), prefill)


# ------------------------------------------------------------------------------------------------------ driver
def greedy_check(ours: Run, raw: Run) -> tuple[int, int, int]:
    """(mismatched rows, total rows, mismatched tokens): ours vs raw generate, per row, token by token."""
    by_prompt = ours.extra["tokens_by_prompt"]
    bad_rows = bad_tokens = 0
    for prompt, tokens in raw.extra["tokens"]:
        candidates = by_prompt.get(prompt)
        if not candidates:
            bad_rows += 1
            bad_tokens += len(tokens)
            continue
        # Greedy: every sample of one prompt is the same; compare against each of ours for that prompt.
        worst = max(sum(a != b for a, b in zip(c, tokens)) + abs(len(c) - len(tokens)) for c in candidates)
        bad_rows += worst > 0
        bad_tokens += worst
    return bad_rows, len(raw.extra["tokens"]), bad_tokens


def bench_one(grm, cfg: Config, k: int, args, log) -> dict:
    inputs = make_inputs(grm, cfg, args.batch_size, args.long_sentences, args.target_1k)
    items = to_inputs(inputs)[0]
    rows = rows_and_prompts(grm, items, k, args.order_strategy, args.seed)
    lengths = [len(x) for x in grm.backend.encode([p for _, _, p in rows])]
    total_rows = len(rows)
    m = total_rows if args.naive_rows <= 0 else min(args.naive_rows, total_rows)
    subset = sorted({round(i * total_rows / m) for i in range(m)})  # spread over inputs and orders
    config = generation_config(grm, args.max_new_tokens, args.temperature)
    greedy = generation_config(grm, args.max_new_tokens, 0.0)

    log(
        f"\n== {cfg.name}  k={k}  B={args.batch_size}  rows={total_rows}  prompt tokens "
        f"mean {statistics.mean(lengths):.0f} (min {min(lengths)}, max {max(lengths)})  "
        f"new tokens/row={args.max_new_tokens}  T={args.temperature}"
    )
    # Round 0 (warm-up): greedy runs of ours (recording its generate calls) and raw, compared token by token.
    t0 = time.perf_counter()
    ours_g = run_ours(grm, inputs, k, args, 0.0, spy=True)
    raw_g = run_raw(grm, rows, args.batch_size, k, greedy, args.seed, keep_tokens=True)
    run_naive(grm, rows, subset[:1], config, args.seed)
    bad_rows, n_rows, bad_tokens = greedy_check(ours_g, raw_g)
    text_bad = sum(a != b for ra, rb in zip(ours_g.texts, raw_g.texts) for a, b in zip(ra, rb))
    check = "OK" if bad_rows == 0 and text_bad == 0 else "MISMATCH"
    log(
        f"   greedy check vs raw generate: {check} ({n_rows - bad_rows}/{n_rows} rows token-identical, "
        f"{bad_tokens} differing tokens, {text_bad} differing texts)   warm-up {time.perf_counter() - t0:.1f}s"
    )

    times = {m_: [] for m_ in METHODS}
    last = {}
    for rep in range(args.repeats):
        order = METHODS[rep % 3 :] + METHODS[: rep % 3]  # rotate, so no method always runs first
        for method in order:
            if method == "ours":
                r = run_ours(grm, inputs, k, args, args.temperature)
            elif method == "raw":
                r = run_raw(grm, rows, args.batch_size, k, config, args.seed)
            else:
                r = run_naive(grm, rows, subset, config, args.seed)
            times[method].append(r.seconds)
            last[method] = r

    expect = {"ours": total_rows * args.max_new_tokens, "raw": total_rows * args.max_new_tokens}
    expect["naive"] = len(subset) * args.max_new_tokens
    counts_ok = all(last[m_].generated == expect[m_] for m_ in METHODS)
    tps = {m_: last[m_].generated / statistics.median(times[m_]) for m_ in METHODS}
    prefill = {
        "ours": last["ours"].prefill,
        "raw": last["raw"].prefill,
        "naive": sum(lengths),  # every one of the k x B calls prefills its whole prompt
    }
    result = {
        "config": cfg.name,
        "n": cfg.n,
        "k": k,
        "B": args.batch_size,
        "rows": total_rows,
        "distinct_prompts": last["ours"].extra["distinct_prompts"],
        "chunks": last["ours"].extra["chunks"],
        "prompt_tokens_mean": round(statistics.mean(lengths), 1),
        "prompt_tokens_max": max(lengths),
        "new_tokens_per_row": args.max_new_tokens,
        "generated": {m_: last[m_].generated for m_ in METHODS},
        "token_counts_ok": counts_ok,
        "naive_rows_timed": len(subset),
        "median_s": {m_: statistics.median(times[m_]) for m_ in METHODS},
        "all_s": times,
        "tokens_per_s": tps,
        "prefill_tokens": prefill,
        "raw_padded_prefill": last["raw"].extra["padded_prefill"],
        "ours_over_raw": tps["ours"] / tps["raw"],
        "ours_over_naive": tps["ours"] / tps["naive"],
        "greedy_check": {"ok": check == "OK", "bad_rows": bad_rows, "rows": n_rows, "bad_tokens": bad_tokens},
    }
    naive_note = f" (timed on {len(subset)}/{total_rows} rows)" if len(subset) < total_rows else ""
    log(f"   {'method':<6} {'median s':>9} {'tok/s':>9} {'prefill tok':>12}  generated")
    for m_ in METHODS:
        seconds = result["median_s"][m_]
        if m_ == "naive" and len(subset) < total_rows:
            seconds_txt = f"{seconds * total_rows / len(subset):8.2f}*"
        else:
            seconds_txt = f"{seconds:9.2f}"
        log(
            f"   {m_:<6} {seconds_txt} {tps[m_]:9.1f} {prefill[m_]:12d}  {last[m_].generated}"
            + (naive_note if m_ == "naive" else "")
        )
    log(
        f"   distinct prompts {result['distinct_prompts']}, chunks {result['chunks']}, raw padded prefill "
        f"{result['raw_padded_prefill']}; token counts {'equal' if counts_ok else 'NOT EQUAL'} "
        f"({args.max_new_tokens}/row)"
    )
    log(f"   ours/raw = {result['ours_over_raw']:.2f}x   ours/naive = {result['ours_over_naive']:.2f}x")
    return result


def load(args) -> GRMForPointwiseScoring:
    if args.model == "smollm2":
        from trl_grm.modeling.default_model import default_model_path

        path = args.model_path or default_model_path()
    elif args.model_path:
        path = args.model_path
    else:
        path = Path(tempfile.mkdtemp(prefix="trl_grm_bench_tiny_"))
        build_tiny_model(path, hidden_size=args.hidden_size, num_layers=args.num_layers, seed=0)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(path)
    template = args.template or ("compact" if args.model == "tiny" else "default")
    config = GRMConfig(template=TINY_TEMPLATE if template == "compact" else None)
    grm = GRMForPointwiseScoring(model, tokenizer, config, max_batch_size=args.max_batch_size)
    if not args.allow_eos:
        # Fixed-length generations for all three methods (they all copy the model's generation config).
        eos = grm.backend._generation_config(1, 0.0, 1.0).eos_token_id
        eos = list(eos) if isinstance(eos, (list, tuple)) else [eos]
        model.generation_config.suppress_tokens = sorted({e for e in eos if e is not None})
    args.template = template
    return grm


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--model", choices=["tiny", "smollm2"], default="tiny", help="tiny random Llama (default) or SmolLM2-135M-Instruct")
    parser.add_argument("--model-path", help="use this checkpoint instead (any causal LM)")
    parser.add_argument("--hidden-size", type=int, default=256, help="tiny model width (default 256)")
    parser.add_argument("--num-layers", type=int, default=4, help="tiny model depth (default 4)")
    parser.add_argument("--template", choices=["default", "compact"], help="GRM prompt template; default: compact for tiny, the library default otherwise")
    parser.add_argument("-B", "--batch-size", type=int, help="inputs per score call (default 4 tiny, 2 smollm2)")
    parser.add_argument("--k", type=int, nargs="+", default=[8, 32], help="num_samples values (default 8 32)")
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), help=f"subset of {list(CONFIGS)}")
    parser.add_argument("--repeats", type=int, help="timed rounds, median reported (default 3 tiny, 2 smollm2)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default); e.g. 0.5 to sample")
    parser.add_argument("--order-strategy", choices=["random", "balanced", "fixed"], default="random")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--naive-rows", type=int, help="time the naive loop on this many rows spread over the k x B (its tok/s is per row anyway); 0 = all (default 16 tiny, 4 smollm2)")
    parser.add_argument("--long-sentences", type=int, default=4, help="sentences per long response (~25 words each)")
    parser.add_argument("--target-1k", type=int, default=1000, help="prompt length in tokens of the 1k configurations")
    parser.add_argument("--max-batch-size", type=int, default=64, help="GRMForPointwiseScoring(max_batch_size=...), the library default 64")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--allow-eos", action="store_true", help="do not suppress end-of-sequence tokens")
    parser.add_argument("--quick", action="store_true", help="smoke run: B=2, k=8, 1 repeat, short-n2 and 1k-n2")
    parser.add_argument("--json", help="also write all results to this JSON file")
    args = parser.parse_args(argv)

    smol = args.model == "smollm2"
    if args.quick:
        args.batch_size = args.batch_size or 2
        args.k = [8]
        args.repeats = args.repeats or 1
        args.configs = args.configs or ["short-n2", "1k-n2"]
        args.naive_rows = 4 if args.naive_rows is None else args.naive_rows
    args.batch_size = args.batch_size or (2 if smol else 4)
    args.repeats = args.repeats or (2 if smol else 3)
    args.naive_rows = (4 if smol else 16) if args.naive_rows is None else args.naive_rows
    args.configs = args.configs or list(CONFIGS)

    torch.set_num_threads(args.threads)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    log = lambda s: print(s, flush=True)  # noqa: E731
    t_start = time.perf_counter()
    grm = load(args)
    params = sum(p.numel() for p in grm.model.parameters())
    import transformers

    log(
        f"model={args.model} ({params / 1e6:.1f}M params, {grm.model.config.num_hidden_layers} layers, hidden "
        f"{grm.model.config.hidden_size}, vocab {grm.model.config.vocab_size})  template={args.template}  "
        f"torch {torch.__version__} threads={torch.get_num_threads()}  transformers {transformers.__version__}  "
        f"{platform.machine()} {os.cpu_count()} cpus"
    )
    log(
        f"B={args.batch_size} k={args.k} repeats={args.repeats} max_new_tokens={args.max_new_tokens} "
        f"T={args.temperature} order_strategy={args.order_strategy} max_batch_size={args.max_batch_size} "
        f"eos {'allowed' if args.allow_eos else 'suppressed'}"
    )
    results = []
    for name in args.configs:
        cfg = CONFIGS[name]
        for k in cfg.ks or args.k:
            results.append(bench_one(grm, cfg, k, args, log))

    log(f"\nSummary ({args.model}, B={args.batch_size}, {args.max_new_tokens} new tokens/sample, median of {args.repeats})")
    header = "| config | k | prompt tok | distinct/rows | ours tok/s | raw tok/s | naive tok/s | prefill ours / raw | ours/raw | ours/naive | greedy check |"
    log(header)
    log("|" + "|".join(["---"] * (header.count("|") - 1)) + "|")
    for r in results:
        t = r["tokens_per_s"]
        g = r["greedy_check"]
        log(
            f"| {r['config']} | {r['k']} | {r['prompt_tokens_mean']:.0f} | {r['distinct_prompts']}/{r['rows']} | "
            f"{t['ours']:.0f} | {t['raw']:.0f} | {t['naive']:.0f} | "
            f"{r['prefill_tokens']['ours']} / {r['prefill_tokens']['raw']} | {r['ours_over_raw']:.2f}x | "
            f"{r['ours_over_naive']:.2f}x | {'OK' if g['ok'] else 'MISMATCH'} {g['rows'] - g['bad_rows']}/{g['rows']} |"
        )
    log(f"total time {time.perf_counter() - t_start:.0f}s")
    if args.json:
        meta = {k_: v for k_, v in vars(args).items()}
        with open(args.json, "w") as f:
            json.dump({"args": meta, "results": results}, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
