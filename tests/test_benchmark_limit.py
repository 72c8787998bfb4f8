"""`--limit` on a benchmark: a seeded sample spread over the benchmark's sections, and a report that says what the
limit cut (issue 25, item 3: RMB `--limit 4` used to take the first four rows, all best-of-N, and report the other
sections as missing from the source)."""

from __future__ import annotations

from collections import Counter

from test_benchmark_scoring import (
    RB_ROWS,
    SETTINGS,
    ScriptedJudge,
    evaluate,
    rb_row,
    rewardbench_fixture,
    rmb_fixture,
    write_json,
)

from trl_grm.evaluation.benchmarks import get_benchmark
from trl_grm.evaluation.metrics import REWARDBENCH_SECTIONS


def section_of_subset(subset: str) -> str:
    return next(name for name, subsets in REWARDBENCH_SECTIONS.items() if subset in subsets)


def test_rmb_limit_takes_every_section_and_is_seeded(tmp_path):
    folder = rmb_fixture(tmp_path)
    # More rows in the first file (sorted first: BoN_set/Harmlessness), as in the published folder.
    path = folder / "BoN_set/Harmlessness/multi.json"
    rows = [{**_bon_row(uid), "category_path": "BoN_set/Harmlessness/multi"} for uid in ("10", "11", "12", "13", "14")]
    write_json(path, rows)
    data = get_benchmark("rmb").load(folder, limit=4, seed=0)
    assert Counter(item["section"] for item in data.items) == {
        "pairwise/helpfulness": 1,
        "pairwise/harmlessness": 1,
        "bon/helpfulness": 1,
        "bon/harmlessness": 1,
    }
    assert data.missing == [] and data.limit["cut"] == []
    assert data.limit["rows_in_source"] == 11 and data.limit["sections"]["bon/harmlessness"] == {
        "taken": 1,
        "in_source": 5,
    }
    again = get_benchmark("rmb").load(folder, limit=4, seed=0)
    assert [i.id for i in again.inputs] == [i.id for i in data.inputs]
    picks = {tuple(i.id for i in get_benchmark("rmb").load(folder, limit=4, seed=s).inputs) for s in range(8)}
    assert len(picks) > 1  # the seed picks which rows of a section
    # Scored: all four sections are there, so RMB's score exists.
    report = evaluate(ScriptedJudge(), data, tmp_path / "out", SETTINGS, benchmark="rmb", progress=False)
    assert report["benchmark"]["results"]["greedy"]["score"] is not None


def _bon_row(uid: str) -> dict:
    answer = lambda tag: {"llm_name": "x", "answer": f"[{tag}] answer"}  # noqa: E731
    return {
        "bon_uid": uid,
        "conversation_input": [{"role": "user", "content": f"Q {uid}?", "language": "English"}],
        "bon_best": answer("s9"),
        "loser_list": [answer("s2")],
    }


def test_a_limit_below_the_number_of_sections_says_it_cut_them(tmp_path):
    folder = rmb_fixture(tmp_path)
    data = get_benchmark("rmb").load(folder, limit=2, seed=3)
    assert len(data.items) == 2 and len({item["section"] for item in data.items}) == 2
    assert data.missing == []  # all four are in the source
    assert len(data.limit["cut"]) == 2
    report = evaluate(ScriptedJudge(), data, tmp_path / "out", SETTINGS, benchmark="rmb", progress=False)
    md = (tmp_path / "out" / "report.md").read_text()
    assert "; missing from the source" not in md
    assert "Limited to 2 rows (--limit)" in md and "Cut by the limit, not missing from the source" in md
    for section in data.limit["cut"]:
        assert section in md
    assert report["benchmark"]["limit"]["cut"] == data.limit["cut"]


def test_rewardbench_limit_spreads_over_sections_then_subsets_and_skips_prior_sets(tmp_path):
    data = get_benchmark("rewardbench").load(rewardbench_fixture(tmp_path), limit=8, seed=0)
    subsets = [item["subset"] for item in data.items]
    assert Counter(section_of_subset(s) for s in subsets) == {"Chat": 2, "Chat Hard": 2, "Safety": 2, "Reasoning": 2}
    # Within a section, one from each subset before a second from any.
    assert sorted(subsets) == sorted({s for s, *_ in RB_ROWS})
    assert data.skipped == {} and data.limit["not_scored"] == 1  # the prior set row is never sampled
    # Published order is kept.
    assert [item["id"] for item in data.items] == sorted(item["id"] for item in data.items)


def test_a_limit_over_the_rows_changes_nothing(tmp_path):
    source = rewardbench_fixture(tmp_path)
    full = get_benchmark("rewardbench").load(source)
    limited = get_benchmark("rewardbench").load(source, limit=len(RB_ROWS) + 1)
    assert [i.id for i in limited.inputs] == [i.id for i in full.inputs] and limited.limit is None


def test_missing_and_cut_are_told_apart(tmp_path):
    rows = [rb_row(i, s, c, r) for i, (s, c, r, _, _) in enumerate(RB_ROWS) if s != "hep-python"]
    source = write_json(tmp_path / "rb.json", rows)
    data = get_benchmark("rewardbench").load(source, limit=4, seed=0)
    assert "hep-python" in data.missing and "hep-python" not in data.limit["cut"]  # absent from the source
    assert "alpacaeval-length" in data.missing  # never published in this fixture either
    assert set(data.limit["cut"]) <= {s for s, *_ in RB_ROWS}


def test_cli_dry_run_shows_the_limit(tmp_path, capsys):
    from trl_grm.cli import eval as eval_cli

    argv = ["--benchmark", f"rmb={rmb_fixture(tmp_path)}", "--limit", "2", "--output_dir", str(tmp_path / "o")]
    assert eval_cli.main([*argv, "--dry_run"]) == 0
    out = capsys.readouterr().out
    assert "Limited to 2 rows (--limit)" in out and "Cut by the limit" in out
