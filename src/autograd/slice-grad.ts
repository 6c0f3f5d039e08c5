// A gradient that is zero except for slices along one axis: what narrow and split give
// their input. The tape keeps these lazy and merges them, so the q/k/v pieces of a fused
// projection (split) or the row blocks of a packed weight (narrow) join with one F.cat
// instead of each becoming a full-size tensor of zeros that is then added to the others
// (3 fills, 3 copies and 2 additions of the whole gradient for a q/k/v split).
import { Tensor } from '../tensor/tensor.js';
import { sizeOf } from '../util/shape.js';

export interface SlicePiece {
  start: number;
  grad: Tensor;
}

export class SliceGrad {
  constructor(
    /** Shape of the whole gradient (the narrowed input's). */
    readonly shape: readonly number[],
    readonly axis: number,
    /** Owned slices; never overlapping. */
    readonly pieces: readonly SlicePiece[],
  ) {}

  /** The union with `other` when both slice the same axis without overlap, else null. Takes ownership of both on success. */
  merge(other: SliceGrad): SliceGrad | null {
    if (other.axis !== this.axis) return null;
    const span = (p: SlicePiece): [number, number] => [p.start, p.start + p.grad.shape[this.axis]!];
    for (const a of this.pieces) {
      const [a0, a1] = span(a);
      for (const b of other.pieces) {
        const [b0, b1] = span(b);
        if (a0 < b1 && b0 < a1) return null;
      }
    }
    return new SliceGrad(this.shape, this.axis, [...this.pieces, ...other.pieces]);
  }

  /** The whole gradient as one tensor; consumes the pieces. */
  materialize(): Tensor {
    const pieces = [...this.pieces].sort((a, b) => a.start - b.start);
    const first = pieces[0]!.grad;
    const backend = first.backend, k = backend.kernels;
    const n = this.shape[this.axis]!;
    let at = 0;
    const tiles = pieces.every((p) => {
      const ok = p.start === at;
      at += p.grad.shape[this.axis]!;
      return ok;
    }) && at === n;
    let out: Tensor;
    if (tiles && pieces.length === 1) {
      return first;
    } else if (tiles) {
      out = Tensor.fromKernel(backend, k.cat(pieces.map((p) => p.grad), this.axis));
    } else {
      out = Tensor.fromKernel(backend, k.fill(this.shape, first.dtype, 0));
      if (sizeOf(this.shape) > 0) for (const p of pieces) if (p.grad.size > 0) k.writeNarrow(out, p.grad, this.axis, p.start);
    }
    for (const p of pieces) p.grad.dispose();
    return out;
  }

  dispose(): void {
    for (const p of this.pieces) p.grad.dispose();
  }
}

export type Grad = Tensor | SliceGrad;

/** A tensor from either form (consuming g). */
export function toTensor(g: Grad): Tensor {
  return g instanceof SliceGrad ? g.materialize() : g;
}
