"""No noise a user did not cause (issue 25, item 8): no gradient-checkpointing FutureWarning on every plan or dry
run, and a progress bar whose slow tail says what is still decoding instead of a per-sample rate that reads as a
stall ("97% ... 55 s/sample")."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest
import torch

from trl_grm.backends.transformers_backend import _DecodeProgress
from trl_grm.trainers import MetaRMConfig, PrincipleGRPOConfig, RejectiveSFTConfig
from trl_grm.utils.progress import sample_bar


@pytest.mark.parametrize("config_class", [RejectiveSFTConfig, PrincipleGRPOConfig, MetaRMConfig])
@pytest.mark.parametrize("checkpointing", [None, True, False])
def test_configs_build_without_the_checkpointing_alias_warning(config_class, checkpointing, tmp_path):
    kwargs = {} if checkpointing is None else {"gradient_checkpointing": checkpointing}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = config_class(output_dir=str(tmp_path), report_to="none", use_cpu=True, bf16=False, **kwargs)
    assert not [w for w in caught if "checkpointing" in str(w.message)]
    # The value is still honoured (TRL's default is True).
    expected = True if checkpointing is None else checkpointing
    assert config.gradient_checkpointing is expected
    if hasattr(config, "activation_checkpointing"):
        assert config.activation_checkpointing is expected


def test_plan_prints_no_future_warning():
    proc = subprocess.run(
        [sys.executable, "-W", "default", "-m", "trl_grm.cli.main", "plan", "gemma-2-27b/rft.yaml"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "FutureWarning" not in proc.stderr and "gradient_checkpointing" not in proc.stderr


def test_a_slow_tail_shows_what_is_still_decoding():
    bar = sample_bar(4, desc="Scoring")
    try:
        progress = _DecodeProgress(bar.update, rows=4, max_new_tokens=10, eos_ids={2})
        # Step 1: rows 0-2 write their end-of-sequence token, row 3 keeps writing.
        progress(torch.tensor([[5, 2], [5, 2], [5, 2], [5, 7]]), torch.zeros(4, 9))
        assert bar.n == pytest.approx(3 + 1 / 10)
        line = str(bar)
        assert "writing 1 of 4, token 1/10" in line and "/sample" not in line and "sample/s" not in line
        for _ in range(3):
            progress(torch.tensor([[0, 0], [0, 0], [0, 0], [5, 7]]), torch.zeros(4, 9))
        assert "writing 1 of 4, token 4/10" in str(bar)
        progress(torch.tensor([[0, 0], [0, 0], [0, 0], [5, 2]]), torch.zeros(4, 9))  # row 3 ends
        assert bar.n == pytest.approx(4) and "writing" not in str(bar)
    finally:
        bar.close()
