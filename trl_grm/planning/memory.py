"""Memory per GPU of an SPCT stage, from the model built on the meta device (real modules, MoE experts included).

The formula (bytes; P = parameters, b = micro batch, s = sequence length, h = hidden size, L = layers, V = vocab):

- weights: quantizable Linear weights at 0.5625 B (4-bit NF4 with one fp32 absmax per 64 weights; 0.5087 B with
  nested quantization) or 1.0625 B (8-bit), everything else (embeddings, norms, lm_head and the FUSED routed experts,
  which bitsandbytes leaves unquantized) at the compute dtype's size; the DeepSpeed ZeRO-3 / FSDP shards divide it by
  the number of processes.
- trainable parameters: LoRA adapters (r x (in + out) per targeted Linear; per expert for fused targeted parameters)
  or every parameter (full fine-tune).
- gradients and optimizer: LoRA adapters are kept in fp32: 4 (param) + 4 (grad) + 8 (AdamW m, v) = 16 B each. Full
  fine-tune in mixed precision (DeepSpeed's convention): 2 (grad) + 12 (fp32 master, m, v) B beyond the weights;
  8-bit AdamW: 2 + 6. ZeRO-2 shards gradients and optimizer states, ZeRO-3 / FSDP also the weights.
- activations: 34 x b x s x h x L bytes without gradient checkpointing (Korthikanti et al. 2022, with fused
  attention); eager attention (and CPU runs) also store the scores, + 5 x a x s^2 x b a layer (a = heads); with
  checkpointing, 2 x b x s x h x L (one saved input per layer) plus one layer's full activations. Twice as much in
  fp32. LoRA (with dropout) adds each adapted module's input, b x s x in_features.
  Logits: b x s x V x 6 (bf16 logits and their fp32 upcast for the loss). In fp32 (CPU runs) both double.
- GRPO adds the KV cache of generation (per token: L x 2 x kv_heads x head_dim x 2 B, or L x (kv_lora_rank +
  rope dim) x 2 B for DeepSeek's MLA) and, when beta > 0 without LoRA, a reference model (weights again).
- a vLLM sampling stage: weights / tensor_parallel_size; the KV cache gets what gpu_memory_utilization leaves, which
  sets how many sequences run at once (the rest queue).
Reuses accelerate's meta-device construction (``init_empty_weights``); DeepSpeed's ZeRO-3 estimator covers only the
full fine-tune model states, which the formula above reproduces (16 B per parameter, sharded).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

GIB = 1024**3
DTYPE_BYTES = {"bfloat16": 2, "float16": 2, "float32": 4, "float8": 1, "auto": 2, None: 2}


@dataclass
class MemoryPlan:
    """Bytes per GPU, by term."""

    terms: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.terms.values())

    def fits(self, gpu_memory_gib: float) -> bool:
        return self.total <= gpu_memory_gib * GIB

    def as_rows(self, gpu_memory_gib: float | None = None) -> dict[str, str]:
        rows = {k: f"{v / GIB:8.2f} GiB" for k, v in self.terms.items()}
        rows["total per GPU"] = f"{self.total / GIB:8.2f} GiB"
        if gpu_memory_gib:
            verdict = "fits" if self.fits(gpu_memory_gib) else "does NOT fit"
            rows[f"on {gpu_memory_gib:g} GiB GPUs"] = f"{verdict} (framework overhead and fragmentation not counted)"
        return rows


@dataclass
class TrainSetup:
    """What the memory of a training stage depends on (read from the recipe's configs)."""

    stage: str  # "sft", "grpo" or "reward"
    dtype: str | None = "bfloat16"
    use_peft: bool = False
    lora_r: int = 16
    lora_target_modules: Any = None
    lora_target_parameters: list[str] | None = None
    load_in_4bit: bool = False
    load_in_8bit: bool = False
    nested_quant: bool = False
    optimizer: str = "adamw_torch"
    sharding: str = "none"  # "none", "zero2", "zero3", "fsdp"
    num_processes: int = 1
    micro_batch: int = 1
    seq_len: int = 2048
    gradient_checkpointing: bool = False
    attention_scores: bool = False  # eager attention (or a CPU): the s x s scores are stored, 5 a s^2 b bytes a layer
    beta: float = 0.0
    generation_tokens: int = 0  # GRPO: sequences generated at once per GPU x their length


def _linear_modules(model):
    import torch

    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            yield name, module


def _targets(name: str, targets: Any, lm_head: bool) -> bool:
    if targets in (None, []):
        return False
    if targets == "all-linear":
        return not lm_head
    suffix = name.rsplit(".", 1)[-1]
    return suffix in (targets if isinstance(targets, (list, tuple)) else [targets])


def train_memory(model, setup: TrainSetup) -> MemoryPlan:
    """Memory per GPU of one training process (see the module docstring for the formula)."""
    config = model.config
    text = getattr(config, "text_config", config)
    compute = DTYPE_BYTES.get(setup.dtype, 2)
    plan = MemoryPlan()
    output = model.get_output_embeddings()
    lm_head_ids = {id(p) for p in output.parameters()} if output is not None else set()

    quantizable = 0
    lora = 0
    lora_inputs = 0  # summed in_features of the adapted modules (LoRA keeps each one's dropped-out input)
    for name, module in _linear_modules(model):
        is_head = id(module.weight) in lm_head_ids
        if not is_head:
            quantizable += module.weight.numel()
        if setup.use_peft and _targets(name, setup.lora_target_modules, is_head):
            lora += setup.lora_r * (module.in_features + module.out_features)
            lora_inputs += module.in_features
    fused = 0
    for name, param in model.named_parameters():
        if param.dim() == 3:
            fused += param.numel()
            if setup.use_peft and any(name == t or name.endswith("." + t) for t in setup.lora_target_parameters or []):
                experts, a, b = param.shape
                lora += experts * setup.lora_r * (a + b)
    total = sum(p.numel() for p in model.parameters())
    rest = total - quantizable  # embeddings, norms, lm_head, fused experts
    if setup.load_in_4bit:
        per = 0.5087 if setup.nested_quant else 0.5625
        weights = quantizable * per + rest * compute
        if fused:
            plan.notes.append(
                f"{fused / 1e9:.1f}B fused routed-expert parameters stay at {compute} B each (bitsandbytes 4-bit "
                "quantizes nn.Linear only)"
            )
    elif setup.load_in_8bit:
        weights = quantizable * 1.0625 + rest * compute
    else:
        weights = total * compute
    shard_weights = setup.sharding in ("zero3", "fsdp")
    shard_states = setup.sharding in ("zero2", "zero3", "fsdp")
    n = max(setup.num_processes, 1)
    plan.terms["weights"] = weights / (n if shard_weights else 1)
    if setup.stage == "grpo" and setup.beta > 0 and not setup.use_peft:
        plan.terms["reference model"] = plan.terms["weights"]

    eight_bit = "8bit" in setup.optimizer
    if setup.use_peft:
        per_param = 4 + 4 + (2 if eight_bit else 8)
        plan.terms["LoRA adapters + grads + optimizer"] = lora * per_param / (n if shard_states else 1)
        plan.notes.append(f"LoRA parameters: {lora / 1e6:.1f}M (r = {setup.lora_r})")
    else:
        per_param = 2 + (6 if eight_bit else 12)
        plan.terms["grads + optimizer"] = total * per_param / (n if shard_states else 1)

    h = text.hidden_size
    layers = text.num_hidden_layers
    tokens = setup.micro_batch * setup.seq_len
    scale = compute / 2  # the 34 / 2 bytes per element are for 16-bit activations
    per_layer = 34 * tokens * h
    if setup.attention_scores:
        per_layer += 5 * text.num_attention_heads * setup.seq_len * tokens
    if setup.gradient_checkpointing:
        activations = (2 * tokens * h * layers + per_layer) * scale + tokens * lora_inputs / layers * compute
    else:
        activations = per_layer * layers * scale + tokens * lora_inputs * compute
    plan.terms["activations"] = activations
    if setup.stage != "reward":  # a reward model's head has one output, not a vocabulary
        plan.terms["logits"] = tokens * text.vocab_size * (compute + 4)
    if setup.stage == "grpo" and setup.generation_tokens:
        plan.terms["generation KV cache"] = setup.generation_tokens * kv_bytes_per_token(text)
    return plan


def kv_bytes_per_token(config, dtype_bytes: int = 2) -> int:
    """KV-cache bytes per token over all layers (MLA: the compressed latent plus the rope key)."""
    layers = config.num_hidden_layers
    if getattr(config, "kv_lora_rank", None):
        return layers * (config.kv_lora_rank + config.qk_rope_head_dim) * dtype_bytes
    heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return layers * 2 * heads * head_dim * dtype_bytes


def sampling_memory(
    model, dtype: str | None, tensor_parallel_size: int, gpu_memory_gib: float, utilization: float, seq_tokens: int
) -> tuple[MemoryPlan, dict[str, str]]:
    """A vLLM sampling stage per GPU: the weights over the tensor-parallel group, and how many sequences of
    ``seq_tokens`` tokens the KV cache holds at once in what ``gpu_memory_utilization`` leaves (vLLM runs that many
    concurrently and queues the rest)."""
    plan = MemoryPlan()
    total = sum(p.numel() for p in model.parameters())
    plan.terms["weights"] = total * DTYPE_BYTES.get(dtype, 2) / tensor_parallel_size
    config = getattr(model.config, "text_config", model.config)
    per_sequence = seq_tokens * kv_bytes_per_token(config) / tensor_parallel_size
    room = gpu_memory_gib * GIB * utilization - plan.total
    rows = {
        "KV cache per sequence": f"{per_sequence / GIB:8.3f} GiB ({seq_tokens} tokens)",
        "sequences at once": str(max(int(room // per_sequence), 0)) if room > 0 else "0 (the weights do not fit)",
    }
    return plan, rows


def sharding_of(accelerate_config: dict[str, Any] | None) -> str:
    """'zero2', 'zero3', 'fsdp' or 'none' from an accelerate config."""
    if not accelerate_config:
        return "none"
    kind = str(accelerate_config.get("distributed_type", "")).upper()
    if kind == "DEEPSPEED":
        stage = int((accelerate_config.get("deepspeed_config") or {}).get("zero_stage", 0))
        return {2: "zero2", 3: "zero3"}.get(stage, "none")
    if kind == "FSDP":
        return "fsdp"
    return "none"
