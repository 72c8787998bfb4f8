"""Batched sampling with transformers, computing each distinct prompt's KV cache once.

``generate(num_return_sequences=k)`` expands the inputs before the forward pass, so the prompt is prefilled k times.
Here every distinct prompt is prefilled once (all but its last token), the cache rows are then repeated for the
samples of that prompt with ``Cache.batch_select_indices``, and ``generate`` continues from there: it only has to
run the last prompt token and the new tokens. The prefix that all distinct prompts of a batch share (the system
prompt, the instructions, a worked demonstration, and the query when one input is shown in several orders) is
prefilled once for all of them, before the rest of each prompt.

Sampling is row-independent: every sample has its own seed, and its token at each step is the argmax of the
warped logits (temperature, top-p) plus Gumbel noise drawn from that sample's own generator (the Gumbel-max trick
samples exactly from the softmax). A sample's text therefore depends on its prompt and its seed, not on the other
rows of the batch, the batch size or the chunking. The one caveat is floating point: a row's logits can differ in
the last bits between batch layouts (padding, chunk shapes), which changes a token only if two candidates are
within that rounding of each other after the noise is added.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from transformers import (
    DynamicCache,
    GenerationConfig,
    LogitsProcessor,
    LogitsProcessorList,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    StoppingCriteria,
    StoppingCriteriaList,
    TemperatureLogitsWarper,
    TopPLogitsWarper,
)

from ..utils.progress import decode_status, progress_reporter
from .base import (
    Generation,
    Messages,
    ProgressCallback,
    SamplingParams,
    ScoreLine,
    apply_chat_template,
    check_context,
    check_request,
    check_score_lines,
    score_line_reserve,
)
from .score_line import ScoreLineProcessor


@dataclass
class GenerationStats:
    """Token counts of the last call: ``prefill_tokens`` are prompt tokens actually run through the model."""

    prefill_tokens: int = 0
    generated_tokens: int = 0
    rows: int = 0
    distinct_prompts: int = 0
    chunks: int = 0


class RowSeededGumbel(LogitsProcessor):
    """Adds Gumbel noise from one generator per row to already warped logits: the argmax is then a sample from the
    softmax, and each row's draw depends only on its own seed and step."""

    def __init__(self, seeds: Sequence[int]):
        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        vocab = scores.shape[-1]
        uniform = torch.stack([torch.rand(vocab, generator=g) for g in self.generators])
        gumbel = -torch.log(-torch.log(uniform.clamp_(min=1e-20, max=1.0 - 1e-7)))
        return scores + gumbel.to(device=scores.device, dtype=scores.dtype)


class _DecodeProgress(StoppingCriteria):
    """Reports decoding progress in samples: each step a running row adds 1 / max_new_tokens, and a row that
    finishes adds what is left of its 1. Never stops anything."""

    def __init__(self, callback: ProgressCallback, rows: int, max_new_tokens: int, eos_ids: set[int]):
        self.callback, self.max_new_tokens = callback, max_new_tokens
        self.eos = torch.tensor(sorted(eos_ids)) if eos_ids else None
        self.done = torch.zeros(rows, dtype=torch.bool)
        self.steps = 0

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        self.steps += 1
        running = ~self.done
        finished = torch.zeros_like(self.done)
        if self.eos is not None:
            finished = running & torch.isin(input_ids[:, -1].cpu(), self.eos)
        if self.steps >= self.max_new_tokens:
            finished = running
        still = (running & ~finished).sum().item()
        step = still / self.max_new_tokens
        rest = finished.sum().item() * (1.0 - (self.steps - 1) / self.max_new_tokens)
        self.done |= finished
        decode_status(self.callback, still, len(self.done), self.steps, self.max_new_tokens)
        if step or rest:
            self.callback(step + rest)
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


