"""``GRMForPointwiseScoring``: any causal LM as a pointwise generative reward model with voting@k."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from ..backends.base import ContextOverflowError, GenerationBackend, SamplingParams
from ..backends.transformers_backend import TransformersBackend
from ..protocol.inputs import GRMInput, to_inputs
from ..protocol.judging import GRMSample, group_samples, item_messages, parse_sample
from ..protocol.meta import meta_rm_scores
from ..protocol.parameters import ScoringParameters
from ..protocol.parsing import ParseStatus
from ..protocol.planner import plan_orders, sample_seed, tie_break_rng
from ..protocol.template import PRINCIPLES_MODES
from .configuration_grm import GRMConfig
from .drawing import draw_samples, judge_prompts
from .meta_rm import MetaScorer, as_meta_scorer
from .results import GRMResult, voted_result

__all__ = ["GRMForPointwiseScoring", "GRMResult", "load_grm_config"]

logger = logging.getLogger(__name__)


class GRMForPointwiseScoring:
    """A pointwise generative reward model: writes principles and a critique, then scores every response 1..10.

    One GRM over any engine: the response orders, the judge prompt, parsing, voting and the Meta RM live here; a
    backend (:mod:`trl_grm.backends`) only turns chat messages into generations. Build it from a transformers model
    and tokenizer (the default backend, with shared prefill), with ``backend=`` (e.g. a
    :class:`~trl_grm.backends.vllm_backend.VLLMBackend`), with :meth:`from_pretrained` (``backend="transformers"``
    or ``"vllm"``) or over a server with :meth:`from_endpoint`. The checkpoint stays an ordinary causal LM; the GRM
    settings are saved beside it in ``grm_config.json``.
    """

    config_class = GRMConfig

    def __init__(
        self,
        model: PreTrainedModel | None = None,
        tokenizer: PreTrainedTokenizerBase | None = None,
        config: GRMConfig | None = None,
        meta_rm: MetaScorer | str | os.PathLike | None = None,
        max_batch_size: int = 64,
        *,
        backend: GenerationBackend | None = None,
    ):
        if backend is None:
            if not isinstance(model, PreTrainedModel) and not hasattr(model, "get_base_model"):
                raise TypeError(f"model must be a PreTrainedModel or a PEFT model, got {type(model).__name__}")
            if not isinstance(tokenizer, PreTrainedTokenizerBase):
                raise TypeError(f"tokenizer must be a transformers tokenizer, got {type(tokenizer).__name__}")
            backend = TransformersBackend(model.eval(), tokenizer, max_batch_size=max_batch_size)
        elif not isinstance(backend, GenerationBackend):
            raise TypeError(f"backend must have a generate(messages, counts, sampling) method, got {backend!r}")
        self.backend = backend
        self.config = config if config is not None else GRMConfig()
        self.meta_rm = as_meta_scorer(meta_rm)

    @property
    def model(self) -> PreTrainedModel | None:
        """The transformers model of the transformers backend (``None`` for other engines)."""
        return getattr(self.backend, "model", None) if isinstance(self.backend, TransformersBackend) else None

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase | None:
        """The tokenizer of the transformers or vLLM backend (``None`` for a server)."""
        return getattr(self.backend, "tokenizer", None)

    # ----------------------------------------------------------------------------------------------- loading/saving
    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        *model_args,
        config: GRMConfig | None = None,
        tokenizer: PreTrainedTokenizerBase | None = None,
        meta_rm: MetaScorer | str | os.PathLike | None = None,
        max_batch_size: int = 64,
        backend: str = "transformers",
        backend_kwargs: dict[str, Any] | None = None,
        **kwargs,
    ) -> GRMForPointwiseScoring:
        """Load any causal-LM checkpoint (directory or Hub id) as a GRM; reads ``grm_config.json`` when present.

        ``backend="transformers"`` (default): extra keyword arguments go to ``AutoModelForCausalLM.from_pretrained``
        (``dtype``, ``device_map``, ``attn_implementation``, ``quantization_config``, ``revision``, ...).
        ``backend="vllm"``: an offline vLLM engine; ``backend_kwargs`` go to
        :class:`~trl_grm.backends.vllm_backend.VLLMBackend` (``tensor_parallel_size``, ``gpu_memory_utilization``,
        ``max_model_len``, ``dtype``, ``quantization``, ``enable_lora``, ...). ``trust_remote_code`` is never
        needed. For a served model use :meth:`from_endpoint`.
        """
        if backend not in ("transformers", "vllm"):
            hint = " (use GRMForPointwiseScoring.from_endpoint for a server)" if backend == "openai" else ""
            raise ValueError(f"backend must be 'transformers' or 'vllm' for from_pretrained, got {backend!r}{hint}")
        # transformers' Auto classes add private markers (e.g. ``_from_auto``) that the inner Auto call sets itself.
        kwargs = {k: v for k, v in kwargs.items() if not k.startswith("_")}
        hub = {k: kwargs[k] for k in ("revision", "token", "cache_dir", "local_files_only") if k in kwargs}
        if config is None:
            config = load_grm_config(pretrained_model_name_or_path, **hub)
        if meta_rm is None and config.meta_rm:
            meta_rm = _resolve_relative(pretrained_model_name_or_path, config.meta_rm)
        if backend == "vllm":
            from ..backends.vllm_backend import VLLMBackend

            engine = VLLMBackend(str(pretrained_model_name_or_path), **{**hub, **(backend_kwargs or {})})
            return cls(config=config, meta_rm=meta_rm, backend=engine)
        model = AutoModelForCausalLM.from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)
        if tokenizer is None:
            tokenizer = AutoTokenizer.from_pretrained(pretrained_model_name_or_path, **hub)
        return cls(model, tokenizer, config, meta_rm=meta_rm, max_batch_size=max_batch_size)

    @classmethod
    def from_endpoint(
        cls,
        base_url: str,
        model: str,
        config: GRMConfig | str | os.PathLike | None = None,
        meta_rm: MetaScorer | str | os.PathLike | None = None,
        **client_kwargs,
    ) -> GRMForPointwiseScoring:
        """The same GRM over an OpenAI-compatible server (``vllm serve``, SGLang, TGI, ...): ``base_url`` is the
        API root (e.g. ``http://127.0.0.1:8000/v1``) and ``model`` the served model name. ``config`` is a
        :class:`GRMConfig` or a directory holding ``grm_config.json`` (the defaults when ``None``);
        ``client_kwargs`` go to :class:`~trl_grm.backends.openai_backend.OpenAICompatibleBackend` (``api_key``,
        ``timeout``, ``max_concurrency``, ``max_retries``, ...)."""
        from ..backends.openai_backend import OpenAICompatibleBackend

        if config is not None and not isinstance(config, GRMConfig):
            config = GRMConfig.from_pretrained(config)
        return cls(config=config, meta_rm=meta_rm, backend=OpenAICompatibleBackend(base_url, model, **client_kwargs))

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs) -> None:
        """Save the causal LM (safetensors; loadable by plain transformers and vLLM), its tokenizer and the GRM
        settings. A Meta RM that has ``save_pretrained`` is stored in ``meta_rm/`` and referenced from the config."""
        if self.model is None:
            raise ValueError("save_pretrained needs the transformers backend (this GRM runs on another engine)")
        os.makedirs(save_directory, exist_ok=True)
        self.model.save_pretrained(save_directory, **kwargs)
        self.tokenizer.save_pretrained(save_directory)
        config = self.config
        if self.meta_rm is not None and hasattr(self.meta_rm, "save_pretrained"):
            self.meta_rm.save_pretrained(os.path.join(save_directory, "meta_rm"))
            config = GRMConfig(**{**config.to_dict(), "meta_rm": "meta_rm"})
        config.save_pretrained(save_directory)

    def push_to_hub(
        self,
        repo_id: str,
        *,
        private: bool | None = None,
        token: str | None = None,
        revision: str | None = None,
        create_pr: bool = False,
        commit_message: str | None = None,
        eval_markdown: str | None = None,
        base_model: str | None = None,
    ) -> str:
        """Save (weights as safetensors, tokenizer, ``grm_config.json``, the Meta RM, a GRM model card) to a temporary
        folder and upload it as one commit (or pull request); returns its URL."""
        import tempfile

        from .hub import push_folder, write_card

        with tempfile.TemporaryDirectory() as tmp:
            self.save_pretrained(tmp)
            write_card(tmp, repo_id=repo_id, base_model=base_model, eval_markdown=eval_markdown)
            return push_folder(
                tmp,
                repo_id,
                private=private,
                revision=revision,
                token=token,
                create_pr=create_pr,
                commit_message=commit_message,
            )

    # ------------------------------------------------------------------------------------------------- prompting
    def render_prompt(
        self,
        item: GRMInput,
        order: Sequence[int],
        principles_mode: str | None = None,
        hint: int | None = None,
        binary_single: bool = False,
    ) -> str:
        """The chat-formatted prompt text for ``item`` with responses shown in ``order`` (see :func:`item_messages`);
        needs a backend that renders locally (transformers or vLLM)."""
        if not hasattr(self.backend, "render"):
            raise ValueError(f"{type(self.backend).__name__} applies the chat template on its server")
        return self.backend.render(item_messages(self.config, item, order, principles_mode, hint, binary_single))

    # -------------------------------------------------------------------------------------------------- sampling
    def sample_judgements(
        self,
        items: Sequence[GRMInput],
        orders: Sequence[Sequence[Sequence[int]]],
        *,
        temperature: float,
        max_new_tokens: int,
        top_p: float | None = None,
        seed: int | None = 0,
        principles_mode: str | None = None,
        hints: Sequence[int | None] | None = None,
        binary_single: bool = False,
        sample_start: Sequence[int] | None = None,
        progress: bool | Callable[[float], None] = False,
        strict_context: bool = False,
        prefixes: Sequence[str | None] | None = None,
        constrained_scores: bool = False,
    ) -> list[list[GRMSample]]:
        """Sample and parse one judgement per order, for every item, in one batched generation.

        Samples of an item that see the same order share one prompt, whose prefill is computed once. ``hints`` are
        original indices of the best response (hinted sampling); ``binary_single`` uses the 0/1 variant for n = 1.
        Sample ``j`` of an item is seeded by ``(seed, the item's fingerprint, sample_start[item] + j)`` alone, so
        it does not depend on the other items, the batching, or where a resumed run restarts (``sample_start``:
        how many samples of each item an earlier call already drew). ``progress``: a bar, or a callback that gets
        finished work in samples. An item whose prompt does not fit the model's context gets samples with status
        ``context_overflow`` (nothing generated, nothing cut off); ``strict_context`` raises a ``ValueError`` instead.
        ``prefixes[item]``: text the item's judgements continue after (shared principles); it opens each sample's
        text, and only the continuation counts as generated. ``constrained_scores``: see :class:`ScoreLine`.
        """
        if principles_mode is not None and principles_mode not in PRINCIPLES_MODES:
            raise ValueError(f"principles_mode must be one of {PRINCIPLES_MODES}, got {principles_mode!r}")
        if sample_start is not None and len(sample_start) != len(items):
            raise ValueError(f"{len(items)} items but {len(sample_start)} sample_start values")
        prefixes = prefixes or [None] * len(items)
        groups = group_samples(items, orders, hints)
        messages, lines = judge_prompts(
            self.config, items, groups, principles_mode, binary_single, prefixes, constrained_scores
        )
        seeds = None
        if seed is not None:
            keys = [it.fingerprint for it in items]
            starts = sample_start or [0] * len(items)
            seeds = [[sample_seed(seed, keys[g.item], starts[g.item] + s) for s in g.samples] for g in groups]
        sampling = SamplingParams(max_new_tokens, temperature, self.config.top_p if top_p is None else top_p)
        overflow: dict[int, ContextOverflowError] = {}  # item -> why it does not fit
        while True:  # the backend checks every prompt before generating anything: drop an over-long item, retry
            live = [i for i, g in enumerate(groups) if g.item not in overflow]
            try:
                generations = self.backend.generate(
                    [messages[i] for i in live],
                    [len(groups[i].samples) for i in live],
                    sampling,
                    seeds=[seeds[i] for i in live] if seeds is not None else None,
                    progress=progress,
                    **{k: [v[i] for i in live] for k, v in lines.items()},
                ) if live else []  # fmt: skip
                break
            except ContextOverflowError as err:
                item = groups[live[err.index]].item
                if strict_context:
                    raise ValueError(_overflow_message(item, items[item].id, err)) from None
                overflow[item] = err
        samples: list[list[GRMSample | None]] = [[None] * len(o) for o in orders]
        for g, gens in zip((groups[i] for i in live), generations):
            prefix = prefixes[g.item] or ""
            for s, gen in zip(g.samples, gens):
                samples[g.item][s] = parse_sample(
                    self.config, items[g.item], g.order, prefix + gen.text, gen.finish_reason, binary_single,
                    max_new_tokens, gen.num_tokens,
                )  # fmt: skip
        for item, err in overflow.items():  # counted as failures of their own, never scored
            status, detail = ParseStatus.CONTEXT_OVERFLOW.value, _overflow_text(err)
            samples[item] = [
                GRMSample(list(o), "", status, "", "", None, "context_overflow", detail=detail) for o in orders[item]
            ]
        return samples  # type: ignore[return-value]

    # --------------------------------------------------------------------------------------------------- scoring
    def score(
        self,
        inputs: dict | GRMInput | Sequence[dict | GRMInput],
        params: ScoringParameters | None = None,
        *,
        return_samples: bool = True,
        meta_rm: MetaScorer | str | os.PathLike | None = None,
        progress: bool | Callable[[float], None] = False,
        strict_context: bool = False,
        **overrides: Any,
    ) -> GRMResult | list[GRMResult]:
        """Score 1..n responses per input with k sampled judgements and voting.

        Args:
            inputs: ``{"prompt": str | messages, "responses": [str, ...], "principles"?: str, "reference"?: str}``
                or a list of them.
            params: :class:`~trl_grm.protocol.parameters.ScoringParameters`; its fields can also be given as
                keywords, which win: ``num_samples`` (k; the config's by default), ``temperature`` (the config's
                0.5 when k > 1, greedy when k = 1), ``top_p``, ``max_new_tokens``, ``seed`` (orders, sampling and
                tie-break; ``None``: not reproducible), ``order_strategy`` (``"random"``: a seeded shuffle per
                sample; ``"balanced"``; ``"fixed"``), ``principles_mode`` (``"shared"``: written once per input),
                ``k_meta`` (Meta RM guided voting keeps the ``k_meta`` samples it rates highest, default k/2),
                ``adaptive`` (stop drawing once the best response is settled; ``adaptive_rule``, ``adaptive_alpha``,
                ``adaptive_round``) and ``constrained_scores`` (see :mod:`trl_grm.modeling.drawing`).
            return_samples: keep every sample's trail in the result.
            meta_rm: a Meta RM for this call (the GRM's own by default).
            progress: a progress bar, or a callback that gets finished work in samples.
            strict_context: an input that does not fit the model's context stops the call with a ``ValueError``
                (default: it is unscored, its samples failed with ``context_overflow``, and the rest are scored).
        Returns:
            A :class:`GRMResult` for a single input, else a list of them. An input's result depends only on the
            seed, the input and the parameters (the one planner, :mod:`trl_grm.protocol.planner`).
        """
        items, single = to_inputs(inputs)
        scorer = as_meta_scorer(meta_rm) if meta_rm is not None else self.meta_rm
        params = params or ScoringParameters()
        if overrides:
            ScoringParameters.from_kwargs(**overrides)  # an unknown keyword is a TypeError naming it
            params = dataclasses.replace(params, **overrides)
        settings = params.resolve(self.config, has_meta_rm=scorer is not None)
        seed, k, strategy = settings.seed, settings.num_samples, settings.order_strategy
        keys = [it.fingerprint for it in items]
        orders = [plan_orders(key, len(it.responses), k, strategy, seed) for key, it in zip(keys, items)]
        samples, stops = draw_samples(self, items, orders, settings, progress=progress, strict_context=strict_context)
        if scorer is not None:
            self._meta_score(scorer, items, samples)
        results = [
            voted_result(s, settings, tie_break_rng(seed, key), scorer is not None, return_samples, stopped_by=stop)
            for key, s, stop in zip(keys, samples, stops)
        ]
        unscored = sum(r.scores is None for r in results)
        if unscored:
            logger.warning(
                "%d of %d input(s) got no parseable judgement (see each result's 'error')", unscored, len(results)
            )
        return results[0] if single else results

    @staticmethod
    def _meta_score(scorer: MetaScorer, items: Sequence[GRMInput], samples: list[list[GRMSample]]) -> None:
        todo = [(b, s) for b, ss in enumerate(samples) for s in ss if s.scores is not None]
        jobs = [(items[b].context, [items[b].responses[i] for i in s.order], s.text) for b, s in todo]
        for (_, s), value in zip(todo, meta_rm_scores(scorer, jobs)):
            s.meta_score = value


def _overflow_message(index: int, item_id: Any, err: ContextOverflowError) -> str:
    name = f" (id {item_id!r})" if item_id is not None else ""
    return f"Input {index}{name} does not fit the model's context: {_overflow_text(err)}"


def _overflow_text(err: ContextOverflowError) -> str:
    return (
        f"its prompt has {err.prompt_tokens} tokens and the judgement needs up to {err.max_new_tokens} more "
        f"(max_new_tokens), over the limit of {err.limit}. Shorten the prompt or responses, or lower max_new_tokens; "
        "nothing is cut off, since the scores come last."
    )


def load_grm_config(pretrained_model_name_or_path: str | os.PathLike, **hub_kwargs) -> GRMConfig:
    """Alias of :meth:`GRMConfig.from_model`."""
    return GRMConfig.from_model(pretrained_model_name_or_path, **hub_kwargs)


def _resolve_relative(base: str | os.PathLike, ref: str) -> str:
    local = os.path.join(str(base), ref)
    return local if os.path.isdir(local) else ref
