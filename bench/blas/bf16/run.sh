#!/usr/bin/env bash
# bf16 GEMM on the cpu: which one, by measurement (results: bench/RESULTS.md).
#   bench/blas/bf16/run.sh check        bf16_matmul (native/cpu/bf16_matmul.cc) on every path against a
#                                       double-precision product (check.cc: tile edges, transposes)
#   bench/blas/bf16/run.sh [rounds]     GFLOP/s tables: toroid's bf16_matmul per path, oneDNN 2.6.3,
#                                       OpenBLAS 0.3.21, PyTorch 1.13, and float32 GEMM (BLIS, oneDNN, OpenBLAS, PyTorch)
# Needs: libblis-openmp-dev, libdnnl-dev (oneDNN headers; Debian's libdnnl2 is the library),
# libopenblas-openmp-dev, python3-torch. OMP_NUM_THREADS=2 unless set.
# Other processes on the machine wreck a 2-thread timing (one descheduled thread stalls the other at
# every barrier), so every program waits for both cores to be idle first, and each figure is the
# best of `rounds` (default 2) interleaved rounds of medians.
set -euo pipefail
cd "$(dirname "$0")/../../.."
flags=(-std=c++17 -O3 -mavx2 -mfma -mf16c -fopenmp -Wall -I native -I /usr/include/x86_64-linux-gnu/blis-openmp -DTOROID_BLAS_BLIS)
blis=(native/cpu/layout.cc native/cpu/blas.cc /usr/lib/x86_64-linux-gnu/blis-openmp/libblis.a)
dir=bench/blas/bf16
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"

if [ "${1:-}" = check ]; then
  g++ "${flags[@]}" $dir/check.cc native/cpu/bf16_matmul.cc native/cpu/bf16_isa.cc "${blis[@]}" -o "$out/check"
  for isa in amx-bf16 avx512-bf16 avx2; do TOROID_BF16_ISA=$isa "$out/check"; done
  TOROID_NO_AVX512=1 "$out/check"
  exit 0
fi
rounds="${1:-2}"

g++ "${flags[@]}" $dir/ours.cc native/cpu/bf16_matmul.cc native/cpu/bf16_isa.cc "${blis[@]}" -o "$out/ours"
g++ "${flags[@]}" $dir/dnnl.cc -ldnnl -o "$out/dnnl"
g++ -I /usr/include/x86_64-linux-gnu/openblas-openmp "${flags[@]}" $dir/openblas.cc -L /usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas -ldl \
  -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp -o "$out/openblas"

# both cores idle (< 8% busy) for 3 s in a row, or 5 minutes passed
wait_quiet() {
  local ok=0 tries=0 u1 n1 s1 i1 w1 q1 sq1 st1 u2 n2 s2 i2 w2 q2 sq2 st2 rest
  while [ $ok -lt 3 ] && [ $tries -lt 300 ]; do
    read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 rest < /proc/stat; sleep 1
    read -r _ u2 n2 s2 i2 w2 q2 sq2 st2 rest < /proc/stat
    local busy=$(( (u2 + n2 + s2 + q2 + sq2 + st2) - (u1 + n1 + s1 + q1 + sq1 + st1) )) idle=$(( (i2 + w2) - (i1 + w1) ))
    if [ $(( busy * 100 )) -lt $(( (busy + idle) * 8 )) ]; then ok=$((ok + 1)); else ok=0; fi
    tries=$((tries + 1))
  done
}
printf '#!/bin/sh\nLD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp exec /usr/bin/python3 %s/torch_gemm.py "$@"\n' "$PWD/$dir" > "$out/torch"
chmod +x "$out/torch"
shapes=(1024x1024x1024 2048x2048x2048 2048x2048x512 2048x512x2048 2048x512x512 2048x8000x512 512x2048x2048)
# candidate: a label and the command; each is run once per shape (f32: the squares)
candidates=(
  "TOROID_BF16_ISA=amx-bf16 $out/ours bf16f32" "TOROID_BF16_ISA=amx-bf16 $out/ours bf16"
  "TOROID_BF16_ISA=avx512-bf16 $out/ours bf16" "TOROID_BF16_ISA=avx2 $out/ours bf16"
  "$out/dnnl bf16f32" "$out/dnnl bf16" "$out/openblas bf16f32" "$out/torch bf16" "$out/torch f32"
  "$out/ours f32" "$out/dnnl f32" "$out/openblas f32")
