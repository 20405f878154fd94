#!/usr/bin/env bash
# The GPU checks, in one run, on a CUDA machine that has torch, transformers and
# sentence-transformers but none of our other packages (the `device` tool's H200 image):
#   - the tests marked gpu (torch CUDA exact search = FAISS flat; fp16/bf16 MiniLM on CUDA = fp32 CPU)
#   - bench/search.py: exact search on the GPU at 100k and 1M vectors (CPU flat beside it)
#   - bench/embed.py: MiniLM ingest embedding on the GPU, naive encode vs our fast path
#   - bench/writer_throughput.py: Qwen2.5 0.5B / 1.5B / 7B first token and tokens/s (random weights)
# What it needs beside the checkout, in $DEV_DIR (default .dev, ignored by git; prepared by
# `bash bench/device_check.sh --prepare` on a machine with pip and the installed MiniLM package):
#   whl/faiss_cpu-*.whl (cp312) and minilm16.tar.xz (the MiniLM folder, weights stored in fp16,
#   config dtype float32 so it loads in fp32: 41 MB instead of 87 MB, to fit the tool's 64 MiB).
# Writes logs and the benchmarks' result lines to $OUT (default /tmp/device-out).
# SMOKE=1 runs the same steps CPU-sized (bench --smoke flags), to check the script itself.
set -uo pipefail
cd "$(dirname "$0")/.."
DEV=${DEV_DIR:-.dev}
if [ "${1:-}" = "--prepare" ]; then
  set -e
  mkdir -p "$DEV/whl"
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 -d "$DEV/whl" \
    "faiss-cpu==$(sed -n 's/^faiss-cpu==//p' requirements.txt)"
  tmp=$(mktemp -d)
  src=$(.venv/bin/python -c "from retrieval.embedders import bundled_model_path; print(bundled_model_path())")
  cp -r "$src" "$tmp/minilm16"
  .venv/bin/python - "$tmp/minilm16" <<'PY'
import json, sys
from pathlib import Path
from safetensors.torch import load_file, save_file
d = Path(sys.argv[1])
sd = load_file(d / "model.safetensors")
save_file({k: v.half().contiguous() for k, v in sd.items()}, d / "model.safetensors", metadata={"format": "pt"})
cfg = json.loads((d / "config.json").read_text())
cfg["dtype"] = "float32"
(d / "config.json").write_text(json.dumps(cfg, indent=2))
PY
  tar cf - -C "$tmp" minilm16 | xz -9 -T2 > "$DEV/minilm16.tar.xz"
  rm -rf "$tmp"
  du -sh "$DEV"
  exit 0
fi
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
PY=${PYTHON:-python3}
if ls "$DEV"/whl/*.whl >/dev/null 2>&1 && [ -z "${SMOKE:-}" ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$DEV"/whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
if [ -f "$DEV/minilm16.tar.xz" ]; then
  tar xJf "$DEV/minilm16.tar.xz" -C /tmp && export COURSETA_TEST_MINILM_DIR=/tmp/minilm16
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
  $PY -c "import torch, transformers, sentence_transformers, faiss, numpy; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available(), '| transformers', transformers.__version__, '| sentence-transformers', sentence_transformers.__version__, '| faiss', faiss.__version__, '| numpy', numpy.__version__)"
  nproc; } 2>&1 | tee "$OUT/gpu.txt"
step() { local name=$1 limit=$2; shift 2; echo "== $name: $*" | tee -a "$OUT/steps.txt"
  local t0=$SECONDS; timeout "$limit" "$@" > "$OUT/$name.log" 2>&1; local rc=$?
  echo "== $name rc=$rc in $((SECONDS - t0)) s" | tee -a "$OUT/steps.txt"; tail -n 25 "$OUT/$name.log"; }
if [ -n "${SMOKE:-}" ]; then
  step pytest 300 $PY -m pytest -o addopts=-pno:cacheprovider -m gpu -rs tests/test_gpu.py tests/test_fast_embed.py
  step search 120 $PY bench/search.py --smoke
  step embed 120 $PY bench/embed.py --smoke ${COURSETA_TEST_MINILM_DIR:+--model $COURSETA_TEST_MINILM_DIR}
  step writer 120 $PY bench/writer_throughput.py --smoke
  exit 0
fi
step pytest 180 $PY -m pytest -o addopts=-pno:cacheprovider -m gpu -v -rs tests/test_gpu.py tests/test_fast_embed.py
step search 200 $PY bench/search.py --sizes 100000,1000000 --dims 384,1024 --data clustered --ann-max 0
step embed 150 $PY bench/embed.py --devices cuda --count 20000 --repeats 2 ${COURSETA_TEST_MINILM_DIR:+--model "$COURSETA_TEST_MINILM_DIR"}
step writer 200 $PY bench/writer_throughput.py --models 0.5b,1.5b,7b --prompt-tokens 1137,4000 --new-tokens 128
for f in search embed writer_throughput; do [ -f "bench/results/$f.jsonl" ] && tail -n 1 "bench/results/$f.jsonl" >> "$OUT/results.jsonl"; done
exit 0
