"""benchmarks/gpu/gpu_check.py (issue 26): the prepared GPU check runs in its CPU mode and reports its three parts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_small_mode_on_cpu(tmp_path):
    out = tmp_path / "gpu.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu" / "gpu_check.py"), "--small", "--json",
                           str(out)], capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(out.read_text())
    assert summary["small"] and summary["device"].startswith("CPU")
    backend, reward, rft = summary["parts"]
    assert backend["rows"] == 8 and backend["ours_tok_s"] > 0 and backend["raw_generate_tok_s"] > 0
    assert reward["step_s"] > 0 and 0 < reward["grm_scoring_s"] <= reward["step_s"]
    assert rft["planned_mib"] > 0 and rft["measured_mib"] > 0
    assert "| LoRA RFT step" in proc.stdout and "ours/raw" in proc.stdout
