"""Generations from a model served behind an OpenAI-compatible API (``vllm serve``, SGLang, TGI, ...).

A generation-only backend (:class:`~trl_grm.backends.base.GenerationBackend`): the GRM renders the judge prompt,
this backend sends it and returns the texts. ``endpoint="chat"`` posts chat messages to ``/chat/completions`` (the
server applies the model's chat template); ``endpoint="completions"`` renders them with a local tokenizer and posts
the text to ``/completions``. HTTP is httpx: bounded concurrency, a per-request timeout, retries with exponential
backoff on connection errors, timeouts, HTTP 429 and 5xx (a ``Retry-After`` header is honoured), none on other 4xx.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import httpx

from ..utils.progress import progress_reporter
from .base import (
    Generation,
    Messages,
    ProgressCallback,
    SamplingParams,
    apply_chat_template,
    check_request,
    continues,
)

logger = logging.getLogger(__name__)

_MAX_DELAY = 60.0  # seconds; cap of one backoff wait (Retry-After included)
ENDPOINTS = ("chat", "completions")


class OpenAICompatibleError(RuntimeError):
    """The endpoint refused a request, kept failing, or answered something that is not a completion."""


def request_seed(seed: int) -> int:
    """The seed sent for a request: the sample's seed folded into 31 bits (servers differ in what they accept)."""
    return int(seed) & 0x7FFFFFFF


