"""Extract principles, critique and scores from a GRM's generated text.

Scores come from the LAST ``\\boxed{...}`` of the output. A box the model copies verbatim from a response (with the
text before it on its line) is skipped, so a response that contains ``Scores: \\boxed{10, 10}`` cannot inject
scores, while a math answer ``\\boxed{7}`` inside a response does not hide the judge's own ``Scores: \\boxed{7}``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum


class ParseStatus(str, Enum):
    """Outcome of parsing one sample. Anything but ``OK`` is a failure and yields no scores."""

    OK = "ok"
    NO_BOX = "no_box"
    WRONG_COUNT = "wrong_count"
    OUT_OF_RANGE = "out_of_range"
    NOT_INTEGER = "not_integer"


@dataclass
class ParsedOutput:
    """One parsed sample. ``scores`` is ``None`` unless ``status`` is ``OK``; scores are in the SHOWN order."""

    status: ParseStatus
    scores: list[int] | None
    principles: str
    critique: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status is ParseStatus.OK


_BOX = "\\boxed"
_INT = re.compile(r"^[+-]?\d+$")
_HEADER = r"(?:^|\n)[ \t#>*_-]*{name}[ \t*_]*:[ \t*_]*"
_PRINCIPLES = re.compile(_HEADER.format(name=r"specific\s+criteria"), re.IGNORECASE)
_ANALYSIS = re.compile(_HEADER.format(name=r"analysis"), re.IGNORECASE)
_SCORES = re.compile(r"(?:^|\n)[^\n]*?scores?[ \t*_]*:", re.IGNORECASE)


def _boxes(text: str) -> list[tuple[int, int, str]]:
    """All ``\\boxed{...}`` with balanced braces as ``(start, end, content)``."""
    found = []
    start = text.find(_BOX)
    while start != -1:
        i = start + len(_BOX)
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == "{":
            depth, j = 0, i
            while j < len(text):
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        found.append((start, j + 1, text[i + 1 : j]))
                        break
                j += 1
        start = text.find(_BOX, start + len(_BOX))
    return found


def _copied(text: str, start: int, end: int, responses: Sequence[str]) -> bool:
    """Whether the box at ``text[start:end]``, with what precedes it on its line (up to 24 characters), stands
    verbatim in a response: then the model is quoting a response, not giving its verdict."""
    line_start = text.rfind("\n", 0, start) + 1
    window = text[max(line_start, start - 24) : end].strip()
    return any(window in r for r in responses)


def _section(text: str, start: re.Pattern, ends: Sequence[re.Pattern]) -> str:
    m = start.search(text)
    if not m:
        return ""
    rest = text[m.end() :]
    cut = len(rest)
    for end in ends:
        e = end.search(rest)
        if e:
            cut = min(cut, e.start())
    return rest[:cut].strip()


def parse_output(
    text: str,
    num_responses: int,
    score_range: tuple[int, int] = (1, 10),
    responses: Sequence[str] = (),
) -> ParsedOutput:
    """Parse one generated judgement.

    Args:
        text: the generated text (the completion only, not the prompt).
        num_responses: how many scores the box must hold.
        score_range: inclusive ``(min, max)``.
        responses: the responses that were shown; box lines copied from them are ignored.
    """
    if not isinstance(text, str):
        raise TypeError(f"Generated text must be a string, got {type(text).__name__}")
    principles = _section(text, _PRINCIPLES, [_ANALYSIS, _SCORES])
    critique = _section(text, _ANALYSIS, [_SCORES])
    boxes = [b for b in _boxes(text) if not _copied(text, b[0], b[1], responses)]
    if not boxes:
        return ParsedOutput(ParseStatus.NO_BOX, None, principles, critique, "no \\boxed{...} in the output")
    if not critique and not principles:  # free-form judgement: everything before the verdict is the critique
        critique = text[: boxes[-1][0]].strip()
    content = boxes[-1][2].replace("*", "").strip()
    items = [item.strip() for item in re.split(r"[,;]", content)] if content else []
    if len(items) != num_responses:
        return ParsedOutput(
            ParseStatus.WRONG_COUNT,
            None,
            principles,
            critique,
            f"expected {num_responses} scores, box holds {content!r}",
        )
    if not all(_INT.match(item) for item in items):
        return ParsedOutput(ParseStatus.NOT_INTEGER, None, principles, critique, f"non-integer score in {content!r}")
    scores = [int(item) for item in items]
    lo, hi = score_range
    if any(s < lo or s > hi for s in scores):
        return ParsedOutput(
            ParseStatus.OUT_OF_RANGE, None, principles, critique, f"score outside {lo}..{hi} in {content!r}"
        )
    return ParsedOutput(ParseStatus.OK, scores, principles, critique)
