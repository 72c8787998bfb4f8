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
import logging
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
from trl_grm.modeling.modeling_grm import GRMForPointwiseScoring, load_grm_config  # noqa: E402
from trl_grm.protocol.inputs import to_inputs  # noqa: E402
from trl_grm.protocol.planner import plan_orders  # noqa: E402
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


# What runs by default with --model smollm2 (a full cross product takes about an hour on 2 cores).
SMOLLM2_PLAN = [("short-n2", 8), ("short-n2", 32), ("short-n4", 8), ("long-n2", 8), ("1k-n2", 8), ("1k-n4", 8)]

CONFIGS = {
    "short-n2": Config("short-n2", 2, "short"),
    "short-n4": Config("short-n4", 4, "short"),
    "long-n2": Config("long-n2", 2, "long"),
    "long-n4": Config("long-n4", 4, "long"),
    # Prompt of ~1000 tokens (responses padded up to it), k = 8: the shared-prefill target (>= 2x raw generate).
    "1k-n2": Config("1k-n2", 2, "1k", ks=(8,)),
    "1k-n4": Config("1k-n4", 4, "1k", ks=(8,)),
}


def make_inputs(grm: GRMForPointwiseScoring, cfg: Config, batch: int, long_tokens: int, target_1k: int):
    """B inputs for a configuration, sized in tokens of the model's tokenizer (tokenizers differ a lot).

    ``long``: every response gets whole sentences until it has at least ``long_tokens`` tokens (responses start at
    different sentences, so their lengths differ a little). ``1k``: all responses grow by one sentence at a time
    until the prompt of input 0 reaches ``target_1k`` tokens.
    """

    def n_tokens(text: str) -> int:
        return len(grm.backend.encode([text])[0])

    def sized_response(i: int) -> str:
        sentences = 1
        while n_tokens(long_response(i, sentences)) < long_tokens and sentences < 200:
            sentences += 1
        return long_response(i, sentences)

    def build(sentences: int) -> list[dict]:
        items = []
        for b in range(batch):
            q = QUESTIONS[b % len(QUESTIONS)]
            if cfg.kind == "short":
                responses = [SHORT[(b + i) % len(SHORT)] for i in range(cfg.n)]
            elif cfg.kind == "long":
                responses = [sized_response(b + i) for i in range(cfg.n)]
            else:
                responses = [long_response(b + i, sentences) for i in range(cfg.n)]
            items.append({"prompt": q, "responses": responses})
        return items

    if cfg.kind != "1k":
        return build(0)
    sentences = 1
    while True:
        items = build(sentences)
        item = to_inputs(items[0])[0][0]
        length = n_tokens(grm.render_prompt(item, list(range(cfg.n))))
        if length >= target_1k or sentences > 1000:
            return items
        sentences += 1


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
    """The exact (b, s, prompt text) rows that ``grm.score`` builds: same orders (the one planner), same
    render_prompt."""
    rows = []
    for b, item in enumerate(items):
        orders = plan_orders(item.fingerprint, len(item.responses), k, strategy, seed)
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
        top_p=grm.config.top_p if sample else None,
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
class CpuGuard:
    """Keeps other processes' CPU use out of the timings (the benchmark machine is shared and has 2 cores: one busy
    foreign process makes torch's 2 intra-op threads wait for each other at every op, 10-50x slower).

    ``foreign`` is the CPU time of everything but this process (from /proc/stat and os.times) per wall second, in
    cores. Before a timed run we wait (at most ``idle_wait`` s) for the machine to be idle; a run during which
    foreign load exceeded ``max_load`` cores is repeated (at most ``attempts`` times in all) and counted.
    """

    HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, max_load: float, idle_wait: float, attempts: int):
        self.max_load, self.idle_wait, self.attempts = max_load, idle_wait, attempts
        self.available = os.path.exists("/proc/stat")
        self.waited = 0.0

    def snap(self) -> tuple[float, float, float]:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]  # user nice system irq softirq steal
        t = os.times()
        return time.perf_counter(), busy / self.HZ, t.user + t.system

    @staticmethod
    def foreign(a, b) -> float:
        return max(0.0, (b[1] - a[1]) - (b[2] - a[2])) / max(b[0] - a[0], 1e-9)

    def wait_idle(self) -> None:
        if not self.available or self.idle_wait <= 0:
            return
        start, quiet = time.perf_counter(), 0
        while quiet < 2 and time.perf_counter() - start < self.idle_wait:
            a = self.snap()
            time.sleep(0.3)
            quiet = quiet + 1 if self.foreign(a, self.snap()) < 0.1 else 0
        self.waited += time.perf_counter() - start

    def run(self, fn):
        """(result, foreign load in cores, number of discarded attempts)."""
        if not self.available:
            return fn(), float("nan"), 0
        for attempt in range(self.attempts):  # noqa: B007 (the last value is returned)
            self.wait_idle()
            a = self.snap()
            result = fn()
            load = self.foreign(a, self.snap())
            if load <= self.max_load:
                break
        return result, load, attempt


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


