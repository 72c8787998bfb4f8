"""Preference data in the formats people have, normalised to one listwise form: :class:`LabeledInput`.

Formats (detected from the columns, or named with ``format=``):

- ``"pairwise"``: ``prompt/chosen/rejected`` (TRL's preference format, standard or conversational, implicit prompt
  included; RewardBench-style rows; raw Anthropic HH transcripts). The chosen response goes to a seeded random
  position, opposite within each pair of rows, so labels are balanced (:func:`chosen_position`).
- ``"best_of_n"``: ``prompt/responses/best_index`` (order kept as given).
- ``"ratings"``: ``prompt/responses/ratings``; the best is the unique maximum, rows with a tied maximum are skipped.
- ``"single"``: ``prompt/response/label`` with a 0/1 correctness label (also TRL's unpaired
  ``prompt/completion/label``).

A ``messages`` column (a multi-turn context ending with the user turn) takes precedence over ``prompt``. ``id``,
``principles`` and ``reference`` columns fill the :class:`~trl_grm.protocol.inputs.GRMInput` fields; every other
column (``source``, ``subset``, ``meta``, ...) is kept in :attr:`LabeledInput.meta`. Rows whose labelled best
response is textually identical to another response are skipped (the label cannot be decided) and counted.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain, islice
from numbers import Integral, Real
from typing import Any

from ..protocol.template import Context, validate_context
from .examples import ORDER_KEY, LabeledInput, LoadReport, examples_fingerprint
from .rows import open_rows

__all__ = [
    "FORMATS",
    "ORDER_KEY",
    "LabeledInput",
    "LoadReport",
    "chosen_position",
    "detect_format",
    "examples_fingerprint",
    "load_preference_data",
    "to_listwise",
]

FORMATS = ("pairwise", "best_of_n", "ratings", "single")

# Columns whose presence identifies a format (any one signature of a format suffices).
_SIGNATURES: dict[str, tuple[frozenset[str], ...]] = {
    "pairwise": (frozenset({"chosen", "rejected"}),),
    "best_of_n": (frozenset({"responses", "best_index"}),),
    "ratings": (frozenset({"responses", "ratings"}),),
    "single": (frozenset({"response", "label"}), frozenset({"completion", "label"})),
}
# Columns a format consumes; the rest go to ``LabeledInput.meta``.
_COMMON_COLUMNS = frozenset({"prompt", "messages", "id", "principles", "reference"})
_USED_COLUMNS = {
    "pairwise": _COMMON_COLUMNS | {"chosen", "rejected"},
    "best_of_n": _COMMON_COLUMNS | {"responses", "best_index"},
    "ratings": _COMMON_COLUMNS | {"responses", "ratings"},
    "single": _COMMON_COLUMNS | {"response", "completion", "label"},
}
_HH_TURN = re.compile(r"(?:^|\n\n)(Human|Assistant): ")


class _Skip(Exception):
    """A row that is valid but cannot be labelled (``reason``: ``"tie"`` or ``"identical"``)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# ----------------------------------------------------------------------------------------------------- detection
def detect_format(columns: Iterable[str], index: int = 0) -> str:
    """The format whose columns are present; an error when none or several match (then pass ``format=``)."""
    columns = set(columns)
    found = [name for name, signatures in _SIGNATURES.items() if any(s <= columns for s in signatures)]
    if len(found) == 1:
        return found[0]
    expected = "prompt/chosen/rejected, prompt/responses/best_index, prompt/responses/ratings or prompt/response/label"
    if not found:
        raise ValueError(
            f"Row {index}: cannot detect the preference format from its columns {sorted(columns)}; expected "
            f"{expected} (or pass format= one of {FORMATS})"
        )
    raise ValueError(f"Row {index}: columns {sorted(columns)} fit several formats {found}; pass format= to choose one")


def _check_format(format: str) -> str:
    if format not in FORMATS:
        raise ValueError(f"Unknown preference format {format!r}; expected one of {FORMATS}")
    return format


