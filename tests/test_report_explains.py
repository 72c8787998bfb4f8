"""Reports that explain themselves (issue 25, item 4): what each table counts and why two numbers differ, greedy and
sampled failure rates with their types in report.md, the official score in the plot, and the demonstration-model
note wherever the default model produced the numbers (eval reports, the server's /health and /ready)."""

from __future__ import annotations

import json

import httpx
import pytest
from test_benchmark_scoring import ScriptedJudge, judgebench_fixture, rmb_fixture
from test_serve import Served

from trl_grm.evaluation.harness import EvalSettings, evaluate
from trl_grm.evaluation.presentation import official_points
from trl_grm.modeling.default_model import DEMO_NOTE
from trl_grm.protocol.judging import parse_sample
from trl_grm.serving.app import ServeSettings

SETTINGS = EvalSettings(ks=[1, 2], bootstrap=20, num_subsets=4)


class FailingJudge(ScriptedJudge):
    """The scripted judge, but a ``[fail]`` response fails differently when sampled (a score out of range) and
    greedy (no score line at all)."""

    def sample_judgements(self, items, orders, **kwargs):
        greedy = kwargs.get("temperature") == 0.0
        out = super().sample_judgements(items, orders, **kwargs)
        for item, row, item_orders in zip(items, out, orders):
            if any("[fail]" in r for r in item.responses):
                for j, order in enumerate(item_orders):
                    text = "Nothing to say." if greedy else "Scores: \\boxed{11, 3}"
                    row[j] = parse_sample(self.config, item, order, text, "stop")
        return out


def test_judgebench_report_says_inputs_vs_pairs_and_both_failure_rates(tmp_path):
    report = evaluate(
        FailingJudge(), judgebench_fixture(tmp_path), tmp_path / "out", SETTINGS, benchmark="judgebench",
        progress=False,
    )  # fmt: skip
    md = (tmp_path / "out" / "report.md").read_text()
    # The first table counts GRM inputs (12: each of the 6 pairs in both orders), the official one pairs.
    assert "per GRM input: n counts inputs" in md
    assert "| **overall** | 12 |" in md and "(6 items from 6 rows)" in md
    assert "These count pairs: each pair is judged as two GRM inputs" in md
    assert "That is why they differ from the per-input table above." in md
    # Greedy and sampled failure rates, and the failures by type.
    assert "format failures (sampled)" in md and "format failures (greedy)" in md
    overall = report["groups"]["overall"]
    assert overall["failures"] == {"out_of_range": 4} and overall["greedy_failures"] == {"no_box": 2}
    assert "Failed judgements by type, sampled (2 per input): out_of_range 4; greedy: no_box 2." in md
    greedy_rate = f"{100 * overall['greedy_format_failure']:.1f}%"
    assert greedy_rate == "16.7%" and f"| {greedy_rate} |" in md


def test_the_plot_carries_the_official_score(tmp_path):
    report = evaluate(
        ScriptedJudge(), judgebench_fixture(tmp_path), tmp_path / "out", SETTINGS, benchmark="judgebench",
        progress=False,
    )  # fmt: skip
    points = official_points(report, [1, 2])
    results = report["benchmark"]["results"]
    assert points["greedy"] == [(1, pytest.approx(100 * results["greedy"]["score"]))]
    assert points["voting"] == [(k, pytest.approx(100 * results[f"voting@{k}"]["score"])) for k in (1, 2)]
    # It is drawn: the legend of the saved figure names it.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from trl_grm.evaluation.presentation import plot_report

    captured = {}
    original = plt.Figure.savefig

    def spy(fig, path, *args, **kwargs):
        captured["labels"] = [t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()]
        return original(fig, path, *args, **kwargs)

    plt.Figure.savefig = spy
    try:
        plot_report(report, tmp_path / "plot.png", "t")
    finally:
        plt.Figure.savefig = original
    assert "JudgeBench official score (pairs) voting@k" in captured["labels"]
    assert "JudgeBench official score (pairs) greedy" in captured["labels"]


def test_a_score_cut_by_the_limit_is_not_plotted(tmp_path):
    from trl_grm.evaluation.benchmarks import get_benchmark

    data = get_benchmark("rmb").load(rmb_fixture(tmp_path), limit=2)
    report = evaluate(ScriptedJudge(), data, tmp_path / "out", SETTINGS, benchmark="rmb", progress=False)
    assert official_points(report, [1, 2]) == {}


def test_eval_of_the_default_model_carries_the_demo_note(tmp_path, monkeypatch, capsys):
    """`trl-grm eval` without a model (the embedded demo GRM; its loading is replaced by the scripted judge)."""
    from trl_grm.cli import eval as eval_cli

    monkeypatch.setattr(eval_cli, "load_grm", lambda *a, **k: ScriptedJudge())
    monkeypatch.setattr(eval_cli, "grm_config_for", lambda *a, **k: ScriptedJudge().config)
    out = tmp_path / "out"
    argv = ["--benchmark", f"judgebench={judgebench_fixture(tmp_path)}", "--output_dir", str(out), "--ks", "1"]
    assert eval_cli.main([*argv, "--bootstrap", "10"]) == 0
    assert json.loads((out / "report.json").read_text())["model_note"] == DEMO_NOTE
    assert f"> {DEMO_NOTE}" in (out / "report.md").read_text()
    assert DEMO_NOTE in capsys.readouterr().out
    # A model of one's own gets no note.
    own = tmp_path / "own"
    argv = ["--benchmark", f"judgebench={judgebench_fixture(tmp_path)}", "--output_dir", str(own), "--ks", "1"]
    assert eval_cli.main([*argv, "--bootstrap", "10", "--model_name_or_path", str(tmp_path)]) == 0
    assert json.loads((own / "report.json").read_text())["model_note"] is None
    assert "demonstration GRM" not in (own / "report.md").read_text()


def test_server_health_and_ready_say_the_model_and_its_note(judge_dir):
    from trl_grm import GRMForPointwiseScoring

    grm = GRMForPointwiseScoring.from_pretrained(judge_dir)
    served = Served(lambda: grm, ServeSettings(), model_name="embedded default GRM", model_note=DEMO_NOTE)
    try:
        health = httpx.get(f"{served.url}/health").json()
        assert health == {"status": "ok", "model": "embedded default GRM", "note": DEMO_NOTE}
        assert httpx.get(f"{served.url}/ready").json()["note"] == DEMO_NOTE
    finally:
        served.close()


def test_serve_passes_the_note_only_for_the_default_model(monkeypatch):
    """`trl-grm serve`'s wiring: the app it builds says the note for the embedded model, not for another one (the
    server itself is not started: uvicorn's run is replaced)."""
    import uvicorn

    from trl_grm.cli import serve

    apps = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: apps.append(self.config.app))
    assert serve.main(["--port", "0"]) == 0
    assert serve.main(["--port", "0", "--model_name_or_path", "someone/their-grm"]) == 0
    from fastapi.testclient import TestClient

    routes = [{r.path: r for r in app.routes} for app in apps]
    assert all("/health" in r for r in routes)
    notes = []
    for app in apps:
        app.router.lifespan_context = _no_lifespan  # do not load a model
        with TestClient(app) as client:
            notes.append(client.get("/health").json().get("note"))
    assert notes == [DEMO_NOTE, None]


from contextlib import asynccontextmanager  # noqa: E402


@asynccontextmanager
async def _no_lifespan(app):
    yield
