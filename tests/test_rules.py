"""The correctness rule (paper Eq. 4) and the rule-based reward (Eq. 5)."""

from __future__ import annotations

import pytest

from trl_grm import is_correct, rule_reward


@pytest.mark.parametrize(
    ("scores", "label", "correct"),
    [
        ([8, 3], 0, True),
        ([8, 3], 1, False),
        ([3, 8], 1, True),
        ([8, 8], 0, False),  # a tie for the top is wrong
        ([8, 8], 1, False),
        ([2, 9, 5], 1, True),
        ([2, 9, 9], 1, False),  # shares the top with response 2
        ([2, 9, 9], 2, False),
        ([9, 8, 8], 0, True),  # ties below the labelled best do not matter
        ([1, 1, 2, 1], 2, True),
        ([5, 5, 5, 5], 3, False),
    ],
)
def test_eq4_for_two_or_more_responses(scores, label, correct):
    assert is_correct(scores, label) is correct
    assert rule_reward(scores, label) == (1.0 if correct else -1.0)


@pytest.mark.parametrize("label", [2, -1, 10])
def test_label_out_of_range_is_an_error(label):
    with pytest.raises(ValueError, match=r"label .* is not a response index in 0\.\.1"):
        is_correct([8, 3], label)


@pytest.mark.parametrize(
    ("scores", "label", "correct"),
    [
        ([1], 1, True),
        ([0], 0, True),
        ([1], 0, False),
        ([0], 1, False),
        ([7], 7, True),  # 1-10 single-response rating: the score must equal the label
        ([7], 8, False),
    ],
)
def test_eq4_for_one_response_compares_with_the_label(scores, label, correct):
    assert is_correct(scores, label) is correct
    assert rule_reward(scores, label) == (1.0 if correct else -1.0)


@pytest.mark.parametrize("label", [0, 1])
def test_failed_parse_is_incorrect_and_gets_minus_one(label):
    assert is_correct(None, label) is False
    assert rule_reward(None, label) == -1.0


def test_empty_scores_are_an_error():
    with pytest.raises(ValueError, match="empty"):
        is_correct([], 0)


def test_reward_is_exactly_plus_or_minus_one():
    assert {rule_reward(s, 0) for s in ([9, 1], [1, 9], [5, 5], None)} == {1.0, -1.0}
