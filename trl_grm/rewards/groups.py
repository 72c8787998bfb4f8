"""Listwise rewards from GRM results: which GRM inputs score a group of completions, and how their voted scores
become one reward per completion. Used by the TRL reward function, the OpenRLHF endpoint and the verl adapter.

A *group* is one prompt with its completions (TRL's ``num_generations``). A group of at most ``max_group_size``
completions is ONE GRM input (n = G responses, k votes). A larger group is scored in several inputs (*sub-lists*):

- ``"overlap"``: the completions in a seeded random order, cut into windows of ``max_group_size`` that overlap by
  half a window (the last window ends at the last completion), so every completion is judged next to completions
  of neighbouring windows;
- ``"pairwise"``: every pair of completions is one input (G (G - 1) / 2 inputs of n = 2).

A completion's *mean score* is its voted sum divided by the number of samples used (the GRM's score scale, 1..10),
averaged over the inputs it appears in when there are several. Rewards (``normalization``):

- ``"mean"``: the mean score itself (1..10);
- ``"centered"``: the mean score minus the mean over the group's scored completions;
- ``"rank"``: the completion's rank in its group by mean score, ties sharing their average rank, scaled to 0..1
  (0 the lowest, 1 the highest; 0.5 for a group with one scored completion).

A completion that no parsed judgement scored gets ``None`` (TRL leaves it out), never a made-up value.

This is the ONE group-reward core: :class:`~trl_grm.rewards.GRMReward` (TRL), ``POST /get_reward`` (OpenRLHF) and the
verl adapter plan their GRM inputs with :func:`plan_groups`, score them, and turn the results into rewards with
:func:`group_outcomes`. The seed policy is one too: policy-training step ``s`` samples with :func:`step_seed` of the
base seed and ``s`` (the trainer's step, or a request's ``step`` field), and a group's sub-lists are drawn from that
seed and the group itself, so a group's rewards depend only on the step, the group and the settings.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from math import gcd
from typing import Any

from ..protocol.seeding import derive_rng, derive_seed, fingerprint

NORMALIZATIONS = ("mean", "centered", "rank")
LARGE_GROUP_STRATEGIES = ("overlap", "pairwise")


def infer_group_size(prompts: Sequence[Any]) -> int:
    """The group size of a batch laid out as TRL's GRPO sampler lays it out (each prompt repeated G times in a row):
    the greatest common divisor of the lengths of the runs of equal prompts. Two neighbouring groups with the same
    prompt make a run of 2G; the divisor still finds G unless every run is a multiple of it (then give
    ``num_generations`` explicitly)."""
    if not prompts:
        raise ValueError("no prompts: cannot infer the group size of an empty batch")
    size, run = 0, 1
    for prev, cur in zip(prompts, prompts[1:]):
        if cur == prev:
            run += 1
        else:
            size, run = gcd(size, run), 1
    return gcd(size, run)


def split_groups(num_rows: int, group_size: int) -> list[range]:
    """Consecutive groups of ``group_size`` rows; the batch must hold whole groups."""
    if group_size < 1:
        raise ValueError(f"the group size must be >= 1, got {group_size}")
    if num_rows % group_size:
        raise ValueError(
            f"a batch of {num_rows} completions does not split into groups of {group_size} (num_generations): "
            "set num_generations to the trainer's value"
        )
    return [range(start, start + group_size) for start in range(0, num_rows, group_size)]


def plan_sublists(group_size: int, max_group_size: int, strategy: str, rng: random.Random) -> list[list[int]]:
    """The member indices of each GRM input that scores a group (see the module docstring)."""
    if max_group_size < 2:
        raise ValueError(f"max_group_size must be >= 2, got {max_group_size}")
    if strategy not in LARGE_GROUP_STRATEGIES:
        raise ValueError(f"large_group_strategy must be one of {LARGE_GROUP_STRATEGIES}, got {strategy!r}")
    if group_size <= max_group_size:
        return [list(range(group_size))]
    if strategy == "pairwise":
        return [list(pair) for pair in combinations(range(group_size), 2)]
    order = list(range(group_size))
    rng.shuffle(order)
    stride = max(1, max_group_size // 2)
    starts = list(range(0, group_size - max_group_size + 1, stride))
    if starts[-1] + max_group_size < group_size:
        starts.append(group_size - max_group_size)
    return [sorted(order[s : s + max_group_size]) for s in starts]


_MISSING = object()


def _field(result: Any, name: str, default: Any = _MISSING) -> Any:
    """A field of a result object or dict; ``default`` (when given) for a field it lacks."""
    if isinstance(result, Mapping):
        return result[name] if default is _MISSING else result.get(name, default)
    return getattr(result, name) if default is _MISSING else getattr(result, name, default)


@dataclass
class GroupOutcome:
    """The rewards of one group and what the judge said about it."""

    rewards: list[float | None]
    mean_scores: list[float | None]
    votes: list[list[int]]  # per completion: its score in each used sample (all inputs)
    principles: list[str]
    critiques: list[str]
    shown_as: list[int | None]  # per completion: its shown position (1-based) in the sample its critique comes from
    shown_of: list[int | None]  # ... out of how many responses that sample showed
    num_inputs: int
    num_samples: int = 0
    num_failed_samples: int = 0
    num_used: list[int] = field(default_factory=list)  # samples used in the vote, per input
    num_context_overflow: int = 0  # inputs that did not fit the GRM's context (unscored, counted)

    @property
    def scored(self) -> bool:
        return any(r is not None for r in self.rewards)

    @property
    def tied(self) -> bool:
        """Whether two or more completions share the top mean score."""
        values = [m for m in self.mean_scores if m is not None]
        return len(values) > 1 and sum(abs(v - max(values)) < 1e-9 for v in values) > 1


def normalize(means: Sequence[float | None], normalization: str) -> list[float | None]:
    """Turn mean scores into rewards (``None`` stays ``None``)."""
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    values = [m for m in means if m is not None]
    if normalization == "mean" or not values:
        return list(means)
    if normalization == "centered":
        center = sum(values) / len(values)
        return [None if m is None else m - center for m in means]
    if len(values) == 1:
        return [None if m is None else 0.5 for m in means]
    ranks = []
    for m in means:
        if m is None:
            ranks.append(None)
            continue
        below = sum(v < m - 1e-9 for v in values)
        equal = sum(abs(v - m) <= 1e-9 for v in values)
        ranks.append((below + (equal - 1) / 2) / (len(values) - 1))
    return ranks


def group_outcome(
    group_size: int, plan: Sequence[Sequence[int]], results: Sequence[Any], normalization: str
) -> GroupOutcome:
    """Combine the GRM results of a group's inputs (``plan[i]`` lists the members that ``results[i]`` scored, in the
    order they were given) into one reward per member. ``results`` are :class:`~trl_grm.GRMResult` objects or
    their dicts (``trl-grm serve``'s answers)."""
    sums: list[list[float]] = [[] for _ in range(group_size)]
    votes: list[list[int]] = [[] for _ in range(group_size)]
    principles, critiques = [""] * group_size, [""] * group_size
    shown_as: list[int | None] = [None] * group_size
    shown_of: list[int | None] = [None] * group_size
    outcome = GroupOutcome([], [], votes, principles, critiques, shown_as, shown_of, num_inputs=len(plan))
    for members, result in zip(plan, results, strict=True):
        samples = _field(result, "samples") or []
        # the samples drawn (adaptive scoring may stop early); results from before num_drawn: num_samples
        outcome.num_samples += _field(result, "num_drawn", None) or _field(result, "num_samples")
        outcome.num_failed_samples += _field(result, "num_failed")
        failures = result.get("failures") if isinstance(result, Mapping) else getattr(result, "failures", None)
        outcome.num_context_overflow += int("context_overflow" in (failures or {}))
        used = _field(result, "num_used")
        outcome.num_used.append(used)
        scores = _field(result, "scores")
        if scores is None or not used:
            continue
        used_samples = [s for s in samples if _field(s, "used")]
        for pos, member in enumerate(members):
            sums[member].append(scores[pos] / used)
            votes[member].extend(_field(s, "scores")[pos] for s in used_samples)
            if used_samples and not critiques[member]:
                first = used_samples[0]
                principles[member] = _field(first, "principles")
                critiques[member] = _field(first, "critique")
                shown_as[member] = list(_field(first, "order")).index(pos) + 1
                shown_of[member] = len(members)
    outcome.mean_scores = [sum(v) / len(v) if v else None for v in sums]
    outcome.rewards = normalize(outcome.mean_scores, normalization)
    return outcome


def step_seed(base_seed: int, step: int) -> int:
    """The sampling seed of policy-training step ``step``: every step draws afresh, a rerun of a step the same."""
    return derive_seed(base_seed, "policy-step", int(step))


@dataclass
class Group:
    """One prompt and its completions, judged together; ``reference`` is shown to the judge when given."""

    prompt: Any
    completions: list[str]
    reference: str | None = None


@dataclass
class GroupPlan:
    """The GRM inputs that score some groups: ``plans[g]`` lists, per input of group ``g``, the members it shows;
    ``items`` are the inputs of all groups, group after group."""

    sizes: list[int]
    plans: list[list[list[int]]]
    items: list[dict[str, Any]]


def plan_groups(groups: Sequence[Group], seed: int, max_group_size: int, strategy: str) -> GroupPlan:
    """The GRM inputs of ``groups``: one per group, or sub-lists (see the module docstring) drawn from the seed and
    the group (its prompt and completions), never from its place in the batch."""
    plan = GroupPlan([], [], [])
    for group in groups:
        members = list(group.completions)
        rng = derive_rng(seed, fingerprint([fingerprint(group.prompt), members]), "sublists")
        sublists = plan_sublists(len(members), max_group_size, strategy, rng)
        plan.sizes.append(len(members))
        plan.plans.append(sublists)
        for sub in sublists:
            item: dict[str, Any] = {"prompt": group.prompt, "responses": [members[m] for m in sub]}
            if group.reference is not None:
                item["reference"] = group.reference
            plan.items.append(item)
    return plan


def group_outcomes(plan: GroupPlan, results: Sequence[Any], normalization: str) -> list[GroupOutcome]:
    """One :class:`GroupOutcome` per planned group from the results of ``plan.items`` (in order)."""
    if len(results) != len(plan.items):
        raise ValueError(f"{len(results)} results for {len(plan.items)} planned GRM inputs")
    outcomes, start = [], 0
    for size, sublists in zip(plan.sizes, plan.plans):
        outcomes.append(group_outcome(size, sublists, results[start : start + len(sublists)], normalization))
        start += len(sublists)
    return outcomes
