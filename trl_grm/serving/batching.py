"""Micro-batching of scoring requests: concurrent jobs with equal scoring parameters are joined into one engine call
(an input's result depends only on the seed, the input and the parameters, so batching never changes an answer)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


@dataclass
class _Job:
    items: list[Any]
    params: dict[str, Any]
    future: asyncio.Future = field(repr=False)


class MicroBatcher:
    """Collects jobs with equal scoring parameters into engine calls of at most ``max_batch_inputs`` inputs."""

    def __init__(
        self, score: Callable[..., list[Any]], max_batch_inputs: int, max_wait_ms: float, max_queue_inputs: int
    ):
        self.score = score
        self.max_batch_inputs, self.max_wait_ms, self.max_queue_inputs = (
            max_batch_inputs,
            max_wait_ms,
            max_queue_inputs,
        )
        self.queue: asyncio.Queue[_Job] = asyncio.Queue()
        self.pending_inputs = 0
        self.engine_calls = 0
        self._task: asyncio.Task | None = None
        self._lock = threading.Lock()  # one engine call at a time

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def full(self, n: int) -> bool:
        return self.pending_inputs + n > self.max_queue_inputs

    async def submit(self, items: list[Any], params: dict[str, Any]) -> list[Any]:
        job = _Job(items, params, asyncio.get_running_loop().create_future())
        self.pending_inputs += len(items)
        await self.queue.put(job)
        # shield: a client that disconnects cancels its handler, not the job; its result is simply not sent
        return await asyncio.shield(job.future)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        carry: list[_Job] = []
        while True:
            first = carry.pop(0) if carry else await self.queue.get()
            batch, size = [first], len(first.items)
            deadline = loop.time() + self.max_wait_ms / 1000
            while size < self.max_batch_inputs:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self.queue.get(), timeout)
                except asyncio.TimeoutError:
                    break
                if job.params == first.params and size + len(job.items) <= self.max_batch_inputs:
                    batch.append(job)
                    size += len(job.items)
                else:
                    carry.append(job)  # other settings, or too big for this batch: the next one
            items = [it for job in batch for it in job.items]
            try:
                results = await loop.run_in_executor(None, self._score, items, first.params)
            except Exception as err:  # noqa: BLE001 - the batch fails, the server stays up
                logger.exception("engine error in a batch of %d input(s)", len(items))
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(err)
            else:
                start = 0
                for job in batch:
                    if not job.future.done():  # the client may have gone: its result is dropped, nobody else's
                        job.future.set_result(results[start : start + len(job.items)])
                    start += len(job.items)
            finally:
                self.pending_inputs -= size

    def _score(self, items: list[Any], params: dict[str, Any]) -> list[Any]:
        with self._lock:
            self.engine_calls += 1
            return self.score(items, **params)
