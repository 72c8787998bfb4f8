"""Ship a trained SmolLM2-135M LoRA adapter as the embedded default GRM (``trl_grm/assets/smollm2-135m-grm-lora``).

    python recipes/smollm2-135m/ship_adapter.py --adapter outputs/smollm2-135m/rft [--max_new_tokens 128]

Writes the adapter weights as fp16 safetensors (half the size of the fp32 training output), its
``adapter_config.json`` with the base model named as the converted offline copy, and the ``grm_config.json`` it was
trained with (``max_new_tokens`` raised to fit its judgements). Refuses an adapter over 20 MB.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "trl_grm" / "assets" / "smollm2-135m-grm-lora"
BASE_NAME = "SmolLM2-135M-Instruct (converted by trl_grm.modeling.default_model.default_model_path)"
MAX_BYTES = 20 * 1024 * 1024


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapter", required=True, help="Output folder of `trl-grm rft` / `trl-grm grpo` (LoRA).")
    parser.add_argument("--output_dir", default=str(TARGET), help="Where the shipped adapter goes.")
    parser.add_argument("--max_new_tokens", type=int, default=128, help="Length budget of one judgement.")
    return parser


def ship(adapter: Path, output_dir: Path, max_new_tokens: int) -> Path:
    import torch
    from safetensors.torch import load_file, save_file

    for name in ("adapter_model.safetensors", "adapter_config.json", "grm_config.json"):
        if not (adapter / name).is_file():
            raise FileNotFoundError(f"{adapter} has no {name}: give the output folder of a LoRA training run")
    weights = {
        k: (v.to(torch.float16) if v.is_floating_point() else v).contiguous()
        for k, v in load_file(adapter / "adapter_model.safetensors").items()
    }
    config = json.loads((adapter / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = BASE_NAME
    grm = json.loads((adapter / "grm_config.json").read_text())
    grm["max_new_tokens"] = max(max_new_tokens, grm.get("max_new_tokens") or 0)
    tmp = output_dir.with_name(output_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(weights, tmp / "adapter_model.safetensors", metadata={"format": "pt"})
    size = (tmp / "adapter_model.safetensors").stat().st_size
    if size > MAX_BYTES:
        shutil.rmtree(tmp)
        raise ValueError(f"the fp16 adapter is {size / 2**20:.1f} MB, over the 20 MB limit: use a smaller LoRA rank")
    (tmp / "adapter_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    (tmp / "grm_config.json").write_text(json.dumps(grm, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(output_dir, ignore_errors=True)
    tmp.rename(output_dir)
    return output_dir


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        out = ship(Path(args.adapter), Path(args.output_dir), args.max_new_tokens)
    except (FileNotFoundError, ValueError) as e:
        print(f"ship_adapter: error: {e}", file=sys.stderr)
        return 2
    print(f"Shipped {args.adapter} to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