def bench_one(grm, cfg: Config, k: int, args, log, guard: CpuGuard) -> dict:
    inputs = make_inputs(grm, cfg, args.batch_size, args.long_tokens, args.target_1k)
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
    guard.wait_idle()
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
    loads = {m_: [] for m_ in METHODS}
    discarded = 0
    last = {}
    fns = {
        "ours": lambda: run_ours(grm, inputs, k, args, args.temperature),
        "raw": lambda: run_raw(grm, rows, args.batch_size, k, config, args.seed),
        "naive": lambda: run_naive(grm, rows, subset, config, args.seed),
    }
    for rep in range(args.repeats):
        order = METHODS[rep % 3 :] + METHODS[: rep % 3]  # rotate, so no method always runs first
        for method in order:
            r, load, retries = guard.run(fns[method])
            discarded += retries
            times[method].append(r.seconds)
            loads[method].append(load)
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
        "foreign_load_cores": loads,
        "discarded_runs": discarded,
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
    worst = max(max(v) for v in loads.values())
    log(
        f"   ours/raw = {result['ours_over_raw']:.2f}x   ours/naive = {result['ours_over_naive']:.2f}x   "
        f"(foreign CPU load during kept runs <= {worst:.2f} cores, {discarded} contended run(s) discarded)"
    )
    return result


