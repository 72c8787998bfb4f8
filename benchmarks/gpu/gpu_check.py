"""The prepared GPU check (issue 26): one script, about 8 minutes on one H100, no network (models are built here with
random weights; nothing is downloaded).

1. **backend**: the same GRM prompts (64 inputs x k = 8, exactly ``--max_new_tokens`` each, end-of-sequence
   suppressed) through ``grm.score`` over our transformers backend (shared prefill) and through raw HF
   ``generate`` of the prompt texts ``score`` renders (left-padded batches of ``--batch`` rows); bf16, SDPA on a GPU.
   Generated tokens per second of each, and the ratio.
2. **reward**: one GRPO step of a small policy with :class:`~trl_grm.rewards.GRMReward` (the GRM above, on the GPU):
   seconds for the step and the GRM's own scoring seconds.
3. **rft**: one LoRA rejective fine-tuning step of the GRM, planned peak memory (``trl-grm plan``'s formula) against
   the measured peak (``torch.cuda.max_memory_allocated``; on a CPU the growth of the peak resident memory).

``--small`` is a CPU mode with tiny models and small numbers (run by the tests); the GPU defaults build a ~1.1B Llama
(hidden 2048, 22 layers). Prints one JSON line per part and a markdown table; ``--json PATH`` writes the results.

    python benchmarks/gpu/gpu_check.py                 # on the GPU machine (see benchmarks/README.md)
    python benchmarks/gpu/gpu_check.py --small         # CPU smoke mode, ~1 min
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="CPU mode: tiny models, small numbers")
    parser.add_argument("--inputs", type=int, default=64)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--max_new_tokens", type=int, default=256)
    parser.add_argument("--batch", type=int, default=128, help="rows per raw generate call (and the backend's limit)")
    parser.add_argument("--json", help="write the results here")
    return parser


def build_models(work: Path, small: bool) -> tuple[Path, Path]:
    """A GRM-sized Llama (the judge) and a small policy, random weights, with the tiny tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from trl_grm.testing import build_tiny_model, build_tiny_tokenizer

    policy = build_tiny_model(work / "policy", hidden_size=64 if small else 512)
    tokenizer = build_tiny_tokenizer()
    dims = dict(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2
    )
    if not small:
        dims = dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
                    num_key_value_heads=4)  # fmt: skip
    config = LlamaConfig(vocab_size=len(tokenizer), max_position_embeddings=4096, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, **dims)  # fmt: skip
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(work / "judge")
    tokenizer.save_pretrained(work / "judge")
    return work / "judge", policy


def load_judge(path: Path, device: str, dtype, batch: int):
    from trl_grm import GRMForPointwiseScoring

    kwargs = {"dtype": dtype, "attn_implementation": "sdpa"} if device == "cuda" else {}
    grm = GRMForPointwiseScoring.from_pretrained(path, max_batch_size=batch, device_map={"": device}, **kwargs)
    eos = grm.model.generation_config.eos_token_id
    grm.model.generation_config.suppress_tokens = [eos] if isinstance(eos, int) else list(eos or [])
    return grm


def sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def backend_part(grm, args, device: str) -> dict:
    """Our backend against raw ``generate`` on the very same prompt texts (and the same number of tokens)."""
    import torch

    from trl_grm.data.synthetic import SyntheticTasks
    from trl_grm.protocol.inputs import to_inputs
    from trl_grm.protocol.planner import plan_orders

    tasks = SyntheticTasks(seed=0, num_responses=2, difficulty=0.5)
    inputs = [{"prompt": ex.context, "responses": ex.responses} for ex in map(tasks.example, range(args.inputs))]
    items, _ = to_inputs(inputs)
    rows = [
        grm.render_prompt(item, order)
        for item in items
        for order in plan_orders(item.fingerprint, len(item.responses), args.k, "random", seed=0)
    ]
    params = dict(num_samples=args.k, temperature=0.5, max_new_tokens=args.max_new_tokens, seed=0)
    grm.score(inputs[:2], **{**params, "num_samples": 1})  # warm-up
    sync(device)
    start = time.perf_counter()
    grm.score(inputs, **params)
    sync(device)
    ours = time.perf_counter() - start
    tok = grm.tokenizer
    tok.padding_side = "left"
    start = time.perf_counter()
    for lo in range(0, len(rows), args.batch):
        batch = tok(rows[lo : lo + args.batch], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            grm.model.generate(**batch.to(grm.model.device), do_sample=True, temperature=0.5, top_p=1.0,
                               max_new_tokens=args.max_new_tokens, min_new_tokens=args.max_new_tokens)  # fmt: skip
    sync(device)
    raw = time.perf_counter() - start
    tokens = len(rows) * args.max_new_tokens
    return {"part": "backend", "rows": len(rows), "ours_tok_s": round(tokens / ours, 1),
            "raw_generate_tok_s": round(tokens / raw, 1), "ours/raw": round(raw / ours, 2)}  # fmt: skip


def reward_part(grm, policy: Path, args, device: str) -> dict:
    """One GRPO step of the policy, rewarded by the GRM (k = 2)."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from trl_grm.data.synthetic import SyntheticTasks
    from trl_grm.rewards import GRMReward

    reward = GRMReward(grm, num_samples=2, seed=0, max_new_tokens=32 if args.small else 128)
    prompts = [ex.context for ex in SyntheticTasks(num_responses=1).generate(8)]
    batch, generations = 8, 4
    config = GRPOConfig(output_dir=tempfile.mkdtemp(), max_steps=1, per_device_train_batch_size=batch,
                        num_generations=generations,
                        max_completion_length=16 if args.small else 64, beta=0.0, logging_steps=1, save_strategy="no",
                        report_to="none", use_cpu=device == "cpu", bf16=device == "cuda", seed=0,
                        disable_tqdm=True)  # fmt: skip
    trainer = GRPOTrainer(model=str(policy), reward_funcs=[reward], args=config,
                          train_dataset=Dataset.from_list([{"prompt": p} for p in prompts]))  # fmt: skip
    start = time.perf_counter()
    trainer.train()
    step = time.perf_counter() - start
    scoring = sum(c["seconds"] for c in reward.calls)
    return {
        "part": "reward",
        "step_s": round(step, 2),
        "grm_scoring_s": round(scoring, 2),
        "groups": batch // generations,
    }


def cpu_peak_kib(reset: bool = False) -> int:
    """This process's peak resident memory (KiB); ``reset`` first lowers the peak to the current size (Linux's
    /proc/self/clear_refs), else the lifetime peak (``ru_maxrss``) is all there is."""
    status = Path("/proc/self/status")
    if not status.exists():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if reset:
        Path("/proc/self/clear_refs").write_text("5")
    line = next(x for x in status.read_text().splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1])


def rft_part(judge: Path, args, device: str) -> dict:
    """One LoRA RFT step of the judge: planned vs measured peak memory."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from trl_grm.planning.memory import GIB, TrainSetup, train_memory
    from trl_grm.planning.preflight import build_on_meta
    from trl_grm.trainers import RejectiveSFTConfig, RejectiveSFTTrainer

    seq_len, batch = (256, 2) if args.small else (1024, 4)
    tokenizer = AutoTokenizer.from_pretrained(judge)
    count = seq_len
    while len(tokenizer(" judge" * count, add_special_tokens=False)["input_ids"]) > seq_len - 40:
        count = int(count * 0.9)
    rows = [{"prompt": [{"role": "user", "content": " judge" * count}],
             "completion": [{"role": "assistant", "content": "Scores: \\boxed{7, 2}"}]}] * batch  # fmt: skip
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    if device == "cuda":
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    else:
        before = cpu_peak_kib(reset=True)  # the earlier parts' peak would hide this one's
    model = AutoModelForCausalLM.from_pretrained(judge, dtype=dtype, device_map={"": device})
    config = RejectiveSFTConfig(output_dir=tempfile.mkdtemp(), max_steps=1, per_device_train_batch_size=batch,
                                max_length=seq_len + 64, use_cpu=device == "cpu", bf16=device == "cuda",
                                gradient_checkpointing=False, report_to="none", save_strategy="no",
                                disable_tqdm=True)  # fmt: skip
    lora = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = RejectiveSFTTrainer(model, args=config, train_dataset=Dataset.from_list(rows),
                                  processing_class=tokenizer, peft_config=lora)  # fmt: skip
    length = max(len(x) for x in trainer.train_dataset["input_ids"])
    trainer.train()
    if device == "cuda":
        measured = (torch.cuda.max_memory_allocated() - before) / 2**20
    else:
        measured = (cpu_peak_kib() - before) / 1024
    setup = TrainSetup(stage="sft", dtype="bfloat16" if device == "cuda" else "float32", use_peft=True, lora_r=16,
                       lora_target_modules="all-linear", micro_batch=batch, seq_len=length,
                       gradient_checkpointing=False, attention_scores=device == "cpu")  # fmt: skip
    plan = train_memory(build_on_meta(AutoConfig.from_pretrained(judge)), setup).total / GIB * 1024
    return {"part": "rft", "batch x seq": f"{batch} x {length}", "planned_mib": round(plan),
            "measured_mib": round(measured), "measured/planned": round(measured / plan, 2)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    import torch

    device = "cuda" if torch.cuda.is_available() and not args.small else "cpu"
    if args.small:
        args.inputs, args.k, args.max_new_tokens, args.batch = min(args.inputs, 4), min(args.k, 2), 8, 16
    name = torch.cuda.get_device_name() if device == "cuda" else f"CPU ({platform.processor() or platform.machine()})"
    work = Path(tempfile.mkdtemp())
    start = time.perf_counter()
    judge, policy = build_models(work, args.small)
    grm = load_judge(judge, device, torch.bfloat16 if device == "cuda" else torch.float32, args.batch)
    results = [backend_part(grm, args, device)]
    print(json.dumps(results[-1]), flush=True)
    results.append(reward_part(grm, policy, args, device))
    print(json.dumps(results[-1]), flush=True)
    del grm
    results.append(rft_part(judge, args, device))
    print(json.dumps(results[-1]), flush=True)
    summary = {"device": name, "small": args.small, "seconds": round(time.perf_counter() - start), "parts": results}
    print(f"\n{name}, {summary['seconds']} s in all")
    b, r, m = results
    print("| part | result |\n|---|---|")
    print(f"| backend ({b['rows']} rows) | ours {b['ours_tok_s']} tok/s, raw generate "
          f"{b['raw_generate_tok_s']} tok/s, ours/raw {b['ours/raw']} |")  # fmt: skip
    print(f"| GRPO step with GRMReward | {r['step_s']} s, of which GRM scoring {r['grm_scoring_s']} s |")
    print(f"| LoRA RFT step ({m['batch x seq']}) | planned {m['planned_mib']} MiB, measured {m['measured_mib']} MiB, "
          f"measured/planned {m['measured/planned']} |")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
