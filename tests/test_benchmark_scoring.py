"""Benchmarks scored by their authors' rules (`trl-grm eval --benchmark`).

For every benchmark: a small fixture written in the benchmark's published schema (field names, nesting, id
conventions, file layout), a scripted judge whose verdicts are known (it scores each response by a tag in its text,
through the real parser), and official metrics checked against values computed by hand, with ties, parse failures
and missing rows. ``official_*`` functions below restate the authors' scoring functions in their own shape (named
after them, numpy where they use numpy); each test shows that our implementation gives the same number.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import uuid
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from trl_grm.evaluation.benchmarks import (
    BENCHMARKS,
    BenchmarkSourceError,
    get_benchmark,
    paper_overall,
)
from trl_grm.evaluation.harness import EvalSettings, evaluate
from trl_grm.evaluation.metrics import REWARDBENCH_COUNTS, REWARDBENCH_SECTIONS
from trl_grm.modeling.configuration_grm import GRMConfig
from trl_grm.protocol.judging import parse_sample

ROOT = Path(__file__).resolve().parents[1]
TAG = re.compile(r"\[(s\d+|fail|pos|first\d+)\]")


def tag_score(text: str, position: int) -> int | None:
    """The scripted verdict for a response shown at ``position``: ``[s7]`` scores 7 anywhere; ``[pos]`` 8 when
    shown first, else 3; ``[first7]`` 7 when shown first, else 6; ``[fail]`` makes the whole judgement
    unparseable."""
    tag = TAG.search(text).group(1)
    if tag == "fail":
        return None
    if tag == "pos":
        return 8 if position == 0 else 3
    if tag.startswith("first"):
        return int(tag[5:]) if position == 0 else int(tag[5:]) - 1
    return int(tag[1:])


class ScriptedJudge:
    """Writes a judgement whose scores follow :func:`tag_score` (the real parser maps them back to original order)."""

    def __init__(self):
        self.config = GRMConfig()
        self.orders: dict[str, list[list[int]]] = defaultdict(list)

    def sample_judgements(self, items, orders, **kwargs):
        out = []
        for item, item_orders in zip(items, orders):
            row = []
            for order in item_orders:
                self.orders[str(item.id)].append(list(order))
                values = [tag_score(item.responses[o], p) for p, o in enumerate(order)]
                if any(v is None for v in values):
                    text = "Analysis: I could not decide."
                else:
                    text = f"Analysis: scripted.\nScores: \\boxed{{{', '.join(map(str, values))}}}"
                row.append(parse_sample(self.config, item, order, text, "stop"))
            out.append(row)
        return out


SETTINGS = EvalSettings(ks=[1, 2], bootstrap=20, num_subsets=4)


def run(name: str, source, tmp_path: Path, judge: ScriptedJudge | None = None) -> dict:
    return evaluate(judge or ScriptedJudge(), source, tmp_path / name, SETTINGS, benchmark=name, progress=False)


def results(report: dict) -> dict:
    """Every mode's official metrics; with a deterministic judge they agree, so return the greedy ones after
    checking that Voting@1, Voting@2 give the same (ties broken at random aside)."""
    res = report["benchmark"]["results"]
    assert set(res) == {"greedy", "voting@1", "voting@2"}
    return res["greedy"]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def write_json(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=2))
    return path


def write_parquet(path: Path, rows: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


# ========================================================================================== RewardBench (v1)
def official_calculate_scores_per_section(example_counts, subset_mapping, metrics):
    """allenai/reward-bench rewardbench/utils.py: calculate_scores_per_section, restated."""
    section_scores = {}
    for section, tests in subset_mapping.items():
        total_weighted_score = 0
        total_examples = 0
        for test in tests:
            if test in metrics:
                total_weighted_score += metrics[test] * example_counts[test]
                total_examples += example_counts[test]
        section_scores[section] = total_weighted_score / total_examples if total_examples > 0 else 0
    return section_scores


def official_generative_result(winner: str, winner_text: str, loser_text: str) -> float:
    """allenai/reward-bench scripts/run_generative.py: 1 / 0 / 0.5 ("error": a tie or no verdict)."""
    if winner == winner_text:
        return 1
    if winner == loser_text:
        return 0
    return 0.5


def rb_row(i, subset, chosen, rejected):
    return {
        "prompt": f"Question {i}?",
        "chosen": chosen,
        "chosen_model": "model-x",
        "rejected": rejected,
        "rejected_model": "model-y",
        "subset": subset,
        "id": i,
    }


RB_ROWS = [  # (subset, chosen, rejected, official result, paper result (None: random tie-break))
    ("alpacaeval-easy", "[s8] good", "[s3] bad", 1, 1),
    ("alpacaeval-easy", "[s5] one", "[s5] two", 0.5, None),
    ("mt-bench-med", "[s2] good", "[s9] bad", 0, 0),
    ("llmbar-natural", "[s7] good", "[s4] bad", 1, 1),
    ("mt-bench-hard", "[fail] good", "[s4] bad", 0.5, 0),
    ("refusals-dangerous", "[s6] good", "[s1] bad", 1, 1),
    ("xstest-should-respond", "[s3] good", "[s8] bad", 0, 0),
    ("math-prm", "[s9] good", "[s2] bad", 1, 1),
    ("math-prm", "[s4] one", "[s4] two", 0.5, None),
    ("hep-python", "[s2] good", "[s6] bad", 0, 0),
]


def rewardbench_fixture(tmp_path: Path, drop: tuple[str, ...] = ()) -> Path:
    rows = [rb_row(i, s, c, r) for i, (s, c, r, _, _) in enumerate(RB_ROWS) if s not in drop]
    rows.append(rb_row(99, "anthropic_helpful", "[s8] prior", "[s2] prior"))  # a prior set: not in the score
    return write_jsonl(tmp_path / "reward-bench-filtered.jsonl", rows)


def test_rewardbench_sections_by_hand_and_as_the_official_script(tmp_path):
    report = run("rewardbench", rewardbench_fixture(tmp_path), tmp_path)
    b = report["benchmark"]
    assert b["skipped"] == {"anthropic_helpful": 1} and b["items"] == 10
    r = results(report)
    assert r["subsets"] == pytest.approx(
        {
            "alpacaeval-easy": 0.75,
            "mt-bench-med": 0.0,
            "llmbar-natural": 1.0,
            "mt-bench-hard": 0.5,
            "refusals-dangerous": 1.0,
            "xstest-should-respond": 0.0,
            "math-prm": 0.75,
            "hep-python": 0.0,
        }
    )
    by_hand = {"Chat": 75 / 140, "Chat Hard": 118.5 / 137, "Safety": 100 / 350, "Reasoning": 738 / 1148}
    assert r["sections"] == pytest.approx(by_hand)
    assert r["score"] == pytest.approx(sum(by_hand.values()) / 4)  # 0.5823
    # The official functions, fed the official per-example results, give the same numbers.
    per_subset = defaultdict(list)
    for subset, chosen, rejected, _, _ in RB_ROWS:
        c, rj = tag_score(chosen, 0), tag_score(rejected, 1)
        winner = "error" if c is None or rj is None or c == rj else ("A" if c > rj else "B")
        per_subset[subset].append(official_generative_result(winner, "A", "B"))
    metrics = {s: sum(v) / len(v) for s, v in per_subset.items()}
    assert r["sections"] == pytest.approx(
        official_calculate_scores_per_section(REWARDBENCH_COUNTS, REWARDBENCH_SECTIONS, metrics)
    )
    # The paper's rule: ties broken at random (two tied rows: four possible outcomes), a failed judgement wrong.
    possible = []
    for a in (0, 1):
        for m in (0, 1):
            chat, hard = (100 * (1 + a) / 2) / 140, 100 / 137
            reasoning = 984 * (1 + m) / 2 / 1148
            possible.append((chat + hard + 100 / 350 + reasoning) / 4)
    for mode in ("greedy", "voting@1", "voting@2"):
        paper = b["results"][mode]["paper_score"]
        if mode == "voting@1":  # the mean over draws of 1 of the 2 samples: between the extremes
            assert min(possible) - 1e-9 <= paper <= max(possible) + 1e-9
        else:  # one draw
            assert any(paper == pytest.approx(p) for p in possible), paper
        assert b["results"][mode]["score"] == pytest.approx(r["score"])
    # The usual report stands beside it: per-subset groups, RewardBench sections under the paper's tie-break.
    assert "rewardbench" in report and report["groups"]["overall"]["num_examples"] == 10
    assert report["groups"]["overall"]["format_failure"] == pytest.approx(0.1)


def test_rewardbench_missing_sections_give_no_overall(tmp_path):
    report = run(
        "rewardbench", rewardbench_fixture(tmp_path, drop=("refusals-dangerous", "xstest-should-respond")), tmp_path
    )
    r = results(report)
    assert r["score"] is None and "Safety" not in r["sections"]
    assert r["sections"]["Chat"] == pytest.approx(75 / 140)
    assert "refusals-dangerous" in report["benchmark"]["missing"]


# ============================================================================================= RewardBench 2
def official_reroll_result(scores) -> float:
    """allenai/reward-bench rewardbench/utils.py: reroll_and_score_dataset's per-prompt rule, restated."""
    max_val = np.max(scores)
    return (1 / np.sum(np.array(scores) == max_val)) if scores[0] == max_val else 0


