"""Preference formats -> LabeledInput: every format, TRL conversational rows, the shared data files, errors."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest
from datasets import Dataset

from trl_grm.data import (
    FORMATS,
    LabeledInput,
    chosen_position,
    detect_format,
    load_preference_data,
    to_listwise,
)
from trl_grm.protocol.inputs import GRMInput

REPO = Path(__file__).resolve().parents[1]
# Real preference data shipped in the repository, with its provenance (examples/data/README.md).
SHARED = REPO / "examples" / "data"

SKY = [{"role": "user", "content": "What color is the sky?"}]
BLUE = {"role": "assistant", "content": "It is blue."}
GREEN = {"role": "assistant", "content": "It is green."}


def pairs(n: int) -> list[dict]:
    return [{"prompt": f"Question {i}?", "chosen": f"good {i}", "rejected": f"bad {i}"} for i in range(n)]


def load_one(row: dict, **kwargs) -> LabeledInput:
    examples, report = load_preference_data([row], **kwargs)
    assert report.rows == 1 and report.kept == 1
    return examples[0]


# ---------------------------------------------------------------------------------------------------- pairwise
def test_pairwise_standard_chosen_is_at_the_label():
    examples, report = load_preference_data(pairs(40))
    assert report.format == "pairwise" and report.kept == 40
    for i, ex in enumerate(examples):
        assert isinstance(ex, LabeledInput) and isinstance(ex, GRMInput)
        assert ex.context == f"Question {i}?" and ex.id == i and ex.meta == {"row": i}
        assert ex.responses[ex.label] == f"good {i}" and ex.responses[1 - ex.label] == f"bad {i}"


def test_pairwise_positions_are_balanced_seeded_and_random_per_pair():
    rows = pairs(1000)
    labels = [ex.label for ex in load_preference_data(rows, seed=0)[0]]
    assert labels == [ex.label for ex in load_preference_data(rows, seed=0)[0]]  # deterministic
    assert Counter(labels) == {0: 500, 1: 500}  # exactly balanced: opposite positions within each pair of rows
    assert all(labels[2 * k] != labels[2 * k + 1] for k in range(500))
    even = [labels[2 * k] for k in range(500)]
    assert 200 < sum(even) < 300  # random per pair, not alternating
    assert labels[:2] != labels[2:4] or labels[4:6] != labels[6:8] or labels[8:10] != labels[10:12]
    other = [ex.label for ex in load_preference_data(rows, seed=1)[0]]
    assert 350 < sum(a != b for a, b in zip(labels, other)) < 650  # another seed, other positions
    assert labels == [chosen_position(0, i) for i in range(1000)]
    # the position depends on the row index, not on the content: a subset keeps its rows' positions
    assert [ex.label for ex in load_preference_data(rows, limit=10)[0]] == labels[:10]


def test_rewardbench_style_keeps_id_and_subset():
    row = {"prompt": "Q?", "chosen": "A", "rejected": "B", "subset": "llmbar-natural", "source": "rb", "id": "x7"}
    ex = load_one(row)
    assert ex.id == "x7"
    assert ex.meta == {"subset": "llmbar-natural", "source": "rb", "row": 0}


def test_conversational_prompt_with_assistant_completions():
    ex = load_one({"prompt": SKY, "chosen": [BLUE], "rejected": [GREEN]})
    assert ex.context == SKY
    assert ex.responses[ex.label] == "It is blue." and ex.responses[1 - ex.label] == "It is green."


def test_conversational_full_conversations_repeating_the_prompt():
    context = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "What color is the sky?"},
    ]
    ex = load_one({"prompt": context, "chosen": context + [BLUE], "rejected": context + [GREEN]})
    assert ex.context == context
    assert sorted(ex.responses) == ["It is blue.", "It is green."] and ex.responses[ex.label] == "It is blue."


def test_conversational_implicit_prompt_is_the_shared_prefix():
    shared = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}] + SKY
    ex = load_one({"chosen": shared + [BLUE], "rejected": shared + [GREEN]})
    assert ex.context == shared and ex.responses[ex.label] == "It is blue."


def test_string_prompt_with_conversational_completions():
    ex = load_one({"prompt": "What color is the sky?", "chosen": [BLUE], "rejected": [GREEN]})
    assert ex.context == "What color is the sky?" and ex.responses[ex.label] == "It is blue."


def test_raw_anthropic_hh_transcripts():
    head = "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: What color is the sky?\n\nAssistant: "
    ex = load_one({"chosen": head + "It is blue.", "rejected": head + "It is green."})
    assert ex.context == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "What color is the sky?"},
    ]
    assert ex.responses[ex.label] == "It is blue."


def test_messages_column_takes_precedence_over_prompt():
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
    ]
    ex = load_one(
        {"prompt": "User: a\n\nAssistant: b\n\nUser: c", "messages": messages, "chosen": "x", "rejected": "y"}
    )
    assert ex.context == messages
    # a null messages value falls back to the prompt
    ex = load_one({"prompt": "plain", "messages": None, "chosen": "x", "rejected": "y"})
    assert ex.context == "plain"


def test_identical_pairs_are_skipped_and_counted():
    rows = pairs(3)
    rows[1]["rejected"] = rows[1]["chosen"] + "  "
    examples, report = load_preference_data(rows)
    assert [ex.id for ex in examples] == [0, 2]
    assert report.skipped_identical == 1 and report.identical_rows == [1] and report.kept == 2 and report.rows == 3


# ------------------------------------------------------------------------------------------ best-of-N, ratings, n=1
def test_best_of_n_keeps_order_and_label():
    rows = [
        {"prompt": "p0", "responses": ["a", "b", "c"], "best_index": 2, "meta": {"k": 1}},
        {"prompt": "p1", "responses": ["d", "e"], "best_index": 0},
    ]
    examples, report = load_preference_data(rows)
    assert report.format == "best_of_n" and report.label_counts == {0: 1, 2: 1}
    assert examples[0].responses == ["a", "b", "c"] and examples[0].label == 2
    assert examples[0].meta == {"meta": {"k": 1}, "row": 0}
    assert examples[1].responses == ["d", "e"] and examples[1].label == 0


def test_ratings_best_is_unique_maximum_and_ties_are_skipped():
    rows = [
        {"prompt": "p0", "responses": ["a", "b", "c"], "ratings": [3, 9, 5]},
        {"prompt": "p1", "responses": ["a", "b", "c"], "ratings": [7, 2, 7]},  # tied top: skipped
        {"prompt": "p2", "responses": ["a", "b"], "ratings": [0.5, 0.25]},
        {"prompt": "p3", "responses": ["a", "b", "c"], "ratings": [1, 1, 4]},  # tie below the top: kept
        {"prompt": "p4", "responses": ["a", "b"], "ratings": [4.0, 4]},  # tied top: skipped
    ]
    examples, report = load_preference_data(rows)
    assert report.format == "ratings"
    assert [(ex.id, ex.label) for ex in examples] == [(0, 1), (2, 0), (3, 2)]
    assert report.skipped_ties == 2 and report.tie_rows == [1, 4]
    assert report.as_dict()["tie_rows"] == [1, 4] and report.rows == 5 and report.kept == 3
    assert to_listwise(rows[1], 1, "ratings") is None


def test_single_response_correctness():
    rows = [
        {"prompt": "2+2?", "response": "4", "label": 1},
        {"prompt": "2+2?", "response": "5", "label": 0},
        {"prompt": "2+3?", "response": "5", "label": True},
    ]
    examples, report = load_preference_data(rows)
    assert report.format == "single"
    assert [(ex.responses, ex.label) for ex in examples] == [(["4"], 1), (["5"], 0), (["5"], 1)]


def test_trl_unpaired_preference_rows_are_single():
    rows = [
        {"prompt": SKY, "completion": [BLUE], "label": True},
        {"prompt": SKY, "completion": [GREEN], "label": False},
    ]
    examples, report = load_preference_data(rows)
    assert report.format == "single"
    assert [(ex.context, ex.responses, ex.label) for ex in examples] == [
        (SKY, ["It is blue."], 1),
        (SKY, ["It is green."], 0),
    ]


def test_principles_and_reference_columns_fill_the_input():
    ex = load_one({"prompt": "2+2?", "response": "4", "label": 1, "reference": "4", "principles": "- Exact"})
    assert ex.reference == "4" and ex.principles == "- Exact" and ex.meta == {"row": 0}


# --------------------------------------------------------------------------------------- sources and detection
def test_dataset_jsonl_json_and_list_sources_agree(tmp_path):
    rows = [{**r, "subset": "s"} for r in pairs(6)]
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")  # a trailing blank line is ignored
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(rows))
    columns = tmp_path / "columns.json"
    columns.write_text(json.dumps({k: [r[k] for r in rows] for k in rows[0]}))
    expected = load_preference_data(rows, seed=3)
    for source in (Dataset.from_list(rows), jsonl, str(jsonl), listed, columns):
        examples, report = load_preference_data(source, seed=3)
        assert examples == expected[0] and report == expected[1]


def test_limit_reads_the_first_rows():
    examples, report = load_preference_data(Dataset.from_list(pairs(10)), limit=4)
    assert report.rows == 4 and [ex.id for ex in examples] == [0, 1, 2, 3]


def test_detection_and_explicit_format():
    assert detect_format(["prompt", "chosen", "rejected", "subset"]) == "pairwise"
    assert detect_format(["prompt", "responses", "best_index"]) == "best_of_n"
    assert detect_format(["prompt", "responses", "ratings"]) == "ratings"
    assert detect_format(["prompt", "completion", "label"]) == "single"
    both = [{"prompt": "p", "responses": ["a", "b"], "best_index": 0, "ratings": [1, 5]}]
    with pytest.raises(ValueError, match=r"Row 0: columns .* fit several formats .*format="):
        load_preference_data(both)
    (ex,), _ = load_preference_data(both, format="best_of_n")
    assert ex.label == 0 and ex.meta["ratings"] == [1, 5]
    (ex,), _ = load_preference_data(both, format="ratings")
    assert ex.label == 1 and "ratings" not in ex.meta
    with pytest.raises(ValueError, match=r"Row 0: cannot detect .*\['answer', 'question'\]"):
        load_preference_data([{"question": "q", "answer": "a"}])
    with pytest.raises(ValueError, match="Unknown preference format 'listwise'"):
        load_preference_data(pairs(1), format="listwise")
    assert set(FORMATS) == {"pairwise", "best_of_n", "ratings", "single"}


def test_to_listwise_matches_the_loader_and_takes_an_rng():
    rows = pairs(6)
    loaded = load_preference_data(rows)[0]
    assert [to_listwise(r, i, "pairwise") for i, r in enumerate(rows)] == loaded
    labels = {to_listwise(rows[0], 0, "pairwise", random.Random(s)).label for s in range(20)}
    assert labels == {0, 1}


# ------------------------------------------------------------------------------------------------------ errors
BOF = {"prompt": "p", "responses": ["a", "b"], "best_index": 0}
PAIR = {"prompt": "p", "chosen": "a", "rejected": "b"}
RATED = {"prompt": "p", "responses": ["a", "b"], "ratings": [1, 2]}
SINGLE = {"prompt": "p", "response": "a", "label": 1}
ERRORS = [
    ("missing best_index", BOF, {"best_index": None}, "best_index", ValueError),
    ("missing prompt", BOF, {"prompt": None}, "prompt", ValueError),
    ("pairwise without prompt", PAIR, {"prompt": None}, "prompt", ValueError),
    ("empty chosen", PAIR, {"chosen": "  "}, "chosen", ValueError),
    ("non-string rejected", PAIR, {"rejected": 3}, "rejected", TypeError),
    ("empty prompt", PAIR, {"prompt": ""}, "prompt", ValueError),
    ("messages ending with the assistant", PAIR, {"messages": SKY + [BLUE]}, "messages", ValueError),
    ("mixed chosen/rejected kinds", PAIR, {"prompt": SKY, "chosen": [BLUE], "rejected": "x"}, "rejected", TypeError),
    ("two-turn completion", PAIR, {"prompt": SKY, "chosen": [BLUE, BLUE], "rejected": [GREEN]}, "chosen", ValueError),
    (
        "conversation not repeating the prompt",
        PAIR,
        {"prompt": [{"role": "user", "content": "Other?"}], "chosen": [*SKY, BLUE], "rejected": [*SKY, GREEN]},
        "chosen",
        ValueError,
    ),
    ("completion with user role", PAIR, {"prompt": SKY, "chosen": SKY, "rejected": [GREEN]}, "chosen", ValueError),
    ("empty response in list", BOF, {"responses": ["a", ""]}, "responses", ValueError),
    ("non-string response in list", BOF, {"responses": ["a", None]}, "responses", TypeError),
    ("responses not a list", BOF, {"responses": "ab"}, "responses", TypeError),
    ("one response for best-of-N", BOF, {"responses": ["a"]}, "responses", ValueError),
    ("best_index out of range", BOF, {"best_index": 2}, "best_index", ValueError),
    ("best_index negative", BOF, {"best_index": -1}, "best_index", ValueError),
    ("best_index a bool", BOF, {"best_index": True}, "best_index", TypeError),
    ("best_index a string", BOF, {"best_index": "0"}, "best_index", TypeError),
    ("ratings length", RATED, {"ratings": [1, 2, 3]}, "ratings", ValueError),
    ("rating not a number", RATED, {"ratings": [1, "high"]}, "ratings", TypeError),
    ("rating NaN", RATED, {"ratings": [1, float("nan")]}, "ratings", ValueError),
    ("single label 2", SINGLE, {"label": 2}, "label", ValueError),
    ("single label 0.5", SINGLE, {"label": 0.5}, "label", ValueError),
    ("single empty response", SINGLE, {"response": ""}, "response", ValueError),
    ("principles not a string", SINGLE, {"principles": ["x"]}, "principles", TypeError),
]


@pytest.mark.parametrize(("base", "change", "column", "error"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_name_the_row_and_the_column(base, change, column, error):
    rows = [dict(base), dict(base), {**base, **change}]
    with pytest.raises(error, match=rf"^Row 2, column {re.escape(repr(column))}: "):
        load_preference_data(rows)


def test_other_source_errors_name_the_row(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(PAIR) + "\n{not json\n")
    with pytest.raises(ValueError, match=r"Row 1 \(.*line 2\): invalid JSON"):
        load_preference_data(bad)
    with pytest.raises(TypeError, match="Row 1 must be a dict"):
        load_preference_data([PAIR, ["p", "a", "b"]])
    with pytest.raises(ValueError, match="no rows"):
        load_preference_data([])
    with pytest.raises(FileNotFoundError):
        load_preference_data(tmp_path / "missing.jsonl")
    with pytest.raises(ValueError, match=r"\.jsonl or \.json"):
        (tmp_path / "d.csv").write_text("prompt,chosen,rejected\n")
        load_preference_data(tmp_path / "d.csv")


# ------------------------------------------------------------------------------------------- shared data files
@pytest.fixture(scope="module")
def shared():
    def read(name: str) -> tuple[list[dict], list[LabeledInput], object]:
        path = SHARED / name
        raw = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        examples, report = load_preference_data(path)
        return raw, examples, report

    return read


def test_shared_llmbar(shared):
    raw, examples, report = shared("llmbar.jsonl")
    assert report.format == "pairwise" and report.rows == report.kept == 419
    assert abs(report.label_counts[0] - report.label_counts[1]) <= 1
    assert Counter(ex.meta["subset"] for ex in examples) == {
        "llmbar-natural": 100,
        "llmbar-adver-neighbor": 134,
        "llmbar-adver-GPTInst": 92,
        "llmbar-adver-GPTOut": 47,
        "llmbar-adver-manual": 46,
    }
    for row, ex in zip(raw, examples):
        assert ex.context == row["prompt"] and len(ex.responses) == 2
        assert ex.responses[ex.label] == row["chosen"] and ex.responses[1 - ex.label] == row["rejected"]


def test_shared_pandalm(shared):
    raw, examples, report = shared("pandalm_test.jsonl")
    assert report.format == "pairwise" and report.rows == report.kept == 842
    assert all(ex.responses[ex.label] == row["chosen"] for row, ex in zip(raw, examples))
    assert examples[0].meta["meta"] == raw[0]["meta"]


def test_shared_hh_rlhf_uses_the_multi_turn_messages(shared):
    raw, examples, report = shared("hh_rlhf_harmless_base_test.jsonl")
    assert report.format == "pairwise" and report.rows == report.kept == 2303
    assert all(isinstance(ex.context, list) and ex.context[-1]["role"] == "user" for ex in examples)
    assert all(ex.context == row["messages"] for row, ex in zip(raw, examples))
    assert sum(len(ex.context) > 1 for ex in examples) == 2303 - 658  # 658 single-turn conversations
    assert all(ex.responses[ex.label] == row["chosen"] for row, ex in zip(raw, examples))


def test_shared_alpacaeval_best_of_4(shared):
    raw, examples, report = shared("alpacaeval_bon4_tulu2.jsonl")
    assert report.format == "best_of_n" and report.rows == report.kept == 300
    assert all(len(ex.responses) == 4 for ex in examples)
    assert [ex.label for ex in examples] == [row["best_index"] for row in raw]
    assert all(ex.responses == row["responses"] for row, ex in zip(raw, examples))
    assert sum(report.label_counts.values()) == 300 and len(report.label_counts) == 4
    assert Counter(ex.meta["subset"] for ex in examples)["selfinstruct"] == 91