# ------------------------------------------------------------------------------------------------------- helpers
def _where(index: int, column: str) -> str:
    return f"Row {index}, column {column!r}"


def _require(row: Mapping[str, Any], index: int, columns: Sequence[str], format: str) -> None:
    for column in columns:
        if row.get(column) is None:
            raise ValueError(f"{_where(index, column)}: missing or null (the {format!r} format needs {list(columns)})")


def _is_messages(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) > 0
        and all(isinstance(m, Mapping) and "role" in m for m in value)
    )


def _plain(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"role": m["role"], "content": m.get("content")} for m in messages]


def _context(row: Mapping[str, Any], index: int, required: bool = True) -> tuple[Context | None, str]:
    """The conversation context (``messages`` before ``prompt``) and the column it came from."""
    column = "messages" if row.get("messages") is not None else "prompt"
    value = row.get(column)
    if value is None:
        if required:
            raise ValueError(f"{_where(index, 'prompt')}: missing or null (give a 'prompt' or 'messages' column)")
        return None, column
    if isinstance(value, (list, tuple)):
        if not all(isinstance(m, Mapping) for m in value):
            raise TypeError(f"{_where(index, column)}: chat messages must be dicts with 'role' and 'content'")
        value = _plain(value)
    try:
        return validate_context(value, where="context"), column
    except (TypeError, ValueError) as error:
        raise type(error)(f"{_where(index, column)}: {error}") from None


def _text(value: Any, index: int, column: str, what: str = "the response") -> str:
    """A non-empty response string; a conversational value must be a single assistant message."""
    if _is_messages(value):
        if len(value) != 1 or value[0]["role"] != "assistant":
            roles = [m["role"] for m in value]
            raise ValueError(
                f"{_where(index, column)}: {what} must be one assistant message, got roles {roles} (a "
                f"conversation that repeats the prompt must start with the prompt's messages)"
            )
        value = value[0].get("content")
    if not isinstance(value, str):
        raise TypeError(f"{_where(index, column)}: {what} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{_where(index, column)}: {what} is empty")
    return value


def _optional_str(row: Mapping[str, Any], index: int, column: str) -> str | None:
    value = row.get(column)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{_where(index, column)}: must be a string, got {type(value).__name__}")
    return value


def _responses(row: Mapping[str, Any], index: int, column: str = "responses") -> list[str]:
    value = row[column]
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(f"{_where(index, column)}: must be a list of strings, got {type(value).__name__}")
    if len(value) < 2:
        raise ValueError(
            f"{_where(index, column)}: needs at least 2 responses, got {len(value)} (for one response use the "
            f"'single' format: prompt/response/label)"
        )
    return [_text(r, index, column, what=f"response {j}") for j, r in enumerate(value)]


