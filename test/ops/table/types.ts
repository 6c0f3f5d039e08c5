// The op table: one description per op, read by every driver (ggml's test-backend-ops,
// tfjs's one suite over ALL_ENVS). From one OpSpec:
//   test/ops/op-table.test.ts        the PyTorch fixture on every backend x dtype, the finite-
//                                    difference checks (float64, ts) and the invalid-input classes
//   test/backends/consistency.test.ts ts vs the native backend on random shapes
//   bench/kernels.bench.ts           the kernel timings (rows in `bench`)
//
// Adding a dtype: a line in the op's `dtypes` with its fixture tolerance; every backend that
//   supports it (test/helpers/backends.ts) then runs the fixture in it.
// Adding a backend: register it; describeEachBackend picks it up, nothing here changes.
// Adding an op: an OpSpec in its family's file and the family in ./index.ts.
import type * as toroid from '../../../src/index.js';
import type { Tolerance } from '../../helpers/compare.js';
import type { Rng } from '../../helpers/random.js';
import type { Outputs, Spec } from '../../backends/consistency-helpers.js';
import type { HostData } from './run.js';

export type Tensor = toroid.Tensor;
export type DType = toroid.DType;

/** One input of an op: its name (the fixture's name too), shape, and how random cases fill it. */
export interface InputDef {
  name: string;
  shape: readonly number[];
  /** float inputs take part in the backward unless `grad: false`; int32/bool never do */
  kind?: 'float' | 'int32' | 'bool';
  grad?: boolean;
  /** int32 inputs: values lie in [0, high) (the bench draws them so) */
  high?: number;
  /** host data of a random case (default: standard normal) */
  fill?: (rng: Rng, n: number) => Float32Array | Int32Array | Uint8Array;
}

/** A call that must throw `kind` with `toroid.<op>: <arg> must be ...` (and match `detail`). */
export interface InvalidCase {
  title: string;
  call: () => unknown;
  kind: typeof TypeError | typeof RangeError;
  arg: string;
  detail?: RegExp;
  /** why this case cannot run on the backend under test (reported as skipped) */
  skip?: string | false;
}

/** A row of bench/kernels.bench.ts: sizes, the mode timed, PyTorch's op name and attributes, the work done. */
export interface BenchRow<P> {
  kernel: string;
  /** 'fwd+bwd' (default) or the forward alone */
  mode?: 'fwd+bwd' | 'fwd';
  torchOp: string;
  attrs: Record<string, number | boolean>;
  /** bench/torch_kernels.py's names for inputs it names differently */
  torchNames?: Record<string, string>;
  /** the sizes timed, and the small sizes of the equal-work check */
  full: Record<string, number>;
  check: Record<string, number>;
  /** the size that work is linear in: the ts column reduces it when a full run is too slow */
  scaleKey: string;
  shape(size: Record<string, number>): string;
  params(size: Record<string, number>): P;
  /** floating-point operations, or bytes moved for memory-bound kernels, per iteration */
  work(size: Record<string, number>): { flops: number } | { bytes: number };
}

export interface OpSpec<P> {
  /** the case label: consistency stats and test titles are keyed by it */
  name: string;
  /** the F function when it differs from `name` (gelu_tanh is F.gelu): errors read `toroid.<fn>: ...` */
  fn?: string;
  /** the inputs for parameters `p`, in draw order; absent optional inputs are left out */
  inputs(p: P): InputDef[];
  /** the output's name in the fixture and in the consistency checks (default 'y') */
  output?: string;
  /** the shape of the output, which the upstream gradient `dy` takes */
  outShape(p: P): readonly number[];
  /** the F call; `t` holds the present inputs by name */
  forward(p: P, t: Record<string, Tensor>): Tensor;
  /** the dtypes the op computes in, each with its tolerance against the PyTorch fixture (of the case's parameters where it depends on them: bf16, see tolerance.ts) */
  /** (a string instead of a tolerance: why the case cannot be represented in that dtype; the case is skipped) */
  dtypes: Partial<Record<DType, Tolerance | ((p: P, input: (name: string) => ArrayLike<number>) => Tolerance | string)>>;
  fixture?: {
    /** test/fixtures/<file>.safetensors */
    file: string;
    /** the fixture cases of this op, and their attributes as parameters */
    select(attrs: Record<string, unknown>): boolean;
    /** the parameters of one fixture case from its attributes and its inputs' shapes */
    params(attrs: Record<string, unknown>, shapeOf: (input: string) => number[]): P;
  };
  /** finite differences in float64 on ts: every float input with grad is a leaf */
  gradcheck?: Array<{ title: string; seed: number; p: P; options?: { h?: number; atol?: number; rtol?: number };
    /** leaves are randLeaf(shape, scale) */
    scale?: number;
    /** the values of the inputs that take no gradient (int32 targets, ids, masks) */
    values?: Record<string, number[]>;
    /** a leaf other than randLeaf(shape) for one input */
    leaf?: Record<string, (shape: readonly number[]) => Tensor> }>;
  /** ts vs native on random shapes: `count` drawn cases plus `fixed` ones */
  consistency?: {
    count: number;
    random(rng: Rng): P;
    fixed?: P[];
    /** more checks of one case's outputs, beyond agreement */
    extra?(p: P, data: HostData, out: { ts: Outputs; cpu: Outputs }, label: string): void;
    /** the float32 tolerance (consistency-helpers' tolFor) of output `y` or gradient `d<input>`, given the case's host data */
    tolerance(p: P, output: string, data: HostData): Spec | 'exact';
  };
  /** the invalid-input classes, built on the backend under test */
  invalid?(backend: string): InvalidCase[];
  bench?: BenchRow<P>[];
}

/** A spec with its parameter type erased, as the drivers see it. */
export type AnyOpSpec = OpSpec<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
