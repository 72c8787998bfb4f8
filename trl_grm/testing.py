"""Tiny local models for tests, examples and benchmarks (no network needed)."""

from __future__ import annotations

import os
from pathlib import Path

TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

_CORPUS = [
    "Specific Criteria: - Accuracy (Weight: 40%): the answer is correct.",
    "Analysis: Response 1 follows the instruction; Response 2 ignores it.",
    "Scores: \\boxed{8, 3}",
    "Scores: \\boxed{2, 9, 5, 7}",
    "The quick brown fox jumps over the lazy dog. What is two plus two? Four.",
    "Write a short poem about the sea. Waves roll and the tide comes in.",
    "0 1 2 3 4 5 6 7 8 9 10 , . : ; ! ? ( ) [ ] { } - % \\ boxed",
]


def build_tiny_tokenizer(vocab_size: int = 512):
    """Train a small byte-level BPE tokenizer with a chat template and special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|pad|>", "<|bos|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(_CORPUS * 20, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<|pad|>", bos_token="<|bos|>", eos_token="<|end|>")
    fast.chat_template = TINY_CHAT_TEMPLATE
    return fast


def _save(model, tokenizer, path: Path) -> Path:
    """Save a freshly built tiny model with its tokenizer and a generation config naming the tokenizer's ids."""
    from transformers import GenerationConfig

    model.generation_config = GenerationConfig(
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id
    )
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def build_tiny_model(
    path: str | os.PathLike,
    hidden_size: int = 64,
    num_layers: int = 2,
    max_position_embeddings: int = 2048,
    seed: int = 0,
) -> Path:
    """Save a randomly initialised tiny Llama causal LM + tokenizer to ``path`` and return it."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    path = Path(path)
    tokenizer = build_tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_position_embeddings,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    return _save(model, tokenizer, path)


def build_tiny_moe(path: str | os.PathLike, seed: int = 0) -> Path:
    """Save a randomly initialised tiny DeepSeek-V2-style MoE (the shipped DeepSeek-V2-Lite config's structure:
    MLA attention without a query LoRA, a dense first layer, then routed experts as fused 3-D parameters plus a
    shared expert) with the tiny tokenizer to ``path``. Every matrix dimension is a multiple of 64, bitsandbytes'
    4-bit block, so it can be stored in NF4."""
    import torch
    from transformers import AutoModelForCausalLM, DeepseekV2Config

    path = Path(path)
    tokenizer = build_tiny_tokenizer()
    config = DeepseekV2Config(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=256,
        moe_intermediate_size=64,
        num_hidden_layers=2,
        first_k_dense_replace=1,
        n_routed_experts=4,
        n_shared_experts=1,
        num_experts_per_tok=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        q_lora_rank=None,
        kv_lora_rank=64,
        qk_nope_head_dim=64,
        qk_rope_head_dim=64,
        v_head_dim=64,
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    return _save(model, tokenizer, path)


TINY_JUDGEMENT = (
    "Specific Criteria:\n- Accuracy (Weight: 60%): correct.\n- Relevance (Weight: 40%): on topic.\n"
    "Analysis: Response 1 is right; Response 2 is wrong.\nScores: \\boxed{8, 3}"
)


# A compact template keeps the tiny judge's prompts short (fast to train); it is saved with the model, so the
# judge only writes its verdict when the saved template is really used.
TINY_TEMPLATE = {
    "system": "",
    "task_multi": "Rate the {n} replies from {min} to {max}.",
    "task_single": "Rate the reply from {min} to {max}.",
    "task_binary": "Is the reply correct? {max} yes, {min} no.",
    "principles_self": "Write criteria.",
    "principles_given": "Use criteria: {principles}",
    "principles_none": "No criteria.",
    "hint": "Reply {best} is best.",
    "output": "Then analyse and end with Scores: \\boxed{{{example}}}",
}


def _fit_completions(model, tokenizer, rows: list[tuple[str, str]], steps: int, seed: int, lr: float = 3e-3) -> None:
    """Full-batch AdamW on (prompt, completion) rows, the loss on the completion and its EOS only; leaves ``model``
    in eval mode."""
    import torch

    batch, targets = [], []
    for prompt, completion in rows:
        target = tokenizer(completion + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        batch.append(tokenizer(prompt, add_special_tokens=False)["input_ids"] + target)
        targets.append(len(target))
    width = max(map(len, batch))
    ids = torch.full((len(batch), width), tokenizer.pad_token_id)
    labels = torch.full((len(batch), width), -100)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, (row, n) in enumerate(zip(batch, targets)):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
        labels[i, len(row) - n : len(row)] = torch.tensor(row[len(row) - n :])
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()


def build_tiny_judge(
    path: str | os.PathLike,
    judgement: str = TINY_JUDGEMENT,
    steps: int = 200,
    seed: int = 0,
    hidden_size: int = 64,
    num_responses: int = 2,
) -> Path:
    """A tiny Llama GRM that has memorised one judgement: for any prompt in its template, greedy decoding writes
    ``judgement``. It follows the output format without judging anything (the first response shown gets 8, the
    second 3), which makes it a real model whose outputs exercise parsing, mapping back and voting end to end.
    ``hidden_size=256`` gives 64-dimensional attention heads, the smallest that vLLM's CPU attention accepts.
    ``num_responses`` is the number of responses in its training prompts (pass a ``judgement`` with as many scores).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .modeling.configuration_grm import GRMConfig
    from .protocol.template import GRMTemplate, build_messages

    path = build_tiny_model(path, hidden_size=hidden_size, seed=seed)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    template = GRMTemplate.from_dict(TINY_TEMPLATE)
    examples = [
        ("What is two plus two?", ["Four.", "Five."]),
        ("Write a poem about the sea.", ["Waves roll in.", "The tide is out."]),
        ("Say hello.", ["Hello!", "Goodbye."]),
        ("Name a colour.", ["Blue.", "Seven."]),
    ]
    if num_responses != 2:  # more varied prompts, so that the memorised verdict does not depend on them
        import random

        rng = random.Random(seed)
        words = " ".join(_CORPUS).replace("\\", " ").split()
        examples = [
            (" ".join(rng.sample(words, rng.randint(2, 6))) + "?",
             [" ".join(rng.sample(words, rng.randint(0, 4))) for _ in range(num_responses)])
            for _ in range(16)
        ]  # fmt: skip
    prompts = [
        tokenizer.apply_chat_template(build_messages(q, r, template), tokenize=False, add_generation_prompt=True)
        for q, r in examples
    ]
    _fit_completions(model, tokenizer, [(p, judgement) for p in prompts], steps, seed)
    model.save_pretrained(path)
    GRMConfig(template=TINY_TEMPLATE, max_new_tokens=80).save_pretrained(path)
    return path


