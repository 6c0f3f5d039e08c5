// Elementwise add/sub/mul/div with numpy broadcasting, and scale.
// y has `shape` (rank dims); a and b are read through per-dimension element
// strides that are 0 along broadcast dimensions. The innermost dimension runs as
// a plain loop the compiler vectorises when both strides are 1.
#include <vector>

#include "backend.h"
#include "cpu/parallel.h"

namespace toroid {

namespace {
template <BinOp OP>
inline float apply(float a, float b) {
  if constexpr (OP == BinOp::add) return a + b;
  else if constexpr (OP == BinOp::sub) return a - b;
  else if constexpr (OP == BinOp::mul) return a * b;
  else return a / b;
}

template <BinOp OP>
void binary_rows(const float* a, const float* b, float* y, int rank, const i64* shape, const i64* as, const i64* bs) {
  const i64 inner = rank > 0 ? shape[rank - 1] : 1;
  const i64 ia = rank > 0 ? as[rank - 1] : 0, ib = rank > 0 ? bs[rank - 1] : 0;
  i64 rows = 1;
  for (int k = 0; k + 1 < rank; k++) rows *= shape[k];
#pragma omp parallel for schedule(static) if (rows * inner > 65536)
  for (i64 r = 0; r < rows; r++) {
    // offsets of row r in a and b from its multi-index over the outer dims
    i64 oa = 0, ob = 0, rest = r;
    for (int k = rank - 2; k >= 0; k--) {
      const i64 idx = rest % shape[k];
      rest /= shape[k];
      oa += idx * as[k];
      ob += idx * bs[k];
    }
    const float* ap = a + oa;
    const float* bp = b + ob;
    float* yp = y + r * inner;
    if (ia == 1 && ib == 1) for (i64 j = 0; j < inner; j++) yp[j] = apply<OP>(ap[j], bp[j]);
    else if (ia == 1 && ib == 0) { const float bv = *bp; for (i64 j = 0; j < inner; j++) yp[j] = apply<OP>(ap[j], bv); }
    else if (ia == 0 && ib == 1) { const float av = *ap; for (i64 j = 0; j < inner; j++) yp[j] = apply<OP>(av, bp[j]); }
    else for (i64 j = 0; j < inner; j++) yp[j] = apply<OP>(ap[j * ia], bp[j * ib]);
  }
}
}  // namespace

void binary_forward(const float* a, const float* b, float* y, int rank, const i64* shape,
                    const i64* a_strides, const i64* b_strides, BinOp op) {
  switch (op) {
    case BinOp::add: return binary_rows<BinOp::add>(a, b, y, rank, shape, a_strides, b_strides);
    case BinOp::sub: return binary_rows<BinOp::sub>(a, b, y, rank, shape, a_strides, b_strides);
    case BinOp::mul: return binary_rows<BinOp::mul>(a, b, y, rank, shape, a_strides, b_strides);
    case BinOp::div: return binary_rows<BinOp::div>(a, b, y, rank, shape, a_strides, b_strides);
  }
}

void scale_forward(const float* x, float* y, i64 n, float factor) {
  parallel_range(n, n > 65536, [&](i64 lo, i64 hi) {
    for (i64 e = lo; e < hi; e++) y[e] = x[e] * factor;
  });
}

}  // namespace toroid
