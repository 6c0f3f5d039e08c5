// The tape: requiresGrad propagation, backward seeds, accumulation, noGrad, retainGraph,
// and that the graph's saved tensors are released by backward().
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { expectClose } from '../helpers/compare.js';

const EXACT = { atol: 0, rtol: 0 };

describe('requiresGrad propagation', () => {
  it('an op on a tensor that requires grad requires grad and has a gradFn', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([1, 2, 3], { requiresGrad: true });
      const c = toroid.tensor([4, 5, 6]);
      expect(x.requiresGrad).toBe(true);
      expect(c.requiresGrad).toBe(false);
      const y = x.mul(c);
      expect(y.requiresGrad).toBe(true);
      expect(y.gradFn).not.toBeNull();
      expect(y.gradFn!.name).toBe('mul');
      const z = c.add(c);
      expect(z.requiresGrad).toBe(false);
      expect(z.gradFn).toBeNull();
      const w = y.add(z).sum();
      expect(w.requiresGrad).toBe(true);
      expect(w.gradFn!.name).toBe('sum');
      w.backward(); // releases the graph's saved tensors
    });
  });

  it('propagates through every op family in this layer', () => {
    toroid.tidy(() => {
      const x = toroid.randn([2, 3], { requiresGrad: true });
      const ys = [
        x.add(1), x.sub(x), x.mul(2), x.div(3), toroid.F.scale(x, 2), x.sum(), x.mean(1),
        x.reshape([6]), x.permute([1, 0]), x.transpose(0, 1), toroid.F.cast(x, 'float32'), toroid.F.dropout(x, 0.5),
      ];
      for (const y of ys) expect(y.requiresGrad).toBe(true);
      // float32 -> float64 casts need a backend with float64 (the default cpu backend has none)
      const xts = toroid.randn([2, 3], { backend: 'ts', requiresGrad: true });
      expect(toroid.F.cast(xts, 'float64').requiresGrad).toBe(true);
      // casting to a non-float dtype stops the gradient
      expect(toroid.F.cast(x, 'int32').requiresGrad).toBe(false);
    });
  });

  it('requiresGrad can be set on a float leaf and not on int32 or bool', () => {
    toroid.tidy(() => {
      const x = toroid.zeros([2]);
      x.requiresGrad = true;
      expect(x.requiresGrad).toBe(true);
      x.requiresGrad = false;
      expect(x.requiresGrad).toBe(false);
      const i = toroid.zeros([2], { dtype: 'int32' });
      expect(() => { i.requiresGrad = true; }).toThrow(TypeError);
      expect(() => { i.requiresGrad = true; }).toThrow(/toroid\.Tensor\.requiresGrad: tensor must be float32, float64 or bfloat16/);
      const b = toroid.zeros([2], { dtype: 'bool' });
      expect(() => { b.requiresGrad = true; }).toThrow(TypeError);
      expect(() => { x.requiresGrad = 1 as never; }).toThrow(/toroid\.Tensor\.requiresGrad: value must be a boolean, got number/);
    });
  });
});

