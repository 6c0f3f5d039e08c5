// y [batch,M,N] = op(a) op(b) (+ bias [N]) on the GPU. cuBLAS does the product
// where it is installed (row-major y is column-major y^T = op(b)^T op(a)^T, so
// the operands swap); otherwise a shared-memory tiled SGEMM of our own runs.
// A bias is added in place after the product: cuBLAS with beta = 1 (accumulating
// onto a prefilled bias) measured up to 3x slower on an H200 for these shapes.
#include <vector>

#include "cuda/common.cuh"
#include "cuda/cublas.h"

namespace toroid {

namespace {

// y[r, :] += bias: blocks over rows (grid-stride), threads across the N columns,
// so there is no 64-bit division per element
__global__ void add_bias_rows(float* __restrict__ y, const float* __restrict__ bias, i64 rows, i64 N) {
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    float* row = y + r * N;
    for (i64 c = threadIdx.x; c < N; c += blockDim.x) row[c] += bias[c];
  }
}

// The fallback GEMM: 64x64 tiles of C per 256 threads, 4x4 per thread, K in steps
// of 16 through shared memory; loads follow each operand's contiguous dim.
constexpr int BM = 64, BN = 64, BK = 16;

__global__ void __launch_bounds__(256) sgemm_tiled(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ y,
                                                   i64 M, i64 N, i64 K, bool trans_a, bool trans_b, i64 stride_a, i64 stride_b,
                                                   float beta) {
  __shared__ float As[BK][BM + 4];
  __shared__ float Bs[BK][BN + 4];
  const i64 z = blockIdx.z;
  a += z * stride_a;
  b += z * stride_b;
  y += z * M * N;
  const int t = threadIdx.x, tx = t % 16, ty = t / 16;
  const i64 row0 = static_cast<i64>(blockIdx.y) * BM, col0 = static_cast<i64>(blockIdx.x) * BN;
  float acc[4][4] = {};
  for (i64 k0 = 0; k0 < K; k0 += BK) {
#pragma unroll
    for (int r = 0; r < 4; r++) {
      const int idx = t + r * 256;
      int il, kl;
      if (trans_a) { kl = idx / BM; il = idx % BM; } else { il = idx / BK; kl = idx % BK; }
      const i64 i = row0 + il, kk = k0 + kl;
      As[kl][il] = (i < M && kk < K) ? (trans_a ? a[kk * M + i] : a[i * K + kk]) : 0.0f;
      int jl;
      if (trans_b) { jl = idx / BK; kl = idx % BK; } else { kl = idx / BN; jl = idx % BN; }
      const i64 j = col0 + jl, kb = k0 + kl;
      Bs[kl][jl] = (j < N && kb < K) ? (trans_b ? b[j * K + kb] : b[kb * N + j]) : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kl = 0; kl < BK; kl++) {
      float av[4], bv[4];
#pragma unroll
      for (int r = 0; r < 4; r++) av[r] = As[kl][ty + 16 * r];
#pragma unroll
      for (int c = 0; c < 4; c++) bv[c] = Bs[kl][tx + 16 * c];
#pragma unroll
      for (int r = 0; r < 4; r++)
#pragma unroll
        for (int c = 0; c < 4; c++) acc[r][c] = fmaf(av[r], bv[c], acc[r][c]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int r = 0; r < 4; r++) {
    const i64 i = row0 + ty + 16 * r;
    if (i >= M) continue;
#pragma unroll
    for (int c = 0; c < 4; c++) {
      const i64 j = col0 + tx + 16 * c;
      if (j < N) y[i * N + j] = beta != 0.0f ? acc[r][c] + beta * y[i * N + j] : acc[r][c];
    }
  }
}

void own_sgemm(const float* a, const float* b, float* y, i64 batch, i64 M, i64 N, i64 K, bool ta, bool tb, i64 sa, i64 sb, float beta) {
  for (i64 z0 = 0; z0 < batch; z0 += 65535) {
    const i64 nz = batch - z0 < 65535 ? batch - z0 : 65535;
    const dim3 grid(static_cast<unsigned>((N + BN - 1) / BN), static_cast<unsigned>((M + BM - 1) / BM), static_cast<unsigned>(nz));
    sgemm_tiled<<<grid, 256, 0, cuda::stream()>>>(a + z0 * sa, b + z0 * sb, y + z0 * M * N, M, N, K, ta, tb, sa, sb, beta);
    cuda::check_launch("matmul (sgemm_tiled)");
  }
}

// Whether offsets[i] == i * offsets[1] - ... i.e. one constant stride; writes it.
bool uniform_stride(const i64* offsets, i64 batch, i64* stride) {
  *stride = batch > 1 ? offsets[1] - offsets[0] : 0;
  if (offsets[0] != 0) return false;
  for (i64 i = 1; i < batch; i++) if (offsets[i] != i * *stride) return false;
  return *stride >= 0;
}

bool fits_int(i64 v) { return v >= 0 && v <= 2147483647LL; }

}  // namespace

void matmul_forward(const float* a, const float* b, const float* bias, float* y, i64 batch, const i64* a_offsets, const i64* b_offsets,
                    i64 M, i64 N, i64 K, bool trans_a, bool trans_b) {
  if (batch == 0 || M == 0 || N == 0) return;
  const i64 rows = batch * M;
  const auto add_bias = [&] {
    if (bias == nullptr) return;
    add_bias_rows<<<static_cast<unsigned>(rows < 65535 * 16 ? rows : 65535 * 16), 256, 0, cuda::stream()>>>(y, bias, rows, N);
    cuda::check_launch("matmul (bias)");
  };
  if (K == 0) {
    memory_zero(y, static_cast<std::size_t>(rows * N) * sizeof(float));
    add_bias();
    return;
  }
  const float beta = 0.0f;
  i64 sa = 0, sb = 0;
  const bool uniform = uniform_stride(a_offsets, batch, &sa) && uniform_stride(b_offsets, batch, &sb);
  const cuda::Cublas* lib = cuda::cublas();
  const bool cublas_ok = lib != nullptr && fits_int(M) && fits_int(N) && fits_int(K) && fits_int(batch);
  // column-major view: y^T [N,M] = op(b)^T [N,K] op(a)^T [K,M]
  const int m = static_cast<int>(N), n = static_cast<int>(M), k = static_cast<int>(K);
  const int lda = static_cast<int>(trans_b ? K : N), ldb = static_cast<int>(trans_a ? M : K), ldc = static_cast<int>(N);
  if (uniform) {
    if (!(cublas_ok && cuda::cublas_sgemm_strided(lib, trans_b, trans_a, m, n, k, b, lda, sb, a, ldb, sa, beta, y, ldc, M * N, static_cast<int>(batch)))) {
      own_sgemm(a, b, y, batch, M, N, K, trans_a, trans_b, sa, sb, beta);
    }
    add_bias();
    return;
  }
  for (i64 z = 0; z < batch; z++) {
    const float* az = a + a_offsets[z];
    const float* bz = b + b_offsets[z];
    float* yz = y + z * M * N;
    if (cublas_ok && cuda::cublas_sgemm_strided(lib, trans_b, trans_a, m, n, k, bz, lda, 0, az, ldb, 0, beta, yz, ldc, 0, 1)) continue;
    own_sgemm(az, bz, yz, 1, M, N, K, trans_a, trans_b, 0, 0, beta);
  }
  add_bias();
}

const char* blas_name() {
  const char* why = nullptr;
  return cuda::cublas(&why) != nullptr ? "cuBLAS" : "toroid tiled SGEMM (cuBLAS not found)";
}

}  // namespace toroid
