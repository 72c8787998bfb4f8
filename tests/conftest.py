"""Shared fixtures: the tiny models are built ONCE per test session (no network, no Hub downloads)."""

from __future__ import annotations

import os

# Belt and braces: nothing in the test suite may reach the Hugging Face Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from trl_grm.testing import build_tiny_judge, build_tiny_model  # noqa: E402

PROMPT = "What is two plus two?"
RESPONSES = ["Four.", "Five."]
PAIR = {"prompt": PROMPT, "responses": RESPONSES}


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A randomly initialised tiny Llama causal LM + tokenizer with a chat template (plain checkpoint)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def small_context_dir(tmp_path_factory):
    """Like ``tiny_model_dir`` but with a 128-token context window."""
    return build_tiny_model(tmp_path_factory.mktemp("small_ctx") / "model", max_position_embeddings=128)


@pytest.fixture(scope="session")
def judge_dir(tmp_path_factory):
    """The tiny judge: under greedy decoding scores the FIRST SHOWN response 8 and the second 3 (own template).

    Tests must treat this directory as read-only (copy it before changing anything).
    """
    return build_tiny_judge(tmp_path_factory.mktemp("judge") / "model")


@pytest.fixture(scope="session")
def judge(judge_dir):
    """The tiny judge loaded as a GRM (shared: tests must not change its config or attributes)."""
    from trl_grm import GRMForPointwiseScoring

    return GRMForPointwiseScoring.from_pretrained(judge_dir)


@pytest.fixture(scope="session")
def random_lm(tiny_model_dir):
    """The random tiny LM with large weights, so that greedy continuations depend strongly on the prompt (with the
    default 0.02 init it repeats one token whatever the prompt, which would hide prefill/position bugs)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() >= 2:
                param.normal_(0.0, 0.25, generator=generator)
    return model, tokenizer
