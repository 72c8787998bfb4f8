"""`trl-grm score` / `trl-grm eval`: JSON / JSONL in and out, inline inputs, resumable output, one-line errors."""

import json
import os
import subprocess
import sys

import pytest

from trl_grm.cli.main import COMMANDS, main


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


def _cli(*args, env=None, timeout=300):
    """Run the installed console entry point as a user would (a real subprocess)."""
    return subprocess.run(
        [sys.executable, "-m", "trl_grm.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def no_model_load(monkeypatch):
    """Make loading a model fail loudly: checks that must run before the model loads."""
    from trl_grm.modeling.modeling_grm import GRMForPointwiseScoring

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded although the command should have stopped before")

    monkeypatch.setattr(GRMForPointwiseScoring, "from_pretrained", refuse)


# ------------------------------------------------------------------------------------------------------- happy paths
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
    main(["score", "--model_name_or_path", judge_dir, "--input", many, "--num_samples", "2", "--no_return_samples"])
    out = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in out] == ["a", "b", "c"]
    assert all(r["samples"] is None and r["num_samples"] == 2 for r in out)
    # Issue 25, item 6: a .jsonl file of ONE line is still a list (before: an object for one line, a list for more).
    one_line = _write_jsonl(tmp_path / "one_line.jsonl", ITEMS[:1])
    assert main(["score", "--model_name_or_path", judge_dir, "--input", one_line, "--num_samples", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out, list) and [r["id"] for r in out] == ["a"]


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


def test_console_script_and_config_file(judge_dir, tmp_path):
    config = tmp_path / "score.yaml"
    config.write_text(f"model_name_or_path: {judge_dir}\nnum_samples: 2\nseed: 3\n")
    proc = _cli("score", "--config", str(config), "--prompt", "Say hello.", "--responses", "Hello!", "Goodbye.")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["num_samples"] == 2 and len(out["samples"]) == 2
    # Defect 13: no per-run "Loading weights" bar, and no library chatter on a clean run.
    assert "Loading weights" not in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_command(capsys):
    assert main(["nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'nope'" in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------ defect 1: --help works
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_of_every_command(command, capsys):
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert f"usage: trl-grm {command}" in text and "--config" in text


def test_help_of_every_command_from_the_console(capsys):
    assert main(["--help"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    assert sorted(listed) == sorted(COMMANDS)
    for command in listed:
        proc = _cli(command, "--help", timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr


def test_eval_help_keeps_the_percent_sign(capsys):
    assert main(["eval", "--help"]) == 0
    assert "95% confidence" in capsys.readouterr().out


def test_negated_flag_help_says_what_it_does(capsys):
    """Defect 14: ``--no_return_samples`` must not read "Include every sample's trail ... (default: False)"."""
    assert main(["score", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--no_return_samples, --no-return-samples Turn --return_samples off." in text
    assert "--no-return-samples Include" not in text


# ------------------------------------------------------------------------------------ defect 2: one-line errors
def _one_error_line(stderr: str, command: str = "score") -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(f"trl-grm {command}: error: ")]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr
    return errors[0]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--num_samples", "1"], "Give --input"),
        (["--prompt", "q"], "Give --input"),
        (["--prompt", "q", "--responses", "a", "--input", "x.json"], "either --input"),
        (["--prompt", "q", "--responses", "a", "--batch_size", "0"], "--batch_size must be >= 1"),
        (["--prompt", "q", "--responses", "a", "--no_such_flag", "1"], "--no_such_flag"),
        (["--prompt", "q", "--responses", "a", "--num_samples", "many"], "invalid int value: 'many'"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(judge_dir, argv, message, capsys, no_model_load):
    assert main(["score", "--model_name_or_path", judge_dir, *argv]) == 2
    assert message in _one_error_line(capsys.readouterr().err)


def test_bad_arguments_from_a_real_process(judge_dir):
    proc = _cli("score", "--model_name_or_path", judge_dir, "--prompt", "q", "--responses", "a", "--num_samples", "0")
    assert proc.returncode == 2
    assert proc.stdout == ""
    line = _one_error_line(proc.stderr)
    assert line == "trl-grm score: error: num_samples must be an integer >= 1, got 0"


def test_debug_shows_the_traceback(judge_dir, capsys):
    argv = ["score", "--model_name_or_path", judge_dir, "--prompt", "q", "--responses", "a", "--num_samples", "0"]
    assert main([*argv, "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and err.rstrip().endswith("got 0")


def test_a_runtime_failure_exits_1_with_its_type(judge_dir, capsys, monkeypatch):
    from trl_grm import GRMForPointwiseScoring

    def explode(self, *args, **kwargs):
        raise RuntimeError("the engine\nexploded")

    monkeypatch.setattr(GRMForPointwiseScoring, "score", explode)
    assert main(["score", "--model_name_or_path", judge_dir, "--prompt", "q", "--responses", "a"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "RuntimeError: the engine exploded" in line and "--debug" in line


def test_config_file_errors_are_one_line(judge_dir, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("num_samples: [1,\n")
    assert main(["score", "--config", str(bad), "--prompt", "q", "--responses", "a"]) == 2
    _one_error_line(capsys.readouterr().err)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("num_smaples: 2\n")
    assert main(["score", "--config", str(unknown), "--prompt", "q", "--responses", "a"]) == 2
    assert "num_smaples" in _one_error_line(capsys.readouterr().err)


# -------------------------------------------------------------- defects 3, 4: checks before the model loads
@pytest.mark.parametrize(
    "argv, message",
    [
        (["--num_samples", "0"], "num_samples must be an integer >= 1, got 0"),
        (["--max_new_tokens", "0"], "max_new_tokens must be an integer >= 1, got 0"),
        (["--temperature", "-1"], "temperature must be a number >= 0, got -1.0"),
        (["--top_p", "0"], "top_p must be a number in (0, 1], got 0.0"),
        (["--top_p", "1.5"], "top_p must be a number in (0, 1], got 1.5"),
        (["--k_meta", "1"], "k_meta was given but there is no meta_rm"),
        (["--order_strategy", "sorted"], "order_strategy must be one of"),
        (["--principles_mode", "mine"], "principles_mode must be one of"),
        (["--max_batch_size", "0"], "--max_batch_size must be >= 1"),
        (["--meta_rm", "./no/such/meta_rm"], "no such directory or Hub model: ./no/such/meta_rm"),
    ],
)
def test_checks_run_before_the_model_loads(judge_dir, argv, message, capsys, no_model_load):
    assert main(["score", "--model_name_or_path", judge_dir, "--prompt", "q", "--responses", "a", *argv]) == 2
    assert message in _one_error_line(capsys.readouterr().err)


def test_k_meta_above_k_is_checked_before_loading(judge_dir, tmp_path, capsys, no_model_load):
    meta = tmp_path / "meta"
    meta.mkdir()
    argv = ["--prompt", "q", "--responses", "a", "--meta_rm", str(meta), "--num_samples", "2", "--k_meta", "3"]
    assert main(["score", "--model_name_or_path", judge_dir, *argv]) == 2
    assert "k_meta must be an integer in 1..2" in _one_error_line(capsys.readouterr().err)


def test_missing_input_and_output_folder_fail_before_loading(judge_dir, tmp_path, capsys, no_model_load):
    missing = str(tmp_path / "nope.jsonl")
    assert main(["score", "--model_name_or_path", judge_dir, "--input", missing]) == 2
    assert f"--input: no such file: {missing}" in _one_error_line(capsys.readouterr().err)

    inputs = _write_jsonl(tmp_path / "in.jsonl", ITEMS)
    output = str(tmp_path / "no_such_folder" / "out.jsonl")
    assert main(["score", "--model_name_or_path", judge_dir, "--input", inputs, "--output", output]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--output: the folder of" in line and "does not exist" in line


def test_top_p_is_validated_in_python_too(judge_dir):
    from trl_grm import GRMForPointwiseScoring

    judge = GRMForPointwiseScoring.from_pretrained(judge_dir)
    for bad in (0, 1.5, -0.1, "0.5"):
        with pytest.raises(ValueError, match=r"top_p must be a number in \(0, 1\]"):
            judge.score({"prompt": "q", "responses": ["a"]}, top_p=bad)
    from trl_grm import GRMConfig

    with pytest.raises(ValueError, match="top_p"):
        GRMConfig(top_p=0.0)


# ---------------------------------------------------------------------- defect 6: resume refuses other inputs
def test_resume_with_other_inputs_is_refused_and_overwrite_restarts(judge_dir, tmp_path, capsys, monkeypatch):
    output = str(tmp_path / "out.jsonl")
    first = _write_jsonl(tmp_path / "first.jsonl", ITEMS[:2])
    common = ["score", "--model_name_or_path", judge_dir, "--num_samples", "2", "--output", output]
    assert main([*common, "--input", first]) == 0
    before = _read_jsonl(output)
    assert all(len(r["input_hash"]) == 16 and r["settings_hash"] for r in before)

    other = _write_jsonl(tmp_path / "other.jsonl", [ITEMS[2], ITEMS[0], ITEMS[1]])
    capsys.readouterr()
    assert main([*common, "--input", other]) == 2
    assert "holds results of other inputs" in _one_error_line(capsys.readouterr().err)
    assert _read_jsonl(output) == before  # untouched

    # Other settings are refused as well (here the seed).
    longer = _write_jsonl(tmp_path / "longer.jsonl", ITEMS)
    assert main([*common, "--input", longer, "--seed", "1"]) == 2
    assert "other settings" in _one_error_line(capsys.readouterr().err)
    # The same inputs plus one more, same settings: a real resume.
    assert main([*common, "--input", longer]) == 0
    assert _read_jsonl(output)[:2] == before and len(_read_jsonl(output)) == 3

    assert main([*common, "--input", other, "--overwrite"]) == 0
    after = _read_jsonl(output)
    assert [r["id"] for r in after] == ["c", "a", "b"]
    assert after[1]["input_hash"] == before[0]["input_hash"]


def test_a_file_that_is_not_utf8_is_named_with_its_line(judge_dir, tmp_path, capsys, no_model_load):
    """Issue 25, item 6: the decoding error names the file, the line and the column (before: only the codec's
    complaint, "'utf-8' codec can't decode byte 0xe9 in position 15")."""
    path = tmp_path / "latin1.jsonl"
    row = b'"responses": ["a", "b"], "best_index": 0}\n'
    path.write_bytes(b'{"prompt": "Q?", ' + row + b'{"prompt": "caf\xe9?", ' + row)
    assert main(["score", "--model_name_or_path", judge_dir, "--input", str(path)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"{path}, line 2, column 16: not UTF-8" in line, line
    from trl_grm.data.formats import load_preference_data

    with pytest.raises(ValueError, match=r"latin1\.jsonl, line 2, column 16: not UTF-8"):
        load_preference_data(str(path))


def test_an_output_that_is_not_jsonl_is_its_own_error(judge_dir, tmp_path, capsys, no_model_load):
    """A corrupt --output is reported as what it is, not as results made with other settings."""
    output = tmp_path / "out.jsonl"
    output.write_text("this is not JSON\n")
    inputs = _write_jsonl(tmp_path / "in.jsonl", ITEMS[:1])
    argv = ["score", "--model_name_or_path", judge_dir, "--input", inputs, "--output", str(output)]
    assert main(argv) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "other settings" not in line and "Expecting value" in line, line


def test_a_finished_output_says_nothing_to_do_without_loading(judge_dir, tmp_path, capsys, monkeypatch):
    output = str(tmp_path / "out.jsonl")
    inputs = _write_jsonl(tmp_path / "in.jsonl", ITEMS)
    common = ["score", "--model_name_or_path", judge_dir, "--num_samples", "2", "--input", inputs]
    assert main([*common, "--output", output]) == 0
    capsys.readouterr()
    from trl_grm.modeling.modeling_grm import GRMForPointwiseScoring

    monkeypatch.setattr(GRMForPointwiseScoring, "from_pretrained", lambda *a, **k: pytest.fail("loaded a model"))
    assert main([*common, "--output", output]) == 0
    assert "nothing to do" in capsys.readouterr().err
    assert main([*common, "--output", output, "--pretty"]) == 0  # the report comes from the file
    assert "Voted scores" in capsys.readouterr().out


# -------------------------------------------------------------------- defect 5: results independent of batching
def test_results_do_not_depend_on_batch_size_or_resume_point(judge_dir, tmp_path):
    inputs = _write_jsonl(tmp_path / "in.jsonl", ITEMS)
    common = ["score", "--model_name_or_path", judge_dir, "--input", inputs, "--num_samples", "3"]
    runs = {}
    for batch_size, max_batch_size in ((1, 64), (2, 2), (8, 5)):
        path = tmp_path / f"b{batch_size}.jsonl"
        common_b = ["--temperature", "1.0", "--batch_size", str(batch_size), "--max_batch_size", str(max_batch_size)]
        assert main([*common, *common_b, "--output", str(path)]) == 0
        runs[batch_size] = _read_jsonl(path)
    assert runs[1] == runs[2] == runs[8]
    texts = {s["text"] for r in runs[1] for s in r["samples"]}
    assert len(texts) > 1  # real sampling, not one fixed text

    # Resumed in the middle of a batch (batch_size 2, only input 0 of batch [0, 1] was saved).
    partial = tmp_path / "partial.jsonl"
    partial.write_text(json.dumps(runs[2][0]) + "\n")
    resumed = ["--temperature", "1.0", "--batch_size", "2", "--max_batch_size", "2", "--output", str(partial)]
    assert main([*common, *resumed]) == 0
    assert _read_jsonl(partial) == runs[2]


# --------------------------------------------------------------------------- defect 11: JSON syntax errors
def test_bad_input_files(judge_dir, tmp_path, capsys, no_model_load):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(ITEMS[0]) + "\n{not json\n")
    assert main(["score", "--model_name_or_path", judge_dir, "--input", str(bad)]) == 2
    assert "line 2 is not valid JSON" in _one_error_line(capsys.readouterr().err)

    broken = tmp_path / "broken.json"
    broken.write_text('[\n  {"prompt": "q",\n   "responses": ["a" "b"]}\n]\n')
    assert main(["score", "--model_name_or_path", judge_dir, "--input", str(broken)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "invalid JSON at line 3, column 22" in line and "line 1" not in line

    empty_responses = tmp_path / "empty.jsonl"
    empty_responses.write_text(json.dumps({"prompt": "q", "responses": []}) + "\n")
    assert main(["score", "--model_name_or_path", judge_dir, "--input", str(empty_responses)]) == 2
    assert "empty" in _one_error_line(capsys.readouterr().err)


# ------------------------------------------------------------------- defect 10: missing models, fail fast
def test_a_missing_local_model_is_named(capsys, no_model_load):
    assert main(["score", "--model_name_or_path", "./models/no-such-grm", "--prompt", "q", "--responses", "a"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line == "trl-grm score: error: no such directory or Hub model: ./models/no-such-grm"


def test_a_mistyped_hub_id_is_named_at_once_when_offline(capsys, no_model_load):
    import time

    start = time.perf_counter()
    assert (
        main(["score", "--model_name_or_path", "BBQGOD/DeepSeek-GRM-16Bx", "--prompt", "q", "--responses", "a"]) == 2
    )
    line = _one_error_line(capsys.readouterr().err)
    assert "no such directory or Hub model: BBQGOD/DeepSeek-GRM-16Bx" in line and "HF_HUB_OFFLINE" in line
    assert time.perf_counter() - start < 10


def test_hub_lookup_when_online(monkeypatch):
    """The Hub's network cannot be reached here: its answers are mocked (a 404 and a connection failure)."""
    import huggingface_hub
    from huggingface_hub import constants
    from huggingface_hub.errors import RepositoryNotFoundError

    from trl_grm.modeling.loading import check_model_source

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)

    def not_found(name, timeout=None):
        error = RepositoryNotFoundError.__new__(RepositoryNotFoundError)  # as the Hub's 404 answer raises it
        Exception.__init__(error, f"404 Client Error: Repository Not Found for {name}")
        raise error

    monkeypatch.setattr(huggingface_hub, "model_info", not_found)
    with pytest.raises(FileNotFoundError, match="no such directory or Hub model: org/typo"):
        check_model_source("org/typo")

    def unreachable(name, timeout=None):
        raise OSError("Name or service not known")

    monkeypatch.setattr(huggingface_hub, "model_info", unreachable)
    with pytest.raises(ConnectionError, match="could not be reached.*HF_HUB_OFFLINE=1"):
        check_model_source("org/model")


# ---------------------------------------------------------------------- defect 13: no tokenizer warning noise
def test_an_overlong_input_gets_only_our_error(small_context_dir, capsys):
    long_prompt = "word " * 400
    argv = ["score", "--model_name_or_path", str(small_context_dir), "--prompt", long_prompt, "--responses", "a", "b"]
    assert main([*argv, "--strict_context"]) == 2
    err = capsys.readouterr().err
    assert "does not fit the model's context" in _one_error_line(err)
    assert "Token indices sequence length" not in err
    # Issue 25, item 1: by default the input is unscored and its record says why (exit 0, nothing else lost).
    assert main(argv) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["scores"] is None and set(result["failures"]) == {"context_overflow"}
    assert "does not fit the model's context" in result["error"] and "Token indices" not in err


# ------------------------------------------------------------------------------------- the pretty report
def test_pretty_report(judge_dir, capsys):
    argv = ["score", "--model_name_or_path", judge_dir, "--prompt", "What is two plus two?"]
    assert main([*argv, "--responses", "Four.", "Five.", "--num_samples", "2", "--pretty"]) == 0
    text = capsys.readouterr().out
    assert "Principles:" in text and "Critique:" in text
    assert "Voted scores (sums over the 2 sample(s) used, each 1-10): Reply 1 = " in text
    assert "mean per sample:" in text and "Best: Reply " in text and "Summary: 2 of 2 samples parsed" in text
    assert "Note: this is the embedded" not in text  # a user model is not the demo


def test_pretty_report_labels_ties_failures_agreement_and_numbering():
    from trl_grm.cli.score import format_report

    item = {"prompt": "Capital of Australia?", "responses": ["Sydney.", "Canberra."]}

    def sample(order, scores, status="ok", detail=""):
        return {"order": order, "status": status, "detail": detail, "principles": "P", "critique": "C",
                "scores": scores}  # fmt: skip

    record = {
        "scores": [12, 12],
        "best": 1,
        "tied": [0, 1],
        "num_samples": 3,
        "num_failed": 1,
        "num_used": 2,
        "failures": {"truncated": 1},
        "error": None,
        "samples": [
            sample([1, 0], [3, 9]),  # shows Reply 2 first; the judge's "Reply 1" is the user's Reply 2
            sample([0, 1], [9, 3]),
            sample([0, 1], None, "truncated", "the judgement was cut off at max_new_tokens=8"),
        ],
    }
    text = format_report(item, record, seed=7)
    assert "shown in the order Reply 2, Reply 1 - ok" in text
    assert "(the judge numbers replies as shown: 'Reply 1' = Reply 2, 'Reply 2' = Reply 1)" in text
    # Issue 25, item 5: a swapped sample's score line says which numbering it uses (before: "Scores: Reply 1 = 3,
    # Reply 2 = 9" under a critique that called the user's Reply 2 "Reply 1").
    assert (
        "Scores as the judge numbered the replies: Reply 1 = 9, Reply 2 = 3; in your numbering: Reply 1 = 3, "
        "Reply 2 = 9"
    ) in text
    assert "Scores: Reply 1 = 9, Reply 2 = 3" in text  # the sample shown in the user's order
    assert "FAILED: truncated (the judgement was cut off at max_new_tokens=8)" in text
    assert "Voted scores (sums over the 2 sample(s) used, each 1-10): Reply 1 = 12, Reply 2 = 12" in text
    assert "mean per sample: 6.00, 6.00" in text
    assert "Best: Reply 2 -> Canberra.  (a tie: Reply 1 12 vs Reply 2 12, broken at random with seed 7)" in text
    # One summary line: parsed, failures by type, agreement by reply and by shown position (a position judge).
    summary = next(line for line in text.splitlines() if line.startswith("Summary: "))
    assert summary == (
        "Summary: 2 of 3 samples parsed (failures: 1 truncated); each sample's own best: Reply 2 x1, Reply 1 x1; "
        "its position as shown: 1st x2"
    )


def test_the_demo_model_says_what_it_is(judge_dir, capsys, monkeypatch):
    """With the embedded demo GRM, one line says it is the 135M demonstration model (here the tiny judge stands in
    for it, so that the test needs no SmolLM2)."""
    import trl_grm.modeling.default_model as default_model

    monkeypatch.setattr(default_model, "is_default_grm", lambda name: True)
    argv = ["score", "--model_name_or_path", judge_dir, "--prompt", "q", "--responses", "a", "b", "--num_samples", "1"]
    assert main([*argv, "--pretty"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("Note: this is the embedded 135M demonstration GRM")
    assert "What a 135M model can and cannot judge" in out
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "135M demonstration GRM" in captured.err and json.loads(captured.out)["num_samples"] == 1
