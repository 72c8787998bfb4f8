"""The seam between a GRM and its engines: a backend only turns chat messages into generations.

Everything above it (response orders, rendering the judge prompt, parsing, mapping scores back, voting, the Meta RM)
lives once, in :class:`~trl_grm.GRMForPointwiseScoring`. A backend applies the chat template itself (or lets its
server do it) and does its own caching (shared prefill for transformers, prefix caching for vLLM). Nothing here
imports ``trl_grm.modeling`` or ``trl_grm.protocol``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

Messages = list[dict[str, str]]
ProgressCallback = Callable[[float], None]
BACKENDS = ("transformers", "vllm", "openai")


@dataclass
class Generation:
    """One sampled completion."""

    text: str
    finish_reason: str  # "stop" (end of sequence) or "length" (hit max_new_tokens); servers may say otherwise
    num_tokens: int


@dataclass(frozen=True)
class SamplingParams:
    """How to sample: ``temperature`` 0 is greedy."""

    max_new_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0


@dataclass(frozen=True)
class ScoreLine:
    """A constrained score line: once a generation writes ``header``, the only continuation allowed is one
    ``\\boxed{a, b, ...}`` holding exactly ``count`` integers in ``low .. high`` (after at most one space or newline,
    the integers separated by a comma and at most one space), then the end of the sequence. Engines enforce it with
    :meth:`pattern`: a logits processor (transformers), structured outputs (vLLM)."""

    count: int
    low: int
    high: int
    header: str = "Scores:"

    def __post_init__(self) -> None:
        if self.count < 1 or self.low > self.high or self.high - self.low > 1000:
            raise ValueError(f"a score line needs count >= 1 and a range of at most 1000 values, got {self}")

    def pattern(self) -> str:
        """The regular expression of the text after ``header``."""
        number = "(?:" + "|".join(str(v) for v in range(self.high, self.low - 1, -1)) + ")"
        return r"[ \n]?\\boxed\{" + number + "(?:, ?" + number + "){" + str(self.count - 1) + r"}\}"

    def budget(self) -> int:
        """An upper bound on the characters of a complete score line after the header (each at least one token)."""
        widest = max(len(str(self.low)), len(str(self.high)))
        return len(" \\boxed{}") + self.count * (widest + 2)


@runtime_checkable
class GenerationBackend(Protocol):
    """What a GRM needs from an engine.

    ``generate(messages, counts, sampling, seeds=..., progress=...)`` returns ``counts[i]`` generations for
    ``messages[i]``; ``seeds[i][j]`` seeds the j-th of them (a generation depends on its prompt and its seed only,
    never on the rest of the call). ``progress`` is ``True`` for a bar or a callback that gets finished work in
    samples. A backend that can count prompt tokens raises :class:`ContextOverflowError` before generating anything
    when a prompt plus ``max_new_tokens`` does not fit the model.

    Messages that end with an assistant turn are continued (the generation is the rest of that turn). A backend that
    can constrain the score line accepts ``score_lines`` (one :class:`ScoreLine` or ``None`` per prompt); a
    judgement that reached its header then always gets room to finish its score line, even past ``max_new_tokens``.
    """

    def generate(
        self,
        messages: Sequence[Messages],
        counts: Sequence[int],
        sampling: SamplingParams,
        *,
        seeds: Sequence[Sequence[int]] | None = None,
        progress: bool | ProgressCallback = False,
        score_lines: Sequence[ScoreLine | None] | None = None,
    ) -> list[list[Generation]]: ...


class ContextOverflowError(ValueError):
    """Prompt ``index`` of a call has ``prompt_tokens`` tokens; with ``max_new_tokens`` more it exceeds ``limit``."""

    def __init__(self, index: int, prompt_tokens: int, max_new_tokens: int, limit: int):
        self.index, self.prompt_tokens, self.max_new_tokens, self.limit = index, prompt_tokens, max_new_tokens, limit
        super().__init__(
            f"prompt {index} has {prompt_tokens} tokens and the generation needs up to {max_new_tokens} more "
            f"(max_new_tokens), over the model's context of {limit}"
        )


def check_context(lengths: Sequence[int], max_new_tokens: int, limit: int | None) -> None:
    """Raise :class:`ContextOverflowError` for the first prompt that does not fit."""
    if limit is None:
        return
    for index, length in enumerate(lengths):
        if length + max_new_tokens > limit:
            raise ContextOverflowError(index, length, max_new_tokens, limit)


def check_request(messages: Sequence[Messages], counts: Sequence[int], seeds: Sequence[Sequence[int]] | None) -> None:
    """Shape checks shared by every backend."""
    if len(messages) != len(counts):
        raise ValueError(f"{len(messages)} prompts but {len(counts)} counts")
    if seeds is not None and [len(s) for s in seeds] != list(counts):
        raise ValueError("seeds must hold one seed per sample: len(seeds[i]) == counts[i]")


def continues(messages: Messages) -> bool:
    """Whether ``messages`` end with an assistant turn that the generation continues."""
    return bool(messages) and messages[-1]["role"] == "assistant"


def apply_chat_template(tokenizer, messages: Messages) -> str:
    """Render chat messages with the tokenizer's template, merging the system turn into the user turn for
    templates that reject a system role; plain text when the tokenizer has no chat template. A final assistant turn
    is continued (``continue_final_message``), not closed."""
    more = continues(messages)
    if not getattr(tokenizer, "chat_template", None):
        text = "\n\n".join(m["content"] for m in messages)
        return text if more else text + "\n\n"
    kwargs = dict(tokenize=False, add_generation_prompt=not more, continue_final_message=more)
    try:
        return tokenizer.apply_chat_template(messages, **kwargs)
    except Exception:  # e.g. Gemma-style templates: "System role not supported"
        if messages[0]["role"] != "system":
            raise
        merged = [{"role": "user", "content": messages[0]["content"] + "\n\n" + messages[1]["content"]}, *messages[2:]]
        return tokenizer.apply_chat_template(merged, **kwargs)


def score_line_reserve(score_lines: Sequence[ScoreLine | None] | None) -> int:
    """Tokens past ``max_new_tokens`` a constrained score line may need to finish (its characters, and the end)."""
    return max((line.budget() + 1 for line in score_lines or () if line is not None), default=0)


def check_score_lines(score_lines: Sequence[ScoreLine | None] | None, num_prompts: int) -> None:
    if score_lines is not None and len(score_lines) != num_prompts:
        raise ValueError(f"{num_prompts} prompts but {len(score_lines)} score lines")