def load(args) -> GRMForPointwiseScoring:
    if args.model == "smollm2":
        from trl_grm.modeling.default_model import default_model_path

        path = args.model_path or default_model_path()
    elif args.model_path:
        path = args.model_path
    else:
        path = None
    with tempfile.TemporaryDirectory(prefix="trl_grm_bench_tiny_") as tmp:
        if path is None:  # the tiny random Llama lives only as long as loading it takes
            path = build_tiny_model(tmp, hidden_size=args.hidden_size, num_layers=args.num_layers, seed=0)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(path)
    template = args.template or ("compact" if args.model == "tiny" and not args.model_path else "saved")
    if template == "saved":  # the checkpoint's grm_config.json (SmolLM2: a worked demonstration), else the defaults
        config = load_grm_config(path)
    else:
        config = GRMConfig(template=TINY_TEMPLATE if template == "compact" else None)
    grm = GRMForPointwiseScoring(model, tokenizer, config, max_batch_size=args.max_batch_size)
    if not args.allow_eos:
        # Fixed-length generations for all three methods (they all copy the model's generation config).
        eos = model.generation_config.eos_token_id
        eos = list(eos) if isinstance(eos, (list, tuple)) else [eos]
        eos.append(tokenizer.eos_token_id)
        model.generation_config.suppress_tokens = sorted({e for e in eos if e is not None})
    args.template = template
    return grm


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--model",
        choices=["tiny", "smollm2"],
        default="tiny",
        help="tiny random Llama (default) or SmolLM2-135M-Instruct",
    )
    parser.add_argument("--model-path", help="use this checkpoint instead (any causal LM)")
    parser.add_argument("--hidden-size", type=int, default=256, help="tiny model width (default 256)")
    parser.add_argument("--num-layers", type=int, default=4, help="tiny model depth (default 4)")
    parser.add_argument(
        "--template",
        choices=["saved", "default", "compact"],
        help="GRM settings/prompt template: the checkpoint's grm_config.json\n"
        "(saved; default for smollm2 and --model-path),\n"
        "the library defaults (default) or the compact TINY_TEMPLATE of trl_grm.testing (compact; default for tiny)",
    )
    parser.add_argument("-B", "--batch-size", type=int, help="inputs per score call (default 2)")
    parser.add_argument(
        "--k",
        type=int,
        nargs="+",
        help="num_samples values (default 8 32; the 1k configurations use k=8 unless --k is given)",
    )
    parser.add_argument(
        "--configs",
        nargs="+",
        choices=list(CONFIGS),
        help=f"subset of {list(CONFIGS)} (default all;\n"
        f"with --model smollm2 and neither --configs nor --k: {SMOLLM2_PLAN})",
    )
    parser.add_argument("--repeats", type=int, help="timed rounds, median reported (default 3 tiny, 2 smollm2)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default); e.g. 0.5 to sample")
    parser.add_argument("--order-strategy", choices=["random", "balanced", "fixed"], default="random")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--naive-rows",
        type=int,
        help="time the naive loop on this many rows spread over the k x B (its tok/s is per row anyway);\n"
        "0 = all (default 16 tiny, 4 smollm2)",
    )
    parser.add_argument(
        "--long-tokens", type=int, default=120, help="tokens (at least) per long response (default 120)"
    )
    parser.add_argument("--target-1k", type=int, default=1000, help="prompt length in tokens of the 1k configurations")
    parser.add_argument(
        "--max-batch-size",
        type=int,
        default=64,
        help="GRMForPointwiseScoring(max_batch_size=...), the library default 64",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument(
        "--max-load",
        type=float,
        default=0.15,
        help="repeat a timed run if other processes used more than this many cores during it (default 0.15)",
    )
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=60,
        help="wait up to this many seconds for an idle machine before each timed run; 0 = never wait (default 60)",
    )
    parser.add_argument(
        "--attempts", type=int, default=4, help="tries per timed run before a contended one is kept (default 4)"
    )
    parser.add_argument("--allow-eos", action="store_true", help="do not suppress end-of-sequence tokens")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: k=8, 1 repeat, 4 naive rows, configs short-n2 and 1k-n2 (each overridable)",
    )
    parser.add_argument("--json", help="also write all results to this JSON file")
    args = parser.parse_args(argv)

    smol = args.model == "smollm2"
    k_given = args.k is not None
    plan = None
    if smol and not args.quick and args.configs is None and not k_given:
        plan = SMOLLM2_PLAN
    if args.quick:
        args.k = args.k or [8]
        args.repeats = args.repeats or 1
        args.configs = args.configs or ["short-n2", "1k-n2"]
        args.naive_rows = 4 if args.naive_rows is None else args.naive_rows
    args.k = args.k or [8, 32]
    args.batch_size = args.batch_size or 2
    args.repeats = args.repeats or (2 if smol else 3)
    args.naive_rows = (4 if smol else 16) if args.naive_rows is None else args.naive_rows
    args.configs = args.configs or list(CONFIGS)

    torch.set_num_threads(args.threads)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    logging.getLogger("trl_grm").setLevel(logging.ERROR)  # random models never write a parsable verdict
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
    guard = CpuGuard(args.max_load, args.idle_wait, args.attempts)
    results = []
    plan = plan or [(c, k) for c in args.configs for k in (args.k if k_given else CONFIGS[c].ks or args.k)]
    for name, k in plan:
        results.append(bench_one(grm, CONFIGS[name], k, args, log, guard))

    log(
        f"\nSummary ({args.model}, B={args.batch_size}, {args.max_new_tokens} new tokens/sample, "
        f"median of {args.repeats})"
    )
    header = (
        "| config | k | prompt tok | distinct/rows | ours tok/s | raw tok/s | naive tok/s | prefill ours / raw "
        "| ours/raw | ours/naive | greedy check | bg load |"
    )
    log(header)
    log("|" + "|".join(["---"] * (header.count("|") - 1)) + "|")
    for r in results:
        t = r["tokens_per_s"]
        g = r["greedy_check"]
        log(
            f"| {r['config']} | {r['k']} | {r['prompt_tokens_mean']:.0f} | {r['distinct_prompts']}/{r['rows']} | "
            f"{t['ours']:.0f} | {t['raw']:.0f} | {t['naive']:.0f} | "
            f"{r['prefill_tokens']['ours']} / {r['prefill_tokens']['raw']} | {r['ours_over_raw']:.2f}x | "
            f"{r['ours_over_naive']:.2f}x | {'OK' if g['ok'] else 'MISMATCH'} "
            f"{g['rows'] - g['bad_rows']}/{g['rows']} | "
            f"{max(max(v) for v in r['foreign_load_cores'].values()):.2f} |"
        )
    log(f"total time {time.perf_counter() - t_start:.0f}s (of which {guard.waited:.0f}s waiting for an idle CPU)")
    if args.json:
        meta = {k_: v for k_, v in vars(args).items()}
        with open(args.json, "w") as f:
            json.dump({"args": meta, "results": results}, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
