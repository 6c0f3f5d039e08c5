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
for round in 1 2; do   # interleaved: noise hits both alike
  for lib in blis openblas; do result[$lib$round]="$("$out/$lib")"; done
  if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    result[torch$round]="$(LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 sgemm_torch.py)"
  fi
done
echo "| shape MxNxK | BLIS | OpenBLAS | PyTorch 1.13 |"
echo "| --- | --- | --- | --- |"
paste -d' ' <(echo "${result[blis2]}") <(echo "${result[openblas2]}" | cut -d' ' -f2) <(echo "${result[torch2]:-}" | cut -d' ' -f2) |
  awk '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, ($4 == "" ? "n/a" : $4) }'
echo "stripped shared object calling only sgemm: BLIS $(du -k "$out/blis.so" | cut -f1) KiB, OpenBLAS $(du -k "$out/openblas.so" | cut -f1) KiB"
rm -rf "$out"
