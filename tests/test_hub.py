"""Issue 11: model cards and Hub push/pull. Save -> card -> load round trips on local folders; only the network
upload (huggingface_hub.HfApi's create_repo / create_branch / upload_folder) is replaced here, because this machine
has no network: the test checks what would be uploaded and how."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import HfApi, ModelCard
from huggingface_hub.utils import filter_repo_objects

from trl_grm import GRMConfig, GRMForPointwiseScoring
from trl_grm.cli.main import main as cli
from trl_grm.modeling.hub import record_stage, write_card


class Uploads:
    """Stands in for the Hub's network calls and records them."""

    def __init__(self, monkeypatch):
        self.calls: list[tuple[str, dict]] = []
        self.files: dict[str, str] = {}
        monkeypatch.setattr(
            HfApi,
            "create_repo",
            lambda api, repo_id, **kw: self.calls.append(("create_repo", {"repo_id": repo_id, **kw})),
        )
        monkeypatch.setattr(
            HfApi,
            "create_branch",
            lambda api, repo_id, **kw: self.calls.append(("create_branch", {"repo_id": repo_id, **kw})),
        )

        def upload_folder(api, **kw):
            self.calls.append(("upload_folder", kw))
            folder = Path(kw["folder_path"])  # what upload_folder would send, its ignore_patterns applied
            names = [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()]
            kept = filter_repo_objects(names, ignore_patterns=kw.get("ignore_patterns"))
            self.files = {n: (folder / n).read_bytes().decode("utf-8", "replace") for n in kept}
            return f"https://huggingface.co/{kw['repo_id']}/commit/abc"

        monkeypatch.setattr(HfApi, "upload_folder", upload_folder)

    def _recorder(self, name: str):
        return lambda api, repo_id, **kw: self.calls.append((name, {"repo_id": repo_id, **kw}))


def test_grm_config_holds_only_grm_settings_and_old_files_load(tmp_path):
    GRMConfig(num_samples=8, k_meta=4).save_pretrained(tmp_path / "new")
    saved = json.loads((tmp_path / "new" / "grm_config.json").read_text())
    assert set(saved) == {
        "model_type", "template", "score_min", "score_max", "num_samples", "temperature", "top_p",
        "max_new_tokens", "order_strategy", "principles_mode", "k_meta", "meta_rm",
    }  # fmt: skip
    old = {**saved, "id2label": {"0": "LABEL_0"}, "problem_type": None, "chunk_size_feed_forward": 0}
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "grm_config.json").write_text(json.dumps(old))
    loaded = GRMConfig.from_pretrained(tmp_path / "old")
    assert (loaded.num_samples, loaded.k_meta) == (8, 4)


def test_card_round_trip(judge_dir, tmp_path):
    grm = GRMForPointwiseScoring.from_pretrained(judge_dir)
    grm.config = GRMConfig(**{**grm.config.to_dict(), "num_samples": 8, "k_meta": 4, "order_strategy": "random"})
    out = tmp_path / "grm"
    grm.save_pretrained(out)
    record_stage(out, None, "rejective fine-tuning", {"lr": 5e-6, "batch": 1024, "steps": 900, "N_RFT": 3})
    record_stage(out, str(out), "rule-based GRPO", {"lr": 4e-7, "batch": 512, "beta": 0.08, "G": 4})
    report = "| subset | n | Voting@8 |\n|---|---|---|\n| **overall** | 64 | 71.9 |\n"
    write_card(out, repo_id="me/tiny-grm", base_model="google/gemma-2-27b-it", eval_markdown=report)
    card = ModelCard.load(out / "README.md")
    assert card.data.base_model == "google/gemma-2-27b-it" and "trl-grm" in card.data.tags
    text = card.text
    assert 'pipeline("pointwise-reward", model="me/tiny-grm")' in text and "trl-grm serve" in text
    assert "| default k (`num_samples`) | 8 |" in text and "| k_meta (Meta RM guided voting) | 4 |" in text
    assert "| rejective fine-tuning | lr 5e-06, batch 1024, steps 900, N_RFT 3 |" in text
    assert "| rule-based GRPO | lr 4e-07, batch 512, beta 0.08, G 4 |" in text
    assert "| **overall** | 64 | 71.9 |" in text and "arXiv:2504.02495" in text
    back = GRMForPointwiseScoring.from_pretrained(out)  # the card does not disturb loading
    assert (back.config.num_samples, back.config.k_meta) == (8, 4)


