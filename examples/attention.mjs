// The README's example: attention forward and backward with GQA, a causal mask and key padding.
import * as toroid from '../dist/index.js';
const { F } = toroid;

const q = toroid.randn([2, 8, 16, 64], { requiresGrad: true });    // [B,h,Tq,d]
const k = toroid.randn([2, 2, 16, 64], { requiresGrad: true });    // [B,hkv,Tk,d]: GQA
const v = toroid.randn([2, 2, 16, 64], { requiresGrad: true });
const keyPaddingMask = toroid.tensor([[...Array(12).fill(0), 1, 1, 1, 1], Array(16).fill(0)], { dtype: 'bool' });
const out = F.scaledDotProductAttention(q, k, v, { isCausal: true, keyPaddingMask });
out.mul(out).mean().backward();                                     // any scalar loss
console.log(q.grad.shape, k.grad.shape, v.grad.shape);             // [2,8,16,64] [2,2,16,64] [2,2,16,64]
for (const t of [q, k, v, keyPaddingMask, out]) t.dispose();       // or wrap the work in toroid.tidy(() => ...)