class OpenAICompatibleBackend:
    """Sample completions from an OpenAI-compatible server.

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1``.
        model: the served model name (vLLM's ``--served-model-name``).
        endpoint: ``"chat"`` (messages; the server's chat template) or ``"completions"`` (text rendered here with
            ``tokenizer``, a tokenizer or a path / Hub id to load one from).
        api_key: sent as ``Authorization: Bearer``; ``$OPENAI_API_KEY`` or ``"EMPTY"`` when ``None``.
        timeout: seconds to wait for one HTTP response.
        max_concurrency: requests in flight at once.
        max_retries: retries of one request after a connection error, a timeout, HTTP 429 or 5xx.
        retry_backoff: first wait between retries in seconds, doubled each time (a ``Retry-After`` header wins).

    One request per distinct prompt asks for all its samples (``n``) with the seed of its first sample; a server that
    returns fewer choices is asked again for the rest, with the seed of the next missing sample.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        endpoint: str = "chat",
        tokenizer: Any = None,
        api_key: str | None = None,
        timeout: float = 120,
        max_concurrency: int = 8,
        max_retries: int = 3,
        retry_backoff: float = 1.0,
    ):
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL such as http://127.0.0.1:8000/v1, got {base_url!r}")
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be the served model's name, got {model!r}")
        if endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be one of {ENDPOINTS}, got {endpoint!r}")
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ValueError(f"timeout must be > 0, got {timeout!r}")
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ValueError(f"max_concurrency must be an integer >= 1, got {max_concurrency!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        if retry_backoff < 0:
            raise ValueError(f"retry_backoff must be >= 0, got {retry_backoff!r}")
        if endpoint == "completions":
            if tokenizer is None:
                raise ValueError("endpoint='completions' needs a tokenizer to render the chat template locally")
            if isinstance(tokenizer, (str, os.PathLike)):
                from transformers import AutoTokenizer

                tokenizer = AutoTokenizer.from_pretrained(tokenizer)
        base = base_url.rstrip("/")
        for suffix in ("/chat/completions", "/completions"):
            base = base.removesuffix(suffix)
        self.base_url = base
        self.url = f"{base}/chat/completions" if endpoint == "chat" else f"{base}/completions"
        self.model = model
        self.endpoint = endpoint
        self.tokenizer = tokenizer
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.timeout = timeout
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self._client = httpx.Client(
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency),
            headers={"Authorization": f"Bearer {self.api_key}"},
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, model={self.model!r})"

    def close(self) -> None:
        self._client.close()

    def render(self, messages: Messages) -> str:
        if self.tokenizer is None:
            raise ValueError("this endpoint applies the chat template on its server")
        return apply_chat_template(self.tokenizer, messages)

    # ------------------------------------------------------------------------------------------------ generation
    def generate(
        self,
        messages: Sequence[Messages],
        counts: Sequence[int],
        sampling: SamplingParams,
        *,
        seeds: Sequence[Sequence[int]] | None = None,
        progress: bool | ProgressCallback = False,
        score_lines: Sequence[Any] | None = None,
    ) -> list[list[Generation]]:
        """Chat messages in, grouped generations out. A final assistant turn is continued with vLLM's
        ``continue_final_message`` request field (other servers may not know it). Constrained score lines are not
        offered over HTTP: ``score_lines`` must be ``None``."""
        check_request(messages, counts, seeds)
        if score_lines is not None and any(line is not None for line in score_lines):
            raise ValueError(
                "constrained_scores needs the transformers or vLLM backend; the OpenAI-compatible backend cannot "
                "constrain a server's decoding"
            )
        results: list[list[Generation]] = [[] for _ in messages]
        todo = [p for p, c in enumerate(counts) if c > 0]
        if not todo:
            return results
        params = {"temperature": sampling.temperature, "top_p": sampling.top_p, "max_tokens": sampling.max_new_tokens}
        stop = threading.Event()  # set on the first error: the other requests give up instead of retrying
        pool = ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(todo)), thread_name_prefix="grm-http")
        with progress_reporter(progress, sum(counts)) as report:
            try:
                futures = {
                    pool.submit(
                        self._sample_prompt, messages[p], counts[p], params, seeds[p] if seeds else None, stop
                    ): p
                    for p in todo
                }
                for future in as_completed(futures):
                    p = futures[future]
                    results[p] = future.result()
                    if report is not None:
                        report(counts[p])
            except BaseException:
                stop.set()
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        return results

    def _sample_prompt(
        self,
        messages: Messages,
        count: int,
        params: dict[str, Any],
        seeds: Sequence[int] | None,
        stop: threading.Event,
    ) -> list[Generation]:
        """``count`` completions of one prompt, asking again while some are missing."""
        out: list[Generation] = []
        body: dict[str, Any] = {"model": self.model, **params}
        if self.endpoint == "chat":
            body["messages"] = messages
            if continues(messages):  # vLLM's extension: go on with the final assistant turn
                body.update(continue_final_message=True, add_generation_prompt=False)
        else:
            body["prompt"] = self.render(messages)
        while len(out) < count and not stop.is_set():
            body["n"] = count - len(out)
            if seeds is not None:
                body["seed"] = request_seed(seeds[len(out)])
            choices = self._choices(self._post(body, stop))
            if not choices:
                raise OpenAICompatibleError(f"{self.url} returned no choices for a request with n={body['n']}")
            out += choices[: count - len(out)]
        return out

    def _choices(self, response: Any) -> list[Generation]:
        """The choices of a (chat) completion response, in ``index`` order."""
        choices = response.get("choices") if isinstance(response, dict) else None
        if not isinstance(choices, list):
            raise OpenAICompatibleError(
                f"{self.url} did not answer with a completion (no 'choices'): {_snippet(response)}"
            )
        out = []
        for _, choice in sorted(enumerate(choices), key=lambda x: _choice_index(*x)):
            if not isinstance(choice, dict):
                raise OpenAICompatibleError(f"{self.url} returned a malformed choice: {_snippet(choice)}")
            if self.endpoint == "chat":
                message = choice.get("message")
                if not isinstance(message, dict):
                    raise OpenAICompatibleError(f"{self.url} returned a choice without a message: {_snippet(choice)}")
                content = message.get("content")
            else:
                content = choice.get("text")
            text = content if isinstance(content, str) else ""
            out.append(Generation(text, str(choice.get("finish_reason") or "unknown"), 0))
        return out

    def _post(self, body: dict[str, Any], stop: threading.Event) -> Any:
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            retry_after = None
            try:
                response = self._client.post(self.url, json=body)
            except httpx.TimeoutException as e:
                last = f"timed out after {self.timeout} s ({type(e).__name__})"
            except httpx.TransportError as e:
                last = f"cannot connect ({type(e).__name__}: {e}); is the server running?"
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError:
                        raise OpenAICompatibleError(
                            f"{self.url} answered with something that is not JSON: {response.text[:300]!r}"
                        ) from None
                message = _error_message(response)
                if response.status_code != 429 and response.status_code < 500:
                    raise OpenAICompatibleError(f"{self.url} returned HTTP {response.status_code}: {message}")
                last = f"HTTP {response.status_code}: {message}"
                retry_after = _retry_after(response)
            if attempt < self.max_retries:
                delay = min(_MAX_DELAY, max(self.retry_backoff * 2**attempt, retry_after or 0.0))
                logger.warning(
                    "%s failed (%s); retry %d/%d in %.1fs", self.url, last, attempt + 1, self.max_retries, delay
                )
                if stop.wait(delay):
                    raise OpenAICompatibleError(f"{self.url}: gave up retrying after another request failed")
        raise OpenAICompatibleError(f"{self.url} failed after {self.max_retries + 1} attempt(s); last error: {last}")


def _choice_index(position: int, choice: Any) -> int:
    index = choice.get("index") if isinstance(choice, dict) else None
    return index if isinstance(index, int) else position


def _snippet(value: Any, limit: int = 300) -> str:
    import json

    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + "..."


def _error_message(response: httpx.Response) -> str:
    """The server's own error message (OpenAI style ``{"error": {"message": ...}}``, FastAPI ``detail``, or text)."""
    try:
        payload = response.json()
    except ValueError:
        return _snippet(response.text.strip()) or response.reason_phrase
    if isinstance(payload, dict):
        inner = payload.get("error", payload)
        if isinstance(inner, dict):
            found = inner.get("message") or inner.get("detail")
            if found:
                return str(found)
        elif isinstance(inner, str):
            return inner
        if "detail" in payload:
            return _snippet(payload["detail"])
    return _snippet(payload)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except (TypeError, ValueError):
        return None
