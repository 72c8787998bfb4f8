"""The GRM prompt template: one place that turns (context, responses) into chat messages.

The wording is this project's own. The output format follows the DeepSeek-GRM paper: ``Specific Criteria:``
(weighted principles), ``Analysis:`` (the critique), then ``Scores: \\boxed{a, b, ...}`` with one integer per
response in the order shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

Messages = list[dict[str, str]]
Context = str | Sequence[Mapping[str, str]]
PrinciplesMode = Literal["self", "given", "none"]
PRINCIPLES_MODES = ("self", "given", "none")
# The header of the judge's last line, ``Scores: \\boxed{a, b, ...}`` (the ``output`` instruction asks for it): where a
# constrained score line starts.
SCORE_LINE_HEADER = "Scores:"
_ROLES = ("system", "user", "assistant")


@dataclass
class GRMTemplate:
    """All text pieces of the judge prompt. Every field can be overridden; the whole template is saved with the model.

    Placeholders: ``{n}`` number of responses, ``{min}``/``{max}`` score range, ``{i}`` response number,
    ``{response}``, ``{context}``, ``{principles}``, ``{reference}``, ``{best}``, ``{example}``.

    ``demonstration`` (optional) is a worked example ``{"prompt", "responses", "judgement"}`` shown as an earlier
    user/assistant exchange; small models copy the output format from it (and, beware, its verdict pattern too).
    """

    system: str = (
        "You are a careful, impartial evaluator of AI assistant replies. You judge substance, not length or style, "
        "and you never let the position of a reply influence its score."
    )
    task_multi: str = (
        "Below is a conversation between a user and an AI assistant, followed by {n} candidate replies to the "
        "user's last message. Rate each reply on its own merits with an integer from {min} (worst) to {max} (best)."
    )
    task_single: str = (
        "Below is a conversation between a user and an AI assistant, followed by one candidate reply to the "
        "user's last message. Rate the reply with an integer from {min} (worst) to {max} (best)."
    )
    task_binary: str = (
        "Below is a conversation between a user and an AI assistant, followed by one candidate reply to the "
        "user's last message. Decide whether the reply is correct: score {max} if it is correct and {min} if it "
        "is not."
    )
    context: str = "[[Conversation start]]\n{context}\n[[Conversation end]]"
    response: str = "[[Reply {i} start]]\n{response}\n[[Reply {i} end]]"
    reference: str = (
        "A reference answer that is known to be correct:\n[[Reference start]]\n{reference}\n[[Reference end]]"
    )
    principles_self: str = (
        "First write 'Specific Criteria:' and list the criteria that matter most for this particular request, "
        "each with a weight in percent (the weights add up to 100%), for example "
        "'- Correctness (Weight: 40%): ...'. Cover following the instructions, helpfulness, accuracy, depth and "
        "relevance where they apply."
    )
    principles_given: str = (
        "First write 'Specific Criteria:' and restate the following criteria, which you must use:\n{principles}"
    )
    principles_none: str = "Do not list criteria; go straight to the analysis."
    hint: str = "For your information: reply {best} is the best one. Your scores must make that visible."
    output: str = (
        "Then write 'Analysis:' and examine each reply against the criteria, pointing out concrete strengths "
        "and mistakes. Finish with one line 'Scores: \\boxed{{{example}}}' holding exactly {n} integer score(s) "
        "from {min} to {max}, separated by commas, in the order the replies were shown. Write nothing after it."
    )
    demonstration: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> GRMTemplate:
        """Build a template from a (possibly partial) dict; unknown keys are an error."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Unknown template field(s) {unknown}; known fields: {sorted(known)}")
        for key, value in data.items():
            if key == "demonstration":
                _validate_demonstration(value)
            elif not isinstance(value, str):
                raise TypeError(f"Template field {key!r} must be a string, got {type(value).__name__}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _validate_demonstration(demo: Any) -> None:
    if demo is None:
        return
    if not isinstance(demo, Mapping) or set(demo) != {"prompt", "responses", "judgement"}:
        raise ValueError("Template 'demonstration' must be a dict with exactly 'prompt', 'responses' and 'judgement'")
    validate_context(demo["prompt"], where="demonstration prompt")
    validate_responses(demo["responses"], where="demonstration responses")
    if not isinstance(demo["judgement"], str) or "\\boxed{" not in demo["judgement"]:
        raise ValueError("The demonstration's 'judgement' must be a string that ends in 'Scores: \\boxed{...}'")


def validate_context(context: Any, where: str = "prompt") -> Context:
    """Check a conversation context: a non-empty string or chat messages ending with a user turn."""
    if context is None:
        raise ValueError(f"Missing {where}: give the user's query as a string or a list of chat messages")
    if isinstance(context, str):
        if not context.strip():
            raise ValueError(f"The {where} is empty")
        return context
    if not isinstance(context, Sequence) or isinstance(context, (bytes, bytearray)):
        raise TypeError(f"The {where} must be a string or a list of chat messages, got {type(context).__name__}")
    if len(context) == 0:
        raise ValueError(f"The {where} is an empty list of messages")
    for j, message in enumerate(context):
        if not isinstance(message, Mapping) or "role" not in message or "content" not in message:
            raise ValueError(f"Malformed chat message {j} in {where}: expected a dict with 'role' and 'content'")
        if message["role"] not in _ROLES:
            raise ValueError(f"Chat message {j} in {where} has role {message['role']!r}; expected one of {_ROLES}")
        if not isinstance(message["content"], str):
            raise TypeError(
                f"Chat message {j} in {where} has non-string content ({type(message['content']).__name__})"
            )
    if context[-1]["role"] != "user":
        raise ValueError(f"The last chat message of the {where} must be the user's turn, got {context[-1]['role']!r}")
    return context


def validate_responses(responses: Any, where: str = "responses") -> list[str]:
    """Check the candidate responses: a non-empty list of strings."""
    if responses is None or isinstance(responses, str) or not isinstance(responses, Sequence):
        raise TypeError(f"'{where}' must be a list of strings, got {type(responses).__name__}")
    if len(responses) == 0:
        raise ValueError(f"'{where}' is empty: give at least one response to score")
    for i, response in enumerate(responses):
        if not isinstance(response, str):
            raise TypeError(f"Response {i} in '{where}' is a {type(response).__name__}, not a string")
    return list(responses)


def render_context(context: Context) -> str:
    """Flatten a conversation into text. A single user turn is shown as is."""
    if isinstance(context, str):
        return context
    if len(context) == 1:
        return context[0]["content"]
    names = {"system": "System", "user": "User", "assistant": "Assistant"}
    return "\n\n".join(f"{names[m['role']]}: {m['content']}" for m in context)


# How a ``\boxed`` in a displayed text is shown: LaTeX's other box command, which reads the same to a judge but is
# not a score box, so that a judge that copies a response cannot copy a parseable verdict.
BOX_COMMAND = "\\boxed"
DEFANGED_BOX_COMMAND = "\\fbox"


def shown_text(text: str) -> str:
    """Text as the prompt displays it: a response must not be able to close its own block or open another one, and
    any ``\\boxed`` in it is shown as ``\\fbox`` (a verdict can only come from the judge)."""
    return text.replace("[[", "[ [").replace("]]", "] ]").replace(BOX_COMMAND, DEFANGED_BOX_COMMAND)


def render_hint(template: GRMTemplate, position: int, n: int, score_range: tuple[int, int] = (1, 10)) -> str:
    """The hint sentence of hinted sampling: the best response is shown at 0-based ``position`` of ``n``."""
    lo, hi = score_range
    return template.hint.format(best=position + 1, n=n, min=lo, max=hi, example=", ".join(["x"] * n))


def build_messages(
    context: Context,
    responses: Sequence[str],
    template: GRMTemplate | None = None,
    *,
    score_range: tuple[int, int] = (1, 10),
    principles_mode: PrinciplesMode = "self",
    principles: str | None = None,
    reference: str | None = None,
    hint: int | None = None,
) -> Messages:
    """Render the judge prompt for responses in the order given (the caller shuffles).

    Args:
        context: the user's query or the conversation (chat messages ending with the user turn).
        responses: candidate responses in the order they are shown.
        template: wording; the default template when ``None``.
        score_range: ``(min, max)`` integer score range; ``(0, 1)`` with one response is the correctness variant.
        principles_mode: ``"self"`` (the model writes its criteria), ``"given"`` (``principles`` are used) or
            ``"none"`` (no criteria, for ablations).
        principles: the criteria text for ``principles_mode="given"``.
        reference: an optional reference answer.
        hint: 0-based position (in the shown order) of the best response, for hinted sampling.
    """
    template = template or GRMTemplate()
    context = validate_context(context)
    responses = validate_responses(responses)
    n = len(responses)
    lo, hi = score_range
    if principles_mode not in PRINCIPLES_MODES:
        raise ValueError(f"principles_mode must be one of {PRINCIPLES_MODES}, got {principles_mode!r}")
    if principles_mode == "given" and not (isinstance(principles, str) and principles.strip()):
        raise ValueError("principles_mode='given' needs non-empty 'principles' text")
    if hint is not None and (isinstance(hint, bool) or not (isinstance(hint, int) and 0 <= hint < n)):
        raise ValueError(f"hint must be a response position in 0..{n - 1}, got {hint!r}")
    if reference is not None and not isinstance(reference, str):
        raise TypeError(f"reference must be a string, got {type(reference).__name__}")

    values = {"n": n, "min": lo, "max": hi, "example": ", ".join(["x"] * n)}
    if n > 1:
        task = template.task_multi
    elif (lo, hi) == (0, 1):
        task = template.task_binary
    else:
        task = template.task_single
    parts = [task.format(**values), template.context.format(context=shown_text(render_context(context)))]
    parts += [template.response.format(i=i + 1, response=shown_text(r)) for i, r in enumerate(responses)]
    if reference is not None:
        parts.append(template.reference.format(reference=shown_text(reference)))
    if principles_mode == "self":
        parts.append(template.principles_self.format(**values))
    elif principles_mode == "given":
        parts.append(template.principles_given.format(principles=principles, **values))
    else:
        parts.append(template.principles_none.format(**values))
    if hint is not None:
        parts.append(render_hint(template, hint, n, score_range))
    parts.append(template.output.format(**values))
    messages: Messages = []
    if template.system:
        messages.append({"role": "system", "content": template.system})
    demo = template.demonstration
    if demo:
        plain = GRMTemplate(**{**template.to_dict(), "system": "", "demonstration": None})
        mode = "none" if principles_mode == "none" else "self"
        shown = build_messages(demo["prompt"], demo["responses"], plain, score_range=score_range, principles_mode=mode)
        messages += shown + [{"role": "assistant", "content": demo["judgement"]}]
    messages.append({"role": "user", "content": "\n\n".join(parts)})
    return messages
