// Layout kernels: a strided gather (permute, broadcastTo) and a strided sum.
// Shapes are small vectors; elements are walked row by row over the last dim.
#include <cmath>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "backend.h"
#include "cpu/bf16.h"

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
  else if (elem_bytes == 2) copy_rows(static_cast<const std::uint16_t*>(x), static_cast<std::uint16_t*>(y), rank, shape, x_strides);
  else copy_rows(static_cast<const std::uint8_t*>(x), static_cast<std::uint8_t*>(y), rank, shape, x_strides);
}

// Deterministic for any thread count: each y slot is owned by one thread and
// summed in a fixed order, in double. When the innermost dim is kept (bias
// gradients: sum over rows), threads split the columns; when it is summed and
// nothing else is, they split the rows; otherwise one thread walks it all.
void sum_forward(const float* x, float* y, int rank, const i64* shape, const i64* y_strides, i64 y_size) {
  const i64 inner = rank > 0 ? shape[rank - 1] : 1, step = rank > 0 ? y_strides[rank - 1] : 0;
  i64 rows = 1;
  bool outer_summed = false;
  for (int k = 0; k + 1 < rank; k++) {
    rows *= shape[k];
    outer_summed = outer_summed || (y_strides[k] == 0 && shape[k] > 1);
  }
  if (step == 1 && outer_summed && y_size == inner) {
    // every leading row into one (bias gradients: [rows, N] -> [N]): rows in fixed chunks,
    // each summed in double by one thread, chunks then added in order, so the result does
    // not depend on the thread count
    const i64 chunk = std::max<i64>(64, (rows + 255) / 256), chunks = (rows + chunk - 1) / chunk;
    std::vector<double> part(static_cast<std::size_t>(chunks * inner), 0.0);
#pragma omp parallel for schedule(static) if (rows * inner > 65536)
    for (i64 ch = 0; ch < chunks; ch++) {
      double* acc = part.data() + ch * inner;
      for (i64 r = ch * chunk; r < std::min(rows, (ch + 1) * chunk); r++) {
        const float* src = x + r * inner;
#pragma omp simd
        for (i64 c = 0; c < inner; c++) acc[c] += src[c];
      }
    }
    for (i64 ch = 1; ch < chunks; ch++) {
      const double* acc = part.data() + ch * inner;
#pragma omp simd
      for (i64 c = 0; c < inner; c++) part[c] += acc[c];
    }
    for (i64 c = 0; c < inner; c++) y[c] = static_cast<float>(part[c]);
    return;
  }
  if (step == 1) {
    constexpr i64 COLS = 256;
    const i64 col_blocks = (inner + COLS - 1) / COLS;
    // y slots of one column block are disjoint from every other block's
#pragma omp parallel for schedule(static) if (rows * inner > 65536)
    for (i64 cb = 0; cb < col_blocks; cb++) {
      const i64 c0 = cb * COLS, c1 = std::min(inner, c0 + COLS);
      // rows sharing a y row are summed together; walk rows in order
      std::vector<double> slots;
      if (!outer_summed) {
        for (i64 r = 0; r < rows; r++) {
          const float* src = x + r * inner;
          float* dst = y + row_offset(r, rank, shape, y_strides);
          for (i64 c = c0; c < c1; c++) dst[c] = src[c];
        }
        continue;
      }
      slots.assign(static_cast<std::size_t>(y_size / std::max<i64>(inner, 1)) * (c1 - c0), 0.0);
      for (i64 r = 0; r < rows; r++) {
        const float* src = x + r * inner;
        double* dst = slots.data() + row_offset(r, rank, shape, y_strides) / std::max<i64>(inner, 1) * (c1 - c0);
        for (i64 c = c0; c < c1; c++) dst[c - c0] += src[c];
      }
      const i64 yrows = y_size / std::max<i64>(inner, 1);
      for (i64 yr = 0; yr < yrows; yr++)
        for (i64 c = c0; c < c1; c++) y[yr * inner + c] = static_cast<float>(slots[yr * (c1 - c0) + (c - c0)]);
    }
    return;
  }
  if (step == 0 && !outer_summed) {
#pragma omp parallel for schedule(static) if (rows * inner > 65536)
    for (i64 r = 0; r < rows; r++) {
      const float* src = x + r * inner;
      double s = 0;
      for (i64 j = 0; j < inner; j++) s += src[j];
      y[row_offset(r, rank, shape, y_strides)] = static_cast<float>(s);
    }
    return;
  }
  std::vector<double> acc(static_cast<std::size_t>(y_size), 0.0);
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

namespace toroid {

// ---- helpers that keep element data out of the binding

void bf16_widen(const std::uint16_t* x, float* y, i64 n) {
#pragma omp simd
  for (i64 e = 0; e < n; e++) y[e] = bf16_to_f32(x[e]);
}

void bf16_round(const float* x, std::uint16_t* y, i64 n) {
#pragma omp simd
  for (i64 e = 0; e < n; e++) y[e] = f32_to_bf16(x[e]);
}

// dtype codes: 0 float32, 1 int32, 2 bool, 3 bfloat16
void cast_forward(const void* x, int from, void* y, int to, i64 n) {
  // the activation casts of mixed precision: both cores, vectorized
  if ((from == 0 && to == 3) || (from == 3 && to == 0) || (from == 3 && to == 3) || (from == 0 && to == 0)) {
    const i64 chunk = 16384, chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (i64 c = 0; c < chunks; c++) {
      const i64 lo = c * chunk, len = std::min(chunk, n - lo);
      if (from == 0 && to == 3) bf16_round(static_cast<const float*>(x) + lo, static_cast<std::uint16_t*>(y) + lo, len);
      else if (from == 3 && to == 0) bf16_widen(static_cast<const std::uint16_t*>(x) + lo, static_cast<float*>(y) + lo, len);
      else std::memcpy(static_cast<char*>(y) + lo * (from == 0 ? 4 : 2), static_cast<const char*>(x) + lo * (from == 0 ? 4 : 2), static_cast<std::size_t>(len) * (from == 0 ? 4 : 2));
    }
    return;
  }
  for (i64 e = 0; e < n; e++) {
    // each arm is a double: a ?: chain with a float arm would round int32 values above 2^24
    const double v = from == 0   ? static_cast<double>(static_cast<const float*>(x)[e])
                     : from == 1 ? static_cast<double>(static_cast<const std::int32_t*>(x)[e])
                     : from == 3 ? static_cast<double>(bf16_to_f32(static_cast<const std::uint16_t*>(x)[e]))
                                 : static_cast<double>(static_cast<const std::uint8_t*>(x)[e]);
    switch (to) {
      case 0: static_cast<float*>(y)[e] = static_cast<float>(v); break;
      // from int32: rounds once to float32 first (as the ts backend, whose numbers pass through a float32)
      case 3: static_cast<std::uint16_t*>(y)[e] = f32_to_bf16(static_cast<float>(v)); break;
      case 1: {
        // like Int32Array assignment: NaN/Inf -> 0, truncation, wrap modulo 2^32
        double t = std::isfinite(v) ? std::trunc(v) : 0.0;
        t = std::fmod(t, 4294967296.0);
        if (t < 0) t += 4294967296.0;
        static_cast<std::int32_t*>(y)[e] = static_cast<std::int32_t>(static_cast<std::uint32_t>(t));
        break;
      }
      default: static_cast<std::uint8_t*>(y)[e] = v != 0 ? 1 : 0; break;
    }
  }
}

void fill_forward(void* y, int dtype, i64 n, double value) {
  if (dtype == 0) std::fill_n(static_cast<float*>(y), n, static_cast<float>(value));
  else if (dtype == 1) std::fill_n(static_cast<std::int32_t*>(y), n, static_cast<std::int32_t>(value));
  else if (dtype == 3) std::fill_n(static_cast<std::uint16_t*>(y), n, f32_to_bf16(static_cast<float>(value)));
  else std::fill_n(static_cast<std::uint8_t*>(y), n, static_cast<std::uint8_t>(value != 0 ? 1 : 0));
}

void copy_rows_2d(void* dst, i64 dst_pitch, const void* src, i64 src_pitch, i64 row_bytes, i64 rows) {
#pragma omp parallel for schedule(static) if (rows * row_bytes > (1 << 18))
  for (i64 r = 0; r < rows; r++) {
    std::memcpy(static_cast<char*>(dst) + r * dst_pitch, static_cast<const char*>(src) + r * src_pitch, static_cast<std::size_t>(row_bytes));
  }
}

i64 find_out_of_range(const std::int32_t* ids, i64 n, i64 limit, i64 except, std::int32_t* value) {
  for (i64 i = 0; i < n; i++) {
    if (ids[i] != except && (ids[i] < 0 || ids[i] >= limit)) {
      *value = ids[i];
      return i;
    }
  }
  return -1;
}

}  // namespace toroid
