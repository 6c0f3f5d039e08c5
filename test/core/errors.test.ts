// Bad input to the core API: the error class (TypeError for a wrong type or dtype,
// RangeError for a wrong shape, size or value) and the one message format of src/errors.ts:
//   toroid.<fn>: <arg> must be <expected>, got <actual>
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';
import { expectError, thrown } from '../helpers/expect-error.js';

const { F } = toroid;

type ErrorClass = typeof TypeError | typeof RangeError;

/** skip: why this case cannot run on the backend under test (reported as skipped, never passed). */
interface Case { title: string; fn: () => unknown; cls: ErrorClass; name: string; arg: string; detail?: RegExp; skip?: string }

function cases(list: Case[]): void {
  for (const c of list) it.skipIf(c.skip !== undefined)(c.skip === undefined ? c.title : `${c.title} (${c.skip})`, () => expectError(c.fn, c.cls, c.name, c.arg, c.detail));
}

function disposed(shape: number[] = [2, 3], backend?: string): toroid.Tensor {
  const t = toroid.zeros(shape, backend === undefined ? {} : { backend });
  t.dispose();
  return t;
}

describeEachBackend('core argument errors', (backend) => {
  // created once for the file's lifetime; errors never consume them
  const x = toroid.randn([2, 3], { backend });
  // float64 only where the backend has it (cpu does not); the cases using x64 are skipped elsewhere
  const has64 = supportsDType(backend, 'float64');
  const no64 = has64 ? undefined : `backend '${backend}' has no float64`;
  const x64 = has64 ? toroid.randn([2, 3], { dtype: 'float64', backend }) : (undefined as never as toroid.Tensor);
  // a float dtype other than float32 for the "wrong dtype" checks, or int32 where there is none
  const other = has64 ? 'float64' : 'int32';
  const i32 = toroid.zeros([2, 3], { dtype: 'int32', backend });
  const bool = toroid.zeros([2, 3], { dtype: 'bool', backend });

  describe('tensor()', () => {
    cases([
      { title: 'a string', fn: () => toroid.tensor('abc' as never, { backend }), cls: TypeError, name: 'tensor', arg: 'data', detail: /got "abc"/ },
      { title: 'null', fn: () => toroid.tensor(null as never, { backend }), cls: TypeError, name: 'tensor', arg: 'data', detail: /got null/ },
      { title: 'an unsupported typed array', fn: () => toroid.tensor(new Int16Array(2) as never, { backend }), cls: TypeError, name: 'tensor', arg: 'data', detail: /got Int16Array\(2\)/ },
      { title: 'a ragged nested array', fn: () => toroid.tensor([[1, 2], [3]], { backend }), cls: RangeError, name: 'tensor', arg: 'data', detail: /rectangular nested array of shape \[2,2\], got a ragged array at depth 1/ },
      { title: 'a number where a row is expected', fn: () => toroid.tensor([[1, 2], 3] as never, { backend }), cls: RangeError, name: 'tensor', arg: 'data' },
      { title: 'a non-number element', fn: () => toroid.tensor(['a'] as never, { backend }), cls: TypeError, name: 'tensor', arg: 'data', detail: /got "a"/ },
      { title: 'an array where a number is expected', fn: () => toroid.tensor([1, [2]] as never, { backend }), cls: TypeError, name: 'tensor', arg: 'data' },
      { title: 'options.shape with the wrong size (nested)', fn: () => toroid.tensor([1, 2, 3], { shape: [2, 2], backend }), cls: RangeError, name: 'tensor', arg: 'options.shape', detail: /a shape with 3 elements like data, got \[2,2\]/ },
      { title: 'options.shape with the wrong size (typed array)', fn: () => toroid.tensor(new Float32Array(6), { shape: [4], backend }), cls: RangeError, name: 'tensor', arg: 'options.shape', detail: /got \[4\]/ },
      { title: 'a negative dim in options.shape', fn: () => toroid.tensor([1], { shape: [-1], backend }), cls: RangeError, name: 'tensor', arg: 'options.shape' },
      { title: 'an unknown dtype', fn: () => toroid.tensor([1], { dtype: 'float16' as never, backend }), cls: TypeError, name: 'tensor', arg: 'dtype', detail: /got "float16"/ },
      { title: 'an unknown backend', fn: () => toroid.tensor([1], { backend: 'nope' }), cls: RangeError, name: 'getBackend', arg: 'name', detail: /got 'nope'/ },
      ...(['float32', 'float64', 'int32', 'bool'] as const).filter((d) => !supportsDType(backend, d)).map((d): Case => (
        { title: `a dtype the backend lacks (${d})`, fn: () => toroid.tensor([1], { dtype: d, backend }), cls: TypeError, name: 'tensor', arg: 'dtype', detail: new RegExp(`a dtype backend '${backend}' supports, got ${d}$`) })),
    ]);
  });

  describe('zeros / ones / full / rand / randn', () => {
    cases([
      { title: 'full: a negative dim', fn: () => toroid.full([2, -1], 0, { backend }), cls: RangeError, name: 'full', arg: 'shape', detail: /got \[2,-1\]/ },
      { title: 'full: a non-number value', fn: () => toroid.full([2], '1' as never, { backend }), cls: TypeError, name: 'full', arg: 'value', detail: /got "1"/ },
      { title: 'full: an unknown dtype', fn: () => toroid.full([2], 1, { dtype: 'int8' as never, backend }), cls: TypeError, name: 'full', arg: 'dtype' },
      { title: 'randn: a fractional dim', fn: () => toroid.randn([2.5], { backend }), cls: RangeError, name: 'randn', arg: 'shape' },
      { title: 'randn: NaN dim', fn: () => toroid.randn([NaN], { backend }), cls: RangeError, name: 'randn', arg: 'shape' },
      { title: 'randn: no shape', fn: () => toroid.randn(undefined as never, { backend }), cls: RangeError, name: 'randn', arg: 'shape', detail: /got undefined/ },
      { title: 'randn: an int32 dtype', fn: () => toroid.randn([2], { dtype: 'int32', backend }), cls: TypeError, name: 'randn', arg: 'dtype', detail: /float32, float64 or bfloat16, got int32/ },
      { title: 'randn: an unknown dtype', fn: () => toroid.randn([2], { dtype: 'half' as never, backend }), cls: TypeError, name: 'randn', arg: 'dtype' },
      { title: 'rand: a negative dim', fn: () => toroid.rand([-3], { backend }), cls: RangeError, name: 'rand', arg: 'shape' },
      { title: 'rand: a bool dtype', fn: () => toroid.rand([3], { dtype: 'bool', backend }), cls: TypeError, name: 'rand', arg: 'dtype' },
      { title: 'rand: a string for shape', fn: () => toroid.rand('2x3' as never, { backend }), cls: RangeError, name: 'rand', arg: 'shape' },
      { title: 'zeros: a negative dim', fn: () => toroid.zeros([-1], { backend }), cls: RangeError, name: 'zeros', arg: 'shape' },
      { title: 'ones: a fractional dim', fn: () => toroid.ones([1.5], { backend }), cls: RangeError, name: 'ones', arg: 'shape' },
      { title: 'zeros: an unknown dtype', fn: () => toroid.zeros([1], { dtype: 'uint8' as never, backend }), cls: TypeError, name: 'zeros', arg: 'dtype' },
    ]);

    it('zeros and ones name themselves in errors', () => {
      expectError(() => toroid.zeros([-1], { backend }), RangeError, 'zeros', 'shape');
      expectError(() => toroid.ones([-1], { backend }), RangeError, 'ones', 'shape');
    });
  });

  describe('reshape', () => {
    cases([
      { title: 'a different element count', fn: () => x.reshape([4]), cls: RangeError, name: 'reshape', arg: 'shape', detail: /a shape with 6 elements like \[2,3\], got \[4\]/ },
      { title: 'two inferred dims', fn: () => x.reshape([-1, -1]), cls: RangeError, name: 'reshape', arg: 'shape' },
      { title: 'an inferred dim that does not divide', fn: () => x.reshape([-1, 4]), cls: RangeError, name: 'reshape', arg: 'shape' },
      { title: 'a dim below -1', fn: () => x.reshape([-2, -3]), cls: TypeError, name: 'reshape', arg: 'shape' },
      { title: 'a fractional dim', fn: () => x.reshape([2.5, 2]), cls: TypeError, name: 'reshape', arg: 'shape' },
      { title: 'not an array', fn: () => x.reshape('2,3' as never), cls: TypeError, name: 'reshape', arg: 'shape', detail: /got "2,3"/ },
      { title: 'x not a Tensor', fn: () => F.reshape([1, 2] as never, [2]), cls: TypeError, name: 'reshape', arg: 'x', detail: /a Tensor, got array\(2\)/ },
      { title: 'a disposed x', fn: () => F.reshape(disposed([2, 3], backend), [6]), cls: TypeError, name: 'reshape', arg: 'x', detail: /a live Tensor, got a disposed float32 \[2,3\]/ },
    ]);
  });

  describe('permute', () => {
    cases([
      { title: 'too few dims', fn: () => x.permute([0]), cls: RangeError, name: 'permute', arg: 'dims' },
      { title: 'too many dims', fn: () => x.permute([0, 1, 2]), cls: RangeError, name: 'permute', arg: 'dims' },
      { title: 'a repeated dim', fn: () => x.permute([0, 0]), cls: RangeError, name: 'permute', arg: 'dims', detail: /got \[0,0\]/ },
      { title: 'a repeated dim via a negative index', fn: () => x.permute([1, -1]), cls: RangeError, name: 'permute', arg: 'dims' },
      { title: 'a dim out of range', fn: () => x.permute([0, 2]), cls: RangeError, name: 'permute', arg: 'dims', detail: /an integer in \[-2, 1\], got 2/ },
      { title: 'a fractional dim', fn: () => x.permute([0, 0.5]), cls: RangeError, name: 'permute', arg: 'dims' },
      { title: 'dims not an array', fn: () => x.permute('10' as never), cls: RangeError, name: 'permute', arg: 'dims' },
      { title: 'x not a Tensor', fn: () => F.permute(5 as never, [0]), cls: TypeError, name: 'permute', arg: 'x', detail: /got number 5/ },
      { title: 'a disposed x', fn: () => F.permute(disposed([2, 3], backend), [1, 0]), cls: TypeError, name: 'permute', arg: 'x' },
    ]);
  });

  describe('transpose', () => {
    cases([
      { title: 'dim1 out of range', fn: () => x.transpose(0, 2), cls: RangeError, name: 'transpose', arg: 'dim1', detail: /got 2/ },
      { title: 'dim0 below -rank', fn: () => x.transpose(-3, 0), cls: RangeError, name: 'transpose', arg: 'dim0', detail: /got -3/ },
      { title: 'a fractional dim0', fn: () => x.transpose(0.5, 1), cls: RangeError, name: 'transpose', arg: 'dim0' },
      { title: 'a missing dim1', fn: () => x.transpose(0, undefined as never), cls: RangeError, name: 'transpose', arg: 'dim1' },
      { title: 'a string dim0', fn: () => x.transpose('a' as never, 1), cls: RangeError, name: 'transpose', arg: 'dim0' },
      { title: 'x not a Tensor', fn: () => F.transpose(null as never, 0, 1), cls: TypeError, name: 'transpose', arg: 'x', detail: /got null/ },
      { title: 'a disposed x', fn: () => F.transpose(disposed([2, 3], backend), 0, 1), cls: TypeError, name: 'transpose', arg: 'x' },
    ]);
  });

  describe('cast', () => {
    cases([
      { title: 'an unknown dtype', fn: () => F.cast(x, 'float16' as never), cls: TypeError, name: 'cast', arg: 'dtype', detail: /got "float16"/ },
      { title: 'a dtype with the wrong case', fn: () => F.cast(x, 'Float32' as never), cls: TypeError, name: 'cast', arg: 'dtype' },
      { title: 'no dtype', fn: () => F.cast(x, undefined as never), cls: TypeError, name: 'cast', arg: 'dtype', detail: /got undefined/ },
      { title: 'a number dtype', fn: () => F.cast(x, 4 as never), cls: TypeError, name: 'cast', arg: 'dtype' },
      { title: 'x not a Tensor', fn: () => F.cast(new Float32Array(3) as never, 'float64'), cls: TypeError, name: 'cast', arg: 'x', detail: /got Float32Array\(3\)/ },
      { title: 'a disposed x', fn: () => F.cast(disposed([2, 3], backend), 'int32'), cls: TypeError, name: 'cast', arg: 'x' },
    ]);
  });

  describe('add / sub / mul / div', () => {
    cases([
      { title: 'add: shapes that do not broadcast', fn: () => x.add(toroid.zeros([4], { backend })), cls: RangeError, name: 'add', arg: 'b', detail: /broadcastable with a \[2,3\], got \[4\]/ },
      { title: 'mul: shapes that do not broadcast', fn: () => F.mul(x, toroid.zeros([3, 2], { backend })), cls: RangeError, name: 'mul', arg: 'b', detail: /got \[3,2\]/ },
      { title: 'sub: shapes that do not broadcast (leading dim)', fn: () => x.sub(toroid.zeros([4, 3, 2], { backend })), cls: RangeError, name: 'sub', arg: 'b' },
      { title: 'div: shapes that do not broadcast', fn: () => x.div(toroid.ones([2, 2], { backend })), cls: RangeError, name: 'div', arg: 'b' },
      { title: 'mul: an int32 operand', fn: () => x.mul(i32), cls: TypeError, name: 'mul', arg: 'b', detail: /float32, float64 or bfloat16, got int32 \[2,3\]/ },
      { title: 'add: an int32 receiver', fn: () => i32.add(1), cls: TypeError, name: 'add', arg: 'a' },
      { title: 'mul: a bool receiver', fn: () => bool.mul(x), cls: TypeError, name: 'mul', arg: 'a' },
      { title: 'add: a disposed a', fn: () => F.add(disposed([2, 3], backend), x), cls: TypeError, name: 'add', arg: 'a', detail: /a live Tensor/ },
      { title: 'mul: a disposed b', fn: () => x.mul(disposed([2, 3], backend)), cls: TypeError, name: 'mul', arg: 'b', detail: /a live Tensor/ },
      { title: 'add: a string b', fn: () => x.add('1' as never), cls: TypeError, name: 'add', arg: 'b', detail: /a Tensor or a number, got "1"/ },
      { title: 'mul: an array b', fn: () => x.mul([1, 2, 3] as never), cls: TypeError, name: 'mul', arg: 'b', detail: /got array\(3\)/ },
      { title: 'add: a null b', fn: () => x.add(null as never), cls: TypeError, name: 'add', arg: 'b' },
      { title: 'mul: a non-tensor a', fn: () => F.mul({ shape: [2] } as never, x), cls: TypeError, name: 'mul', arg: 'a', detail: /a Tensor, got Object/ },
      { title: 'scale: a non-number factor', fn: () => F.scale(x, '2' as never), cls: TypeError, name: 'scale', arg: 'factor' },
      { title: 'scale: NaN', fn: () => F.scale(x, NaN), cls: RangeError, name: 'scale', arg: 'factor', detail: /got NaN/ },
    ]);
  });

  it('scale rejects an infinite factor', () => {
    expectError(() => F.scale(x, Infinity), RangeError, 'scale', 'factor', /a finite number, got Infinity/);
    expectError(() => F.scale(x, -Infinity), RangeError, 'scale', 'factor');
  });

  it('mul and div by a non-finite number still compute (through a scalar tensor)', () => {
    toroid.tidy(() => {
      expect(toroid.tensor([1, -2, 0], { backend }).div(0).toArray()).toEqual([Infinity, -Infinity, NaN]);
      expect(toroid.tensor([1, -2], { backend }).mul(Infinity).toArray()).toEqual([Infinity, -Infinity]);
    });
  });

  describe('sum / mean', () => {
    cases([
      { title: 'sum: an axis past the rank', fn: () => x.sum(2), cls: RangeError, name: 'sum', arg: 'dims', detail: /an integer in \[-2, 1\], got 2/ },
      { title: 'sum: an axis below -rank', fn: () => x.sum(-3), cls: RangeError, name: 'sum', arg: 'dims' },
      { title: 'sum: a repeated axis', fn: () => x.sum([0, 0]), cls: RangeError, name: 'sum', arg: 'dims', detail: /distinct axes, got \[0,0\]/ },
      { title: 'sum: the same axis twice via a negative index', fn: () => x.sum([1, -1]), cls: RangeError, name: 'sum', arg: 'dims' },
      { title: 'sum: a fractional axis', fn: () => x.sum(0.5), cls: RangeError, name: 'sum', arg: 'dims' },
      { title: 'sum: a string dims', fn: () => x.sum('0' as never), cls: TypeError, name: 'sum', arg: 'dims' },
      { title: 'mean: an axis past the rank in a list', fn: () => x.mean([0, 5]), cls: RangeError, name: 'mean', arg: 'dims' },
      { title: 'mean: an object dims', fn: () => F.mean(x, {} as never), cls: TypeError, name: 'mean', arg: 'dims' },
      { title: 'mean: a non-boolean keepDims', fn: () => x.mean(0, 1 as never), cls: TypeError, name: 'mean', arg: 'keepDims', detail: /a boolean, got number 1/ },
      { title: 'sum: a non-boolean keepDims', fn: () => F.sum(x, 0, 'yes' as never), cls: TypeError, name: 'sum', arg: 'keepDims' },
      { title: 'sum: an int32 x', fn: () => F.sum(i32), cls: TypeError, name: 'sum', arg: 'x' },
      { title: 'mean: a disposed x', fn: () => F.mean(disposed([2, 3], backend)), cls: TypeError, name: 'mean', arg: 'x' },
      { title: 'sum: x not a Tensor', fn: () => F.sum([1, 2] as never), cls: TypeError, name: 'sum', arg: 'x' },
    ]);
  });

  describe('dropout', () => {
    cases([
      { title: 'p above 1', fn: () => F.dropout(x, 1.5), cls: RangeError, name: 'dropout', arg: 'p', detail: /a number in \[0, 1\], got 1\.5/ },
      { title: 'p below 0', fn: () => F.dropout(x, -0.1), cls: RangeError, name: 'dropout', arg: 'p' },
      { title: 'p NaN', fn: () => F.dropout(x, NaN), cls: RangeError, name: 'dropout', arg: 'p', detail: /got NaN/ },
      { title: 'p Infinity', fn: () => F.dropout(x, Infinity), cls: RangeError, name: 'dropout', arg: 'p' },
      { title: 'p a string', fn: () => F.dropout(x, '0.5' as never), cls: TypeError, name: 'dropout', arg: 'p', detail: /a number, got "0\.5"/ },
      { title: 'p null', fn: () => F.dropout(x, null as never), cls: TypeError, name: 'dropout', arg: 'p', detail: /got null/ },
      { title: 'training not a boolean', fn: () => F.dropout(x, 0.5, 1 as never), cls: TypeError, name: 'dropout', arg: 'training' },
      { title: 'x not a Tensor', fn: () => F.dropout([1, 2] as never, 0.5), cls: TypeError, name: 'dropout', arg: 'x' },
      { title: 'an int32 x', fn: () => F.dropout(i32, 0.5), cls: TypeError, name: 'dropout', arg: 'x' },
      { title: 'a disposed x', fn: () => F.dropout(disposed([2, 3], backend), 0.5), cls: TypeError, name: 'dropout', arg: 'x' },
    ]);

    it('a rejected call draws nothing from the generator', () => {
      const state = toroid.getRngState();
      expect(() => F.dropout(x, 2)).toThrow(RangeError);
      expect(toroid.getRngState()).toEqual(state);
    });
  });

  describe('adamwStep', () => {
    const attrs = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 1 };
    const p = toroid.zeros([2], { backend });
    const g = toroid.zeros([2], { backend });
    const m = toroid.zeros([2], { backend });
    const v = toroid.zeros([2], { backend });
    const q = toroid.zeros([3], { backend });
    const state = { m: [m], v: [v] };
    cases([
      { title: 'fewer grads than params', fn: () => toroid.adamwStep([p, q], [g], { m: [m, q], v: [v, q] }, attrs), cls: RangeError, name: 'adamwStep', arg: 'grads', detail: /2 tensors like params, got 1/ },
      { title: 'more moments than params', fn: () => toroid.adamwStep([p], [g], { m: [m, q], v: [v] }, attrs), cls: RangeError, name: 'adamwStep', arg: 'state.m' },
      { title: 'second moments of the wrong length', fn: () => toroid.adamwStep([p], [g], { m: [m], v: [] }, attrs), cls: RangeError, name: 'adamwStep', arg: 'state.v' },
      { title: 'a grad of another shape', fn: () => toroid.adamwStep([p], [q], state, attrs), cls: RangeError, name: 'adamwStep', arg: 'grads[0]', detail: /float32 \[2\] on '.+' like params\[0\], got float32 \[3\]/ },
      { title: 'a first moment of another shape', fn: () => toroid.adamwStep([p], [g], { m: [q], v: [v] }, attrs), cls: RangeError, name: 'adamwStep', arg: 'state.m[0]' },
      { title: 'a negative lr', fn: () => toroid.adamwStep([p], [g], state, { ...attrs, lr: -1 }), cls: RangeError, name: 'adamwStep', arg: 'lr', detail: /got -1/ },
      { title: 'a NaN lr', fn: () => toroid.adamwStep([p], [g], state, { ...attrs, lr: NaN }), cls: RangeError, name: 'adamwStep', arg: 'lr' },
      { title: 'a string lr', fn: () => toroid.adamwStep([p], [g], state, { ...attrs, lr: '0.1' as never }), cls: TypeError, name: 'adamwStep', arg: 'lr' },
      { title: 'a missing lr', fn: () => toroid.adamwStep([p], [g], state, { ...attrs, lr: undefined as never }), cls: TypeError, name: 'adamwStep', arg: 'lr', detail: /got undefined/ },
      { title: 'beta1 above 1', fn: () => toroid.adamwStep([p], [g], state, { ...attrs, beta1: 1.5 }), cls: RangeError, name: 'adamwStep', arg: 'beta1' },
      { title: 'a negative beta2', fn: () => toroid.adamwStep([p], [g], state, { ...attrs, beta2: -0.5 }), cls: RangeError, name: 'adamwStep', arg: 'beta2' },
      { title: 'a negative eps', fn: () => toroid.adamwStep([p], [g], state, { ...attrs, eps: -1e-8 }), cls: RangeError, name: 'adamwStep', arg: 'eps' },
      { title: 'a negative weightDecay', fn: () => toroid.adamwStep([p], [g], state, { ...attrs, weightDecay: -0.1 }), cls: RangeError, name: 'adamwStep', arg: 'weightDecay' },
      { title: 'step 0', fn: () => toroid.adamwStep([p], [g], state, { ...attrs, step: 0 }), cls: RangeError, name: 'adamwStep', arg: 'step' },
      { title: 'a fractional step', fn: () => toroid.adamwStep([p], [g], state, { ...attrs, step: 1.5 }), cls: RangeError, name: 'adamwStep', arg: 'step' },
      { title: 'params not an array', fn: () => toroid.adamwStep(p as never, [g], state, attrs), cls: TypeError, name: 'adamwStep', arg: 'params' },
      { title: 'grads not an array', fn: () => toroid.adamwStep([p], g as never, state, attrs), cls: TypeError, name: 'adamwStep', arg: 'grads' },
      { title: 'no state', fn: () => toroid.adamwStep([p], [g], undefined as never, attrs), cls: TypeError, name: 'adamwStep', arg: 'state.m', detail: /got undefined/ },
      { title: 'an int32 param', fn: () => toroid.adamwStep([i32], [i32], { m: [i32], v: [i32] }, attrs), cls: TypeError, name: 'adamwStep', arg: 'params[0]' },
      { title: 'a grad that is not a Tensor', fn: () => toroid.adamwStep([p], [[0, 0]] as never, state, attrs), cls: TypeError, name: 'adamwStep', arg: 'grads[0]' },
      { title: 'a disposed second moment', fn: () => toroid.adamwStep([p], [g], { m: [m], v: [disposed([2], backend)] }, attrs), cls: TypeError, name: 'adamwStep', arg: 'state.v[0]' },
      { title: 'beta1 equal to 1', fn: () => toroid.adamwStep([p], [g], state, { ...attrs, beta1: 1 }), cls: RangeError, name: 'adamwStep', arg: 'beta1', detail: /a number in \[0, 1\), got 1/ },
      { title: 'beta2 equal to 1', fn: () => toroid.adamwStep([p], [g], state, { ...attrs, beta2: 1 }), cls: RangeError, name: 'adamwStep', arg: 'beta2' },
      { title: 'an infinite lr', fn: () => toroid.adamwStep([p], [g], state, { ...attrs, lr: Infinity }), cls: RangeError, name: 'adamwStep', arg: 'lr', detail: /got Infinity/ },
      { title: 'no attrs', fn: () => toroid.adamwStep([p], [g], state, undefined as never), cls: TypeError, name: 'adamwStep', arg: 'attrs' },
    ]);

    it(`a grad of another dtype (${other}) is a TypeError`, () => {
      const g2 = toroid.zeros([2], { dtype: other, backend });
      expectError(() => toroid.adamwStep([p], [g2], state, attrs), TypeError, 'adamwStep', 'grads[0]', new RegExp(`got ${other} \\[2\\]`));
      g2.dispose();
    });

    // needs a second float dtype: an int32 moment is rejected earlier, as not float
    it.skipIf(!has64)('a moment of another dtype is rejected with both dtypes named', () => {
      const v64 = toroid.zeros([2], { dtype: 'float64', backend });
      expect(() => toroid.adamwStep([p], [g], { m: [m], v: [v64] }, attrs))
        .toThrow(/^toroid\.adamwStep: state\.v\[0\] must be float32 \[2\] on '.+' like params\[0\], got float64 \[2\] on '.+'$/);
      v64.dispose();
    });

    it('a rejected call leaves params and moments untouched', () => {
      const pp = toroid.tensor([1, 2], { backend });
      const gg = toroid.tensor([1, 1], { backend });
      const mm = toroid.zeros([2], { backend });
      const vv = toroid.zeros([2], { backend });
      expect(() => toroid.adamwStep([pp], [gg], { m: [mm], v: [vv] }, { ...attrs, step: 0 })).toThrow(RangeError);
      expect(pp.toArray()).toEqual([1, 2]);
      expect(mm.toArray()).toEqual([0, 0]);
      [pp, gg, mm, vv].forEach((t) => t.dispose());
    });
  });

  describe('backward misuse', () => {
    const fresh = (): toroid.Tensor => toroid.tensor([1, 2, 3], { backend, requiresGrad: true });
    cases([
      { title: 'on a tensor that does not require grad', fn: () => x.sum().backward(), cls: TypeError, name: 'backward', arg: 'tensor', detail: /got one that does not/ },
      { title: 'on a leaf that does not require grad', fn: () => x.backward(toroid.ones([2, 3], { backend })), cls: TypeError, name: 'backward', arg: 'tensor' },
      { title: 'without gradOut on a non-scalar', fn: () => fresh().mul(2).backward(), cls: RangeError, name: 'backward', arg: 'gradOut', detail: /non-scalar output \[3\], got undefined/ },
      { title: 'gradOut of the wrong shape', fn: () => fresh().mul(2).backward(toroid.ones([2], { backend })), cls: RangeError, name: 'backward', arg: 'gradOut', detail: /float32 \[3\] like the output, got float32 \[2\]/ },
      { title: 'gradOut of the wrong rank', fn: () => fresh().mul(2).backward(toroid.ones([3, 1], { backend })), cls: RangeError, name: 'backward', arg: 'gradOut' },
      { title: `gradOut of the wrong dtype (${other})`, fn: () => fresh().mul(2).backward(toroid.ones([3], { dtype: other, backend })), cls: TypeError, name: 'backward', arg: 'gradOut', detail: new RegExp(`got ${other} \\[3\\]`) },
      { title: 'a disposed gradOut', fn: () => fresh().mul(2).backward(disposed([3], backend)), cls: TypeError, name: 'backward', arg: 'gradOut', detail: /a live Tensor, got a disposed one/ },
      { title: 'a gradOut that is a plain array', fn: () => fresh().mul(2).backward([1, 1, 1] as never), cls: TypeError, name: 'backward', arg: 'gradOut', detail: /got array\(3\)/ },
      { title: 'requiresGrad on an int32 tensor', fn: () => { i32.requiresGrad = true; }, cls: TypeError, name: 'Tensor.requiresGrad', arg: 'tensor' },
      { title: 'requiresGrad set to a non-boolean', fn: () => { x.requiresGrad = 'yes' as never; }, cls: TypeError, name: 'Tensor.requiresGrad', arg: 'value' },
      { title: 'requiresGrad option on a bool tensor', fn: () => toroid.zeros([1], { dtype: 'bool', backend, requiresGrad: true }), cls: TypeError, name: 'Tensor.requiresGrad', arg: 'tensor' },
    ]);

    it('a second backward without retainGraph names retainGraph', () => {
      toroid.tidy(() => {
        const y = fresh().mul(2).sum();
        y.backward();
        const err = thrown(() => y.backward()) as Error;
        expect(err).toBeInstanceOf(Error);
        expect(err.message).toMatch(/^toroid\.backward: the graph through sum was already freed by a previous backward\(\); pass \{ retainGraph: true \}/);
      });
    });

    it('a gradOut that is not a Tensor gets the toroid message', () => {
      toroid.tidy(() => {
        expectError(() => fresh().mul(2).backward(5 as never), TypeError, 'backward', 'gradOut');
      });
    });
  });

  describe('other entry points', () => {
    cases([
      { title: 'item on a multi-element tensor', fn: () => x.item(), cls: RangeError, name: 'Tensor.item', arg: 'tensor', detail: /a tensor with one element, got \[2,3\]/ },
      { title: 'manualSeed negative', fn: () => toroid.manualSeed(-1), cls: RangeError, name: 'manualSeed', arg: 'seed' },
      { title: 'manualSeed fractional', fn: () => toroid.manualSeed(1.5), cls: RangeError, name: 'manualSeed', arg: 'seed' },
      { title: 'manualSeed beyond 2^64', fn: () => toroid.manualSeed(2n ** 64n), cls: RangeError, name: 'manualSeed', arg: 'seed' },
      { title: 'manualSeed a string', fn: () => toroid.manualSeed('1' as never), cls: TypeError, name: 'manualSeed', arg: 'seed' },
    ]);
  });
});