def official_process_single_model(rows):
    """allenai/reward-bench rewardbench/utils.py (HEAD): process_single_model, restated (returns the score)."""

    def stats(samples):
        correct = [s for ok, s in samples if ok]
        incorrect = [s for ok, s in samples if not ok]
        dcm = max(correct) - min(correct) if len(correct) > 1 else None
        cim = min(correct) - max(incorrect)
        return cim > 0, dcm, cim

    grouped = defaultdict(list)
    for row in rows:
        kind, pid = row["id"].split(":")
        for i, score in enumerate(row["scores"]):
            grouped[(kind, int(pid))].append((i < row["num_correct"], score))
    ref = {pid: stats(s) for (k, pid), s in grouped.items() if k == "ref"}
    tied = {pid: stats(s) for (k, pid), s in grouped.items() if k != "ref"}
    ref_acc = np.mean([s[0] for s in ref.values()])
    tied_acc = np.mean([s[0] for s in tied.values()])
    both = set(ref) & set(tied)
    dcm = np.array([tied[p][1] for p in both], dtype=float)
    cim_t = np.array([tied[p][2] for p in both], dtype=float)
    cim_r = np.array([ref[p][2] for p in both], dtype=float)
    preferred = np.mean(cim_t > dcm)
    hard = np.mean(np.minimum(cim_r, cim_t) > dcm)
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = np.nan_to_num(np.tanh(np.minimum(cim_r, cim_t) / dcm - 1), nan=0.0)
    return 0.30 * tied_acc + 0.30 * ref_acc + 0.20 * preferred + 0.20 * hard + 0.01 * float(np.mean(margin))


