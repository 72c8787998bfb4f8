"""Extract principles, critique and scores from a GRM's generated text.

Scores come from the LAST ``\\boxed{...}`` of the output that the judge wrote itself. A response can never supply
the scores: the prompt shows any ``\\boxed`` inside a response as ``\\fbox`` (so a verbatim copy does not parse),
and a box that is a quote of a response is skipped, namely

- a box whose copy reaches back over text before it on its line (``Scores: \\boxed{10, 10}`` or
  ``It is 5. Scores: \\boxed{10}`` copied from a response), or
- a box alone on its line when a response has that same line (a bare ``\\boxed{10, 1}``, e.g. in a code block),
  unless the judge's own ``Scores:`` header stands on the line before it.

A math answer ``\\boxed{7}`` inside a response does not hide the judge's own ``Scores: \\boxed{7}``. An output
whose only boxes are quotes fails as ``quoted_box``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from .template import BOX_COMMAND, DEFANGED_BOX_COMMAND, shown_text


class ParseStatus(str, Enum):
    """Outcome of parsing one sample. Anything but ``OK`` is a failure and yields no scores."""

    OK = "ok"
    NO_BOX = "no_box"
    WRONG_COUNT = "wrong_count"
    OUT_OF_RANGE = "out_of_range"
    NOT_INTEGER = "not_integer"
    QUOTED_BOX = "quoted_box"  # the only boxes in the output are copied from a response
    TRUNCATED = "truncated"  # set by the GRM: the length budget cut the judgement off before its score line
    CONTEXT_OVERFLOW = "context_overflow"  # set by the GRM: the prompt does not fit the model's context


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


_BOX = BOX_COMMAND
_INT = re.compile(r"^[+-]?\d+$")
_HEADER = r"(?:^|\n)[ \t#>*_-]*{name}[ \t*_]*:[ \t*_]*"
_PRINCIPLES = re.compile(_HEADER.format(name=r"specific\s+criteria"), re.IGNORECASE)
_ANALYSIS = re.compile(_HEADER.format(name=r"analysis"), re.IGNORECASE)
_SCORES = re.compile(_HEADER.format(name=r"(?:final\s+)?scores?"), re.IGNORECASE)


def _boxes(text: str, command: str = _BOX) -> list[tuple[int, int, str | None]]:
    """All ``\\boxed{...}`` as ``(start, end, content)``; content is ``None`` for a box that is never closed."""
    found: list[tuple[int, int, str | None]] = []
    start = text.find(command)
    while start != -1:
        i = start + len(command)
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
            else:
                found.append((start, len(text), None))
        start = text.find(command, start + len(command))
    return found


_MARKUP = " \t*_`>#-"


def _line_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Start and end of the line that holds ``text[start:end]``."""
    line_end = text.find("\n", end)
    return text.rfind("\n", 0, start) + 1, len(text) if line_end == -1 else line_end


def _copied(text: str, start: int, end: int, responses: Sequence[str]) -> bool:
    """Whether the box ``text[start:end]`` is a quote of a response (see the module docstring)."""
    box = text[start:end]
    if not any(box in r for r in responses):
        return False
    j = start
    while j > 0 and any(text[j - 1 : end] in r for r in responses):
        j -= 1
    if text[j:start].strip():  # the copy reaches over text before the box
        return True
    line_start, line_end = _line_bounds(text, start, end)
    line = text[line_start:line_end].strip(_MARKUP)
    if line != box.strip(_MARKUP):
        return False  # the judge wrote something of its own on the box's line
    if not any(line == other.strip(_MARKUP) for r in responses for other in r.splitlines()):
        return False
    previous = text[:line_start].rstrip().rsplit("\n", 1)[-1]
    return not _SCORES.fullmatch("\n" + previous.rstrip(" \t*_"))


def _sections(head: str) -> tuple[str, str]:
    """Principles (``Specific Criteria:`` up to ``Analysis:``) and critique (``Analysis:`` up to the last
    ``Scores:`` header) of the text before the verdict line."""
    principles = critique = ""
    p = _PRINCIPLES.search(head)
    a = _ANALYSIS.search(head, p.end() if p else 0)
    scores = [m for m in _SCORES.finditer(head) if m.start() >= (a.end() if a else p.end() if p else 0)]
    end = scores[-1].start() if scores else len(head)
    if p:
        principles = head[p.end() : a.start() if a else end].strip()
    if a:
        critique = head[a.end() : end].strip()
    return principles, critique


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
        responses: the responses that were shown; boxes quoted from them are ignored.
    """
    if not isinstance(text, str):
        raise TypeError(f"Generated text must be a string, got {type(text).__name__}")
    shown = [*responses, *(shown_text(r) for r in responses)]  # as given and as the prompt displayed them
    found = _boxes(text)
    boxes = [b for b in found if not _copied(text, b[0], b[1], shown)]
    if not boxes:
        # Copies of a response's box, as given or as the prompt displayed it (defanged).
        quotes = len(found) + sum(
            _copied(text, b[0], b[1], shown) for b in _boxes(text, DEFANGED_BOX_COMMAND) if b[2] is not None
        )
        if quotes:
            detail = f"the output's only score box{'es are' if quotes > 1 else ' is'} copied from a response"
            return ParsedOutput(ParseStatus.QUOTED_BOX, None, *_sections(text), detail)
        return ParsedOutput(ParseStatus.NO_BOX, None, *_sections(text), "no \\boxed{...} in the output")
    start, _, content = boxes[-1]
    verdict_line = text.rfind("\n", 0, start) + 1
    principles, critique = _sections(text[:verdict_line])
    if not critique and not principles:  # free-form judgement: everything before the verdict is the critique
        critique = text[:start].strip()

    def fail(status: ParseStatus, detail: str) -> ParsedOutput:
        return ParsedOutput(status, None, principles, critique, detail)

    if content is None:
        return fail(ParseStatus.NO_BOX, "the final \\boxed{ is never closed (output cut off?)")
    content = content.replace("*", "").strip()
    items = [item.strip() for item in re.split(r"[,;]", content)] if content else []
    if len(items) != num_responses:
        return fail(ParseStatus.WRONG_COUNT, f"expected {num_responses} scores, box holds {content!r}")
    if not all(_INT.match(item) for item in items):
        return fail(ParseStatus.NOT_INTEGER, f"non-integer score in {content!r}")
    scores = [int(item) for item in items]
    lo, hi = score_range
    if any(x < lo or x > hi for x in scores):
        return fail(ParseStatus.OUT_OF_RANGE, f"score outside {lo}..{hi} in {content!r}")
    return ParsedOutput(ParseStatus.OK, scores, principles, critique)


def principles_prefix(text: str) -> str | None:
    """The judge's own text up to its ``Analysis:`` header when it wrote principles first (``Specific Criteria:``
    with some criteria), else ``None``: what shared principles hand to the other critiques of an input, verbatim."""
    p = _PRINCIPLES.search(text)
    if p is None:
        return None
    a = _ANALYSIS.search(text, p.end())
    if a is None or not text[p.end() : a.start()].strip():
        return None
    return text[: a.start()].rstrip()  # chat templates strip a continued message's trailing whitespace anyway
