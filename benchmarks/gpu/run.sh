#!/usr/bin/env bash
# The prepared GPU check, as one device call (from the repository root; .whl/ carried, see prepare.sh):
#   bash benchmarks/gpu/run.sh        -> $OUT/gpu.json and $OUT/gpu.log
set -uo pipefail
OUT="${OUT:-/tmp/gpu_out}"
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.log"
python3 -c 'import torch, transformers, trl, peft; print(torch.__version__, transformers.__version__, trl.__version__, peft.__version__)' | tee -a "$OUT/gpu.log"
timeout 500 python3 benchmarks/gpu/gpu_check.py --json "$OUT/gpu.json" 2>&1 | tee -a "$OUT/gpu.log"
