"""Response orders, mapping back, voting (Eq. 6), the seeded tie-break and Meta RM guided voting."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from trl_grm import make_orders, map_back, pick_best, vote


# -------------------------------------------------------------------------------------------------------- orders
def test_random_orders_are_seeded_permutations():
    a = make_orders(4, 10, "random", random.Random(7))
    b = make_orders(4, 10, "random", random.Random(7))
    assert a == b
    assert len(a) == 10
    assert all(sorted(order) == [0, 1, 2, 3] for order in a)
    assert len({tuple(o) for o in a}) > 1  # really shuffled
    assert make_orders(4, 10, "random", random.Random(8)) != a


def test_random_orders_default_rng_is_reproducible():
    assert make_orders(5, 6) == make_orders(5, 6) == make_orders(5, 6, "random", random.Random(0))


def test_random_orders_cover_all_permutations_eventually():
    orders = make_orders(3, 600, "random", random.Random(1))
    counts = Counter(tuple(o) for o in orders)
    assert len(counts) == 6
    assert min(counts.values()) > 60  # roughly uniform (expected 100 each)


@pytest.mark.parametrize(("n", "k"), [(2, 2), (2, 8), (3, 6), (4, 4), (4, 12), (5, 10)])
def test_balanced_orders_put_each_response_in_each_position_equally_often(n, k):
    orders = make_orders(n, k, "balanced")
    assert len(orders) == k
    assert all(sorted(o) == list(range(n)) for o in orders)
    for position in range(n):
        counts = Counter(order[position] for order in orders)
        assert counts == {i: k // n for i in range(n)}
    assert len({tuple(o) for o in orders}) == min(n, k)


@pytest.mark.parametrize(("n", "k"), [(4, 2), (3, 2), (2, 3), (5, 1), (1, 4)])
def test_balanced_orders_have_min_n_k_distinct_orders(n, k):
    orders = make_orders(n, k, "balanced")
    assert len({tuple(o) for o in orders}) == min(n, k)
    assert orders[0] == list(range(n))


def test_balanced_orders_are_cyclic_shifts():
    assert make_orders(3, 4, "balanced") == [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 1, 2]]


def test_fixed_orders_keep_the_given_order():
    orders = make_orders(3, 4, "fixed")
    assert orders == [[0, 1, 2]] * 4
    orders[0].append(99)  # independent lists
    assert orders[1] == [0, 1, 2]


def test_unknown_order_strategy():
    with pytest.raises(ValueError, match="order strategy must be one of"):
        make_orders(2, 2, "shuffle")


# ------------------------------------------------------------------------------------------------------ map back
@pytest.mark.parametrize(
    ("shown", "order", "original"),
    [
        ([8, 3], [0, 1], [8, 3]),
        ([8, 3], [1, 0], [3, 8]),
        ([8, 3, 5], [2, 0, 1], [3, 5, 8]),
        ([1, 2, 3, 4], [3, 2, 1, 0], [4, 3, 2, 1]),
        ([9, 1, 4, 6], [1, 3, 0, 2], [4, 9, 6, 1]),
    ],
)
def test_map_back(shown, order, original):
    assert map_back(shown, order) == original


def test_map_back_length_mismatch():
    with pytest.raises(ValueError, match="3 scores for 2 responses"):
        map_back([1, 2, 3], [0, 1])


# -------------------------------------------------------------------------------------------------------- voting
def test_vote_sums_per_response():
    v = vote([[8, 3, 5], [2, 9, 4], [7, 1, 10]], random.Random(0))
    assert v.scores == [17, 13, 19]
    assert v.best == 2
    assert v.used == [0, 1, 2]
    assert v.num_failed == 0


def test_vote_excludes_and_counts_failed_samples():
    v = vote([[8, 3], None, [5, 6], None], random.Random(0))
    assert v.scores == [13, 9]
    assert v.best == 0
    assert v.used == [0, 2]
    assert v.num_failed == 2


def test_vote_all_failed():
    v = vote([None, None, None], random.Random(0))
    assert v.scores is None and v.best is None
    assert v.used == []
    assert v.num_failed == 3


def test_single_sample_vote_is_that_sample():
    v = vote([[4, 7]], random.Random(0))
    assert (v.scores, v.best) == ([4, 7], 1)


def test_pick_best_without_tie_ignores_the_rng():
    assert {pick_best([1, 9, 3], random.Random(s)) for s in range(20)} == {1}


def test_pick_best_empty():
    with pytest.raises(ValueError):
        pick_best([], random.Random(0))


def test_tie_break_is_random_across_seeds_and_reproducible_per_seed():
    picks = [vote([[5, 9, 9], [5, 2, 2]], random.Random(seed)).best for seed in range(64)]
    assert set(picks) == {1, 2}  # both tied responses win for some seed, the non-tied one never
    assert 10 < picks.count(1) < 54
    again = [vote([[5, 9, 9], [5, 2, 2]], random.Random(seed)).best for seed in range(64)]
    assert again == picks


# ------------------------------------------------------------------------------------------- meta RM guided voting
SAMPLES = [[9, 1], [2, 8], [3, 7], [10, 1]]
METAS = [0.1, 0.9, 0.8, 0.2]


def test_meta_guided_voting_keeps_the_top_k_meta_and_changes_the_winner():
    plain = vote(SAMPLES, random.Random(0))
    assert plain.scores == [24, 17] and plain.best == 0
    guided = vote(SAMPLES, random.Random(0), meta_scores=METAS, k_meta=2)
    assert guided.used == [1, 2]
    assert guided.scores == [5, 15]
    assert guided.best == 1


def test_meta_guided_voting_k_meta_one_and_all():
    assert vote(SAMPLES, random.Random(0), meta_scores=METAS, k_meta=1).scores == [2, 8]
    assert vote(SAMPLES, random.Random(0), meta_scores=METAS, k_meta=3).used == [1, 2, 3]
    assert vote(SAMPLES, random.Random(0), meta_scores=METAS, k_meta=4).scores == [24, 17]


@pytest.mark.parametrize(("k", "expected_kept"), [(4, 2), (5, 2), (8, 4), (1, 1), (2, 1)])
def test_default_k_meta_is_half_of_k(k, expected_kept):
    samples = [[5, 5]] * k
    metas = list(range(k))
    v = vote(samples, random.Random(0), meta_scores=metas)
    assert len(v.used) == expected_kept
    assert v.used == list(range(k - expected_kept, k))  # the highest meta scores


def test_meta_guided_voting_skips_failed_samples_even_with_the_best_meta_score():
    v = vote([None, [2, 8], [9, 1]], random.Random(0), meta_scores=[100.0, 0.5, 0.1], k_meta=1)
    assert v.used == [1]
    assert v.scores == [2, 8]
    assert v.num_failed == 1


def test_meta_ties_keep_the_earlier_sample():
    v = vote([[9, 1], [1, 9], [5, 5]], random.Random(0), meta_scores=[0.5, 0.5, 0.5], k_meta=1)
    assert v.used == [0]


@pytest.mark.parametrize("k_meta", [0, -1, 5])
def test_k_meta_out_of_range(k_meta):
    with pytest.raises(ValueError, match=r"k_meta must be in 1\.\.4"):
        vote(SAMPLES, random.Random(0), meta_scores=METAS, k_meta=k_meta)


def test_meta_scores_length_mismatch():
    with pytest.raises(ValueError, match="3 meta scores for 4 samples"):
        vote(SAMPLES, random.Random(0), meta_scores=[1.0, 2.0, 3.0])