def test_push_command_uploads_the_folder_with_its_card(judge_dir, tmp_path, monkeypatch, capsys):
    uploads = Uploads(monkeypatch)
    out = tmp_path / "grm"
    GRMForPointwiseScoring.from_pretrained(judge_dir).save_pretrained(out)
    (tmp_path / "report.md").write_text("| **overall** | 8 | 62.5 |\n")
    code = cli(["push", "--model_dir", str(out), "--repo_id", "me/grm", "--private", "--revision", "v1",
                "--eval_report", str(tmp_path / "report.md")])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    names = [c[0] for c in uploads.calls]
    assert names == ["create_repo", "create_branch", "upload_folder"]
    assert uploads.calls[0][1]["private"] is True and uploads.calls[2][1]["revision"] == "v1"
    assert {"grm_config.json", "model.safetensors", "README.md", "config.json"} <= set(uploads.files)
    assert "| **overall** | 8 | 62.5 |" in uploads.files["README.md"]
    assert "training_args.bin" in uploads.calls[2][1]["ignore_patterns"]  # pickles stay home
    assert "Pushed" in capsys.readouterr().out


def test_push_to_hub_forwards_options_and_opens_a_pr(judge_dir, monkeypatch):
    uploads = Uploads(monkeypatch)
    grm = GRMForPointwiseScoring.from_pretrained(judge_dir)
    url = grm.push_to_hub("me/grm", private=False, token="hf_x", create_pr=True, commit_message="first")
    kinds = [c[0] for c in uploads.calls]
    assert kinds == ["create_repo", "upload_folder"]  # a pull request needs no branch
    upload = uploads.calls[1][1]
    assert upload["create_pr"] is True and upload["commit_message"] == "first" and url.endswith("commit/abc")
    assert "README.md" in uploads.files and "grm_config.json" in uploads.files


@pytest.mark.parametrize(
    "setup, expected",
    [
        (lambda d: None, "holds no safetensors weights or LoRA adapter"),
        (lambda d: ((d / "model.safetensors").write_text("x"), (d / "pytorch_model-00001.bin").write_text("x")),
         "pickled weights"),
    ],
    ids=["empty", "pickle"],
)  # fmt: skip
def test_push_refuses_folders_without_safe_weights(setup, expected, tmp_path, capsys, monkeypatch):
    Uploads(monkeypatch)
    setup(tmp_path)
    assert cli(["push", "--model_dir", str(tmp_path), "--repo_id", "me/x"]) == 2
    assert expected in capsys.readouterr().err


def _snapshot(cache: Path, repo_id: str, source: Path) -> None:
    """A Hub cache entry for ``repo_id`` holding the files of ``source`` (what a download would have left)."""
    import shutil

    commit = "0" * 40
    root = cache / f"models--{repo_id.replace('/', '--')}"
    shutil.copytree(source, root / "snapshots" / commit)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(commit)


def test_released_checkpoints_load_by_id_with_their_meta_rm(judge_dir, tmp_path, monkeypatch):
    """Folders shaped like BBQGOD/DeepSeek-GRM-27B (a causal LM, no grm_config.json) and its -MetaRM (a sequence
    classifier), in a local Hub cache; HF_HUB_OFFLINE=1 (conftest), so the ids resolve from that cache."""
    import shutil

    import huggingface_hub
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    plain = tmp_path / "plain"
    shutil.copytree(judge_dir, plain)
    (plain / "grm_config.json").unlink()
    meta = tmp_path / "meta"
    AutoModelForSequenceClassification.from_pretrained(judge_dir, num_labels=1).save_pretrained(meta)
    AutoTokenizer.from_pretrained(judge_dir).save_pretrained(meta)
    cache = tmp_path / "hub"
    _snapshot(cache, "BBQGOD/DeepSeek-GRM-27B", plain)
    _snapshot(cache, "BBQGOD/DeepSeek-GRM-27B-MetaRM", meta)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))

    grm = GRMForPointwiseScoring.from_pretrained("BBQGOD/DeepSeek-GRM-27B")
    assert grm.config.meta_rm == "BBQGOD/DeepSeek-GRM-27B-MetaRM" and grm.config.order_strategy == "random"
    assert grm.meta_rm is not None and len(grm.meta_rm(["Query: a\n\nJudgement: b"])) == 1
    assert (grm.config.score_min, grm.config.score_max) == (1, 10)
