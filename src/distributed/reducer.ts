// Gradient buckets for data-parallel training (the idea of PyTorch's DDP reducer).
//
// Parameters are grouped into buckets of about `bucketBytes`, in reverse
// registration order: the backward produces the last layers' gradients first, so
// a bucket fills early and its all-reduce runs on the engine's thread (MPI) or
// stream (NCCL) while the backward computes the layers before it. A hook on each
// parameter (registerPostAccumulateGradHook) sees its gradient become final.
// Buckets start strictly in index order on every rank, whatever order the hooks
// fire in, because every rank must start the same collectives in the same order.
// finish() starts what is left (zeros for a parameter that got no gradient on this
// rank, so the ranks still agree), waits, and installs the summed gradients.
import { registerPostAccumulateGradHook } from '../autograd/tape.js';
import { keep } from '../tensor/scope.js';
import { zeros } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Collective, PendingCollective } from './collective.js';

export interface ReducerOptions {
  /** Bytes of gradients per all-reduce (default 4 MiB: ~1 ms each over shared memory, PyTorch uses 25 MiB on GPUs). */
  bucketBytes?: number;
}

interface Bucket {
  params: Tensor[];
  ready: number;
  pending: PendingCollective | null;
}

export class GradientReducer {
  private readonly buckets: Bucket[] = [];
  private readonly bucketOf = new Map<Tensor, Bucket>();
  private readonly readySet = new Set<Tensor>();
  private readonly removeHooks: Array<() => void> = [];
  private next = 0;  // the next bucket to start
  private armed = false;
  /** Milliseconds this rank spent blocked in finish() during the last backward (the all-reduce time not hidden by it). */
  lastWaitMs = 0;

  constructor(private readonly collective: Collective, parameters: readonly Tensor[], options: ReducerOptions = {}) {
    const limit = options.bucketBytes ?? 4 * 1024 * 1024;
    let bucket: Bucket | null = null;
    let bytes = 0;
    for (const p of [...parameters].reverse()) {
      if (!p.requiresGrad || this.bucketOf.has(p)) continue;
      if (bucket === null || (bytes > 0 && bytes + p.size * 4 > limit)) {
        bucket = { params: [], ready: 0, pending: null };
        this.buckets.push(bucket);
        bytes = 0;
      }
      bucket.params.push(p);
      bytes += p.size * 4;
      this.bucketOf.set(p, bucket);
      this.removeHooks.push(registerPostAccumulateGradHook(p, (leaf) => this.onReady(leaf)));
    }
  }

  get bucketCount(): number {
    return this.buckets.length;
  }

  /** Arms the hooks for the next backward. */
  prepare(): void {
    this.armed = true;
    this.next = 0;
    this.readySet.clear();
    for (const b of this.buckets) {
      b.ready = 0;
      b.pending = null;
    }
  }

  /** Starts the remaining buckets, waits for all, and replaces each parameter's grad by the sum over ranks. */
  finish(): void {
    if (!this.armed) throw new Error('toroid.distributed: GradientReducer.finish() without prepare()');
    this.armed = false;
    while (this.next < this.buckets.length) this.start(this.buckets[this.next]!);
    const t0 = performance.now();
    for (const bucket of this.buckets) {
      const summed = bucket.pending!.wait();
      bucket.params.forEach((p, i) => {
        const old = p.grad;
        p.grad = keep(summed[i]!);
        old?.dispose();
      });
      bucket.pending = null;
    }
    this.lastWaitMs = performance.now() - t0;
  }

  dispose(): void {
    for (const remove of this.removeHooks.splice(0)) remove();
  }

  private onReady(leaf: Tensor): void {
    if (!this.armed || this.readySet.has(leaf)) return;
    const bucket = this.bucketOf.get(leaf);
    if (bucket === undefined) return;
    this.readySet.add(leaf);
    bucket.ready++;
    // start every complete bucket at the front of the queue
    while (this.next < this.buckets.length && this.buckets[this.next]!.ready === this.buckets[this.next]!.params.length) this.start(this.buckets[this.next]!);
  }

  private start(bucket: Bucket): void {
    for (const p of bucket.params) if (p.grad === null) p.grad = keep(zeros(p.shape, { backend: p.backend.name }));
    bucket.pending = this.collective.allReduceStart(bucket.params.map((p) => p.grad!));
    this.next++;
  }
}
