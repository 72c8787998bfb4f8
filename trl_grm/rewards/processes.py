"""What a reward call knows of TRL's batch: the text of a completion, and the processes of a distributed run (each
sees only its slice of the rows)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def completion_text(completion: Any) -> str:
    """The text of a completion: a string, or (conversational) the contents of its assistant messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence):
        parts = []
        for message in completion:
            if not isinstance(message, Mapping) or "content" not in message:
                raise TypeError(f"a conversational completion must be a list of chat messages, got {completion!r}")
            if message.get("role", "assistant") == "assistant":
                content = message["content"]
                if isinstance(content, list):  # content blocks
                    content = "".join(b.get("text", "") for b in content if isinstance(b, Mapping))
                parts.append(str(content))
        return "\n".join(parts)
    raise TypeError(f"a completion must be a string or a list of chat messages, got {type(completion).__name__}")


def distributed() -> tuple[int, int]:
    """(this process's index, the number of processes) of the torch.distributed job, (0, 1) outside one."""
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover - torch is a dependency
        return 0, 1
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def all_gather(obj: Any, world: int) -> list[Any]:
    """``obj`` of every process, in process order (``[obj]`` with one process)."""
    if world == 1:
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * world
    dist.all_gather_object(out, obj)
    return out


def process_device() -> Any:
    """This process's accelerator device (``None`` on CPU: the model loads where transformers puts it)."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        return None
    if torch.cuda.is_available():
        from accelerate import PartialState

        return PartialState().device
    return None