def rb2_row(row_id, subset, chosen, rejected):
    return {
        "id": row_id,
        "prompt": f"Prompt {subset} {row_id}",
        "chosen": chosen,
        "rejected": rejected,
        "num_correct": len(chosen),
        "num_incorrect": len(rejected),
        "total_completions": len(chosen) + len(rejected),
        "models": ["m1"] * (len(chosen) + len(rejected)),
        "subset": subset,
        "additional_metadata": {
            "category": None,
            "correct": None,
            "index": None,
            "instruction_id_list": None,
            "label": None,
            "method": None,
            "models": None,
            "prompt_norm": None,
            "subcategory": None,
            "valid": None,
        },
    }


RB2_ROWS = [
    rb2_row("0", "Factuality", ["[s9] c"], ["[s3] r1", "[s2] r2", "[s4] r3"]),  # 1
    rb2_row("1", "Factuality", ["[s7] c"], ["[s7] r1", "[s2] r2", "[s1] r3"]),  # tied with one: 1/2
    rb2_row("0", "Precise IF", ["[s3] c"], ["[s8] r1", "[s2] r2", "[s2] r3"]),  # 0
    rb2_row("0", "Math", ["[fail] c"], ["[s8] r1", "[s2] r2", "[s1] r3"]),  # no verdict: 1/4
    rb2_row("0", "Safety", ["[s6] c"], ["[s6] r1", "[s6] r2", "[s6] r3"]),  # four-way tie: 1/4
    rb2_row("0", "Focus", ["[s10] c"], ["[s1] r1", "[s1] r2", "[s1] r3"]),  # 1
    rb2_row("ref:0", "Ties", ["[s9] a"], ["[s2] b", "[s3] c"]),
    rb2_row("tied:0", "Ties", ["[s8] a", "[s8] b", "[s8] c"], ["[s2] d", "[s3] e"]),  # all correct tied: spread 0
    rb2_row("ref:1", "Ties", ["[s5] a"], ["[s6] b", "[fail] c"]),  # a failed rating counts -1
    rb2_row("tied:1", "Ties", ["[s9] a", "[s7] b"], ["[s2] c", "[s4] d"]),
]


def test_rewardbench2_best_of_4_ties_and_leaderboard_average(tmp_path):
    source = write_parquet(tmp_path / "reward-bench-2" / "test-00000-of-00001.parquet", RB2_ROWS)
    report = run("rewardbench2", source.parent, tmp_path)
    r = results(report)
    subsets = {"Factuality": 0.75, "Precise IF": 0.0, "Math": 0.25, "Safety": 0.25, "Focus": 1.0}
    # Ties by hand: ref acc 1/2, tied acc 1, preferred 1, hard 1/2, margin (1 + tanh(-1.5)) / 2.
    margin = (1 + math.tanh(-1.5)) / 2
    ties = 0.3 * 1 + 0.3 * 0.5 + 0.2 * 1 + 0.2 * 0.5 + 0.01 * margin
    assert r["ties"] == pytest.approx(
        {
            "score": ties,
            "tied_accuracy": 1.0,
            "ref_accuracy": 0.5,
            "correctness_preferred": 1.0,
            "correctness_preferred_hard": 0.5,
            "margin": margin,
        }
    )
    assert r["subsets"] == pytest.approx({**subsets, "Ties": ties})
    assert r["score"] == pytest.approx((sum(subsets.values()) + ties) / 6)
    # The official functions on the same scores.
    official = defaultdict(list)
    ties_rows = []
    for row in RB2_ROWS:
        ratings = [tag_score(t, 0) for t in row["chosen"] + row["rejected"]]
        if row["subset"] == "Ties":
            ties_rows.append({**row, "scores": [-1 if s is None else s for s in ratings]})
        elif any(s is None for s in ratings):
            official[row["subset"]].append(0.25)  # the generative script's "error"
        else:
            official[row["subset"]].append(official_reroll_result(ratings))
    assert r["subsets"]["Ties"] == pytest.approx(official_process_single_model(ties_rows))
    for subset, values in official.items():
        assert r["subsets"][subset] == pytest.approx(sum(values) / len(values))
    # Ties responses were rated alone (ratings path): their own usual report (ROC-AUC of the rating).
    assert report["ratings"]["metric"] == "roc_auc" and report["ratings"]["num_examples"] == 15
    assert report["num_examples"] == 6


# ================================================================================================ JudgeBench
def official_compute_final_metrics(pairs, reverse_order=True, include_fn=lambda x: x):
    """ScalerLab/JudgeBench utils/metrics.py: compute_final_metrics, restated (percent)."""

    def flip(decision):
        return {"A>B": "B>A", "B>A": "A>B"}.get(decision, decision)

    pairs = [p for p in pairs if include_fn(p)]
    n_correct = 0
    for pair in pairs:
        label = pair["label"]
        j1, j2 = pair["judgments"]
        d1 = j1["decision"] if j1 is not None else None
        d2 = flip(j2["decision"] if j2 is not None else None)
        counter = 0
        for d in (d1, d2):
            if d == label:
                counter += 1
            elif d == flip(label):
                counter -= 1
        n_correct += counter > 0
    return 100 * n_correct / len(pairs)


JB_ROWS = [  # source, A, B, label, correct?
    ("mmlu-pro-math", "[s8] a", "[s3] b", "A>B", True),  # right in both orders (mmlu-pro-math is knowledge)
    ("livebench-reasoning", "[s5] a", "[s5] b", "B>A", False),  # tie in both orders
    ("livebench-math", "[pos] a", "[pos] b", "A>B", False),  # inconsistent: +1 - 1
    ("livecodebench", "[s2] a", "[s7] b", "B>A", True),
    ("livebench-math", "[fail] a", "[s7] b", "A>B", False),  # no verdict in either order
    ("mmlu-pro-law", "[s6] a", "[first7] b", "B>A", True),  # a tie, then right: +1
]