describe('backward', () => {
  it('on a scalar seeds with 1', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([1, 2, 3], { requiresGrad: true });
      // L = sum(x * x + 3x) -> dL/dx = 2x + 3
      x.mul(x).add(x.mul(3)).sum().backward();
      expect(x.grad!.toArray()).toEqual([5, 7, 9]);
      expect(x.grad!.shape).toEqual([3]);
      expect(x.grad!.dtype).toBe('float32');
      expect(x.grad!.requiresGrad).toBe(false);
    });
  });

  it('on a scalar leaf puts 1 in its grad', () => {
    toroid.tidy(() => {
      const x = toroid.tensor(4, { requiresGrad: true });
      x.backward();
      expect(x.grad!.item()).toBe(1);
    });
  });

  it('on a one-element non-scalar tensor seeds with 1 too', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([[2]], { requiresGrad: true });
      x.mul(5).backward();
      expect(x.grad!.toArray()).toEqual([[5]]);
    });
  });

  it('with gradOut on a non-scalar output', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([[1, 2], [3, 4]], { requiresGrad: true });
      const w = toroid.tensor([[10, 20], [30, 40]]);
      const y = x.mul(w);
      y.backward(toroid.tensor([[1, 0.5], [-1, 2]]));
      expect(x.grad!.toArray()).toEqual([[10, 10], [-30, 80]]);
    });
  });

  it('gradOut is not consumed by backward', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([1, 2], { requiresGrad: true });
      const g = toroid.tensor([3, 4]);
      x.mul(2).backward(g);
      expect(g.isDisposed).toBe(false);
      expect(g.toArray()).toEqual([3, 4]);
      expect(x.grad!.toArray()).toEqual([6, 8]);
    });
  });

  it('sums gradients over every path to a leaf (diamond)', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([1, 2], { requiresGrad: true });
      const a = x.mul(2);
      const b = x.mul(x);
      const c = a.mul(b); // 2x^3 -> 6x^2
      c.add(a).sum().backward(); // + 2
      expect(x.grad!.toArray()).toEqual([8, 26]);
    });
  });

  it('computes gradients for several leaves, skipping those that do not require grad', () => {
    toroid.tidy(() => {
      const a = toroid.tensor([1, 2], { requiresGrad: true });
      const b = toroid.tensor([3, 4], { requiresGrad: true });
      const c = toroid.tensor([5, 6]);
      a.mul(b).mul(c).sum().backward();
      expect(a.grad!.toArray()).toEqual([15, 24]);
      expect(b.grad!.toArray()).toEqual([5, 12]);
      expect(c.grad).toBeNull();
    });
  });

  it('accumulates into .grad across two backward calls', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([1, 2, 3], { requiresGrad: true });
      x.mul(2).sum().backward();
      expect(x.grad!.toArray()).toEqual([2, 2, 2]);
      x.mul(x).sum().backward();
      expect(x.grad!.toArray()).toEqual([4, 6, 8]);
    });
  });

  it('gradient reset by disposing .grad and setting it to null', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([1, 2], { requiresGrad: true });
      x.mul(3).sum().backward();
      x.grad!.dispose();
      x.grad = null;
      x.mul(5).sum().backward();
      expect(x.grad!.toArray()).toEqual([5, 5]);
    });
  });

  it('a second backward through the same graph throws unless retainGraph', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([1, 2, 3], { requiresGrad: true });
      const y = x.mul(x).sum();
      y.backward();
      expect(() => y.backward()).toThrow(/toroid\.backward: the graph through sum was already freed/);
      expect(() => y.backward()).toThrow(/retainGraph: true/);
      // the failed calls left the gradient alone
      expect(x.grad!.toArray()).toEqual([2, 4, 6]);
    });
  });

  it('retainGraph keeps the graph for a second backward, which accumulates', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([1, 2, 3], { requiresGrad: true });
      const y = x.mul(x).sum();
      y.backward(undefined, { retainGraph: true });
      expect(x.grad!.toArray()).toEqual([2, 4, 6]);
      y.backward(undefined, { retainGraph: true });
      expect(x.grad!.toArray()).toEqual([4, 8, 12]);
      y.backward();
      expect(x.grad!.toArray()).toEqual([6, 12, 18]);
      expect(() => y.backward()).toThrow(/already freed/);
    });
  });

  it('on a tensor that does not require grad throws a TypeError', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([1, 2, 3]);
      const y = x.mul(2).sum();
      expect(() => y.backward()).toThrow(TypeError);
      expect(() => y.backward()).toThrow(/toroid\.backward: tensor must be a tensor that requires grad.*, got one that does not/);
    });
  });

  it('without gradOut on a non-scalar throws a RangeError', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([1, 2, 3], { requiresGrad: true });
      const y = x.mul(2);
      expect(() => y.backward()).toThrow(RangeError);
      expect(() => y.backward()).toThrow(/toroid\.backward: gradOut must be given for a non-scalar output \[3\], got undefined/);
      // the graph is still there after the failed call
      y.backward(toroid.ones([3]));
      expect(x.grad!.toArray()).toEqual([2, 2, 2]);
    });
  });

  it('float64 gradients stay float64', () => {
    toroid.tidy(() => {
      // float64 needs the ts backend (the default cpu backend has no float64)
      const x = toroid.tensor([0.1, 0.2], { dtype: 'float64', backend: 'ts', requiresGrad: true });
      x.mul(x).sum().backward();
      expect(x.grad!.dtype).toBe('float64');
      expectClose(x.grad!.toTypedArray(), [0.2, 0.4], EXACT);
    });
  });

  it('flows through cast between float dtypes', () => {
    toroid.tidy(() => {
      // float64 needs the ts backend (the default cpu backend has no float64)
      const x = toroid.tensor([1, 2], { backend: 'ts', requiresGrad: true });
      toroid.F.cast(x, 'float64').mul(3).sum().backward();
      expect(x.grad!.dtype).toBe('float32');
      expect(x.grad!.toArray()).toEqual([3, 3]);
    });
  });

  it('works after the user disposed intermediate handles (add, reshape, sum)', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([1, 2], { requiresGrad: true });
      const a = x.add(x);
      const b = a.add(x).reshape([2, 1]); // 3x
      a.dispose();
      const loss = b.sum();
      b.dispose();
      loss.backward();
      expect(x.grad!.toArray()).toEqual([3, 3]);
    });
  });

  // which inputs need a gradient is decided at forward time, so disposing a handle
  // (which unlinks it from the graph) cannot drop the gradient through it
  it('works after the user disposed intermediate handles (mul)', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([1, 2], { requiresGrad: true });
      const a = x.mul(x);
      const b = a.mul(x); // x^3, saves aliases of a and x
      a.dispose();
      const loss = b.sum();
      b.dispose();
      loss.backward();
      expect(x.grad!.toArray()).toEqual([3, 12]);
    });
  });

  it('works after the user disposed every intermediate of div, matmul, linear and layerNorm', () => {
    const expected = toroid.tidy(() => {
      const { x, w, bias } = leaves();
      forward(x, w, bias, false).backward();
      return [x.grad!.toArray(), w.grad!.toArray(), bias.grad!.toArray()];
    });
    toroid.tidy(() => {
      const { x, w, bias } = leaves();
      forward(x, w, bias, true).backward();
      expect([x.grad!.toArray(), w.grad!.toArray(), bias.grad!.toArray()]).toEqual(expected);
    });

    function leaves(): { x: toroid.Tensor; w: toroid.Tensor; bias: toroid.Tensor } {
      return {
        x: toroid.tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true }),
        w: toroid.tensor([[0.5, -1, 2], [1, 0, -0.5]], { requiresGrad: true }),
        bias: toroid.tensor([0.25, -0.75], { requiresGrad: true }),
      };
    }
    function forward(x: toroid.Tensor, w: toroid.Tensor, bias: toroid.Tensor, disposeEach: boolean): toroid.Tensor {
      const step = (t: toroid.Tensor, prev: toroid.Tensor): toroid.Tensor => {
        if (disposeEach) prev.dispose();
        return t;
      };
      let h = x.mul(x);
      h = step(h.div(x.add(4)), h);
      h = step(toroid.F.linear(h, w, bias), h);
      h = step(toroid.F.layerNorm(h, [2]), h);
      h = step(h.matmul(w), h);
      h = step(toroid.F.rmsNorm(h, [3]), h);
      const loss = h.mul(h).mean();
      if (disposeEach) h.dispose();
      return loss;
    }
  });

  it('a leaf disposed before backward gets no gradient and others still do', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([1, 2], { requiresGrad: true });
      const w = toroid.tensor([3, 4], { requiresGrad: true });
      const loss = x.mul(w).sum();
      x.dispose();
      loss.backward();
      expect(x.grad).toBeNull();
      expect(w.grad!.toArray()).toEqual([1, 2]);
    });
  });
});

