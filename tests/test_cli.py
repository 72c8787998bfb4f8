"""`trl-grm score`: JSON / JSONL in and out, inline inputs, resumable output, errors."""

import json
import subprocess
import sys

import pytest

from trl_grm.cli.main import main


@pytest.fixture(scope="module")
def judge_dir(tmp_path_factory):
    from trl_grm.testing import build_tiny_judge

    return str(build_tiny_judge(tmp_path_factory.mktemp("cli") / "judge"))


ITEMS = [
    {"id": "a", "prompt": "What is two plus two?", "responses": ["Four.", "Five."]},
    {"id": "b", "prompt": "Name a colour.", "responses": ["Blue.", "Seven."]},
    {"id": "c", "prompt": "Say hello.", "responses": ["Hello!", "Goodbye."]},
]


def _write_jsonl(path, items):
    path.write_text("".join(json.dumps(x) + "\n" for x in items))
    return str(path)


def _read_jsonl(path):
    return [json.loads(line) for line in open(path)]


def test_json_stdout_single_and_list(judge_dir, tmp_path, capsys):
    single = tmp_path / "one.json"
    single.write_text(json.dumps(ITEMS[0]))
    assert main(["score", "--model_name_or_path", judge_dir, "--input", str(single), "--num_samples", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out, dict) and out["id"] == "a" and out["index"] == 0
    # The tiny judge gives 8 to the first response shown and 3 to the second: scores follow the shown order.
    order = out["samples"][0]["order"]
    assert out["scores"] == ([8, 3] if order == [0, 1] else [3, 8])

    many = _write_jsonl(tmp_path / "many.jsonl", ITEMS)
    main(
        [
            "score",
            "--model_name_or_path",
            judge_dir,
            "--input",
            many,
            "--num_samples",
            "2",
            "--return_samples",
            "false",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in out] == ["a", "b", "c"]
    assert all(r["samples"] is None and r["num_samples"] == 2 for r in out)


def test_resume_after_crash_matches_uninterrupted_run(judge_dir, tmp_path):
    inputs = _write_jsonl(tmp_path / "in.jsonl", ITEMS)
    common = ["score", "--model_name_or_path", judge_dir, "--input", inputs, "--num_samples", "3", "--batch_size", "1"]
    full = tmp_path / "full.jsonl"
    main(common + ["--output", str(full)])
    reference = _read_jsonl(full)
    assert [r["index"] for r in reference] == [0, 1, 2]

    # A crash after the first input, in the middle of writing the second line: a finished line and a torn one.
    partial = tmp_path / "partial.jsonl"
    lines = full.read_text().splitlines(keepends=True)
    partial.write_text(lines[0] + lines[1][: len(lines[1]) // 2])
    main(common + ["--output", str(partial)])
    assert _read_jsonl(partial) == reference  # nothing lost, nothing duplicated, same results

    main(common + ["--output", str(partial)])  # a finished file: nothing to do, nothing appended
    assert _read_jsonl(partial) == reference


def test_pretty_report(judge_dir, capsys):
    main(
        [
            "score",
            "--model_name_or_path",
            judge_dir,
            "--prompt",
            "What is two plus two?",
            "--responses",
            "Four.",
            "Five.",
            "--num_samples",
            "2",
            "--pretty",
        ]
    )
    text = capsys.readouterr().out
    assert "Principles:" in text and "Critique:" in text and "Voted scores" in text and "Best response:" in text


def test_console_script_and_config_file(judge_dir, tmp_path):
    config = tmp_path / "score.yaml"
    config.write_text(f"model_name_or_path: {judge_dir}\nnum_samples: 2\nseed: 3\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "trl_grm.cli.main",
            "score",
            "--config",
            str(config),
            "--prompt",
            "Say hello.",
            "--responses",
            "Hello!",
            "Goodbye.",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["num_samples"] == 2 and len(out["samples"]) == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--num_samples", "1"], "Give --input"),
        (["--prompt", "q"], "Give --input"),
        (["--prompt", "q", "--responses", "a", "--input", "x.json"], "either --input"),
        (["--prompt", "q", "--responses", "a", "--batch_size", "0"], "--batch_size"),
    ],
)
def test_bad_arguments(judge_dir, argv, message):
    with pytest.raises(ValueError, match=message):
        main(["score", "--model_name_or_path", judge_dir, *argv])


def test_bad_input_file(judge_dir, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(ITEMS[0]) + "\n{not json\n")
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        main(["score", "--model_name_or_path", judge_dir, "--input", str(bad)])
    missing = tmp_path / "missing.jsonl"
    missing.write_text(json.dumps({"prompt": "q", "responses": []}) + "\n")
    with pytest.raises(ValueError, match="empty"):
        main(["score", "--model_name_or_path", judge_dir, "--input", str(missing)])


def test_unknown_command(capsys):
    assert main(["nope"]) == 2
    assert "unknown command" in capsys.readouterr().err