: > "$out/results"
for round in $(seq "$rounds"); do
  for shape in "${shapes[@]}"; do
    for cand in "${candidates[@]}"; do
      case "$cand" in *" f32") [[ $shape == 1024x1024x1024 || $shape == 2048x2048x2048 ]] || [[ $cand == */torch* ]] || continue ;; esac
      wait_quiet
      env $cand "$shape" 2>> "$out/stderr" | tee -a "$out/results" >&2
    done
  done
done
echo "### $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, OMP_NUM_THREADS=$OMP_NUM_THREADS, $(date -u +%Y-%m-%d)"
sort -u "$out/stderr"
/usr/bin/python3 - "$out/results" <<'PY'
import sys
best = {}
for line in open(sys.argv[1]):
    lib, mode, shape, tag, g = line.split()
    if g != 'n/a':
        best[(lib, mode, shape, tag)] = max(best.get((lib, mode, shape, tag), 0), int(g))
    else:
        best.setdefault((lib, mode, '-', '-'), 'n/a')
order = ['1024x1024x1024', '2048x2048x2048', '2048x2048x512', '2048x512x2048', '2048x512x512', '2048x8000x512', '512x2048x2048']
rows = sorted({(s, t) for (_, m, s, t) in best if s != '-' and m != 'f32'}, key=lambda r: (order.index(r[0]), 'NNTNNT'.index(r[1]) // 2))
cols = [('toroid-amx-bf16', 'bf16f32'), ('toroid-amx-bf16', 'bf16'), ('toroid-avx512-bf16', 'bf16'), ('toroid-avx2', 'bf16'),
        ('onednn', 'bf16f32'), ('onednn', 'bf16'), ('openblas', 'bf16f32'), ('torch', 'bf16'), ('torch', 'f32')]
print('\nbf16 GEMM, GFLOP/s (bf16f32: bf16 in, float32 out; bf16: bf16 in and out)\n')
print('| M x N x K | op | ' + ' | '.join(f'{l} {m}' for l, m in cols) + ' |')
print('| --- | --- |' + ' --- |' * len(cols))
for s, t in rows:
    print(f'| {s} | {t} | ' + ' | '.join(str(best.get((l, m, s, t), best.get((l, m, "-", "-"), ""))) for l, m in cols) + ' |')
print('\nfloat32 GEMM (A B), GFLOP/s\n')
fcols = [('blis', 'f32'), ('onednn', 'f32'), ('openblas', 'f32'), ('torch', 'f32')]
print('| M x N x K | ' + ' | '.join(l for l, _ in fcols) + ' |')
print('| --- |' + ' --- |' * len(fcols))
for s in ('1024x1024x1024', '2048x2048x2048'):
    print(f'| {s} | ' + ' | '.join(str(best.get((l, m, s, 'NN'), '')) for l, m in fcols) + ' |')
PY
size=$(stat -c %s /usr/lib/x86_64-linux-gnu/libdnnl.so.2.6) gz=$(gzip -9 < /usr/lib/x86_64-linux-gnu/libdnnl.so.2.6 | wc -c)
echo
echo "libdnnl.so.2.6: $((size / 1024)) KiB, gzip -9 $((gz / 1024)) KiB; needs: $(ldd /usr/lib/x86_64-linux-gnu/libdnnl.so.2.6 | awk '{print $1}' | grep -E 'OpenCL|gomp' | tr '\n' ' ')"