describe('noGrad', () => {
  it('records nothing inside and restores the previous mode', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([1, 2], { requiresGrad: true });
      expect(toroid.isGradEnabled()).toBe(true);
      const y = toroid.noGrad(() => {
        expect(toroid.isGradEnabled()).toBe(false);
        return x.mul(2);
      });
      expect(toroid.isGradEnabled()).toBe(true);
      expect(y.requiresGrad).toBe(false);
      expect(y.gradFn).toBeNull();
      expect(y.toArray()).toEqual([2, 4]);
      expect(() => y.sum().backward()).toThrow(TypeError);
    });
  });

  it('nests and restores the mode after an exception', () => {
    toroid.noGrad(() => {
      toroid.noGrad(() => expect(toroid.isGradEnabled()).toBe(false));
      expect(toroid.isGradEnabled()).toBe(false);
    });
    expect(toroid.isGradEnabled()).toBe(true);
    expect(() => toroid.noGrad(() => { throw new Error('inner'); })).toThrow('inner');
    expect(toroid.isGradEnabled()).toBe(true);
  });

  it('backward itself does not record the gradient computation', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([1, 2], { requiresGrad: true });
      x.mul(x).sum().backward();
      expect(x.grad!.requiresGrad).toBe(false);
      expect(x.grad!.gradFn).toBeNull();
    });
  });
});