def _index(value: Any, index: int, column: str, n: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{_where(index, column)}: must be an integer response index, got {value!r}")
    if not 0 <= value < n:
        raise ValueError(f"{_where(index, column)}: {value} is out of range for {n} responses (0..{n - 1})")
    return int(value)


def _hh_messages(text: str) -> list[dict[str, str]] | None:
    """Parse a raw Anthropic HH transcript (``"\\n\\nHuman: ...\\n\\nAssistant: ..."``) into chat messages."""
    if not isinstance(text, str) or not text.lstrip().startswith("Human:"):
        return None
    parts = _HH_TURN.split(text.lstrip())
    if parts[0].strip() or len(parts) < 3:
        return None
    roles = {"Human": "user", "Assistant": "assistant"}
    return [{"role": roles[name], "content": body.strip()} for name, body in zip(parts[1::2], parts[2::2])]


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a["role"] == b["role"] and a.get("content") == b.get("content")


def _split_conversations(
    index: int, context: Context | None, chosen: list, rejected: list
) -> tuple[Context | None, list, list]:
    """TRL's conversational preference rows: strip the prompt that full conversations repeat (or extract it)."""
    chosen, rejected = _plain(chosen), _plain(rejected)
    common = 0
    while common < min(len(chosen), len(rejected)) and _same(chosen[common], rejected[common]):
        common += 1
    if isinstance(context, list):
        k = len(context)
        if all(len(c) > k and all(_same(x, y) for x, y in zip(c[:k], context)) for c in (chosen, rejected)):
            return context, chosen[k:], rejected[k:]
        if common:
            raise ValueError(
                f"{_where(index, 'chosen')}: 'chosen' and 'rejected' share {common} leading message(s) but do not "
                f"start with the prompt's messages"
            )
        return context, chosen, rejected
    if common:  # implicit prompt (TRL's extract_prompt): the shared leading messages
        try:
            prefix = validate_context(chosen[:common], where="shared leading messages of 'chosen' and 'rejected'")
        except (TypeError, ValueError) as error:
            raise type(error)(f"{_where(index, 'chosen')}: {error}") from None
        return list(prefix), chosen[common:], rejected[common:]
    return context, chosen, rejected


# ------------------------------------------------------------------------------------------------ row converters
def _pairwise(row: Mapping[str, Any], index: int, position: int) -> tuple[Context, list[str], int]:
    _require(row, index, ("chosen", "rejected"), "pairwise")
    context, _ = _context(row, index, required=False)
    chosen, rejected = row["chosen"], row["rejected"]
    if context is None and isinstance(chosen, str) and isinstance(rejected, str):
        hh_chosen, hh_rejected = _hh_messages(chosen), _hh_messages(rejected)
        if hh_chosen and hh_rejected:
            chosen, rejected = hh_chosen, hh_rejected
    conversational = (_is_messages(chosen), _is_messages(rejected))
    if any(conversational):
        if not all(conversational):
            column = "rejected" if conversational[0] else "chosen"
            raise TypeError(
                f"{_where(index, column)}: 'chosen' and 'rejected' must both be strings or both chat messages"
            )
        context, chosen, rejected = _split_conversations(index, context, list(chosen), list(rejected))
    if context is None:
        raise ValueError(
            f"{_where(index, 'prompt')}: missing or null (string rows need a 'prompt' or 'messages' column; an "
            f"implicit prompt is read only from conversational rows and Anthropic HH transcripts)"
        )
    good = _text(chosen, index, "chosen")
    bad = _text(rejected, index, "rejected")
    return context, ([good, bad] if position == 0 else [bad, good]), position


def _best_of_n(row: Mapping[str, Any], index: int, position: int) -> tuple[Context, list[str], int]:
    _require(row, index, ("responses", "best_index"), "best_of_n")
    context, _ = _context(row, index)
    responses = _responses(row, index)
    return context, responses, _index(row["best_index"], index, "best_index", len(responses))


def _ratings(row: Mapping[str, Any], index: int, position: int) -> tuple[Context, list[str], int]:
    _require(row, index, ("responses", "ratings"), "ratings")
    context, _ = _context(row, index)
    responses = _responses(row, index)
    ratings = row["ratings"]
    if isinstance(ratings, str) or not isinstance(ratings, Sequence):
        raise TypeError(f"{_where(index, 'ratings')}: must be a list of numbers, got {type(ratings).__name__}")
    if len(ratings) != len(responses):
        raise ValueError(f"{_where(index, 'ratings')}: {len(ratings)} ratings for {len(responses)} responses")
    for j, r in enumerate(ratings):
        if isinstance(r, bool) or not isinstance(r, Real):
            raise TypeError(f"{_where(index, 'ratings')}: rating {j} must be a number, got {r!r}")
        if math.isnan(r):
            raise ValueError(f"{_where(index, 'ratings')}: rating {j} is NaN")
    top = max(ratings)
    if sum(r == top for r in ratings) > 1:
        raise _Skip("tie")
    return context, responses, list(ratings).index(top)


def _single(row: Mapping[str, Any], index: int, position: int) -> tuple[Context, list[str], int]:
    column = "response" if row.get("response") is not None or "completion" not in row else "completion"
    _require(row, index, (column, "label"), "single")
    context, _ = _context(row, index)
    response = _text(row[column], index, column)
    label = row["label"]
    if isinstance(label, bool):
        label = int(label)
    if not isinstance(label, Integral) or label not in (0, 1):
        raise ValueError(f"{_where(index, 'label')}: a single response's label must be 0 or 1, got {label!r}")
    return context, [response], int(label)


_CONVERTERS = {"pairwise": _pairwise, "best_of_n": _best_of_n, "ratings": _ratings, "single": _single}


def chosen_position(seed: int, index: int) -> int:
    """Where row ``index``'s chosen response goes (0 or 1): random per pair of rows, opposite within the pair.

    Rows ``2k`` and ``2k + 1`` get opposite positions, so labels are balanced over any stretch of rows (a judge that
    always prefers one position scores 50% on pairwise data) yet unpredictable from the row index.
    """
    return random.Random(f"{seed}:{index // 2}:position").randrange(2) ^ (index % 2)


def _convert(row: Any, index: int, format: str, position: int) -> LabeledInput:
    if not isinstance(row, Mapping):
        raise TypeError(f"Row {index} must be a dict of columns, got {type(row).__name__}")
    context, responses, label = _CONVERTERS[format](row, index, position)
    if len(responses) > 1:
        best = responses[label].strip()
        if any(r.strip() == best for j, r in enumerate(responses) if j != label):
            raise _Skip("identical")
    meta = {key: value for key, value in row.items() if key not in _USED_COLUMNS[format]}
    meta["row"] = index
    return LabeledInput(
        context=context,
        responses=responses,
        principles=_optional_str(row, index, "principles"),
        reference=_optional_str(row, index, "reference"),
        id=row["id"] if row.get("id") is not None else index,
        label=label,
        meta=meta,
    )


def to_listwise(
    row: Mapping[str, Any], index: int, format: str, rng: random.Random | None = None
) -> LabeledInput | None:
    """Normalise one row; ``None`` when it is skipped (a tied top rating, or the best response duplicated).

    ``rng`` draws the position of a pairwise row's chosen response; without it the position is
    :func:`chosen_position` with seed 0, as :func:`load_preference_data` places it.
    """
    position = rng.randrange(2) if rng is not None else chosen_position(0, index)
    try:
        return _convert(row, index, _check_format(format), position)
    except _Skip:
        return None


def load_preference_data(
    source: Any, *, format: str | None = None, seed: int = 0, limit: int | None = None
) -> tuple[list[LabeledInput], LoadReport]:
    """Load preference data and normalise every row to a :class:`LabeledInput`.

    Args:
        source: a ``datasets.Dataset``, a path to a ``.jsonl`` / ``.json`` file, or a list of dicts.
        format: one of :data:`FORMATS`; detected from the columns (of the first row) when ``None``.
        seed: seeds the position of the chosen response in pairwise rows (:func:`chosen_position`).
        limit: read at most this many rows.

    Returns:
        The kept examples and a :class:`LoadReport`. Invalid rows raise a ``ValueError`` / ``TypeError`` that names
        the row index and the column.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a non-negative integer or None, got {limit!r}")
    rows, columns = open_rows(source)
    if limit is not None:
        rows = islice(rows, limit)
    first = next(rows, None)
    if first is None:
        raise ValueError("The preference data has no rows")
    if format is not None:
        format = _check_format(format)
    else:
        if columns is None:
            if not isinstance(first, Mapping):
                raise TypeError(f"Row 0 must be a dict of columns, got {type(first).__name__}")
            columns = list(first)
        format = detect_format(columns)
    report = LoadReport(format=format)
    examples: list[LabeledInput] = []
    labels: Counter[int] = Counter()
    for index, row in enumerate(chain([first], rows)):
        report.rows += 1
        try:
            example = _convert(row, index, format, chosen_position(seed, index))
        except _Skip as skip:
            if skip.reason == "tie":
                report.skipped_ties += 1
                report.tie_rows.append(index)
            else:
                report.skipped_identical += 1
                report.identical_rows.append(index)
            continue
        examples.append(example)
        labels[example.label] += 1
    report.kept = len(examples)
    report.label_counts = dict(sorted(labels.items()))
    return examples, report
