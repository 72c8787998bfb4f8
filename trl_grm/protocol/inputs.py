"""Normalised scoring input: one place that validates what users pass in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .seeding import fingerprint
from .template import Context, validate_context, validate_responses

INPUT_KEYS = ("prompt", "responses", "principles", "reference", "id")


@dataclass
class GRMInput:
    """A query with its candidate responses (original order) and optional given principles / reference answer."""

    context: Context
    responses: list[str]
    principles: str | None = None
    reference: str | None = None
    id: Any = None

    @property
    def fingerprint(self) -> str:
        """A digest of what the judge sees (prompt, responses, principles, reference; not the id or a label): it
        keys the input's seeds and identifies it in resumable outputs."""
        return fingerprint([self.context, self.responses, self.principles, self.reference])


def to_input(item: Any, index: int = 0) -> GRMInput:
    """Validate one ``{"prompt", "responses", ["principles"], ["reference"], ["id"]}`` dict (or a GRMInput)."""
    if isinstance(item, GRMInput):
        return item
    where = f"input {index}"
    if not isinstance(item, Mapping):
        raise TypeError(f"{where} must be a dict with 'prompt' and 'responses', got {type(item).__name__}")
    unknown = sorted(set(item) - set(INPUT_KEYS))
    if unknown:
        raise ValueError(f"{where} has unknown key(s) {unknown}; allowed keys: {list(INPUT_KEYS)}")
    if "prompt" not in item:
        raise ValueError(f"{where} is missing 'prompt'")
    if "responses" not in item:
        raise ValueError(f"{where} is missing 'responses'")
    context = validate_context(item["prompt"], where=f"prompt of {where}")
    responses = validate_responses(item["responses"], where=f"responses of {where}")
    for key in ("principles", "reference"):
        if item.get(key) is not None and not isinstance(item[key], str):
            raise TypeError(f"'{key}' of {where} must be a string, got {type(item[key]).__name__}")
    return GRMInput(context, responses, item.get("principles"), item.get("reference"), item.get("id"))


def to_inputs(inputs: Any) -> tuple[list[GRMInput], bool]:
    """Normalise one input or a list of inputs; also says whether a single input was given."""
    if isinstance(inputs, (Mapping, GRMInput)):
        return [to_input(inputs)], True
    if isinstance(inputs, Sequence) and not isinstance(inputs, str):
        if len(inputs) == 0:
            raise ValueError("No inputs given: pass a dict or a non-empty list of dicts")
        return [to_input(item, i) for i, item in enumerate(inputs)], False
    raise TypeError(f"Inputs must be a dict or a list of dicts, got {type(inputs).__name__}")
