#!/usr/bin/env bash
# Wheels for the GPU machine (Python 3.12, no network there), into .whl/ at the repository root (git-ignored), to be
# carried with `run --carry .whl`. Its image has PyTorch, peft, pyarrow, pandas, numpy, ... but an older
# transformers, no trl and no datasets (see /work/.library/device/KINDS.md); these are the versions tested here.
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qxF '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
rm -rf .whl && mkdir -p .whl
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
  platforms+=(--platform "$p")
done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp "${platforms[@]}" \
  -d .whl transformers==5.25.0 huggingface_hub==2.4.0 tokenizers==0.23.3 trl==1.16.0 datasets==5.2.0 \
  dill==0.4.1 multiprocess==0.70.19 accelerate==1.16.0 peft==0.21.2 kernels==0.19.1
du -sh .whl
