"""``python -m trl_grm.evaluation.judge_check``: generator pairs and labelled pair files judged in both orders."""

from __future__ import annotations

import json

from trl_grm.evaluation.judge_check import main


def test_judge_check_reports_the_generator_and_a_pair_file_side_by_side(judge_dir, tmp_path):
    """The tiny judge prefers the first shown reply: right in one order of every pair, never in both, on the varied
    generator's held-out pairs and on a hand-written file alike (at most half per order, none in both), each grouped
    by family."""
    pairs = tmp_path / "hand.jsonl"
    rows = [
        {"prompt": "Say it loudly, in capitals.", "chosen": "HELLO THERE.", "rejected": "Hello there.", "family": "a"},
        {"prompt": "Two words only.", "chosen": "Good night.", "rejected": "Good night to all.", "family": "a"},
        {"prompt": "Is 9 odd? Yes or no.", "chosen": "Yes.", "rejected": "No.", "family": "b"},
        {"prompt": "What is 3 + 4?", "chosen": "7", "rejected": "8", "family": "b"},
    ]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "check"
    args = ["--model", str(judge_dir), "--num_pairs", "6", "--style", "varied", "--pairs", str(pairs)]
    assert main([*args, "--ks", "1", "2", "--max_new_tokens", "80", "--output_dir", str(out)]) == 0
    result = json.loads((out / "results.json").read_text())
    assert list(result["sets"]) == ["held-out varied pairs", "hand"]
    for report in result["sets"].values():
        assert report["overall"]["valid"] > 0.8  # sampled at T = 0.5, the memorised format sometimes slips
        assert 0.3 <= report["overall"]["per_order"] <= 0.5 and report["overall"]["both_orders"] == 0.0
        assert report["overall"]["position_consistency"] == 0.0
    hand = result["sets"]["hand"]
    assert hand["overall"]["pairs"] == 4 and {k: v["pairs"] for k, v in hand["groups"].items()} == {"a": 2, "b": 2}
    assert len(result["sets"]["held-out varied pairs"]["groups"]) == 6
    table = (out / "results.md").read_text()
    assert "held-out varied pairs in both orders" in table and "hand in both orders" in table
