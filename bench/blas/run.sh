#!/usr/bin/env bash
# Which BLAS for the cpu backend? SGEMM GFLOP/s of static BLIS and OpenBLAS
# (Debian's OpenMP builds) and of PyTorch 1.13, interleaved in one run, plus
# the size each adds to a shared object. Needs: libblis-openmp-dev,
# libopenblas-openmp-dev, python3-torch (optional). Usage: bench/blas/run.sh
set -euo pipefail
cd "$(dirname "$0")"
out="$(mktemp -d)"
g++ -O2 -fopenmp -I/usr/include/x86_64-linux-gnu/blis-openmp sgemm.cc /usr/lib/x86_64-linux-gnu/blis-openmp/libblis.a -o "$out/blis"
g++ -O2 -fopenmp -I/usr/include/x86_64-linux-gnu/openblas-openmp sgemm.cc /usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.a -o "$out/openblas"
# size each library adds to a shared object that calls only sgemm
echo 'extern "C" void cblas_sgemm(int,int,int,int,int,int,float,const float*,int,const float*,int,float,float*,int); extern "C" void f(float*a){cblas_sgemm(101,111,111,1,1,1,1,a,1,a,1,0,a,1);}' > "$out/so.cc"
g++ -O2 -shared -fPIC -fopenmp "$out/so.cc" /usr/lib/x86_64-linux-gnu/blis-openmp/libblis.a -Wl,--gc-sections -s -o "$out/blis.so"
g++ -O2 -shared -fPIC -fopenmp "$out/so.cc" /usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.a -Wl,--gc-sections -s -o "$out/openblas.so"
export OMP_NUM_THREADS=2
declare -A result
# Both libraries misdetect this machine's AVX-512 CPU (family 6 model 207): BLIS 0.9 falls back to its 'haswell' kernels,
# OpenBLAS 0.3.21 to 'Prescott' (SSE3). Each is measured as detected and forced
# to its AVX-512 kernels (BLIS_ARCH_TYPE=0 is skx; OPENBLAS_CORETYPE=SkylakeX).
has_torch=0
/usr/bin/python3 -c 'import torch' 2>/dev/null && has_torch=1
for round in 1 2; do   # interleaved: noise hits all alike
  result[blis$round]="$(env -u BLIS_ARCH_TYPE "$out/blis")"
  result[blisskx$round]="$(BLIS_ARCH_TYPE=0 "$out/blis")"
  result[openblas$round]="$(env -u OPENBLAS_CORETYPE "$out/openblas")"
  result[openblasskx$round]="$(OPENBLAS_CORETYPE=SkylakeX "$out/openblas")"
  if [ "$has_torch" = 1 ]; then
    result[torch$round]="$(LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 sgemm_torch.py)"
    result[torchskx$round]="$(OPENBLAS_CORETYPE=SkylakeX LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 sgemm_torch.py)"
  fi
done
col() { echo "${result[$1]:-}" | cut -d' ' -f2; }
echo "GFLOP/s, OMP_NUM_THREADS=2, median of 9; second of two interleaved rounds"
echo "| shape MxNxK | BLIS detected | BLIS skx | OpenBLAS detected | OpenBLAS SkylakeX | PyTorch 1.13 (OpenBLAS detected) | PyTorch 1.13 (SkylakeX) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
paste -d' ' <(echo "${result[blis2]}" | cut -d' ' -f1) <(col blis2) <(col blisskx2) <(col openblas2) <(col openblasskx2) <(col torch2) <(col torchskx2) |
  awk '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, ($6 == "" ? "n/a" : $6), ($7 == "" ? "n/a" : $7) }'
echo "stripped shared object calling only sgemm: BLIS $(du -k "$out/blis.so" | cut -f1) KiB, OpenBLAS $(du -k "$out/openblas.so" | cut -f1) KiB"
rm -rf "$out"
