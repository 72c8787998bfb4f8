"""Stable digests of JSON-serialisable values (inputs, settings), the same on every machine and run."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def fingerprint(obj: Any) -> str:
    """A stable hex digest of a JSON-serialisable object (dict keys sorted)."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
