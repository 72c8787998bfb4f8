"""Issue 9, defect 5: an input's result depends only on the seed, the input and the settings.

Not on the other inputs of the call, its position in the list, the batch size, ``max_batch_size`` or where a
resumed run restarts. Checked on the tiny judge (real generation at temperature > 0) and on the backend directly.
"""

from __future__ import annotations

import pytest

from trl_grm import GRMForPointwiseScoring
from trl_grm.backends.transformers_backend import TransformersBackend

TARGET = {"prompt": "What is two plus two?", "responses": ["Four.", "Five.", "Twenty-two."]}
OTHERS = [
    {"prompt": "Name a colour.", "responses": ["Blue.", "Seven."]},
    {"prompt": "Write a short poem about the sea.", "responses": ["Waves roll and the tide comes in.", "No."]},
    {"prompt": "Say hello.", "responses": ["Hello!", "Goodbye.", "Hi there.", "..."]},
]
PARAMS = dict(num_samples=4, temperature=1.0, seed=3)


def _trail(result):
    return (
        [(s.order, s.text, s.status, s.scores) for s in result.samples],
        result.scores,
        result.best,
        result.tied,
    )


@pytest.fixture(scope="module")
def grms(judge_dir):
    """The same tiny judge with different decode batch limits."""
    base = GRMForPointwiseScoring.from_pretrained(judge_dir)
    return {
        size: GRMForPointwiseScoring(base.model, base.tokenizer, base.config, max_batch_size=size)
        for size in (1, 2, 8)
    }


def test_an_input_gets_the_same_samples_alone_in_a_list_anywhere_and_at_any_batch_size(grms):
    alone = _trail(grms[8].score(TARGET, **PARAMS))
    texts = {text for _, text, _, _ in alone[0]}
    assert len(texts) > 1, "the samples must really be sampled for this test to mean anything"
    for size, grm in grms.items():
        assert _trail(grm.score(TARGET, **PARAMS)) == alone, f"alone, max_batch_size={size}"
        first = grm.score([TARGET, *OTHERS], **PARAMS)
        last = grm.score([*OTHERS, TARGET], **PARAMS)
        middle = grm.score([OTHERS[0], TARGET, OTHERS[2]], **PARAMS)
        assert _trail(first[0]) == alone, f"first of a list, max_batch_size={size}"
        assert _trail(last[-1]) == alone, f"last of a list, max_batch_size={size}"
        assert _trail(middle[1]) == alone, f"middle of a list, max_batch_size={size}"


def test_other_seeds_give_other_samples(grms):
    a = _trail(grms[8].score(TARGET, **PARAMS))
    b = _trail(grms[8].score(TARGET, **{**PARAMS, "seed": 4}))
    assert a[0] != b[0]


def test_a_resumed_sampling_call_continues_with_the_same_samples(grms):
    """The eval cache draws samples 0..k-1 in one call or in two (0..1, then 2..3): the same samples either way."""
    from trl_grm.protocol.inputs import to_input
    from trl_grm.protocol.voting import make_orders

    item = to_input(TARGET)
    orders = make_orders(3, 4, "random")
    kwargs = dict(temperature=1.0, max_new_tokens=64, seed=5)
    whole = grms[8].sample_judgements([item], [orders], **kwargs)[0]
    head = grms[2].sample_judgements([item], [orders[:2]], **kwargs)[0]
    tail = grms[1].sample_judgements([item], [orders[2:]], sample_start=[2], **kwargs)[0]
    assert [s.text for s in whole] == [s.text for s in head + tail]


def test_backend_rows_are_independent_of_the_batch_layout(random_lm):
    """A row's sample depends on its prompt and seed only: alone, beside other prompts, in any chunking."""
    model, tokenizer = random_lm
    prompts = ["What is two plus two? Four.", "Scores:", "Write a short poem about the sea. Waves roll"]
    seeds = [[11, 12], [21], [31, 32, 33]]
    kwargs = dict(max_new_tokens=8, temperature=1.0, top_p=0.9)
    together = TransformersBackend(model, tokenizer).generate_prompts(prompts, [2, 1, 3], seeds=seeds, **kwargs)
    for size in (1, 2, 64):
        backend = TransformersBackend(model, tokenizer, max_batch_size=size)
        for p, prompt in enumerate(prompts):
            alone = backend.generate_prompts([prompt], [len(seeds[p])], seeds=[seeds[p]], **kwargs)[0]
            assert [g.text for g in alone] == [g.text for g in together[p]], (size, p)
    assert len({g.text for g in together[2]}) > 1  # different seeds, different samples


def test_progress_callback_counts_every_sample_once(random_lm):
    model, tokenizer = random_lm
    backend = TransformersBackend(model, tokenizer, max_batch_size=3)
    seen: list[float] = []
    backend.generate_prompts(
        ["What is", "Scores:"], [2, 3], max_new_tokens=6, temperature=1.0, seed=0, progress=seen.append
    )
    assert sum(seen) == pytest.approx(5.0)
    assert len(seen) > 2  # it moves while a batch decodes, not once per call
    assert all(x > 0 for x in seen)


def test_seeds_must_match_the_counts(random_lm):
    model, tokenizer = random_lm
    with pytest.raises(ValueError, match="one seed per sample"):
        TransformersBackend(model, tokenizer).generate_prompts(
            ["a"], [2], seeds=[[1]], max_new_tokens=2, temperature=1.0
        )