@dataclass
class TransformersBackend:
    """Sample completions from a transformers causal LM.

    Args:
        model: the causal LM.
        tokenizer: its tokenizer.
        max_batch_size: most sequences decoded together; larger requests are split into chunks.
        share_prefill: prefill each distinct prompt once, and the prefix that all distinct prompts of a batch share
            (system prompt, instructions, a demonstration, the query) once for all of them (``False`` gives plain
            expanded ``generate``, for benchmarks).
        min_shared_prefix: shortest common prefix (tokens) worth its own forward pass.
    """

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    max_batch_size: int = 64
    share_prefill: bool = True
    min_shared_prefix: int = 16
    last_stats: GenerationStats = field(default_factory=GenerationStats)

    def __post_init__(self) -> None:
        if self.max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {self.max_batch_size}")
        base = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model  # PEFT
        params = inspect.signature(type(base).forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"

    @property
    def max_context(self) -> int | None:
        """The model's context window in tokens, when its config states one."""
        for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
            value = getattr(self.model.config, name, None)
            if isinstance(value, int) and value > 0:
                return value
        return None

    def render(self, messages: Messages) -> str:
        """The prompt text of chat ``messages`` (the tokenizer's chat template)."""
        return apply_chat_template(self.tokenizer, messages)

    def generate(
        self,
        messages: Sequence[Messages],
        counts: Sequence[int],
        sampling: SamplingParams,
        *,
        seeds: Sequence[Sequence[int]] | None = None,
        progress: bool | ProgressCallback = False,
        score_lines: Sequence[ScoreLine | None] | None = None,
    ) -> list[list[Generation]]:
        """The backend interface (:class:`~trl_grm.backends.base.GenerationBackend`): chat messages in, grouped
        generations out; raises :class:`~trl_grm.backends.base.ContextOverflowError` before generating when a
        prompt does not fit. ``score_lines``: constrained score lines (:mod:`~trl_grm.backends.score_line`)."""
        check_request(messages, counts, seeds)
        check_score_lines(score_lines, len(messages))
        prompts = [self.render(m) for m in messages]
        ids = self.encode(prompts)
        reserve = score_line_reserve(score_lines)
        check_context([len(x) for x in ids], sampling.max_new_tokens + reserve, self.max_context)
        return self.generate_prompts(
            prompts,
            counts,
            max_new_tokens=sampling.max_new_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            seeds=seeds,
            progress=progress,
            prompt_ids=ids,
            score_lines=score_lines,
        )

    def encode(self, prompts: Sequence[str]) -> list[list[int]]:
        """Token ids of fully rendered prompts (the chat template already added any special tokens).

        ``verbose=False``: an over-long prompt is reported by the caller with its token counts, not by the
        tokenizer's generic warning."""
        return self.tokenizer(list(prompts), add_special_tokens=False, verbose=False)["input_ids"]

    def _generation_config(self, max_new_tokens: int) -> GenerationConfig:
        """Greedy decoding; sampling is done by :class:`RowSeededGumbel` on top of the warped logits."""
        config = GenerationConfig.from_dict(self.model.generation_config.to_dict())
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        eos = config.eos_token_id if config.eos_token_id is not None else self.tokenizer.eos_token_id
        config.update(
            max_new_tokens=max_new_tokens,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            num_return_sequences=1,
            pad_token_id=pad,
            eos_token_id=eos,
            max_length=None,
            min_new_tokens=None,
        )
        return config

    def _common_prefix(self, prompts: Sequence[Sequence[int]]) -> int:
        """Length of the token prefix all ``prompts`` share (leaving every prompt at least one token of its own), or
        0 when it is too short to be worth a separate forward pass (or there is only one prompt)."""
        if len(prompts) < 2:
            return 0
        limit = min(len(x) for x in prompts) - 1
        first = prompts[0]
        n = 0
        while n < limit and all(x[n] == first[n] for x in prompts):
            n += 1
        return n if n >= self.min_shared_prefix else 0

    @torch.no_grad()
    def generate_prompts(
        self,
        prompts: Sequence[str],
        counts: Sequence[int],
        *,
        max_new_tokens: int,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seeds: Sequence[Sequence[int]] | None = None,
        seed: int | None = None,
        progress: bool | ProgressCallback = False,
        prompt_ids: Sequence[Sequence[int]] | None = None,
        score_lines: Sequence[ScoreLine | None] | None = None,
    ) -> list[list[Generation]]:
        """Sample ``counts[i]`` completions of the rendered prompt text ``prompts[i]``; returns them grouped per
        prompt.

        Args:
            seeds: ``seeds[i][j]`` seeds the j-th sample of prompt i (a sample depends only on its prompt and its
                seed). Without it, ``seed`` derives one per row from ``(seed, i, j)``; with neither, sampling is
                not reproducible. Ignored when ``temperature`` is 0 (greedy).
            progress: ``True`` for a progress bar, or a callback that receives finished work in samples (fractions
                while a batch decodes, so that long batches show movement).
        """
        check_request(prompts, counts, seeds)
        if seeds is None:
            if seed is None:
                seed = int(torch.randint(0, 2**62, (1,)).item())
            seeds = [[(seed * 1_000_003 + i) * 1_000_033 + j for j in range(c)] for i, c in enumerate(counts)]
        ids = [list(x) for x in prompt_ids] if prompt_ids is not None else self.encode(prompts)
        config = self._generation_config(max_new_tokens + score_line_reserve(score_lines))
        eos = config.eos_token_id
        eos_ids = set(eos if isinstance(eos, (list, tuple)) else [eos]) if eos is not None else set()
        warpers = []
        if temperature > 0:
            warpers = [TemperatureLogitsWarper(temperature)]
            if top_p < 1.0:
                warpers.append(TopPLogitsWarper(top_p))

        # Rows (prompt, sample) sorted by prompt length (less padding), split into chunks of at most max_batch_size.
        rows = [(p, j) for p in sorted(range(len(prompts)), key=lambda p: -len(ids[p])) for j in range(counts[p])]
        chunks = [rows[i : i + self.max_batch_size] for i in range(0, len(rows), self.max_batch_size)]
        results: list[list[Generation | None]] = [[None] * c for c in counts]
        stats = GenerationStats()
        with progress_reporter(progress, len(rows)) as report:
            for chunk in chunks:
                processors = LogitsProcessorList(warpers)
                if warpers:
                    processors.append(RowSeededGumbel([seeds[p][j] for p, j in chunk]))
                stopping = StoppingCriteriaList()
                if report is not None:
                    stopping.append(_DecodeProgress(report, len(chunk), max_new_tokens, eos_ids))
                lines = None if score_lines is None else ([score_lines[p] for p, _ in chunk], max_new_tokens)
                generations = self._generate_chunk(
                    [p for p, _ in chunk], ids, config, eos_ids, stats, processors, stopping, lines
                )
                for (p, j), generation in zip(chunk, generations):
                    results[p][j] = generation
        self.last_stats = stats
        return results  # type: ignore[return-value]

    def _generate_chunk(
        self, chunk, ids, config, eos_ids, stats: GenerationStats, processors, stopping, lines=None
    ) -> list[Generation]:
        device = self.model.device
        pad = config.pad_token_id
        distinct = list(dict.fromkeys(chunk))
        slot = {p: i for i, p in enumerate(distinct)}
        shared = self._common_prefix([ids[p] for p in distinct]) if self.share_prefill else 0
        # Layout per distinct prompt: [common prefix | left padding | rest of the prompt]. Without a common prefix
        # this is plain left padding. Positions skip the padding (they come from the attention mask).
        width = shared + max(len(ids[p]) - shared for p in distinct)
        input_ids = torch.full((len(distinct), width), pad, dtype=torch.long)
        attention = torch.zeros((len(distinct), width), dtype=torch.long)
        for i, p in enumerate(distinct):
            input_ids[i, :shared] = torch.tensor(ids[p][:shared], dtype=torch.long)
            attention[i, :shared] = 1
            rest = ids[p][shared:]
            input_ids[i, width - len(rest) :] = torch.tensor(rest, dtype=torch.long)
            attention[i, width - len(rest) :] = 1
        input_ids, attention = input_ids.to(device), attention.to(device)
        select = torch.tensor([slot[p] for p in chunk], device=device)
        kwargs = {}
        if self.share_prefill and width > 1:
            cache = DynamicCache(config=self.model.config)
            positions = (attention.cumsum(-1) - 1).clamp(min=0)
            if shared:  # the prefix every prompt of the chunk starts with: once, then copied to every prompt
                self.model(input_ids=input_ids[:1, :shared], use_cache=True, **{self._cache_kw: cache})
                cache.batch_repeat_interleave(len(distinct))
            if width - 1 > shared:
                self.model(
                    input_ids=input_ids[:, shared:-1],
                    attention_mask=attention[:, :-1],
                    position_ids=positions[:, shared:-1],
                    use_cache=True,
                    **{self._cache_kw: cache},
                )
            cache.batch_select_indices(select)
            kwargs[self._cache_kw] = cache
            stats.prefill_tokens += shared + sum(len(ids[p]) - shared - 1 for p in distinct) + len(chunk)
        else:
            stats.prefill_tokens += sum(len(ids[p]) for p in chunk)
        constraint = None
        if lines is not None:  # first: the other processors then sample among the allowed tokens only
            constraint = ScoreLineProcessor(self.tokenizer, lines[0], width, eos_ids, free_budget=lines[1])
            processors = LogitsProcessorList([constraint, *processors])
        out = self.model.generate(
            input_ids=input_ids[select],
            attention_mask=attention[select],
            generation_config=config,
            logits_processor=processors,
            stopping_criteria=stopping,
            **kwargs,
        )
        new = out[:, width:].tolist()
        generations = []
        for r, row in enumerate(new):
            end = next((j for j, t in enumerate(row) if t in eos_ids), None)
            tokens = row[:end] if end is not None else row
            cut = constraint is not None and r in constraint.cut  # ended at max_new_tokens outside a score line
            stopped = end is not None and not cut
            generations.append(
                Generation(
                    text=self.tokenizer.decode(tokens, skip_special_tokens=True),
                    finish_reason="stop" if stopped else "length",
                    num_tokens=len(tokens) + (1 if stopped else 0),
                )
            )
            stats.generated_tokens += generations[-1].num_tokens
        stats.rows += len(chunk)
        stats.distinct_prompts += len(distinct)
        stats.chunks += 1
        return generations
