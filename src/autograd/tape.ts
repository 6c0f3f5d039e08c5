// Reverse-mode autograd over coarse ops. Each recorded op is one GradNode whose
// backward calls the backend's backward kernels; there are no per-scalar closures.
// A node owns aliases of the tensors it saved, so a user may dispose its own
// handles right after the forward; the node releases them after backward(), or
// when the last handle and downstream node referring to it are gone (see GradNode).
// Which inputs need a gradient is decided when the op is recorded: backward
// functions never consult the caller's tensor handles, which may be disposed.
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { sameShape } from '../util/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { installTensorMethods } from '../tensor/methods.js';
import { keep } from '../tensor/scope.js';
import { accumulate, onesLike } from './grad-helpers.js';
import { SliceGrad, toTensor, type Grad } from './slice-grad.js';

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run fn without recording ops for autograd (inference, optimizer updates). Synchronous. */
export function noGrad<R>(fn: () => R): R {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

interface Edge {
  node: GradNode | null;
  leaf: Tensor | null;
  shape: readonly number[];
}

export type BackwardFn = (dy: Tensor, saved: readonly Tensor[]) => ReadonlyArray<Grad | null>;

/**
 * One recorded op. A node is reference-counted: every tensor handle whose gradFn
 * it is, and every downstream node that has it as an input edge, holds one
 * reference. When the last goes (the handles were disposed and no live graph
 * reaches it), the node frees its saved tensors and drops its edges, which may
 * free the nodes upstream in turn. backward() without retainGraph frees the saved
 * tensors early but keeps the edges, so a second backward can name the freed op.
 */
export class GradNode {
  private saved: Tensor[] | null;
  private refs = 0;
  private _edges: Edge[];
  constructor(
    readonly name: string,
    edges: Edge[],
    saved: Tensor[],
    private readonly backwardFn: BackwardFn,
  ) {
    this.saved = saved;
    this._edges = edges;
    for (const edge of edges) edge.node?.retainRef();
  }

  get edges(): readonly Edge[] {
    return this._edges;
  }

  backward(dy: Tensor): ReadonlyArray<Grad | null> {
    if (this.saved === null) {
      throw new Error(`toroid.backward: the graph through ${this.name} was already freed by a previous backward(); pass { retainGraph: true } to backward twice`);
    }
    return this.backwardFn(dy, this.saved);
  }

  /** Free the saved tensors now (backward() without retainGraph). Idempotent. */
  release(): void {
    if (this.saved === null) return;
    const saved = this.saved;
    this.saved = null;
    for (const t of saved) t.dispose();
  }

  /** @internal A tensor handle or a downstream node now refers to this node. */
  retainRef(): void {
    this.refs++;
  }

  /** @internal One referrer is gone; the last one frees the node (iteratively, so long chains do not recurse). */
  releaseRef(): void {
    if (this.refs <= 0) return;
    if (--this.refs > 0) return;
    const pending: GradNode[] = [this];
    while (pending.length > 0) {
      const node = pending.pop()!;
      node.release();
      const edges = node._edges;
      node._edges = edges.map((e) => ({ node: null, leaf: null, shape: e.shape }));
      for (const edge of edges) {
        const up = edge.node;
        if (up !== null && up.refs > 0 && --up.refs === 0) pending.push(up);
      }
    }
  }
}

/** Whether an op on these inputs must be recorded. */
export function needsGrad(...inputs: ReadonlyArray<Tensor | null | undefined>): boolean {
  return gradEnabled && inputs.some((t) => t != null && t.requiresGrad);
}

/**
 * Record `out = name(inputs)` on the tape. `save` lists tensors the backward
 * needs; the node keeps its own aliases of them. Returns `out`.
 */
// the tape sets every gradFn, so each one is a GradNode (the tensor layer knows only its GradFn side)
const nodeOf = (t: Tensor): GradNode | null => t.gradFn as GradNode | null;

export function record(name: string, out: Tensor, inputs: ReadonlyArray<Tensor | null>, save: readonly Tensor[], backward: BackwardFn): Tensor {
  const edges: Edge[] = inputs.map((t) => ({
    node: t === null ? null : nodeOf(t),
    leaf: t !== null && t.gradFn === null && t.requiresGrad ? t : null,
    shape: t?.shape ?? [],
  }));
  out.gradFn = new GradNode(name, edges, save.map((t) => t.alias(t.shape, false)), backward);
  return out;
}

export function runBackward(root: Tensor, gradOut: Tensor | undefined, retainGraph: boolean): void {
  if (!root.requiresGrad) {
    throw typeError('backward', 'tensor', 'a tensor that requires grad (computed from a tensor with requiresGrad = true)', 'one that does not');
  }
  let seed: Tensor;
  if (gradOut === undefined) {
    if (root.size !== 1) {
      throw rangeError('backward', 'gradOut', `given for a non-scalar output ${describeShape(root.shape)}`, 'undefined');
    }
    seed = onesLike(root);
  } else {
    const expected = `${root.dtype} ${describeShape(root.shape)} like the output`;
    if (!isTensor(gradOut)) throw typeError('backward', 'gradOut', `a Tensor (${expected})`, describeValue(gradOut));
    if (gradOut.isDisposed) throw typeError('backward', 'gradOut', 'a live Tensor', 'a disposed one');
    if (gradOut.dtype !== root.dtype) throw typeError('backward', 'gradOut', expected, `${gradOut.dtype} ${describeShape(gradOut.shape)}`);
    if (gradOut.backend !== root.backend) throw typeError('backward', 'gradOut', `on backend '${root.device}' like the output`, `'${gradOut.device}'`);
    if (!sameShape(gradOut.shape, root.shape)) throw rangeError('backward', 'gradOut', expected, `${gradOut.dtype} ${describeShape(gradOut.shape)}`);
    seed = gradOut.alias(gradOut.shape, false);
  }
  noGradScope(() => {
    const rootNode = nodeOf(root);
    if (rootNode === null) {
      accumulateIntoLeaf(root, seed);
      return;
    }
    const order = topologicalOrder(rootNode);
    // gradients for leaves are summed here first (slices of one weight join lazily), then accumulated
    // once, as soon as the last node that feeds the leaf has run (so hooks see each leaf's final
    // gradient while the backward goes on: data-parallel training starts its all-reduce there)
    const leafGrads = new Map<Tensor, Grad>();
    const finalAt = lastUses(order);
    const grads = new Map<GradNode, Grad>([[rootNode, seed]]);
    const finishLeaves = (index: number): void => {
      for (const leaf of finalAt.get(index) ?? []) {
        const g = leafGrads.get(leaf);
        if (g === undefined) continue;
        leafGrads.delete(leaf);
        accumulateIntoLeaf(leaf, toTensor(g));
      }
    };
    for (let index = 0; index < order.length; index++) {
      const node = order[index]!;
      const pending = grads.get(node);
      if (pending === undefined) {
        finishLeaves(index);
        continue;
      }
      grads.delete(node);
      const dy = toTensor(pending);
      const inputGrads = node.backward(dy);
      dy.dispose();
      node.edges.forEach((edge, i) => {
        const g = inputGrads[i];
        if (g == null) return;
        if (!sameShape(g.shape, edge.shape)) {
          throw new Error(`toroid.backward: internal error: ${node.name} gave a gradient of shape ${describeShape(g.shape)} for an input of shape ${describeShape(edge.shape)}`);
        }
        if (edge.node !== null) {
          const prior = grads.get(edge.node);
          grads.set(edge.node, prior === undefined ? g : combine(prior, g));
        } else if (edge.leaf !== null) {
          const prior = leafGrads.get(edge.leaf);
          leafGrads.set(edge.leaf, prior === undefined ? g : combine(prior, g));
        } else {
          g.dispose();
        }
      });
      if (!retainGraph) node.release();
      finishLeaves(index);
    }
  });
}

/** For each node index, the leaves whose last contributing node it is. */
function lastUses(order: readonly GradNode[]): Map<number, Tensor[]> {
  const last = new Map<Tensor, number>();
  order.forEach((node, index) => {
    for (const edge of node.edges) if (edge.leaf !== null) last.set(edge.leaf, index);
  });
  const byIndex = new Map<number, Tensor[]>();
  for (const [leaf, index] of last) {
    const list = byIndex.get(index);
    if (list === undefined) byIndex.set(index, [leaf]);
    else list.push(leaf);
  }
  return byIndex;
}

/** The sum of two gradient contributions: slices of one axis stay lazy, anything else is added. */
function combine(a: Grad, b: Grad): Grad {
  if (a instanceof SliceGrad && b instanceof SliceGrad) {
    const merged = a.merge(b);
    if (merged !== null) return merged;
  }
  return accumulate(toTensor(a), toTensor(b));
}

function isTensor(value: unknown): value is Tensor {
  return typeof value === 'object' && value !== null && (value as { __isTensor?: unknown }).__isTensor === true;
}

// Hooks run after a leaf's gradient was accumulated (PyTorch's post-accumulate-grad hooks).
const gradHooks = new WeakMap<Tensor, Array<(leaf: Tensor) => void>>();

/**
 * Call `hook(leaf)` each time a backward has accumulated `leaf.grad`, as soon as
 * the leaf's gradient is final for that backward (before the rest of the
 * backward runs). Returns a function that removes the hook.
 */
export function registerPostAccumulateGradHook(leaf: Tensor, hook: (leaf: Tensor) => void): () => void {
  const list = gradHooks.get(leaf) ?? [];
  list.push(hook);
  gradHooks.set(leaf, list);
  return () => {
    const at = list.indexOf(hook);
    if (at >= 0) list.splice(at, 1);
  };
}

function accumulateIntoLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.isDisposed) {
    g.dispose();
    return;
  }
  leaf.grad = keep(leaf.grad === null ? g : accumulate(leaf.grad, g));
  for (const hook of gradHooks.get(leaf) ?? []) hook(leaf);
}

function noGradScope(fn: () => void): void {
  noGrad(fn);
}

/** Nodes reachable from root, each before the nodes it feeds into (reverse post-order). */
function topologicalOrder(root: GradNode): GradNode[] {
  const visited = new Set<GradNode>();
  const postOrder: GradNode[] = [];
  const stack: Array<{ node: GradNode; next: number }> = [{ node: root, next: 0 }];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const edge = top.node.edges[top.next++];
    if (edge === undefined) {
      postOrder.push(top.node);
      stack.pop();
    } else if (edge.node !== null && !visited.has(edge.node)) {
      visited.add(edge.node);
      stack.push({ node: edge.node, next: 0 });
    }
  }
  return postOrder.reverse();
}

installTensorMethods({ backward: runBackward });
