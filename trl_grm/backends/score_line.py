"""The constrained score line on the transformers backend: a logits processor that, once a row has written its
score-line header (:class:`~trl_grm.backends.base.ScoreLine`), allows only the tokens that keep the text after the
header a prefix of a valid ``\\boxed{...}``, and then only the end of the sequence.

The text after the header is checked with the line's regular expression in partial mode (the ``regex`` package,
which transformers already requires). A candidate token is judged by the text it appends in context, so tokenizers
that mark spaces on the token (SentencePiece) are handled like byte-level ones. Rows run with a reserve of
:meth:`~trl_grm.backends.base.ScoreLine.budget` tokens past ``max_new_tokens``: a row that has not reached its header
by then is ended (and reported as cut off by the length budget, as it would have been), a row inside its score line
always gets room to finish it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import regex
import torch
from transformers import LogitsProcessor

from .base import ScoreLine

_TAIL = 8  # tokens decoded to look for the header (a header is a few tokens long)
_LINE_CHARS = frozenset(" \n\\boxed{},-0123456789")


@lru_cache(maxsize=8)
def _compiled(pattern: str) -> regex.Pattern:
    return regex.compile(pattern)


_CACHE = "_trl_grm_score_line_tokens"


def score_line_tokens(tokenizer) -> list[tuple[int, str]]:
    """``(token id, the text it appends)`` for every token made only of characters a score line can hold (computed
    once per tokenizer, kept on it)."""
    if getattr(tokenizer, _CACHE, None) is None:
        anchor = tokenizer.encode("x", add_special_tokens=False)[:1]
        base = tokenizer.decode(anchor)
        ids = list(range(len(tokenizer)))
        texts = tokenizer.batch_decode([anchor + [i] for i in ids], skip_special_tokens=True)
        found = []
        for i, text in zip(ids, texts):
            piece = text[len(base) :] if text.startswith(base) else ""
            if piece and set(piece) <= _LINE_CHARS:
                found.append((i, piece))
        setattr(tokenizer, _CACHE, found)
    return getattr(tokenizer, _CACHE)


class ScoreLineProcessor(LogitsProcessor):
    """Constrains each row's score line (``lines[row]``, ``None``: free) and ends rows that reach ``free_budget``
    generated tokens outside a score line (their ids are in :attr:`cut`)."""

    def __init__(
        self, tokenizer, lines: Sequence[ScoreLine | None], prompt_width: int, eos_ids: set[int], free_budget: int
    ):
        self.tokenizer, self.lines, self.width = tokenizer, list(lines), prompt_width
        self.eos = sorted(eos_ids)
        if not self.eos:
            raise ValueError("a constrained score line needs the model's end-of-sequence token")
        self.free_budget = free_budget
        self.candidates = score_line_tokens(tokenizer)
        self.state: list[tuple[int, int] | None] = [None] * len(self.lines)  # (first token decoded, char offset)
        self.finished = [False] * len(self.lines)
        self.cut: set[int] = set()

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def _allowed(self, line: ScoreLine, ids: list[int], offset: int) -> list[int]:
        pattern = _compiled(line.pattern())
        text = self._decode(ids)[offset:]
        if pattern.fullmatch(text):
            return self.eos
        allowed = [i for i, piece in self.candidates if pattern.fullmatch(text + piece, partial=True)]
        return allowed or self.eos  # cannot happen for a tokenizer with digits; never leave a row without a token

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        generated = input_ids[:, self.width :].tolist()
        for r, row in enumerate(generated):
            if self.finished[r] or (row and row[-1] in self.eos):
                self.finished[r] = True
                continue
            line = self.lines[r]
            if self.state[r] is None and line is not None:
                start = max(0, len(row) - _TAIL)
                tail = self._decode(row[start:])
                at = tail.rfind(line.header)
                rest = tail[at + len(line.header) :] if at >= 0 else None
                if rest is not None and _compiled(line.pattern()).fullmatch(rest, partial=True):
                    self.state[r] = (start, at + len(line.header))
            if self.state[r] is not None:
                start, offset = self.state[r]
                allowed = self._allowed(line, row[start:], offset)
            elif len(row) >= self.free_budget:
                allowed = self.eos
                self.cut.add(r)
            else:
                continue
            keep = torch.zeros(scores.shape[-1], dtype=torch.bool, device=scores.device)
            keep[allowed] = True
            scores[r] = scores[r].masked_fill(~keep, float("-inf"))
        return scores
