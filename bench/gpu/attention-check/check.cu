// GPU check: tensor-core attention (precision 2 bf16 / 3 fp16) against the fp32 kernels (precision 0), plus timing.
#include <cuda_runtime.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>
#include <algorithm>
#include "backend.h"
#include "cuda/common.cuh"
using namespace toroid;
#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA %s at %d: %s\n", #x, __LINE__, cudaGetErrorString(e)); exit(2); } } while (0)
struct Case { i64 B, h, hkv, Tq, Tk, d; int causal; bool pad; int mask; double p; bool mis; float scale; };
static float* up(const std::vector<float>& x) { float* p; CK(cudaMalloc(&p, x.size() * 4 + 16)); CK(cudaMemcpy(p, x.data(), x.size() * 4, cudaMemcpyHostToDevice)); return p; }
static std::vector<float> down(const float* p, size_t n) { std::vector<float> x(n); CK(cudaMemcpy(x.data(), p, n * 4, cudaMemcpyDeviceToHost)); return x; }
static double maxabs(const std::vector<float>& x) { double m = 0; for (float e : x) if (std::isfinite(e)) m = std::max(m, double(std::fabs(e))); return m; }
static double relerr(const std::vector<float>& g, const std::vector<float>& w, double floor) {
  const double m = std::max(floor, maxabs(w)); double worst = 0;
  for (size_t i = 0; i < w.size(); i++) { if (g[i] == w[i]) continue; double r = std::fabs(double(g[i]) - w[i]) / m; if (!std::isfinite(g[i]) || !std::isfinite(w[i])) r = INFINITY; if (!(r <= worst)) worst = r; }
  return worst;
}
struct Run { std::vector<float> out, lse, dq, dk, dv; };
int main(int argc, char** argv) {
  std::vector<Case> cases = {
    {2, 4, 2, 200, 300, 64, 0, false, 0, 0.0, false, 0.125f}, {2, 4, 4, 257, 257, 128, 1, false, 0, 0.0, false, 0.088f},
    {1, 4, 1, 130, 70, 32, 2, true, 1, 0.1, false, 0.17f}, {2, 2, 2, 100, 190, 17, 1, true, 2, 0.0, true, 0.3f},
    {1, 6, 2, 333, 129, 96, 2, false, 2, 0.2, false, 0.1f}, {2, 2, 1, 64, 64, 64, 0, true, 1, 0.5, false, 0.125f},
    {1, 2, 2, 1, 500, 128, 0, false, 0, 0.0, false, 0.088f}, {1, 2, 2, 500, 1, 8, 2, false, 0, 0.0, false, 0.35f},
    {4, 8, 8, 512, 512, 64, 1, false, 0, 0.0, false, 0.125f}, {2, 8, 2, 384, 640, 128, 2, true, 0, 0.1, false, 0.088f},
  };
  std::mt19937 gen(5);
  std::normal_distribution<float> nd(0, 1); std::uniform_real_distribution<float> ud(0, 1);
  int fails = 0;
  for (size_t ci = 0; ci < cases.size(); ci++) {
    const Case& c = cases[ci];
    const i64 nq = c.B * c.h * c.Tq * c.d, nk = c.B * c.hkv * c.Tk * c.d, nl = c.B * c.h * c.Tq; const size_t off = c.mis;
    auto fill = [&](i64 n, float sd) { std::vector<float> x(n + off); for (auto& e : x) e = nd(gen) * sd; return x; };
    auto q = fill(nq, 1.5f), k = fill(nk, 1.5f), v = fill(nk, 1), dout = fill(nq, 1);
    float *dq_ = up(q), *dk_ = up(k), *dv_ = up(v), *ddo = up(dout);
    AttentionParams p{}; p.q = dq_ + off; p.k = dk_ + off; p.v = dv_ + off; p.B = c.B; p.h = c.h; p.hkv = c.hkv; p.Tq = c.Tq; p.Tk = c.Tk; p.d = c.d;
    std::vector<std::uint8_t> pad, bm; std::vector<float> fm; std::uint8_t* dpad = nullptr; void* dmask = nullptr;
    if (c.pad) { pad.resize(c.B * c.Tk); for (auto& e : pad) e = ud(gen) < 0.3f; if (c.B > 1) for (i64 j = 0; j < c.Tk; j++) pad[c.Tk + j] = 1; CK(cudaMalloc(&dpad, pad.size())); CK(cudaMemcpy(dpad, pad.data(), pad.size(), cudaMemcpyHostToDevice)); p.key_padding = dpad; }
    if (c.mask) { const i64 n = c.B * c.Tq * c.Tk; p.mask_B = c.B; p.mask_h = 1; p.mask_is_bool = c.mask == 1;
      if (c.mask == 1) { bm.resize(n); for (auto& e : bm) e = ud(gen) < 0.25f; for (i64 j = 0; j < c.Tk; j++) bm[j] = 1; CK(cudaMalloc(&dmask, n)); CK(cudaMemcpy(dmask, bm.data(), n, cudaMemcpyHostToDevice)); }
      else { fm.resize(n); for (auto& e : fm) e = ud(gen) < 0.15f ? -INFINITY : nd(gen); for (i64 j = 0; j < c.Tk; j++) fm[j] = -INFINITY; dmask = up(fm); }
      p.attn_mask = dmask; }
    p.scale = c.scale; p.causal = static_cast<Causal>(c.causal); p.dropout_p = c.p; p.rng = Rng{77 + ci, 1000 + ci};
    float *o, *l, *gq, *gk, *gv; CK(cudaMalloc(&o, (nq + 4) * 4)); CK(cudaMalloc(&l, (nl + 4) * 4)); CK(cudaMalloc(&gq, (nq + 4) * 4)); CK(cudaMalloc(&gk, (nk + 4) * 4)); CK(cudaMalloc(&gv, (nk + 4) * 4));
    float *o0 = o + off, *l0 = l + off;
    Run r[3];
    for (int prec : {0, 2, 3}) {
      cuda::set_matmul_precision(prec);
      attention_forward(p, o0, l0);
      CK(cudaDeviceSynchronize());
      Run& R = r[prec == 0 ? 0 : prec - 1];
      R.out = down(o0, nq); R.lse = down(l0, nl);
      // backward from the fp32 forward's out/lse so that all three see the same inputs
      cuda::set_matmul_precision(0); attention_forward(p, o0, l0); cuda::set_matmul_precision(prec);
      attention_backward(p, ddo + off, o0, l0, gq + off, gk + off, gv + off);
      CK(cudaDeviceSynchronize());
      R.dq = down(gq + off, nq); R.dk = down(gk + off, nk); R.dv = down(gv + off, nk);
      if (prec != 0) {  // determinism: rerun and compare bits
        attention_backward(p, ddo + off, o0, l0, gq + off, gk + off, gv + off); CK(cudaDeviceSynchronize());
        if (down(gq + off, nq) != R.dq || down(gk + off, nk) != R.dk) { printf("  nondeterministic backward\n"); fails++; }
      }
    }
    const double fq = maxabs(dout) * maxabs(v) * c.scale * maxabs(k), fk = maxabs(dout) * maxabs(v) * c.scale * maxabs(q);
    for (int pi = 1; pi <= 2; pi++) {
      const double tol = pi == 1 ? 4e-2 : 1e-2; Run& R = r[pi];
      bool ok = true; double el = 0;
      for (i64 i = 0; i < nl; i++) { if (std::isinf(r[0].lse[i]) != std::isinf(R.lse[i])) ok = false; else if (std::isfinite(R.lse[i])) el = std::max(el, std::fabs(double(R.lse[i]) - r[0].lse[i]) / std::max(1.0, std::fabs(double(r[0].lse[i])))); }
      const double eo = relerr(R.out, r[0].out, 1e-6), eq = relerr(R.dq, r[0].dq, fq), ek = relerr(R.dk, r[0].dk, fk), ev = relerr(R.dv, r[0].dv, 1e-6);
      ok = ok && eo <= tol && eq <= tol && ek <= tol && ev <= tol && el <= 2e-2;
      printf("case %zu %s B%lld h%lld/%lld Tq%lld Tk%lld d%lld c%d pad%d mask%d p%.1f mis%d: %s out %.1e lse %.1e dq %.1e dk %.1e dv %.1e\n", ci, pi == 1 ? "bf16" : "fp16",
             (long long)c.B, (long long)c.h, (long long)c.hkv, (long long)c.Tq, (long long)c.Tk, (long long)c.d, c.causal, c.pad, c.mask, c.p, c.mis, ok ? "ok" : "FAIL", eo, el, eq, ek, ev);
      fails += !ok;
    }
    cudaFree(dq_); cudaFree(dk_); cudaFree(dv_); cudaFree(ddo); cudaFree(o); cudaFree(l); cudaFree(gq); cudaFree(gk); cudaFree(gv); if (dpad) cudaFree(dpad); if (dmask) cudaFree(dmask);
  }
  printf("%d failures\n", fails);
  // timing: B=16 h=16 T=1024
  for (int d : {64, 128}) for (int causal : {0, 1}) {
    const i64 B = 16, h = 16, T = 1024, n = B * h * T * d;
    std::vector<float> x(n); for (auto& e : x) e = nd(gen);
    float *q = up(x), *k = up(x), *v = up(x), *go = up(x), *o, *l, *gq, *gk, *gv;
    CK(cudaMalloc(&o, n * 4)); CK(cudaMalloc(&l, B * h * T * 4)); CK(cudaMalloc(&gq, n * 4)); CK(cudaMalloc(&gk, n * 4)); CK(cudaMalloc(&gv, n * 4));
    AttentionParams p{}; p.q = q; p.k = k; p.v = v; p.B = B; p.h = h; p.hkv = h; p.Tq = T; p.Tk = T; p.d = d; p.scale = 1.0f / std::sqrt(float(d)); p.causal = static_cast<Causal>(causal);
    for (int prec : {0, 2}) {
      cuda::set_matmul_precision(prec);
      cudaEvent_t e0, e1, e2; cudaEventCreate(&e0); cudaEventCreate(&e1); cudaEventCreate(&e2);
      attention_forward(p, o, l); attention_backward(p, go, o, l, gq, gk, gv); CK(cudaDeviceSynchronize());
      const int it = prec == 0 ? 3 : 10; float tf = 0, tb = 0;
      for (int i = 0; i < it; i++) { cudaEventRecord(e0); attention_forward(p, o, l); cudaEventRecord(e1); attention_backward(p, go, o, l, gq, gk, gv); cudaEventRecord(e2); cudaEventSynchronize(e2); float a, b; cudaEventElapsedTime(&a, e0, e1); cudaEventElapsedTime(&b, e1, e2); tf += a; tb += b; }
      tf /= it; tb /= it;
      const double flops = 4.0 * B * h * T * T * d * (causal ? 0.5 : 1.0);
      printf("timing d%d causal%d prec%d: fwd %.3f ms (%.0f TFLOP/s) bwd %.3f ms (%.0f TFLOP/s) total %.3f ms (%.0f TFLOP/s)\n", d, causal, prec, tf, flops / tf / 1e9, tb, 2.5 * flops / tb / 1e9, tf + tb, 3.5 * flops / (tf + tb) / 1e9);
    }
    cudaFree(q); cudaFree(k); cudaFree(v); cudaFree(go); cudaFree(o); cudaFree(l); cudaFree(gq); cudaFree(gk); cudaFree(gv);
  }
  return fails != 0;
}
