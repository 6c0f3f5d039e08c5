// The cuda backend's own guarantees (the kernels themselves run through every
// per-backend suite when it is registered, and through the consistency suite with
// TOROID_CONSISTENCY_NATIVE=cuda). Without a GPU only the "unavailable" contract
// is checked and the rest is skipped.
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';

const { F } = toroid;
const HAS_CUDA = toroid.cuda.isAvailable();

describe('cuda backend when no GPU is usable', () => {
  it.skipIf(HAS_CUDA)('asking for it gives an Error that says why, and the default backend is unchanged', () => {
    const before = toroid.getBackend().name;
    expect(() => toroid.setBackend('cuda')).toThrow(/backend 'cuda' is unavailable: .+/);
    expect(() => toroid.zeros([2], { device: 'cuda' })).toThrow(/unavailable/);
    expect(toroid.getBackend().name).toBe(before);
    const info = toroid.cuda.info();
    expect(info.available).toBe(false);
    if (!info.available) expect(info.reason.length).toBeGreaterThan(0);
    expect(() => toroid.cuda.synchronize()).toThrow(/toroid\.cuda\.synchronize: the cuda backend is unavailable/);
  });
});

describe.skipIf(!HAS_CUDA)('cuda backend on a GPU', () => {
  const onCuda = { backend: 'cuda' } as const;

  it('reports the device and keeps tensors on it', () => {
    const info = toroid.cuda.info();
    expect(info.available).toBe(true);
    console.log('cuda device:', JSON.stringify(info));
    const x = toroid.tensor([1, 2, 3, 4], { shape: [2, 2], device: 'cuda' });
    expect(x.device).toBe('cuda');
    const y = F.matmul(x, x);
    expect(y.device).toBe('cuda');
    expect(Array.from(y.toFloat32Array())).toEqual([7, 10, 15, 22]);
    x.dispose();
    y.dispose();
  });

  it('profile() reports GPU time per kernel entry point', () => {
    const a = toroid.randn([512, 512], onCuda);
    const { result, kernels, totalMs } = toroid.cuda.profile(() => F.matmul(a, a).sum());
    expect(result.device).toBe('cuda');
    // products are labelled with their shape: 'matmul 1x512x512x512 NN'
    expect(kernels.map((k) => k.name)).toEqual(expect.arrayContaining(['matmul 1x512x512x512 NN', 'sum']));
    expect(kernels.find((k) => k.name.startsWith('matmul'))!.calls).toBe(1);
    expect(totalMs).toBeGreaterThan(0);
    result.dispose();
    a.dispose();
  });

  it('refuses a cpu tensor at the binding boundary with a clear error, never a crash', () => {
    const host = new Float32Array([1, 2, 3, 4]);
    const onGpu = toroid.getBackend('cuda').upload(host, 'float32', true);
    const onCpu = toroid.getBackend('cpu').upload(host, 'float32', true);
    const kernels = toroid.getBackend('cuda').kernels;
    const k = (data: unknown) => ({ data, shape: [2, 2], dtype: 'float32' as const });
    expect(() => kernels.matmul(k(onGpu), k(onCpu), false, false, null)).toThrow(/toroid\.matmul: b/);
    toroid.getBackend('cuda').free(onGpu);
    toroid.getBackend('cpu').free(onCpu);
  });

  it('device memory is counted and released on dispose()', () => {
    const before = toroid.cuda.info();
    if (!before.available) throw new Error('unreachable');
    const t = toroid.zeros([1024, 1024], onCuda);
    const during = toroid.cuda.info();
    if (!during.available) throw new Error('unreachable');
    expect(during.liveBytes - before.liveBytes).toBe(4 * 1024 * 1024);
    t.dispose();
    const after = toroid.cuda.info();
    if (!after.available) throw new Error('unreachable');
    expect(after.liveBytes).toBe(before.liveBytes);
    toroid.cuda.emptyCache();
  });

  it('an allocation beyond the GPU memory is a RangeError, and the backend keeps working', () => {
    expect(() => toroid.zeros([2 ** 37], onCuda)).toThrow(RangeError);
    expect(() => toroid.zeros([2 ** 37], onCuda)).toThrow(/out of cuda memory/);
    const t = toroid.ones([3], onCuda);
    expect(Array.from(t.toFloat32Array())).toEqual([1, 1, 1]);
    t.dispose();
  });

  it('deterministic mode refuses the atomic scatter-add of the embedding backward', () => {
    const w = toroid.randn([10, 4], { ...onCuda, requiresGrad: true });
    const ids = toroid.tensor([1, 2, 1], { dtype: 'int32', ...onCuda });
    toroid.cuda.setDeterministic(true);
    try {
      const y = F.embedding(ids, w);
      expect(() => y.sum().backward()).toThrow(/embeddingBackward: refused in deterministic mode on cuda/);
      y.dispose();
    } finally {
      toroid.cuda.setDeterministic(false);
    }
    const y = F.embedding(ids, w);
    y.sum().backward();
    expect(Array.from(w.grad!.toFloat32Array().subarray(4, 8))).toEqual([2, 2, 2, 2]);
  });

  it('matmul precision: exact float32 by default; TF32, bf16 and fp16 on request, each within its rounding', () => {
    toroid.manualSeed(3);
    const a = toroid.randn([256, 256], onCuda), b = toroid.randn([256, 256], onCuda);
    const host = (t: toroid.Tensor) => toroid.tensor(t.toFloat32Array(), { shape: [256, 256], backend: 'cpu' });
    const ref = F.matmul(host(a), host(b)).toFloat32Array();
    const worst = () => {
      const got = F.matmul(a, b).toFloat32Array();
      let w = 0;
      for (let i = 0; i < ref.length; i++) w = Math.max(w, Math.abs(got[i]! - ref[i]!));
      return w;
    };
    expect(toroid.cuda.getMatmulPrecision()).toBe('highest');
    expect(worst()).toBeLessThan(1e-3);
    // 256 products of N(0,1) values (sums of size ~16): inputs rounded to 10 (TF32, fp16) or 7 (bf16) mantissa bits
    const bounds = { high: 0.1, medium: 0.5, fp16: 0.1 } as const;
    try {
      for (const p of ['high', 'medium', 'fp16'] as const) {
        toroid.cuda.setMatmulPrecision(p);
        expect(toroid.cuda.getMatmulPrecision()).toBe(p);
        const w = worst();
        console.log(`matmul precision ${p}: max abs error ${w.toExponential(2)} vs float32`);
        expect(w).toBeGreaterThan(1e-4); // the rounding really happened
        expect(w).toBeLessThan(bounds[p]);
      }
    } finally {
      toroid.cuda.setMatmulPrecision('highest');
    }
    expect(() => toroid.cuda.setMatmulPrecision('bf16' as never)).toThrow(/cuda\.setMatmulPrecision: precision must be 'highest', 'high', 'medium', 'fp16', got 'bf16'/);
  });

  it('a model trains on cuda to the same loss as on cpu', () => {
    const losses: Record<string, number[]> = {};
    for (const backend of ['cpu', 'cuda']) {
      toroid.setBackend(backend);
      toroid.manualSeed(7);
      const model = new toroid.nn.GPT({ vocabSize: 32, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0 });
      const opt = new toroid.optim.AdamW(model.parameters(), { lr: 3e-3 });
      const ids = toroid.tensor(Array.from({ length: 2 * 16 }, (_, i) => (i * 7) % 32), { shape: [2, 16], dtype: 'int32' });
      losses[backend] = [];
      for (let step = 0; step < 5; step++) {
        const loss = toroid.tidy(() => {
          const l = model.forward(ids, ids).loss!;
          l.backward();
          return toroid.keep(l);
        });
        opt.step();
        opt.zeroGrad();
        losses[backend]!.push(loss.item());
        loss.dispose();
      }
    }
    toroid.setBackend('cpu');
    for (let i = 0; i < 5; i++) expect(Math.abs(losses.cuda![i]! - losses.cpu![i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(losses.cpu![i]!)));
  });

  it('mixed precision: bf16 and fp16 matrix products train to the float32 losses within their rounding (fp16 with GradScaler)', () => {
    const run = (precision: toroid.cuda.MatmulPrecision, scaled: boolean): number[] => {
      toroid.setBackend('cuda');
      toroid.cuda.setMatmulPrecision(precision);
      try {
        toroid.manualSeed(11);
        const model = new toroid.nn.GPT({ vocabSize: 64, blockSize: 32, nLayer: 2, nHead: 4, nEmbd: 64, dropout: 0 });
        const opt = new toroid.optim.AdamW(model.parameters(), { lr: 3e-3 });
        const scaler = new toroid.optim.GradScaler({ enabled: scaled, initScale: 2 ** 12 });
        const ids = toroid.tensor(Array.from({ length: 4 * 32 }, (_, i) => (i * 5 + (i >> 3)) % 64), { shape: [4, 32], dtype: 'int32' });
        const losses: number[] = [];
        for (let step = 0; step < 8; step++) {
          const loss = toroid.tidy(() => {
            const l = model.forward(ids, ids).loss!;
            scaler.scale(l).backward();
            return toroid.keep(l);
          });
          scaler.step(opt);
          scaler.update();
          opt.zeroGrad();
          losses.push(loss.item());
          loss.dispose();
        }
        model.dispose();
        ids.dispose();
        return losses;
      } finally {
        toroid.cuda.setMatmulPrecision('highest');
        toroid.setBackend('cpu');
      }
    };
    const exact = run('highest', false);
    for (const [precision, scaled] of [['medium', false], ['fp16', true]] as const) {
      const got = run(precision, scaled);
      console.log(`${precision}${scaled ? ' + GradScaler' : ''}: losses ${got.map((l) => l.toFixed(4)).join(' ')} (float32 ${exact.map((l) => l.toFixed(4)).join(' ')})`);
      expect(got[got.length - 1]!).toBeLessThan(got[0]! - 0.5); // it learns
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - exact[i]!)).toBeLessThan(0.05 * Math.max(1, exact[i]!));
    }
  });
});