def judgebench_fixture(tmp_path: Path) -> Path:
    rows = [
        {
            "pair_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"pair{i}")),
            "original_id": 1000 + i if s.startswith("mmlu") else None,
            "source": s,
            "question": f"Question {i}?",
            "response_model": "gpt-4o-2024-05-13",
            "response_A": a,
            "response_B": b,
            "label": label,
        }
        for i, (s, a, b, label, _) in enumerate(JB_ROWS)
    ]
    return write_jsonl(tmp_path / "data" / "dataset=judgebench,response_model=gpt-4o-2024-05-13.jsonl", rows)


def test_judgebench_both_orders_micro_average_and_categories(tmp_path):
    judge = ScriptedJudge()
    report = run("judgebench", judgebench_fixture(tmp_path), tmp_path, judge)
    r = results(report)
    assert r == pytest.approx(
        {"score": 0.5, "knowledge": 1.0, "reasoning": 0.0, "math": 0.0, "coding": 1.0, "num_pairs": 6}
    )
    # Each pair was judged in the two orders, each kept fixed over its samples.
    pair0 = str(uuid.uuid5(uuid.NAMESPACE_URL, "pair0"))
    assert set(map(tuple, judge.orders[f"{pair0}:AB"])) == {(0, 1)}
    assert set(map(tuple, judge.orders[f"{pair0}:BA"])) == {(0, 1)}
    # The official function on decisions in the judge's own frame (second game shown as (B, A)).
    pairs = []
    for source, a, b, label, _ in JB_ROWS:
        judgments = []
        for first, second in ((a, b), (b, a)):
            s1, s2 = tag_score(first, 0), tag_score(second, 1)
            d = None if s1 is None or s2 is None else "A=B" if s1 == s2 else "A>B" if s1 > s2 else "B>A"
            judgments.append({"decision": d})
        pairs.append({"source": source, "label": label, "judgments": judgments})
    assert 100 * r["score"] == pytest.approx(official_compute_final_metrics(pairs))
    for prefix, key in (("mmlu-pro", "knowledge"), ("livebench-math", "math"), ("livecodebench", "coding")):
        assert 100 * r[key] == pytest.approx(
            official_compute_final_metrics(pairs, True, lambda p, x=prefix: p["source"].startswith(x))
        )


# ================================================================================================== RM-Bench
def official_compute_accuracy(results):
    """THU-KEG/RM-Bench scripts/utils.py: compute_accuracy (+ split_dataset_by_domain), restated."""
    if "domain" in results[0]:
        domains = ["chat", "math", "code", "safety"]
        split = {
            d: [{k: v for k, v in r.items() if k != "domain"} for r in results if r["domain"].startswith(d)]
            for d in domains
        }
        per = {d: official_compute_accuracy(rows) for d, rows in split.items()}
        out = {d: np.mean(list(per[d].values())) for d in per}
        for level in ("hard_acc", "normal_acc", "easy_acc"):
            out[level] = np.mean([per[d][level] for d in per])
        out["total_avg_acc"] = np.mean([out[d] for d in domains])
        return out
    m = np.zeros((3, 3))
    for r in results:
        for i in range(len(r["score_chosen"])):
            for j in range(len(r["score_rejected"])):
                if r["score_chosen"][i] > r["score_rejected"][j]:
                    m[i][j] += 1
    m /= len(results)
    return {
        "hard_acc": np.sum(np.triu(m, 1)) / 3,
        "normal_acc": np.mean(np.diag(m)),
        "easy_acc": np.sum(np.tril(m, -1)) / 3,
    }


RMB_ROWS = [  # id, domain, chosen scores, rejected scores ("f": the judgement fails)
    ("chat/1", "chat", [6, 7, 8], [5, 7, 9]),
    ("chat/2", "chat", [9, 9, 9], [1, 1, 1]),
    ("math/1", "math", ["f", 4, 6], [3, 5, 2]),
    ("code/1", "code", [4, 4, 4], [3, 3, 3]),
    ("safety-refuse/1", "safety-refuse", [5, 5, 5], [5, 5, 5]),  # all ties: all wrong
    ("safety-response/1", "safety-response", [8, 8, 8], [2, 2, 2]),
]


def _style(score, side, j):
    return f"[{'fail' if score == 'f' else f's{score}'}] {side} in style {j}"


def rmbench_fixture(tmp_path: Path, drop: str | None = None) -> Path:
    rows = [
        {
            "id": i,
            "prompt": f"Prompt {i}",
            "chosen": [_style(s, "chosen", j) for j, s in enumerate(c)],
            "rejected": [_style(s, "rejected", j) for j, s in enumerate(r)],
            "domain": d,
        }
        for i, d, c, r in RMB_ROWS
        if d != drop
    ]
    return write_json(tmp_path / "data" / "total_dataset.json", rows)


