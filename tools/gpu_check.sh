#!/usr/bin/env bash
# The GPU checks of a session that is lent a GPU machine: CUDA tests, then the throughput and prediction benchmarks,
# each under its own time limit (about 5 minutes in all on an H200). Record the figures in benchmarks/RESULTS.md.
#
# The machine has torch but not fastai: carry wheels in .whl/ (ignored: `echo /.whl/ >> .git/info/exclude`). Made here with
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
#     fastai==2.8.7 fastcore==1.14.5 fastprogress==1.0.3 fastdownload==0.0.8 fasttransform==0.0.2 plum-dispatch==2.10.1 \
#     beartype==0.23.1 ttach==0.0.3 rasterio==1.4.4 affine==3.0.1 cligj==0.7.2 click-plugins==1.1.1.2
#   .venv/bin/pip wheel --no-deps grad-cam==1.5.7 -w .whl         # grad-cam is an sdist
# (fastprogress 1.0.3: 1.1.x imports python-fasthtml). Then run `bash tools/gpu_check.sh` there, carrying .whl.
# Seen on 4 Dec 2026 (H200, torch 2.11): 15 CUDA tests passed; the full `pytest -n 14 tests/` also runs (2.5 min), where
# the notebook, docs and Dubai tests fail for want of nbdev, mkdocs and ../shared/data, which do not travel.
set -uo pipefail
export PYTHONUNBUFFERED=1
T0=$(date +%s); step(){ echo "=== [$(( $(date +%s) - T0 )) s] $*"; }
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir .whl/*.whl || exit 1
python3 -m pip install -q --no-deps --no-build-isolation --no-index -e . || exit 1
OUT=${OUT:-/tmp/gpu_check}; mkdir -p "$OUT"
step setup; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
python3 -c "import torch, fastai; print(torch.__version__, torch.version.cuda, fastai.__version__, torch.cuda.get_device_name())"
step cuda-tests
timeout 240 python3 -m pytest -q -p no:cacheprovider -p no:logging tests/test_learner_cuda.py tests/test_sampling.py tests/test_views.py -rs 2>&1 | tail -15
step throughput
timeout 150 python3 benchmarks/pretrain_throughput.py --max-bs --n-data 1024 --json "$OUT/gpu.json" 2>&1 | tail -8
step throughput-all-options
timeout 180 python3 benchmarks/pretrain_throughput.py --max-bs --n-data 1024 --on-device --compile --no-authors --json "$OUT/gpu_all.json" 2>&1 | tail -6
step predict
timeout 90 python3 benchmarks/predict_memory.py --device cuda --net cdnet --sides 8192 --bs 32 --json "$OUT/gpu_predict.json" 2>&1 | tail -3
step done
