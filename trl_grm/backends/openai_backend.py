"""Sample GRM judgements from a served model through an OpenAI-compatible ``/v1/chat/completions`` endpoint.

Works with vLLM's and SGLang's OpenAI servers (and any other server of that API). The judge prompt and the parsing
are the ones of :class:`~trl_grm.GRMForPointwiseScoring` (:func:`~trl_grm.modeling.modeling_grm.item_messages`,
:func:`parse_sample`); the server applies the model's chat template. Only the standard library is used for HTTP.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from tqdm.auto import tqdm

from ..modeling.configuration_grm import GRMConfig
from ..modeling.modeling_grm import GRMSample, group_samples, item_messages, parse_sample
from ..protocol.inputs import GRMInput
from ..protocol.template import PRINCIPLES_MODES

logger = logging.getLogger(__name__)

_MAX_DELAY = 60.0  # seconds; cap of one backoff wait (Retry-After included)


# ------------------------------------------------------------------------------------------------------- backend
class OpenAICompatibleError(RuntimeError):
    """The endpoint refused a request, kept failing, or answered something that is not a chat completion."""


def request_seed(seed: int, prompt_key: str, attempt: int = 0) -> int:
    """The sampling seed sent for one request: a stable 31-bit hash of the call's seed, the prompt's key (its input's
    fingerprint and first sample number, so not its place in the batch) and the request number for that prompt (a
    follow-up request must not repeat the samples it already got)."""
    digest = hashlib.sha256(f"{seed}:{prompt_key}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class OpenAICompatibleGRM:
    """A GRM served behind an OpenAI-compatible chat-completions endpoint, with the sampling interface of
    :class:`~trl_grm.GRMForPointwiseScoring` (``config`` and :meth:`sample_judgements`).

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1`` (``/chat/completions`` is appended).
        model: the served model name (vLLM's ``--served-model-name``).
        config: GRM settings (template, score range, ``top_p``); the defaults when ``None``.
        api_key: sent as ``Authorization: Bearer``; ``$OPENAI_API_KEY`` or ``"EMPTY"`` when ``None``.
        timeout: seconds to wait for one HTTP response.
        max_concurrency: requests in flight at once.
        max_retries: retries of one request after a connection error, a timeout, HTTP 429 or 5xx.
        retry_backoff: first wait between retries in seconds, doubled each time (a ``Retry-After`` header wins).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        config: GRMConfig | None = None,
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
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0, got {timeout!r}")
        if not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ValueError(f"max_concurrency must be an integer >= 1, got {max_concurrency!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        if retry_backoff < 0:
            raise ValueError(f"retry_backoff must be >= 0, got {retry_backoff!r}")
        base = base_url.rstrip("/")
        self.url = base if base.endswith("/chat/completions") else base + "/chat/completions"
        self.model = model
        self.config = config if config is not None else GRMConfig()
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.timeout = timeout
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff

    @classmethod
    def from_config_dir(cls, path: str | os.PathLike, base_url: str, model: str, **kwargs) -> OpenAICompatibleGRM:
        """Use the GRM settings saved in ``path/grm_config.json`` (``OSError`` when there is none)."""
        return cls(base_url, model, config=GRMConfig.from_pretrained(path), **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, model={self.model!r})"

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
    ) -> list[list[GRMSample]]:
        """Sample and parse one judgement per order, for every item (as
        :meth:`GRMForPointwiseScoring.sample_judgements <trl_grm.GRMForPointwiseScoring.sample_judgements>`).

        Samples of an item that see the same order share one request with ``n`` choices; a server that returns
        fewer choices is asked again for the rest. With a ``seed`` every request carries a seed derived from it, the
        item's fingerprint and the prompt's first sample number (:func:`request_seed`), so a deterministic server
        reproduces an item's samples whatever else is in the call.
        """
        if principles_mode is not None and principles_mode not in PRINCIPLES_MODES:
            raise ValueError(f"principles_mode must be one of {PRINCIPLES_MODES}, got {principles_mode!r}")
        groups = group_samples(items, orders, hints)
        messages = [
            item_messages(self.config, items[g.item], g.order, principles_mode, g.hint, binary_single) for g in groups
        ]
        params = {
            "temperature": temperature,
            "top_p": self.config.top_p if top_p is None else top_p,
            "max_tokens": max_new_tokens,
        }
        samples: list[list[GRMSample | None]] = [[None] * len(o) for o in orders]
        if not groups:
            return samples  # type: ignore[return-value]
        stop = threading.Event()  # set on the first error: the other requests give up instead of retrying
        pool = ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(groups)), thread_name_prefix="grm-http")
        total = sum(len(g.samples) for g in groups)
        starts = sample_start or [0] * len(items)
        keys = [f"{items[g.item].fingerprint}:{starts[g.item] + g.samples[0]}" for g in groups]
        try:
            with tqdm(total=total, desc="Sampling", unit="judgement", disable=progress is not True) as bar:
                futures = {
                    pool.submit(self._sample_prompt, keys[p], messages[p], len(g.samples), params, seed, stop): g
                    for p, g in enumerate(groups)
                }
                for future in as_completed(futures):
                    g = futures[future]
                    item = items[g.item]
                    for s, (text, finish_reason) in zip(g.samples, future.result()):
                        samples[g.item][s] = parse_sample(
                            self.config, item, orders[g.item][s], text, finish_reason, binary_single, max_new_tokens
                        )
                    bar.update(len(g.samples))
                    if callable(progress):
                        progress(len(g.samples))
        except BaseException:
            stop.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return samples  # type: ignore[return-value]

    def _sample_prompt(
        self,
        key: str,
        messages: list[dict[str, str]],
        count: int,
        params: dict[str, Any],
        seed: int | None,
        stop: threading.Event,
    ) -> list[tuple[str, str]]:
        """``count`` completions of one prompt as ``(text, finish_reason)``, asking again while some are missing."""
        out: list[tuple[str, str]] = []
        attempt = 0
        while len(out) < count and not stop.is_set():
            body = {"model": self.model, "messages": messages, **params, "n": count - len(out)}
            if seed is not None:
                body["seed"] = request_seed(seed, key, attempt)
            choices = self._choices(self._post(body, stop))
            if not choices:
                raise OpenAICompatibleError(f"{self.url} returned no choices for a request with n={body['n']}")
            out += choices[: count - len(out)]
            attempt += 1
        return out

    def _choices(self, response: Any) -> list[tuple[str, str]]:
        """``(content, finish_reason)`` of every choice of a chat-completion response, in ``index`` order."""
        choices = response.get("choices") if isinstance(response, dict) else None
        if not isinstance(choices, list):
            raise OpenAICompatibleError(
                f"{self.url} did not answer with a chat completion (no 'choices'): {_snippet(response)}"
            )
        out = []
        for _, choice in sorted(enumerate(choices), key=lambda x: _choice_index(*x)):
            message = choice.get("message") if isinstance(choice, dict) else None
            if not isinstance(message, dict):
                raise OpenAICompatibleError(f"{self.url} returned a choice without a message: {_snippet(choice)}")
            content = message.get("content")
            out.append((content if isinstance(content, str) else "", str(choice.get("finish_reason") or "unknown")))
        return out

    def _post(self, body: dict[str, Any], stop: threading.Event | None = None) -> Any:
        """POST ``body``; retries connection errors, timeouts, 429 and 5xx with exponential backoff (until ``stop``
        is set: another request of the call failed)."""
        stop = stop if stop is not None else threading.Event()
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"}
        last = ""
        for attempt in range(self.max_retries + 1):
            retry_after = None
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    raw = response.read()
                try:
                    return json.loads(raw)
                except ValueError:
                    raise OpenAICompatibleError(
                        f"{self.url} answered with something that is not JSON: {raw[:300]!r}"
                    ) from None
            except urllib.error.HTTPError as e:
                message = _error_message(e)
                if e.code != 429 and e.code < 500:
                    raise OpenAICompatibleError(f"{self.url} returned HTTP {e.code}: {message}") from None
                last = f"HTTP {e.code}: {message}"
                retry_after = _retry_after(e)
            except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
                last = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
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
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + "..."


def _error_message(error: urllib.error.HTTPError) -> str:
    """The server's own error message (OpenAI style ``{"error": {"message": ...}}``, FastAPI ``detail``, or text)."""
    try:
        raw = error.read().decode("utf-8", "replace")
    except Exception:  # the body may be gone already
        return str(error.reason)
    try:
        payload = json.loads(raw)
    except ValueError:
        return _snippet(raw.strip()) or str(error.reason)
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


def _retry_after(error: urllib.error.HTTPError) -> float | None:
    try:
        return float(error.headers.get("Retry-After", ""))
    except (TypeError, ValueError):
        return None
