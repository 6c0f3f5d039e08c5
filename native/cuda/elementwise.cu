// Elementwise add/sub/mul/div with numpy broadcasting, and scale.
// y has `shape` (rank dims, row-major); a and b are read through per-dimension
// element strides that are 0 along broadcast dimensions. The host first drops
// size-1 dims and merges neighbours that are contiguous in both a and b (a
// same-shape add becomes rank 1), then passes shape and strides by value; each
// thread decodes its element's offsets, in 32-bit arithmetic when every offset fits.
#include <cstdint>
#include <string>
#include <vector>

#include "cuda/strided.cuh"

namespace toroid {

// check_launch, stream, StridedDims and the launch splitting: cuda/strided.cuh
using namespace cuda;

namespace {
constexpr int THREADS = 256;

template <class I> using BinaryDims = StridedDims<I, 2>;  // stride[0]: a, stride[1]: b

template <BinOp OP>
__device__ __forceinline__ float apply(float a, float b) {
  if constexpr (OP == BinOp::add) return a + b;
  else if constexpr (OP == BinOp::sub) return a - b;
  else if constexpr (OP == BinOp::mul) return a * b;
  else return a / b;
}

template <BinOp OP, class I>
__global__ void binary_kernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ y, I count, BinaryDims<I> d) {
  for (I e = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; e < count; e += static_cast<I>(gridDim.x) * blockDim.x) {
    // offsets of element e: its multi-index over y's dims, innermost first
    I rest = e, oa = 0, ob = 0;
    for (int k = d.rank - 1; k > 0; k--) {
      const I q = rest / d.shape[k], idx = rest - q * d.shape[k];
      rest = q;
      oa += idx * d.stride[0][k];
      ob += idx * d.stride[1][k];
    }
    if (d.rank > 0) {
      oa += rest * d.stride[0][0];
      ob += rest * d.stride[1][0];
    }
    y[e] = apply<OP>(a[oa], b[ob]);
  }
}

template <BinOp OP>
void run_binary(const float* a, const float* b, float* y, i64 count, const BinaryDims<i64>& d) {
  const unsigned blocks = cuda::blocks_for(count, THREADS);
  if (fits_int32(count, d)) {
    binary_kernel<OP, std::uint32_t><<<blocks, THREADS, 0, stream()>>>(a, b, y, static_cast<std::uint32_t>(count), narrow<std::uint32_t>(d));
  } else {
    binary_kernel<OP, i64><<<blocks, THREADS, 0, stream()>>>(a, b, y, count, d);
  }
  check_launch("binary_forward");
}

// Merged dims: shape, a and b strides, outermost first.
template <BinOp OP>
void binary_merged(const float* a, const float* b, float* y, const std::vector<i64>& shape, const std::vector<i64>& as, const std::vector<i64>& bs) {
  for_each_launch<2>(shape, {&as, &bs}, [&](const i64* offset, i64 first, i64 count, const BinaryDims<i64>& d) {
    run_binary<OP>(a + offset[0], b + offset[1], y + first, count, d);
  });
}

__global__ void scale_kernel(const float* __restrict__ x, float* __restrict__ y, i64 n, float factor) {
  TOROID_GRID_LOOP(e, n) y[e] = x[e] * factor;
}
}  // namespace

void binary_forward(const float* a, const float* b, float* y, int rank, const i64* shape,
                    const i64* a_strides, const i64* b_strides, BinOp op) {
  i64 count = 1;
  for (int k = 0; k < rank; k++) count *= shape[k];
  if (count <= 0) return;
  // drop size-1 dims; merge dim k into the previous kept one when both a and b
  // step over it contiguously (outer stride == inner stride * inner size)
  std::vector<i64> dims, as, bs;
  for (int k = 0; k < rank; k++) {
    if (shape[k] == 1) continue;
    if (!dims.empty() && as.back() == a_strides[k] * shape[k] && bs.back() == b_strides[k] * shape[k]) {
      dims.back() *= shape[k];
      as.back() = a_strides[k];
      bs.back() = b_strides[k];
      continue;
    }
    dims.push_back(shape[k]);
    as.push_back(a_strides[k]);
    bs.push_back(b_strides[k]);
  }
  switch (op) {
    case BinOp::add: return binary_merged<BinOp::add>(a, b, y, dims, as, bs);
    case BinOp::sub: return binary_merged<BinOp::sub>(a, b, y, dims, as, bs);
    case BinOp::mul: return binary_merged<BinOp::mul>(a, b, y, dims, as, bs);
    case BinOp::div: return binary_merged<BinOp::div>(a, b, y, dims, as, bs);
  }
  throw DeviceError("toroid.binary: unknown op " + std::to_string(static_cast<int>(op)));
}

void scale_forward(const float* x, float* y, i64 n, float factor) {
  if (n <= 0) return;
  scale_kernel<<<cuda::blocks_for(n, THREADS), THREADS, 0, stream()>>>(x, y, n, factor);
  check_launch("scale_forward");
}

}  // namespace toroid
