"""The model card and stage record of what the SPCT trainers save (a mixin over TRL's trainers)."""

from __future__ import annotations

import os
from typing import Any

from ..modeling.hub import record_stage, write_card


class GRMModelCardMixin:
    """For the SPCT trainers: ``create_model_card`` writes the GRM (or Meta RM) card from trl-grm's templates, and
    the stage is recorded with the saved model (``spct_stages.json``)."""

    _spct_stage: str = ""

    def _stage_settings(self) -> dict[str, Any]:
        args = self.args
        processes = getattr(self.accelerator, "num_processes", 1)
        batch = args.per_device_train_batch_size * args.gradient_accumulation_steps * processes
        settings: dict[str, Any] = {"lr": args.learning_rate, "batch": batch}
        settings["steps"] = args.max_steps if args.max_steps > 0 else f"{args.num_train_epochs} epochs"
        for key in ("beta", "num_generations", "num_rft_samples"):
            if hasattr(args, key):
                settings[{"num_generations": "G", "num_rft_samples": "N_RFT"}.get(key, key)] = getattr(args, key)
        settings.update(self._how_trained(processes))
        return settings

    def _how_trained(self, processes: int) -> dict[str, Any]:
        """What the run really used: the base's k-bit quantisation, the processes and the sharding (FSDP /
        DeepSpeed), as the trainer saw them (not as the recipe asked)."""
        out: dict[str, Any] = {}
        quant = getattr(getattr(self.model, "config", None), "quantization_config", None)
        if quant is not None:
            q = quant if isinstance(quant, dict) else quant.to_dict()
            if q.get("load_in_4bit"):
                out["quantization"] = f"4-bit {q.get('bnb_4bit_quant_type', '')}".strip()
            elif q.get("load_in_8bit"):
                out["quantization"] = "8-bit"
        if processes > 1:
            out["processes"] = processes
        kind = str(getattr(getattr(self.accelerator, "state", None), "distributed_type", "")).rsplit(".", 1)[-1]
        if kind in ("FSDP", "DEEPSPEED"):
            out["sharding"] = kind.lower() if kind == "FSDP" else "deepspeed"
            if kind == "FSDP":
                out["sharding"] += str(getattr(self.accelerator.state.fsdp_plugin, "fsdp_version", ""))
        return out

    def record_spct_stage(self, output_dir: str | None = None) -> None:
        base = (
            getattr(self.model, "spct_source", None)
            or getattr(self.model, "name_or_path", None)
            or getattr(self.model.config, "_name_or_path", None)
        )
        record_stage(output_dir or self.args.output_dir, base, self._spct_stage, self._stage_settings())

    def create_model_card(self, model_name=None, dataset_name=None, tags=None):
        if not self.is_world_process_zero():
            return
        base = getattr(self.model.config, "_name_or_path", None)
        if base and os.path.isdir(base):  # a local earlier stage: name what it was made from, if known
            base = None
        tags = [tags] if isinstance(tags, str) else list(tags or [])
        write_card(
            self.args.output_dir,
            repo_id=self.hub_model_id or model_name,
            base_model=base,
            dataset_name=dataset_name,
            tags=tags + list(getattr(self, "_tag_names", [])),
        )
