// Layout kernels: a strided gather (permute, broadcastTo, narrow), a strided sum,
// and the helpers that keep element data out of the binding (cast, fill, row
// copies, id range checks). Shapes reach the kernels by value after the host
// drops size-1 dims and merges neighbours that stay contiguous.
#include <climits>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cuda/rows.cuh"
#include "cuda/strided.cuh"

namespace toroid {

// check, stream, warp_sum and Scratch: cuda/rows.cuh; StridedDims, MAX_DIMS
// (per launch; sum: per kind of dim) and the launch splitting: cuda/strided.cuh
using namespace cuda;

namespace {
constexpr int THREADS = 256;

[[noreturn]] void too_many_dims(const char* op, int rank) {
  throw DeviceError(std::string("toroid.") + op + ": at most " + std::to_string(MAX_DIMS) + " non-mergeable dimensions on cuda, got more (rank " +
                    std::to_string(rank) + ")");
}

// ---- strided_copy: y [shape] row-major, y[i] = x[sum_k idx_k * x_strides[k]]

template <class I> using CopyDims = StridedDims<I, 1>;  // stride[0]: x

template <class T, class I>
__global__ void strided_copy_kernel(const T* __restrict__ x, T* __restrict__ y, I count, CopyDims<I> d) {
  for (I e = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; e < count; e += static_cast<I>(gridDim.x) * blockDim.x) {
    I rest = e, off = 0;
    for (int k = d.rank - 1; k > 0; k--) {
      const I q = rest / d.shape[k];
      off += (rest - q * d.shape[k]) * d.stride[0][k];
      rest = q;
    }
    if (d.rank > 0) off += rest * d.stride[0][0];
    y[e] = x[off];
  }
}

template <class T>
void run_copy(const void* x, void* y, i64 count, const CopyDims<i64>& d) {
  const unsigned blocks = cuda::blocks_for(count, THREADS);
  const T* src = static_cast<const T*>(x);
  T* dst = static_cast<T*>(y);
  if (fits_int32(count, d)) {
    strided_copy_kernel<T, std::uint32_t><<<blocks, THREADS, 0, stream()>>>(src, dst, static_cast<std::uint32_t>(count), narrow<std::uint32_t>(d));
  } else {
    strided_copy_kernel<T, i64><<<blocks, THREADS, 0, stream()>>>(src, dst, count, d);
  }
  check_launch("strided_copy");
}

// ---- sum_forward: y slot j (over the kept dims) = sum over the summed dims, in double.
// Thread (j, s) of M*S sums the reduction indices r = s, s + S, ... < R; with
// S > 1 those partials [S,M] are added in a fixed tree by one block per j.

struct SumDims {
  int kept, summed;
  i64 kept_shape[MAX_DIMS], kept_x[MAX_DIMS], kept_y[MAX_DIMS];
  i64 sum_shape[MAX_DIMS], sum_x[MAX_DIMS];
};

// x offset and y offset of output slot j (row-major over the kept dims)
__device__ __forceinline__ void kept_offsets(const SumDims& d, i64 j, i64* xo, i64* yo) {
  i64 ox = 0, oy = 0;
  for (int k = d.kept - 1; k > 0; k--) {
    const i64 q = j / d.kept_shape[k], idx = j - q * d.kept_shape[k];
    ox += idx * d.kept_x[k];
    oy += idx * d.kept_y[k];
    j = q;
  }
  if (d.kept > 0) {
    ox += j * d.kept_x[0];
    oy += j * d.kept_y[0];
  }
  *xo = ox;
  *yo = oy;
}

__device__ __forceinline__ i64 summed_offset(const SumDims& d, i64 r) {
  i64 off = 0;
  for (int k = d.summed - 1; k > 0; k--) {
    const i64 q = r / d.sum_shape[k];
    off += (r - q * d.sum_shape[k]) * d.sum_x[k];
    r = q;
  }
  if (d.summed > 0) off += r * d.sum_x[0];
  return off;
}

// s_fastest: neighbouring threads take neighbouring s (the innermost dim is
// summed, so they read neighbouring elements); else neighbouring j.
// partials null (S == 1): the sum goes straight to y.
__global__ void sum_partials(const float* __restrict__ x, float* __restrict__ y, double* __restrict__ partials, i64 M, i64 R, i64 S,
                             bool s_fastest, SumDims d) {
  TOROID_GRID_LOOP(t, M * S) {
    const i64 j = s_fastest ? t / S : t % M, s = s_fastest ? t % S : t / M;
    i64 xo, yo;
    kept_offsets(d, j, &xo, &yo);
    double acc = 0;
    for (i64 r = s; r < R; r += S) acc += x[xo + summed_offset(d, r)];
    if (partials) partials[s * M + j] = acc;
    else y[yo] = static_cast<float>(acc);
  }
}

// y slot j = sum over s of partials[s, j]: one block of THREADS per j, fixed tree
__global__ void sum_finish(const double* __restrict__ partials, float* __restrict__ y, i64 M, i64 S, SumDims d) {
  __shared__ double smem[THREADS / 32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (i64 j = blockIdx.x; j < M; j += gridDim.x) {
    double acc = 0;
    for (i64 s = threadIdx.x; s < S; s += THREADS) acc += partials[s * M + j];
    acc = warp_sum(acc);
    if (lane == 0) smem[warp] = acc;
    __syncthreads();
    if (warp == 0) {
      acc = warp_sum(lane < THREADS / 32 ? smem[lane] : 0.0);
      if (lane == 0) {
        i64 xo, yo;
        kept_offsets(d, j, &xo, &yo);
        y[yo] = static_cast<float>(acc);
      }
    }
    __syncthreads();  // smem is rewritten for the next j
  }
}

// ---- cast_forward: dtype codes 0 float32, 1 int32, 2 bool (uint8)

template <class To>
__device__ __forceinline__ To convert(double v);
template <>
__device__ __forceinline__ float convert<float>(double v) { return static_cast<float>(v); }
// like Int32Array assignment: NaN/Inf -> 0, truncation, wrap modulo 2^32
template <>
__device__ __forceinline__ std::int32_t convert<std::int32_t>(double v) {
  double t = isfinite(v) ? trunc(v) : 0.0;
  t = fmod(t, 4294967296.0);
  if (t < 0) t += 4294967296.0;
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(t));
}
template <>
__device__ __forceinline__ std::uint8_t convert<std::uint8_t>(double v) { return v != 0 ? 1 : 0; }

template <class From, class To>
__global__ void cast_kernel(const From* __restrict__ x, To* __restrict__ y, i64 n) {
  TOROID_GRID_LOOP(e, n) y[e] = convert<To>(static_cast<double>(x[e]));
}

template <class From>
void launch_cast(const void* x, void* y, int to, i64 n) {
  const unsigned blocks = cuda::blocks_for(n, THREADS);
  const From* src = static_cast<const From*>(x);
  if (to == 0) cast_kernel<From, float><<<blocks, THREADS, 0, stream()>>>(src, static_cast<float*>(y), n);
  else if (to == 1) cast_kernel<From, std::int32_t><<<blocks, THREADS, 0, stream()>>>(src, static_cast<std::int32_t*>(y), n);
  else cast_kernel<From, std::uint8_t><<<blocks, THREADS, 0, stream()>>>(src, static_cast<std::uint8_t*>(y), n);
  check_launch("cast_forward");
}

// ---- fill_forward, find_out_of_range

__global__ void fill_u32_kernel(std::uint32_t* __restrict__ y, i64 n, std::uint32_t bits) {
  TOROID_GRID_LOOP(e, n) y[e] = bits;
}

// *first = the smallest bad index (atomicMin on integers: the same answer every run)
__global__ void out_of_range_kernel(const std::int32_t* __restrict__ ids, i64 n, i64 limit, i64 except, unsigned long long* first) {
  TOROID_GRID_LOOP(i, n) {
    const i64 id = ids[i];
    if (id != except && (id < 0 || id >= limit)) atomicMin(first, static_cast<unsigned long long>(i));
  }
}

struct OutOfRange {
  unsigned long long first;
  std::int32_t value;
};

__global__ void out_of_range_value(const std::int32_t* __restrict__ ids, i64 n, OutOfRange* result) {
  if (result->first < static_cast<unsigned long long>(n)) result->value = ids[result->first];
}
}  // namespace

void strided_copy(const void* x, void* y, int elem_bytes, int rank, const i64* shape, const i64* x_strides) {
  i64 count = 1;
  for (int k = 0; k < rank; k++) count *= shape[k];
  if (count <= 0) return;
  // drop size-1 dims; merge dim k into the previous kept one when x steps over it contiguously
  std::vector<i64> dims, xs;
  for (int k = 0; k < rank; k++) {
    if (shape[k] == 1) continue;
    if (!dims.empty() && xs.back() == x_strides[k] * shape[k]) {
      dims.back() *= shape[k];
      xs.back() = x_strides[k];
      continue;
    }
    dims.push_back(shape[k]);
    xs.push_back(x_strides[k]);
  }
  // a contiguous run (narrow, reshape-like views) is one memcpy
  if (dims.empty() || (dims.size() == 1 && xs[0] == 1)) {
    check(cudaMemcpyAsync(y, x, static_cast<std::size_t>(count) * elem_bytes, cudaMemcpyDeviceToDevice, stream()), "strided_copy");
    return;
  }
  for_each_launch<1>(dims, {&xs}, [&](const i64* offset, i64 first, i64 n, const CopyDims<i64>& d) {
    const char* src = static_cast<const char*>(x) + offset[0] * elem_bytes;
    char* dst = static_cast<char*>(y) + first * elem_bytes;
    if (elem_bytes == 4) run_copy<std::uint32_t>(src, dst, n, d);
    else run_copy<std::uint8_t>(src, dst, n, d);
  });
}

// Every y slot reached from x (all of them, with the binding's row-major kept
// strides) is overwritten with its sum, in double; unreached slots become 0, as on the cpu.
void sum_forward(const float* x, float* y, int rank, const i64* shape, const i64* y_strides, i64 y_size) {
  if (y_size <= 0) return;
  i64 count = 1;
  for (int k = 0; k < rank; k++) count *= shape[k];
  if (count <= 0) {
    check(cudaMemsetAsync(y, 0, sizeof(float) * y_size, stream()), "sum_forward");
    return;
  }
  // x is contiguous: its row-major strides
  std::vector<i64> xs(rank > 0 ? rank : 1, 1);
  for (int k = rank - 2; k >= 0; k--) xs[k] = xs[k + 1] * shape[k + 1];
  // drop size-1 dims, merge neighbours of the same kind (kept: y stride != 0)
  struct Dim { i64 size, x, y; };
  std::vector<Dim> dims;
  for (int k = 0; k < rank; k++) {
    if (shape[k] == 1) continue;
    const Dim cur{shape[k], xs[k], y_strides[k]};
    if (!dims.empty()) {
      Dim& p = dims.back();
      const bool same_kind = (p.y == 0) == (cur.y == 0);
      if (same_kind && p.x == cur.x * cur.size && p.y == cur.y * cur.size) {
        p = Dim{p.size * cur.size, cur.x, cur.y};
        continue;
      }
    }
    dims.push_back(cur);
  }
  SumDims d{};
  i64 M = 1, R = 1;
  for (const Dim& dim : dims) {
    if (dim.y != 0) {
      if (d.kept == MAX_DIMS) too_many_dims("sum", rank);
      d.kept_shape[d.kept] = dim.size;
      d.kept_x[d.kept] = dim.x;
      d.kept_y[d.kept] = dim.y;
      d.kept++;
      M *= dim.size;
    } else {
      if (d.summed == MAX_DIMS) too_many_dims("sum", rank);
      d.sum_shape[d.summed] = dim.size;
      d.sum_x[d.summed] = dim.x;
      d.summed++;
      R *= dim.size;
    }
  }
  if (M < y_size) check(cudaMemsetAsync(y, 0, sizeof(float) * y_size, stream()), "sum_forward");
  const bool inner_summed = !dims.empty() && dims.back().y == 0;
  // partial sums per slot: about 2^18 threads in all, at least 8 elements each;
  // when the innermost dim is summed, a warp's worth so that reads coalesce
  // (unless M is so large that the partials would not be small)
  i64 S = 1;
  if (R > 1) {
    S = (i64{1} << 18) / M;
    if (S > R / 8) S = R / 8;
    if (S < 1) S = 1;
    if (inner_summed && S < 32 && M <= (i64{1} << 16)) S = R < 32 ? R : 32;
  }
  const i64 threads = M * S;
  if (S == 1) {
    sum_partials<<<cuda::blocks_for(threads, THREADS), THREADS, 0, stream()>>>(x, y, nullptr, M, R, 1, false, d);
    check_launch("sum_forward");
    return;
  }
  Scratch partials(sizeof(double) * static_cast<std::size_t>(threads), "sum_forward scratch");
  double* p = static_cast<double*>(partials.ptr);
  sum_partials<<<cuda::blocks_for(threads, THREADS), THREADS, 0, stream()>>>(x, y, p, M, R, S, inner_summed, d);
  check_launch("sum_forward");
  sum_finish<<<cuda::blocks_for(M, 1, 65535), THREADS, 0, stream()>>>(p, y, M, S, d);
  check_launch("sum_forward finish");
}

void cast_forward(const void* x, int from, void* y, int to, i64 n) {
  if (n <= 0) return;
  // same 4-byte type: a plain copy (bool -> bool still normalises to 0/1 below)
  if (from == to && from != 2) {
    check(cudaMemcpyAsync(y, x, static_cast<std::size_t>(n) * 4, cudaMemcpyDeviceToDevice, stream()), "cast_forward");
    return;
  }
  if (from == 0) launch_cast<float>(x, y, to, n);
  else if (from == 1) launch_cast<std::int32_t>(x, y, to, n);
  else launch_cast<std::uint8_t>(x, y, to, n);
}

void fill_forward(void* y, int dtype, i64 n, double value) {
  if (n <= 0) return;
  if (dtype == 2) {
    check(cudaMemsetAsync(y, value != 0 ? 1 : 0, static_cast<std::size_t>(n), stream()), "fill_forward");
    return;
  }
  // the element's bits, converted on the host exactly as the cpu does
  std::uint32_t bits;
  if (dtype == 0) {
    const float f = static_cast<float>(value);
    std::memcpy(&bits, &f, 4);
  } else {
    const std::int32_t i = static_cast<std::int32_t>(value);
    std::memcpy(&bits, &i, 4);
  }
  if (bits == 0) {
    check(cudaMemsetAsync(y, 0, static_cast<std::size_t>(n) * 4, stream()), "fill_forward");
    return;
  }
  fill_u32_kernel<<<cuda::blocks_for(n, THREADS), THREADS, 0, stream()>>>(static_cast<std::uint32_t*>(y), n, bits);
  check_launch("fill_forward");
}

void copy_rows_2d(void* dst, i64 dst_pitch, const void* src, i64 src_pitch, i64 row_bytes, i64 rows) {
  if (rows <= 0 || row_bytes <= 0) return;
  if (rows == 1 || (dst_pitch == row_bytes && src_pitch == row_bytes)) {
    check(cudaMemcpyAsync(dst, src, static_cast<std::size_t>(row_bytes * rows), cudaMemcpyDeviceToDevice, stream()), "copy_rows_2d");
    return;
  }
  // cudaMemcpy2D takes pitches below 2^31 only; wider ones copy row by row
  if (dst_pitch < INT_MAX && src_pitch < INT_MAX) {
    check(cudaMemcpy2DAsync(dst, static_cast<std::size_t>(dst_pitch), src, static_cast<std::size_t>(src_pitch), static_cast<std::size_t>(row_bytes),
                            static_cast<std::size_t>(rows), cudaMemcpyDeviceToDevice, stream()),
          "copy_rows_2d");
    return;
  }
  for (i64 r = 0; r < rows; r++) {
    check(cudaMemcpyAsync(static_cast<char*>(dst) + r * dst_pitch, static_cast<const char*>(src) + r * src_pitch, static_cast<std::size_t>(row_bytes),
                          cudaMemcpyDeviceToDevice, stream()),
          "copy_rows_2d");
  }
}

i64 find_out_of_range(const std::int32_t* ids, i64 n, i64 limit, i64 except, std::int32_t* value) {
  if (n <= 0) return -1;
  Scratch scratch(sizeof(OutOfRange), "find_out_of_range scratch");
  OutOfRange* result = static_cast<OutOfRange*>(scratch.ptr);
  // first = all ones (no bad index yet)
  check(cudaMemsetAsync(result, 0xFF, sizeof(OutOfRange), stream()), "find_out_of_range");
  out_of_range_kernel<<<cuda::blocks_for(n, THREADS), THREADS, 0, stream()>>>(ids, n, limit, except, &result->first);
  check_launch("find_out_of_range");
  out_of_range_value<<<1, 1, 0, stream()>>>(ids, n, result);
  check_launch("find_out_of_range value");
  OutOfRange host{};
  check(cudaMemcpyAsync(&host, result, sizeof(OutOfRange), cudaMemcpyDeviceToHost, stream()), "find_out_of_range download");
  check(cudaStreamSynchronize(stream()), "find_out_of_range");
  if (host.first >= static_cast<unsigned long long>(n)) return -1;
  *value = host.value;
  return static_cast<i64>(host.first);
}

}  // namespace toroid