describe('memory and the graph', () => {
  it('leaf .grad survives the tidy that ran backward', () => {
    const x = toroid.tensor([1, 2, 3], { requiresGrad: true });
    toroid.tidy(() => {
      x.mul(x).sum().backward();
    });
    expect(x.grad).not.toBeNull();
    expect(x.grad!.isDisposed).toBe(false);
    expect(x.grad!.toArray()).toEqual([2, 4, 6]);
    toroid.tidy(() => {
      x.mul(2).sum().backward();
    });
    expect(x.grad!.toArray()).toEqual([4, 6, 8]);
    x.dispose();
  });

  it('after backward, disposing every handle returns memory to the baseline', () => {
    const before = toroid.memory();
    const x = toroid.randn([4, 3], { requiresGrad: true });
    const w = toroid.randn([3], { requiresGrad: true });
    toroid.tidy(() => {
      const h = x.mul(w).add(1).div(w.add(5));
      const loss = h.permute([1, 0]).reshape([12]).mean();
      loss.backward();
    });
    // x, w and their grads
    expect(toroid.memory().liveStorages).toBe(before.liveStorages + 4);
    x.dispose();
    w.dispose();
    expect(toroid.memory()).toEqual(before);
  });

  it('backward frees the saved tensors even when the user disposes first', () => {
    const before = toroid.memory();
    const x = toroid.randn([5], { requiresGrad: true });
    const y = x.mul(x);
    const loss = y.sum();
    y.dispose();
    loss.backward();
    loss.dispose();
    x.dispose();
    expect(toroid.memory()).toEqual(before);
  });

  // a graph node is freed (saved tensors and edges) once no handle and no live node refers to it
  it('a forward that is never backpropagated frees its saved tensors with the tidy', () => {
    const before = toroid.memory();
    let node: { release(): void } | null = null;
    try {
      toroid.tidy(() => {
        const a = toroid.tensor([1, 2, 3], { requiresGrad: true });
        const b = toroid.tensor([4, 5, 6]);
        const y = a.mul(b);
        node = y.gradFn;
      });
      expect(toroid.memory()).toEqual(before);
    } finally {
      // release what the bug leaks, so no later test sees a collection mid-way
      (node as { release(): void } | null)?.release();
    }
  });

  it('a deeper graph that is never backpropagated is freed, whatever the dispose order', () => {
    const before = toroid.memory();
    const x = toroid.randn([3, 4], { requiresGrad: true });
    const w = toroid.randn([4, 2], { requiresGrad: true });
    const a = x.mul(x);
    const b = a.matmul(w);
    const s1 = a.sum(1, true);
    const s2 = s1.add(1);
    const d = b.div(s2);
    const c = toroid.F.softmax(d);
    const sq = c.mul(c);
    const loss = sq.sum();
    // the loss keeps the whole graph alive through its edges
    [a, b, s1, s2, d, c, sq].forEach((t) => t.dispose());
    expect(toroid.memory().liveStorages).toBeGreaterThan(before.liveStorages + 3);
    loss.dispose();
    x.dispose();
    w.dispose();
    expect(toroid.memory()).toEqual(before);
  });

  it('only the loss kept: backward works and then everything is freed', () => {
    const before = toroid.memory();
    const x = toroid.tensor([1, 2], { requiresGrad: true });
    const loss = toroid.tidy(() => x.mul(x).mul(x).add(x).sum());
    loss.backward();
    expect(x.grad!.toArray()).toEqual([4, 13]);
    loss.dispose();
    x.dispose();
    expect(toroid.memory()).toEqual(before);
  });

  it('a retained graph is freed when its handles are disposed', () => {
    const before = toroid.memory();
    toroid.tidy(() => {
      const x = toroid.randn([3], { requiresGrad: true });
      x.mul(x).mul(x).sum().backward(undefined, { retainGraph: true });
    });
    expect(toroid.memory()).toEqual(before);
  });

  it('a retained graph is freed by the final backward', () => {
    const before = toroid.memory();
    toroid.tidy(() => {
      const x = toroid.randn([3], { requiresGrad: true });
      const y = x.mul(x).mul(x).sum();
      y.backward(undefined, { retainGraph: true });
      y.backward();
    });
    expect(toroid.memory()).toEqual(before);
  });
});
