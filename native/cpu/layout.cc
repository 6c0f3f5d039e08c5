// Layout kernels: a strided gather (permute, broadcastTo) and a strided sum.
// Shapes are small vectors; elements are walked row by row over the last dim.
#include <cstdint>
#include <cstring>
#include <vector>

#include "backend.h"

namespace toroid {

namespace {
// Offset (elements) of the first element of output row r, walking `strides` over the outer dims.
inline i64 row_offset(i64 r, int rank, const i64* shape, const i64* strides) {
  i64 off = 0;
  for (int k = rank - 2; k >= 0; k--) {
    const i64 idx = r % shape[k];
    r /= shape[k];
    off += idx * strides[k];
  }
  return off;
}

template <class T>
void copy_rows(const T* x, T* y, int rank, const i64* shape, const i64* xs) {
  const i64 inner = rank > 0 ? shape[rank - 1] : 1, step = rank > 0 ? xs[rank - 1] : 0;
  i64 rows = 1;
  for (int k = 0; k + 1 < rank; k++) rows *= shape[k];
#pragma omp parallel for schedule(static) if (rows * inner > 65536)
  for (i64 r = 0; r < rows; r++) {
    const T* src = x + row_offset(r, rank, shape, xs);
    T* dst = y + r * inner;
    if (step == 1) std::memcpy(dst, src, sizeof(T) * inner);
    else for (i64 j = 0; j < inner; j++) dst[j] = src[j * step];
  }
}
}  // namespace

void strided_copy(const void* x, void* y, int elem_bytes, int rank, const i64* shape, const i64* x_strides) {
  if (elem_bytes == 4) copy_rows(static_cast<const std::uint32_t*>(x), static_cast<std::uint32_t*>(y), rank, shape, x_strides);
  else copy_rows(static_cast<const std::uint8_t*>(x), static_cast<std::uint8_t*>(y), rank, shape, x_strides);
}

// Sequential on purpose: several x elements land in one y slot; a float sum in a
// fixed order keeps results identical run to run. Accumulates in double.
void sum_into(const float* x, float* y, int rank, const i64* shape, const i64* y_strides, i64 y_size) {
  std::vector<double> acc(static_cast<std::size_t>(y_size), 0.0);
  const i64 inner = rank > 0 ? shape[rank - 1] : 1, step = rank > 0 ? y_strides[rank - 1] : 0;
  i64 rows = 1;
  for (int k = 0; k + 1 < rank; k++) rows *= shape[k];
  for (i64 r = 0; r < rows; r++) {
    double* dst = acc.data() + row_offset(r, rank, shape, y_strides);
    const float* src = x + r * inner;
    if (step == 0) {
      double s = 0;
      for (i64 j = 0; j < inner; j++) s += src[j];
      *dst += s;
    } else {
      for (i64 j = 0; j < inner; j++) dst[j * step] += src[j];
    }
  }
  for (i64 e = 0; e < y_size; e++) y[e] = static_cast<float>(acc[e]);
}

}  // namespace toroid