# -------------------------------------------------------------------------------- the learning proof's tiny task
YES_QUESTION = "Which reply says yes?"
_FILLER = "apple river stone cloud green paper light music table window garden orange silver".split()


def yes_reply_pairs(num: int, seed: int = 0, start: int = 0) -> list:
    """Labelled pairs of a task a tiny model can learn in CPU minutes: the replies are "yes" and "no", the better one
    is "yes". Prompts differ by a few random topic words; the better reply's position alternates (even indices
    first, odd second), so position carries no information and a position-only judge is right in one order only."""
    import random

    from .data.formats import LabeledInput

    out = []
    for i in range(start, start + num):
        rng = random.Random(f"{seed}:{i}:yes-reply")
        topic = " ".join(rng.sample(_FILLER, rng.randint(2, 4)))
        label = i % 2
        responses = ["yes", "no"] if label == 0 else ["no", "yes"]
        context = f"Topic: {topic}. {YES_QUESTION}"
        out.append(LabeledInput(context=context, responses=responses, id=i, label=label, meta={"family": "yes"}))
    return out


def build_undecided_judge(
    path: str | os.PathLike, num_prompts: int = 64, steps: int = 120, seed: int = 0, hidden_size: int = 64
) -> Path:
    """A tiny Llama GRM for :func:`yes_reply_pairs` prompts that writes the output format and a faithful analysis
    ("Reply 1 says no. Reply 2 says yes.") but has no opinion: it is trained on BOTH verdicts ("8, 3" and "3, 8")
    after every analysis, so sampling gives either verdict in either order (the weak starting point of the learning
    proof: its samples are right about half of the time, and what it has to learn is to score by what it read)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .modeling.configuration_grm import GRMConfig
    from .protocol.template import GRMTemplate, build_messages

    path = build_tiny_model(path, hidden_size=hidden_size, seed=seed)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    template = GRMTemplate.from_dict(TINY_TEMPLATE)
    rows = []
    for ex in yes_reply_pairs(num_prompts, seed=seed + 1_000_003):
        prompt = tokenizer.apply_chat_template(
            build_messages(ex.context, ex.responses, template), tokenize=False, add_generation_prompt=True
        )
        analysis = f"Analysis: Reply 1 says {ex.responses[0]}. Reply 2 says {ex.responses[1]}."
        for scores in ("8, 3", "3, 8"):
            rows.append((prompt, f"{analysis}\nScores: \\boxed{{{scores}}}"))
    _fit_completions(model, tokenizer, rows, steps, seed)
    model.save_pretrained(path)
    GRMConfig(template=TINY_TEMPLATE, max_new_tokens=64).save_pretrained(path)
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m trl_grm.testing OUTPUT_DIR [--hidden_size N]``: build the tiny judge (the base model of the tiny
    recipe, recipes/tiny/) into OUTPUT_DIR, offline, in about a minute."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m trl_grm.testing", description=main.__doc__.split("\n")[0])
    parser.add_argument("output_dir")
    parser.add_argument("--hidden_size", type=int, default=64)
    parser.add_argument("--moe", action="store_true", help="a tiny DeepSeek-V2-style MoE (random weights) instead")
    args = parser.parse_args(argv)
    if args.moe:
        print(build_tiny_moe(args.output_dir))
        return 0
    print(build_tiny_judge(args.output_dir, hidden_size=args.hidden_size))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
