// bfloat16 tolerances against the float64 PyTorch fixtures, derived rather than tuned.
// bf16 keeps 8 significant bits: unit roundoff u = 2^-8. A fixture's inputs are rounded to
// bf16 (relative error <= u each) and the kernel computes in float32, rounding its output
// once (<= u). So:
//  - rtol is PyTorch's own bf16 rtol, 1.6e-2 (about 4u): the rounding of the inputs that
//    enter a value and of the value itself, relative to that value;
//  - atol covers a sum of K terms of typical magnitude s, whose rounding errors (<= 2u|term|
//    for a product of two rounded inputs) add like a random walk: about 2u * s * sqrt(K)
//    for the sum, and 4 times that (a 4-sigma bound) is the atol. Cancellation is why rtol
//    alone cannot serve: a sum near zero keeps the absolute error of its terms.
import type { Tolerance } from '../../helpers/compare.js';

export const BF16_U = 2 ** -8;

/** The bf16 tolerance of a result that sums K terms of typical magnitude s (see above). */
export function bf16Tol(K: number, s = 1): Tolerance {
  return { atol: 8 * BF16_U * s * Math.sqrt(Math.max(1, K)), rtol: 1.6e-2 };
}