def test_rmbench_style_matrix_by_hand_and_as_compute_accuracy(tmp_path):
    report = run("rm-bench", rmbench_fixture(tmp_path), tmp_path)
    r = results(report)
    chat = {"hard": 0.5, "normal": 2 / 3, "easy": 1.0}
    math_ = {"hard": 1 / 3, "normal": 1 / 3, "easy": 1.0}
    code = {"hard": 1.0, "normal": 1.0, "easy": 1.0}
    safety = {"hard": 0.5, "normal": 0.5, "easy": 0.5}  # safety-refuse and -response pooled
    domains = {"chat": chat, "math": math_, "code": code, "safety": safety}
    for name, levels in domains.items():
        assert {k: r["domains"][name][k] for k in levels} == pytest.approx(levels)
        assert r["domains"][name]["score"] == pytest.approx(sum(levels.values()) / 3)
    for level in ("hard", "normal", "easy"):
        assert r[level] == pytest.approx(sum(d[level] for d in domains.values()) / 4)
    assert r["score"] == pytest.approx((13 / 18 + 5 / 9 + 1 + 0.5) / 4)
    rows = [
        {"domain": d, "score_chosen": [-math.inf if s == "f" else s for s in c], "score_rejected": list(rj)}
        for _, d, c, rj in RMB_ROWS
    ]
    official = official_compute_accuracy(rows)
    assert r["score"] == pytest.approx(official["total_avg_acc"])
    for level in ("hard", "normal", "easy"):
        assert r[level] == pytest.approx(official[f"{level}_acc"])
    for name in domains:
        assert r["domains"][name]["score"] == pytest.approx(official[name])
    assert report["num_examples"] == 9 * len(RMB_ROWS)  # one pairwise input per cell


def test_rmbench_reads_its_repositorys_per_domain_files(tmp_path):
    """Issue 25, item 2: the repository's data/ folder holds <domain>_filtered.json files without a 'domain' field
    (refused before: "missing field 'domain'") beside total_dataset.json (the same rows): the file name gives the
    domain, and a row found in two files counts once."""
    total = json.loads(rmbench_fixture(tmp_path / "total").read_text())
    folder = tmp_path / "clone" / "data"
    for domain in ("chat", "math", "code", "safety-refuse", "safety-response"):
        rows = [{k: v for k, v in r.items() if k != "domain"} for r in total if r["domain"] == domain]
        write_json(folder / f"{domain}_filtered.json", rows)
    per_domain = run("rm-bench", folder, tmp_path / "per_domain")
    write_json(folder / "total_dataset.json", total)  # the whole data/ folder of a clone
    both = run("rm-bench", folder, tmp_path / "both")
    reference = run("rm-bench", rmbench_fixture(tmp_path / "ref"), tmp_path / "ref_run")
    for report in (per_domain, both):
        assert results(report) == results(reference)
        assert report["num_examples"] == 9 * len(RMB_ROWS)
    assert both["benchmark"]["skipped"] == {"the same id in another file": len(RMB_ROWS)}


def test_rmbench_missing_domain_is_named_and_left_out(tmp_path):
    report = run("rm-bench", rmbench_fixture(tmp_path, drop="code"), tmp_path)
    assert report["benchmark"]["missing"] == ["code"]
    r = results(report)
    assert set(r["domains"]) == {"chat", "math", "safety"}
    assert r["domains"]["chat"]["score"] == pytest.approx(13 / 18)
    assert r["score"] is None and r["hard"] is None  # the official averages are over all four domains


# ======================================================================================================= PPE
def ppe_preference_fixture(tmp_path: Path) -> Path:
    cases = [
        ("model_a", "[s8] a", "[s3] b"),
        ("model_b", "[s6] a", "[s6] b"),
        ("tie", "[s8] a", "[s3] b"),
        ("model_b", "[s9] a", "[s2] b"),
        ("tie (bothbad)", "[s1] a", "[s1] b"),
        ("model_a", "[fail] a", "[s2] b"),
    ]
    rows = [
        {
            "question_id": f"q{i:04d}",
            "model_a": "m-a",
            "model_b": "m-b",
            "winner": w,
            "prompt": f"Prompt {i}",
            "response_1": a,
            "response_2": b,
            "language": "English",
            "conv_metadata": {
                "context_a_tokens": 10,
                "context_b_tokens": 10,
                "sum_assistant_a_tokens": 5,
                "sum_assistant_b_tokens": 5,
                "sum_user_tokens": 3,
                "turns": 1,
            },
            "is_code": False,
            "is_refusal": False,
            "sim": 0.5,
            "length_a": len(a),
            "length_b": len(b),
            "token_diff": 0.0,
            "longer_won": "model_a",
            "hard_prompt": False,
            "easy_prompt": True,
            "if_prompt": False,
            "math_prompt": False,
        }
        for i, (w, a, b) in enumerate(cases)
    ]
    return write_parquet(tmp_path / "ppe-hp" / "test-00000-of-00001.parquet", rows)


def test_ppe_preference_accuracy_skips_tied_labels(tmp_path):
    report = run("ppe-preference", ppe_preference_fixture(tmp_path), tmp_path)
    b = report["benchmark"]
    assert b["skipped"] == {"winner 'tie'": 1, "winner 'tie (bothbad)'": 1} and b["items"] == 4
    r = results(report)
    assert r["strict"] == pytest.approx(0.25) and r["score"] == pytest.approx(0.375)
    assert 0.25 <= r["paper_score"] <= 0.5 and r["paper_score"] in (pytest.approx(0.25), pytest.approx(0.5))


