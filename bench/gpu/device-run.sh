#!/usr/bin/env bash
# Runs on the lent GPU machine (see ARCHITECTURE.md, "GPU verification"), from the
# project root, after ../shared/tools/device-pack.sh has packed Node, the built
# addons and node_modules into .device/:
#   device run:  bash .device/run.sh bash bench/gpu/device-run.sh [tests|bench|peers|all] [vitest filters...]
# (peers: npm run bench's workloads on toroid-cuda and PyTorch CUDA; all = tests + bench)
# Writes logs and JSON into $OUT (or /tmp/toroid-gpu).
set -uo pipefail
what=${1:-all}; shift || true
out=${OUT:-/tmp/toroid-gpu}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"

# cuBLAS from the CUDA toolkit or the nvidia-cublas wheel PyTorch installed
cublas=$(python3 - <<'PY'
import glob, os, site, sys
roots = site.getsitepackages() + ['/usr/local/cuda/lib64', '/usr/lib/x86_64-linux-gnu']
for r in roots:
    for f in sorted(glob.glob(os.path.join(r, '**', 'libcublas.so.1[23]'), recursive=True)):
        print(f); sys.exit(0)
PY
)
if [ -n "$cublas" ]; then
  export TOROID_CUBLAS="$cublas" LD_LIBRARY_PATH="$(dirname "$cublas")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "cuBLAS: $cublas"
else
  echo "cuBLAS: not found; toroid's own GEMM runs"
fi
node -e "import('./dist/index.js').then(t => console.log(JSON.stringify(t.cuda.info())))" 2>&1 | tee "$out/cuda-info.json"

status=0
if [ "$what" = tests ] || [ "$what" = all ]; then
  # the whole suite with cuda as the default backend, per-backend suites on ts and cuda,
  # and the random-shape consistency suite checking cuda against the ts reference
  TOROID_BACKEND=cuda TOROID_TEST_BACKENDS=ts,cuda TOROID_CONSISTENCY_NATIVE=cuda \
    timeout ${TEST_TIMEOUT:-240} npx vitest run --reporter=dot --exclude 'test/hardening/**' "$@" > "$out/tests.log" 2>&1 || status=$?
  grep -E "FAIL|AssertionError|Error:|Tests |Test Files" "$out/tests.log" | head -150
fi
if [ "$what" = bench ] || [ "$what" = all ]; then
  timeout ${BENCH_TIMEOUT:-150} node node_modules/.bin/tsx bench/cuda.bench.ts ${BENCH_ARGS:-} --json "$out/cuda-bench.json" 2>&1 | tail -60 || status=$?
  # mixed precision: bf16 matrix products (and attention's tensor-core path)
  timeout ${BENCH_TIMEOUT:-150} node node_modules/.bin/tsx bench/cuda.bench.ts ${BENCH_ARGS:-} --only attention,gpt --precision medium --json "$out/cuda-bench-bf16.json" 2>&1 | grep -v "^attention B=" | tail -45 || status=$?
  timeout ${TORCH_TIMEOUT:-100} python3 bench/torch_cuda.py ${BENCH_ARGS:-} --json "$out/torch-cuda.json" 2>&1 | tail -40 || status=$?
fi
if [ "$what" = peers ]; then
  # the peer benchmark's Seq2Seq and GPT workloads, toroid-cuda against PyTorch on the same GPU
  timeout ${PEERS_TIMEOUT:-300} node node_modules/.bin/tsx bench/run.ts --no-kernels --impls toroid-cuda,torch-cuda \
    --reps ${PEERS_REPS:-5} --budget ${PEERS_BUDGET:-20} --out "$out" 2>&1 | grep -v "^\[bench\]" | tail -30 || status=$?
fi
exit $status
