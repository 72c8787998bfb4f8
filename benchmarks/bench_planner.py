"""Does the memory planner (trl_grm/planning/memory.py) match real training runs? Peak memory of a few real optimizer
steps on this CPU against the plan for the same setup.

Each run is a fresh process: its peak resident memory after the imports is the baseline; the run loads the model
(fp32), trains ``--steps`` steps of rejective fine-tuning (TRL SFT) on rows of exactly ``--seq_len`` tokens, and the
growth of the peak resident memory is compared with the plan's total (weights, LoRA or full optimizer states,
activations without checkpointing, logits). Target (issue #11): within +-30%.

    python benchmarks/bench_planner.py                      # tiny Llama + SmolLM2-135M, LoRA and full, ~5 min
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_one(
    model_path: str,
    use_peft: bool,
    batch: int,
    seq_len: int,
    steps: int,
    load_in_4bit: bool = False,
    zero3: bool = False,
) -> dict:
    """In this (fresh) process: train, and return the peak-memory growth and the plan."""
    import torch
    import trl  # noqa: F401 - part of the baseline
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from trl_grm.planning.memory import GIB, TrainSetup, train_memory
    from trl_grm.planning.preflight import build_on_meta
    from trl_grm.trainers.rejective_sft_config import RejectiveSFTConfig
    from trl_grm.trainers.rejective_sft_trainer import RejectiveSFTTrainer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    count = seq_len
    while len(tokenizer(" judge" * count, add_special_tokens=False)["input_ids"]) > seq_len - 40:
        count = int(count * 0.9)
    prompt = " judge" * count
    rows = [
        {
            "prompt": [{"role": "user", "content": prompt}],
            "completion": [{"role": "assistant", "content": "Scores: 1"}],
        }
    ] * (batch * steps)
    # The config first: under accelerate's DeepSpeed ZeRO-3 it makes from_pretrained partition at load, as in a
    # trl-grm run (where the trainer loads the model).
    args = RejectiveSFTConfig(
        output_dir=tempfile.mkdtemp(),
        use_cpu=True,
        bf16=False,
        gradient_checkpointing=False,
        per_device_train_batch_size=batch,
        max_steps=steps,
        max_length=seq_len + 64,
        report_to="none",
        save_strategy="no",
        logging_steps=1000,
        dataloader_num_workers=0,
    )
    baseline = peak_mib()
    if load_in_4bit:  # QLoRA as the recipes' *_qlora.yaml load it (bitsandbytes' CPU backend here)
        from transformers import BitsAndBytesConfig

        quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                   bnb_4bit_compute_dtype=torch.float32)  # fmt: skip
        model = AutoModelForCausalLM.from_pretrained(model_path, quantization_config=quant, device_map={"": "cpu"})
    else:
        model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    lora = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM") if use_peft else None
    trainer = RejectiveSFTTrainer(model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                                  peft_config=lora)  # fmt: skip
    lengths = [len(x) for x in trainer.train_dataset["input_ids"]]
    trainer.train()
    measured = peak_mib() - baseline
    meta = build_on_meta(AutoConfig.from_pretrained(model_path))
    setup = TrainSetup(
        stage="sft",
        dtype="float32",
        use_peft=use_peft,
        lora_r=16,
        lora_target_modules="all-linear",
        micro_batch=batch,
        seq_len=max(lengths),
        gradient_checkpointing=False,
        attention_scores=True,  # a CPU run
        load_in_4bit=load_in_4bit,
        nested_quant=load_in_4bit,
        sharding="zero3" if zero3 else "none",
        num_processes=int(os.environ.get("WORLD_SIZE", 1)),
    )
    plan = train_memory(meta, setup)
    return {
        "model": Path(model_path).name,
        "lora": use_peft,
        "qlora": load_in_4bit,
        "zero3": zero3,
        "rank": int(os.environ.get("RANK", 0)),
        "distributed": str(trainer.accelerator.state.distributed_type).rsplit(".", 1)[-1],
        "batch": batch,
        "seq_len": max(lengths),
        "measured_mib": round(measured),
        "plan_mib": round(plan.total / GIB * 1024),
        "plan_terms_mib": {k: round(v / GIB * 1024) for k, v in plan.terms.items()},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--json")
    parser.add_argument("--only", choices=["qlora", "zero3"], help="only the QLoRA runs, or only the ZeRO-3 ones")
    args = parser.parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        print("RESULT " + json.dumps(run_one(**spec, steps=args.steps)), flush=True)
        return 0

    from trl_grm.modeling.default_model import default_model_path
    from trl_grm.testing import build_tiny_model

    tiny = str(build_tiny_model(Path(tempfile.mkdtemp()) / "tiny", hidden_size=256))
    smol = str(default_model_path())
    specs = [
        dict(model_path=tiny, use_peft=False, batch=8, seq_len=512),
        dict(model_path=tiny, use_peft=True, batch=8, seq_len=512),
        dict(model_path=smol, use_peft=True, batch=4, seq_len=512),
        dict(model_path=smol, use_peft=False, batch=4, seq_len=512),
        dict(model_path=tiny, use_peft=True, batch=8, seq_len=512, load_in_4bit=True),
        dict(model_path=smol, use_peft=True, batch=4, seq_len=512, load_in_4bit=True),
    ]
    specs += [dict(model_path=smol, use_peft=False, batch=4, seq_len=512, zero3=True)]
    if args.only:
        specs = [s for s in specs if s.get({"qlora": "load_in_4bit", "zero3": "zero3"}[args.only])]
    results = []
    for spec in specs:
        env = {**os.environ, "OMP_NUM_THREADS": "2", "HF_HUB_OFFLINE": "1"}
        child = [__file__, "--child", json.dumps(spec), "--steps", str(args.steps)]
        if spec.get("zero3"):  # two processes under the shipped zero3 config; each reports its own peak
            from trl_grm.utils.resources import shipped_file

            config = str(shipped_file("accelerate_configs", "zero3.yaml"))
            env["OMP_NUM_THREADS"] = "1"
            command = ["-m", "accelerate.commands.launch", "--config_file", config, "--num_processes", "2",
                       "--mixed_precision", "no", *child]  # fmt: skip
        else:
            command = child
        out = subprocess.run([sys.executable, *command], capture_output=True, text=True, env=env)
        if out.returncode:
            raise RuntimeError(out.stderr[-3000:])
        lines = [json.loads(x[len("RESULT ") :]) for x in out.stdout.splitlines() if x.startswith("RESULT ")]
        result = max(lines, key=lambda r: r["measured_mib"])  # the larger process
        result["measured/plan"] = round(result["measured_mib"] / result["plan_mib"], 2)
        print(json.dumps(result), flush=True)
        results.append(result)
    print(
        "\n| model | LoRA | batch x seq | measured peak growth | plan | measured / plan |\n|---|---|---|---|---|---|"
    )
    for r in results:
        kind = "NF4 + LoRA" if r["qlora"] else "yes" if r["lora"] else "no"
        kind += ", ZeRO-3 x 2 processes (per process)" if r["zero3"] else ""
        print(f"| {r['model']} | {kind} | {r['batch']} x {r['seq_len']} | "
              f"{r['measured_mib']} MiB | {r['plan_mib']} MiB | {r['measured/plan']:.2f} |")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