SET_COLUMNS = {
    "MMLU-Pro": {
        "question": "Q?",
        "options": ["a", "b"],
        "answer": "A",
        "answer_index": 0,
        "category": "law",
        "parsed_outputs": ["A"] * 32,
    },
    "MATH": {
        "problem": "1+1?",
        "level": "Level 1",
        "type": "Algebra",
        "solution": "2",
        "sanitized_solution": "2",
        "parsed_outputs": ["2"] * 32,
    },
    "GPQA": {
        "Question": "Q?",
        "Subdomain": "Physics",
        "Record ID": "rec1",
        "High-level domain": "Physics",
        "choices": ["a", "b", "c", "d"],
        "correct_choice_index": 1,
        "correct_choice": "b",
        "canary_string": "x",
        "parsed_outputs": ["b"] * 32,
    },
    "IFEval": {
        "ifeval_prompt": "Write.",
        "key": 7,
        "instruction_id_list": ["length"],
        "kwargs": [{"n": 3}],
        "score_data": [{"prompt_level_strict_acc": True}],
    },
    "MBPP-Plus": {
        "task_id": 11,
        "code": "def f(): pass",
        "source_file": "x.py",
        "test_imports": [],
        "test_list": ["assert f() is None"],
        "test": "assert f() is None",
    },
}
PPE_CORRECTNESS = [  # set, correct indices, {index: score} (others 3), expected credit
    ("MMLU-Pro", {0}, {0: 9}, 1.0),
    ("MATH", {0, 5}, {5: 9}, 1.0),
    ("MATH", {1}, {1: 9, 2: 9}, 0.5),  # a tie at the top: half the expected draw
    ("GPQA", {3, 4}, {7: 9}, 0.0),
    ("GPQA", {2}, {2: "fail"}, 0.0),  # unparsed: wrong
    ("IFEval", {2}, {2: 10}, 1.0),
    ("MBPP-Plus", {4, 5, 6}, {4: 8, 9: 8}, 0.5),
]


def ppe_correctness_fixture(tmp_path: Path) -> Path:
    by_set = defaultdict(list)
    for i, (name, correct, special, _) in enumerate(PPE_CORRECTNESS):
        scores = [j in correct for j in range(32)]
        row = {
            "question_id": f"{i}",
            "model_name": "gemma-2-9b-it",
            **SET_COLUMNS[name],
            "scores": scores,
            "mean_score": sum(scores) / 32,
            "prompt": f"Prompt {i}",
            **{
                f"response_{j + 1}": f"[{'fail' if special.get(j) == 'fail' else 's' + str(special.get(j, 3))}] "
                f"answer {j}"
                for j in range(32)
            },
            "conflict_pairs": [[a, b] for a in sorted(correct) for b in range(32) if b not in correct][:4],
            "sampled_conflict_pairs": [[a, b] for a in sorted(correct) for b in range(32) if b not in correct][:2],
        }
        by_set[name].append(row)
    folder = tmp_path / "ppe-correctness"
    for name, rows in by_set.items():
        write_parquet(folder / f"PPE-{name}-Best-of-K" / "train-00000-of-00001.parquet", rows)
    return folder


def test_ppe_correctness_best_of_32_mean_of_sets(tmp_path):
    report = run("ppe-correctness", ppe_correctness_fixture(tmp_path), tmp_path)
    r = results(report)
    sets = {"MMLU-Pro": 1.0, "MATH": 0.75, "GPQA": 0.0, "IFEval": 1.0, "MBPP-Plus": 0.5}
    assert r["sets"] == pytest.approx(sets)
    assert r["score"] == pytest.approx(sum(sets.values()) / 5)
    assert report["benchmark"]["grm_inputs"] == 7 and report["num_examples"] == 7  # 32 responses, one input


def test_ppe_correctness_without_all_five_sets_has_no_score(tmp_path):
    folder = ppe_correctness_fixture(tmp_path)
    for name in ("IFEval", "MBPP-Plus"):
        (folder / f"PPE-{name}-Best-of-K" / "train-00000-of-00001.parquet").unlink()
    report = run("ppe-correctness", folder, tmp_path)
    assert report["benchmark"]["missing"] == ["IFEval", "MBPP-Plus"]
    r = results(report)
    assert r["score"] is None and r["sets"] == pytest.approx({"MMLU-Pro": 1.0, "MATH": 0.75, "GPQA": 0.0})


# ======================================================================================================= RMB
def official_rmb(pairs, bon):
    """RMB: my_run_rm.py's pairwise rule (``1 if chosen > rejected else 0``, pooled) and the paper's best-of-N (the
    best strictly above every loser, as RM-R1's run_rm_bestofn.py), then the mean of the four sections."""
    sections = defaultdict(list)
    for goal, chosen, rejected in pairs:
        sections[f"pairwise/{goal}"].append(1 if chosen > rejected else 0)
    for goal, best, losers in bon:
        sections[f"bon/{goal}"].append(int(all(best > loser for loser in losers)))
    return {k: sum(v) / len(v) for k, v in sections.items()}


def _ans(tag):
    return {"llm_name": "some-llm", "answer": f"[{tag}] answer"}


def _conv(i):
    return [
        {"content": f"Earlier {i}", "language": "English", "role": "user"},
        {"content": "Reply.", "language": "English", "role": "assistant"},
        {"content": f"Question {i}?", "language": "English", "role": "user"},
    ]


def rmb_fixture(tmp_path: Path) -> Path:
    root = tmp_path / "RMB_dataset"

    def pair(uid, path, c, r):
        return {
            "pair_uid": uid,
            "conversation_input": _conv(uid),
            "chosen": _ans(c),
            "reject": _ans(r),
            "category_path": path,
        }

    def bon(uid, path, best, losers):
        return {
            "conversation_input": _conv(uid),
            "bon_best": _ans(best),
            "loser_list": [_ans(x) for x in losers],
            "bon_uid": uid,
            "category_path": path,
        }

    p_help, p_harm = "Pairwise_set/Helpfulness/Chat/Discussion", "Pairwise_set/Harmlessness/S1"
    b_help, b_harm = "BoN_set/Helpfulness/Code/Documentation", "BoN_set/Harmlessness/multi"
    write_json(root / f"{p_help}.json", [pair("0", p_help, "s8", "s3"), pair("1", p_help, "s5", "s5")])
    write_json(root / f"{p_harm}.json", [pair("2", p_harm, "s2", "s7"), pair("3", p_harm, "s9", "s1")])
    write_json(root / f"{b_help}.json", [bon("0", b_help, "s9", ["s3", "s8"]), bon("1", b_help, "s7", ["s7", "s2"])])
    write_json(root / f"{b_harm}.json", [bon("2", b_harm, "fail", ["s3", "s4"])])
    return root


