// Launch plumbing shared by the strided kernels (binary_forward: strides of a and b;
// strided_copy: strides of x). The host merges dims first; the kernels then take shape
// and S stride lists by value, in 32-bit arithmetic when every offset fits. One launch
// takes at most MAX_DIMS dims: beyond that the host launches once per index of the
// outer dims (rare: it takes 9 dims that cannot merge).
#pragma once
#include <cstdint>
#include <vector>

#include "cuda/common.cuh"

namespace toroid::cuda {

constexpr int MAX_DIMS = 8;  // per launch, after merging

// shape and strides, outermost dim first; stride[s][k] is list s's element stride along dim k
template <class I, int S> struct StridedDims {
  int rank;
  I shape[MAX_DIMS], stride[S][MAX_DIMS];
};

// Whether the element count and the largest offset along every stride list fit in int32.
template <int S>
bool fits_int32(i64 count, const StridedDims<i64, S>& d) {
  if (count > INT32_MAX) return false;
  for (int s = 0; s < S; s++) {
    i64 last = 0;
    for (int k = 0; k < d.rank; k++) last += (d.shape[k] - 1) * d.stride[s][k];
    if (last > INT32_MAX) return false;
  }
  return true;
}

// The same dims in the kernel's index type I.
template <class I, int S>
StridedDims<I, S> narrow(const StridedDims<i64, S>& wide) {
  StridedDims<I, S> d{};
  d.rank = wide.rank;
  for (int k = 0; k < wide.rank; k++) {
    d.shape[k] = static_cast<I>(wide.shape[k]);
    for (int s = 0; s < S; s++) d.stride[s][k] = static_cast<I>(wide.stride[s][k]);
  }
  return d;
}

// Splits merged dims (shape and S stride lists, outermost first) into launches of at most
// MAX_DIMS inner dims: launch(offset, first, count, d) per index of the outer dims, where
// offset[s] is that index's element offset along list s, first the index of its first
// output element (outputs are row-major) and count how many it writes.
template <int S, class Launch>
void for_each_launch(const std::vector<i64>& shape, const std::vector<i64>* const (&strides)[S], Launch launch) {
  const int rank = static_cast<int>(shape.size()), outer = rank > MAX_DIMS ? rank - MAX_DIMS : 0;
  StridedDims<i64, S> d{};
  d.rank = rank - outer;
  i64 count = 1, outer_count = 1;
  for (int k = 0; k < d.rank; k++) {
    d.shape[k] = shape[outer + k];
    for (int s = 0; s < S; s++) d.stride[s][k] = (*strides[s])[outer + k];
    count *= d.shape[k];
  }
  for (int k = 0; k < outer; k++) outer_count *= shape[k];
  std::vector<i64> idx(outer, 0);
  for (i64 o = 0; o < outer_count; o++) {
    i64 offset[S] = {};
    for (int s = 0; s < S; s++)
      for (int k = 0; k < outer; k++) offset[s] += idx[k] * (*strides[s])[k];
    launch(offset, o * count, count, d);
    for (int k = outer - 1; k >= 0 && ++idx[k] == shape[k]; k--) idx[k] = 0;
  }
}

}  // namespace toroid::cuda