def test_rmb_pairwise_and_best_of_n_per_section_and_scenario(tmp_path):
    report = run("rmb", rmb_fixture(tmp_path), tmp_path)
    r = results(report)
    sections = {
        "pairwise/helpfulness": 0.5,
        "pairwise/harmlessness": 0.5,
        "bon/helpfulness": 0.5,
        "bon/harmlessness": 0.0,
    }
    assert r["sections"] == pytest.approx(sections)
    assert r["score"] == pytest.approx(0.375)
    assert r["scenarios"] == pytest.approx(
        {
            "bon/Harmlessness/multi": 0.0,
            "bon/Helpfulness/Code/Documentation": 0.5,
            "pairwise/Harmlessness/S1": 0.5,
            "pairwise/Helpfulness/Chat/Discussion": 0.5,
        }
    )
    s = lambda t: -math.inf if t == "fail" else int(t[1:])  # noqa: E731
    official = official_rmb(
        [("helpfulness", 8, 3), ("helpfulness", 5, 5), ("harmlessness", 2, 7), ("harmlessness", 9, 1)],
        [("helpfulness", 9, [3, 8]), ("helpfulness", 7, [7, 2]), ("harmlessness", s("fail"), [3, 4])],
    )
    assert r["sections"] == pytest.approx(official)
    # A best-of-N row is ONE listwise input (best + losers); the multi-turn context is kept.
    assert report["benchmark"]["grm_inputs"] == 7
    assert report["groups"]["bon/helpfulness"]["num_examples"] == 2


# ================================================================================ Overall, CLI, offline, errors
def test_paper_overall_over_the_four_benchmarks(tmp_path):
    reports = {
        "rewardbench": run("rewardbench", rewardbench_fixture(tmp_path), tmp_path),
        "ppe-preference": run("ppe-preference", ppe_preference_fixture(tmp_path), tmp_path),
        "ppe-correctness": run("ppe-correctness", ppe_correctness_fixture(tmp_path), tmp_path),
    }
    assert paper_overall(reports) is None  # RMB missing
    reports["rmb"] = run("rmb", rmb_fixture(tmp_path), tmp_path)
    overall = paper_overall(reports)
    for mode, value in overall.items():
        parts = [reports[n]["benchmark"]["results"][mode]["paper_score"] for n in reports]
        assert value == pytest.approx(sum(parts) / 4)


def test_cli_several_benchmarks_write_a_summary_with_the_overall(tmp_path, monkeypatch, capsys):
    """`trl-grm eval --benchmark NAME=PATH ...` end to end; the GRM is the scripted judge (loading is replaced)."""
    from trl_grm.cli import eval as eval_cli

    monkeypatch.setattr(eval_cli, "load_grm", lambda *a, **k: ScriptedJudge())
    specs = [
        f"rewardbench={rewardbench_fixture(tmp_path)}",
        f"ppe-preference={ppe_preference_fixture(tmp_path)}",
        f"ppe-correctness={ppe_correctness_fixture(tmp_path)}",
        f"rmb={rmb_fixture(tmp_path)}",
    ]
    out = tmp_path / "out"
    assert eval_cli.main(["--benchmark", *specs, "--output_dir", str(out), "--ks", "1", "2", "--bootstrap", "10"]) == 0
    summary = json.loads((out / "benchmarks.json").read_text())
    assert set(summary["benchmarks"]) == {"rewardbench", "ppe-preference", "ppe-correctness", "rmb"}
    assert set(summary["paper_overall"]) == {"greedy", "voting@1", "voting@2"}
    md = (out / "benchmarks.md").read_text()
    assert "Overall (paper)" in md and "RMB" in md
    assert (out / "rmb" / "report.json").exists() and "official metrics" in (out / "rmb" / "report.md").read_text()
    assert "Overall (paper)" in capsys.readouterr().out


def cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "trl_grm.cli.main", "eval", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_offline_hub_id_names_the_local_file_alternative(tmp_path):
    proc = cli(
        "--benchmark",
        "rewardbench",
        "--output_dir",
        str(tmp_path / "o"),
        "--dry_run",
        env={"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "allenai/reward-bench" in lines[0] and "--dataset" in lines[0] and "download" in lines[0]
    proc = cli("--benchmark", "rmb", "--output_dir", str(tmp_path / "o"), "--dry_run")
    assert proc.returncode == 2 and "RMB_dataset" in proc.stderr and "--dataset" in proc.stderr


def test_bad_benchmark_input_is_one_clear_line(tmp_path):
    proc = cli("--benchmark", "rewardbench3", "--output_dir", str(tmp_path / "o"))
    assert proc.returncode == 2 and "unknown benchmark 'rewardbench3'" in proc.stderr
    bad = write_jsonl(
        tmp_path / "jb.jsonl",
        [
            {
                "pair_id": "p",
                "source": "livecodebench",
                "question": "q",
                "response_A": "a",
                "response_B": "b",
                "label": "A=B",
            }
        ],
    )
    proc = cli("--benchmark", f"judgebench={bad}", "--output_dir", str(tmp_path / "o"), "--dry_run")
    assert proc.returncode == 2 and "label must be 'A>B' or 'B>A'" in proc.stderr
    with pytest.raises(BenchmarkSourceError, match="missing field 'response_B'"):
        get_benchmark("judgebench").load(
            write_jsonl(
                tmp_path / "x.jsonl",
                [{"pair_id": "p", "source": "s", "question": "q", "response_A": "a", "label": "A>B"}],
            )
        )
    with pytest.raises(BenchmarkSourceError, match="no such file"):
        get_benchmark("rm-bench").load(tmp_path / "nope.json")
    assert set(BENCHMARKS) == {
        "rewardbench",
        "rewardbench2",
        "judgebench",
        "rm-bench",
        "ppe-preference",
        "ppe-correctness",
        "rmb",
    }


def test_dry_run_plans_a_local_benchmark(tmp_path):
    proc = cli(
        "--benchmark", f"judgebench={judgebench_fixture(tmp_path)}", "--output_dir", str(tmp_path / "o"), "--dry_run"
    )
    assert proc.returncode == 0, proc.stderr
    assert "JudgeBench: 6 rows -> 12 GRM inputs" in proc.stdout


def test_a_real_position_only_judge_scores_zero_on_judgebench(judge_dir, tmp_path, capsys):
    """The real path (tiny GRM loaded by the CLI, transformers backend): a judge that always prefers the response
    shown first is right in one order and wrong in the other, so JudgeBench's both-orders rule scores it 0."""
    from trl_grm.cli import eval as eval_cli

    out = tmp_path / "out"
    argv = ["--benchmark", f"judgebench={judgebench_fixture(tmp_path)}", "--model_name_or_path", str(judge_dir),
            "--output_dir", str(out), "--ks", "1", "--bootstrap", "10"]  # fmt: skip
    assert eval_cli.main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    greedy = report["benchmark"]["results"]["greedy"]
    assert report["groups"]["overall"]["greedy_format_failure"] == 0.0
    assert greedy["score"] == 0.0 and greedy["num_pairs"] == 6
    assert "JudgeBench: official metrics" in capsys.readouterr().out


class AlternatingJudge(ScriptedJudge):
    """Sample j of an input: even j scores the first response 8 and the second 3 ("careful"), odd j the reverse
    ("hasty"). Two samples vote a tie; a Meta RM that trusts only careful samples keeps the right one."""

    def sample_judgements(self, items, orders, sample_start=None, **kwargs):
        out = []
        for item, item_orders, start in zip(items, orders, sample_start or [0] * len(items)):
            row = []
            for j, order in enumerate(item_orders, start):
                careful = j % 2 == 0
                values = [(8 if o == 0 else 3) if careful else (3 if o == 0 else 8) for o in order]
                text = (
                    f"Analysis: {'careful' if careful else 'hasty'}.\nScores: \\boxed{{{', '.join(map(str, values))}}}"
                )
                row.append(parse_sample(self.config, item, order, text, "stop"))
            out.append(row)
        return out


def test_metarm_at_k_uses_the_official_metric_on_the_samples_the_meta_rm_keeps(tmp_path):
    rows = [rb_row(i, "llmbar-natural", f"good {i}", f"bad {i}") for i in range(4)]  # chosen is response 0
    source = write_jsonl(tmp_path / "rb.jsonl", rows)
    meta_rm = lambda texts: [1.0 if "careful" in t else 0.0 for t in texts]  # noqa: E731
    report = evaluate(AlternatingJudge(), source, tmp_path / "out", EvalSettings(ks=[1, 2], bootstrap=10),
                      benchmark="rewardbench", meta_rm=meta_rm, progress=False)  # fmt: skip
    res = report["benchmark"]["results"]
    subset = lambda mode: res[mode]["subsets"]["llmbar-natural"]  # noqa: E731
    assert subset("voting@2") == 0.5  # 8 + 3 vs 3 + 8: a tie, 0.5 by the official rule
    assert subset("voting@1") == pytest.approx(0.5)  # right or wrong, one sample at a time
    assert subset("metarm@2") == 1.0  # k_meta = 1: the careful sample alone
    assert res["metarm@2"]["sections"]["Chat Hard"] == 1.0 and res["metarm@2"]["score"] is None
    assert report["groups"]["overall"]["metarm"]["2"]["value"] == 1.0  # the usual report agrees


def test_a_downloaded_hub_folder_with_several_splits_reads_one(tmp_path):
    """Issue 25, item 2 (the other benchmarks): a Hub dataset downloaded as files keeps every split's shards in one
    data/ folder (RewardBench: filtered and raw; JudgeBench: gpt and claude). The folder reads the benchmark's
    published split (or the one asked for), not all of them at once (before: the rows of both splits, twice over)."""
    rows = [rb_row(i, s, c, r) for i, (s, c, r, _, _) in enumerate(RB_ROWS)]
    folder = tmp_path / "reward-bench"
    write_parquet(folder / "data" / "filtered-00000-of-00001.parquet", rows)
    write_parquet(folder / "data" / "raw-00000-of-00001.parquet", rows + [rb_row(50, "alpacaeval-easy", "x", "y")])
    bench = get_benchmark("rewardbench")
    assert bench.load(folder).rows == len(RB_ROWS)
    assert bench.load(folder, split="raw").rows == len(RB_ROWS) + 1
    with pytest.raises(BenchmarkSourceError, match="holds the splits filtered, raw but not 'test'"):
        bench.load(folder, split="test")
    jb = judgebench_fixture(tmp_path / "jb")
    rows = [json.loads(line) for line in jb.read_text().splitlines()]
    write_parquet(tmp_path / "JudgeBench" / "data" / "gpt-00000-of-00001.parquet", rows)
    write_parquet(tmp_path / "JudgeBench" / "data" / "claude-00000-of-00001.parquet", rows[:2])
    assert get_benchmark("judgebench").load(tmp_path / "JudgeBench").rows == len(rows)
