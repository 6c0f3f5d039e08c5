// Fused scaled-dot-product attention, flash style, on both cores.
//
// q [B,h,Tq,d], k/v [B,hkv,Tk,d] (query head i reads kv head i / (h/hkv): GQA and
// MQA without copying k/v), out [B,h,Tq,d], lse [B,h,Tq].
//
// Forward: per (batch, head, block of BR queries), walk the keys in blocks of BC
// with an online softmax (running max m, running sum l, rescaled accumulator), so
// no Tq x Tk score matrix exists; causal blocks past the diagonal are skipped.
// Backward recomputes each score tile from the saved lse (P = exp(S - lse)) and
// takes D = rowsum(dO * O) from the saved output, as FlashAttention-2 does.
// It runs one task per (batch, kv head) so dk/dv accumulate without atomics.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend.h"
#include "cpu/attention_rows.h"
#include "cpu/block_gemm.h"
#include "cpu/philox.h"
#include "cpu/simd.h"

namespace toroid {

namespace {

constexpr i64 BR = 64;  // query rows per tile
constexpr i64 BC = 64;  // keys per tile
using namespace attention_rows;  // NOLINT: the row pieces shared with attention_bf16.cc

inline float dot(const float* a, const float* b, i64 n) {
  float s = 0;
  for (i64 c = 0; c < n; c++) s += a[c] * b[c];
  return s;
}

}  // namespace

namespace {

// One query row per (batch, head): a decoding step. Scores are dot products with the key rows
// and the output a weighted sum of the value rows, with no tiles to transpose and fill (the
// tiled path spent most of a step's attention on that). Same masks and statistics.
void attention_forward_one_row(const AttentionParams& p, float* out, float* lse) {
  const i64 d = p.d, group = p.h / p.hkv, tasks = p.B * p.h;
  const i64 kend = key_end(p, 0, 1);
#pragma omp parallel if (tasks * std::max<i64>(kend, 1) * d >= (1 << 15) && !omp_in_parallel())
  {
    std::vector<float> s(std::max<i64>(kend, 1)), q(d), acc(d);
#pragma omp for schedule(static)
    for (i64 bh = 0; bh < tasks; bh++) {
      const i64 b = bh / p.h, head = bh % p.h;
      const float* Q = p.q + bh * d;
      for (i64 c = 0; c < d; c++) q[c] = Q[c] * p.scale;
      const i64 kv = (b * p.hkv + head / group) * p.kv_stride;
      const float* K = p.k + kv;
      const float* V = p.v + kv;
      for (i64 j = 0; j < kend; j++) s[j] = dot(q.data(), K + j * d, d);
      scale_and_mask(p, b, head, 0, 1, 0, kend, s.data(), kend, 1.0f);
      float* o = out + bh * d;
      const float m = kend > 0 ? row_max(s.data(), kend) : NEG_INF;
      if (m == NEG_INF) {  // every key masked: zeros, as the tiled path
        for (i64 c = 0; c < d; c++) o[c] = 0.0f;
        lse[bh] = NEG_INF;
        continue;
      }
      const float l = exp_row(s.data(), kend, m);
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (i64 j = 0; j < kend; j++) {
        const float w = s[j];
        const float* vr = V + j * d;
        for (i64 c = 0; c < d; c++) acc[c] += w * vr[c];
      }
      const float inv = 1.0f / l;
      for (i64 c = 0; c < d; c++) o[c] = acc[c] * inv;
      lse[bh] = m + std::log(l);
    }
  }
}

}  // namespace

void attention_forward(const AttentionParams& p, float* out, float* lse) {
  if (p.Tq == 1 && p.dropout_p == 0) {
    attention_forward_one_row(p, out, lse);
    return;
  }
  const i64 d = p.d, group = p.h / p.hkv, q_blocks = (p.Tq + BR - 1) / BR;
  const i64 tasks = p.B * p.h * q_blocks;
#pragma omp parallel
  {
    std::vector<float> Qs(BR * d), Kt(d * BC), S(BR * BC), acc(BR * d), m(BR), l(BR), keep(BC);
#pragma omp for schedule(dynamic, 1)
    for (i64 task = 0; task < tasks; task++) {
      const i64 qb = task % q_blocks, bh = task / q_blocks, b = bh / p.h, head = bh % p.h;
      const i64 i0 = qb * BR, br = std::min(BR, p.Tq - i0);
      // the scale folds into q once instead of into every score tile
      const float* Qsrc = p.q + (bh * p.Tq + i0) * d;
      for (i64 e = 0; e < br * d; e++) Qs[e] = Qsrc[e] * p.scale;
      const float* Q = Qs.data();
      const i64 kv = (b * p.hkv + head / group) * p.kv_stride;
      const float* K = p.k + kv;
      const float* V = p.v + kv;
      // only the tile's rows: a decoding step has br = 1, and clearing all BR rows was most of its work
      std::fill(acc.begin(), acc.begin() + br * d, 0.0f);
      std::fill(m.begin(), m.begin() + br, NEG_INF);
      std::fill(l.begin(), l.begin() + br, 0.0f);
      const i64 kend = key_end(p, i0, br);
      for (i64 j0 = 0; j0 < kend; j0 += BC) {
        const i64 bc = std::min(BC, kend - j0);
        // row r of the tile needs keys below visible(r) only (causal)
        const auto visible = [&](i64 r) { return std::clamp<i64>(last_key(p, i0 + r) + 1 - j0, 0, bc); };
        cpu::transpose_block(bc, d, K + j0 * d, d, Kt.data(), bc);
        cpu::block_gemm_limited(br, bc, d, Q, d, Kt.data(), bc, S.data(), bc, false, visible, [d](i64) { return d; });
        scale_and_mask(p, b, head, i0, br, j0, bc, S.data(), bc, 1.0f);
        for (i64 r = 0; r < br; r++) {
          float* s = S.data() + r * bc;
          const float m_new = std::max(m[r], row_max(s, bc));
          if (m_new == NEG_INF) {  // every key so far masked: contributes nothing
            std::fill(s, s + bc, 0.0f);
            continue;
          }
          const float alpha = std::exp(m[r] - m_new);
          l[r] = l[r] * alpha + exp_row(s, bc, m_new);
          m[r] = m_new;
          if (alpha != 1.0f) for (i64 c = 0; c < d; c++) acc[r * d + c] *= alpha;
          if (p.dropout_p > 0) {
            dropout_scales(p.rng, static_cast<std::uint64_t>((bh * p.Tq + i0 + r) * p.Tk + j0), bc, p.dropout_p, keep.data());
            for (i64 c = 0; c < bc; c++) s[c] *= keep[c];
          }
        }
        cpu::block_gemm_limited(br, d, bc, S.data(), bc, V + j0 * d, d, acc.data(), d, true, [d](i64) { return d; }, visible);
      }
      for (i64 r = 0; r < br; r++) {
        float* o = out + (bh * p.Tq + i0 + r) * d;
        const float inv = l[r] > 0 ? 1.0f / l[r] : 0.0f;
        for (i64 c = 0; c < d; c++) o[c] = acc[r * d + c] * inv;
        lse[bh * p.Tq + i0 + r] = l[r] > 0 ? m[r] + std::log(l[r]) : NEG_INF;
      }
    }
  }
}

void attention_backward(const AttentionParams& p, const float* dout, const float* out, const float* lse,
                        float* dq, float* dk, float* dv) {
  const i64 d = p.d, group = p.h / p.hkv, tasks = p.B * p.hkv;
#pragma omp parallel
  {
    std::vector<float> Qs, Kt(d * BC), Vt(d * BC), S(BR * BC), dP(BR * BC), D(p.Tq), keep(BR * BC), Z(BR * BC);
#pragma omp for schedule(dynamic, 1)
    for (i64 task = 0; task < tasks; task++) {
      const i64 b = task / p.hkv, kvh = task % p.hkv, kv = task * p.Tk * d;
      const float* K = p.k + kv;
      const float* V = p.v + kv;
      for (i64 head = kvh * group; head < (kvh + 1) * group; head++) {
        const i64 bh = b * p.h + head, base = bh * p.Tq * d;
        const float *Q = p.q + base, *dO = dout + base, *O = out + base, *L = lse + bh * p.Tq;
        float* dQ = dq + base;
        for (i64 i = 0; i < p.Tq; i++) D[i] = dot(dO + i * d, O + i * d, d);
        Qs.resize(p.Tq * d);
        for (i64 e = 0; e < p.Tq * d; e++) Qs[e] = Q[e] * p.scale;
        for (i64 j0 = 0; j0 < p.Tk; j0 += BC) {
          const i64 bc = std::min(BC, p.Tk - j0);
          cpu::transpose_block(bc, d, K + j0 * d, d, Kt.data(), bc);
          cpu::transpose_block(bc, d, V + j0 * d, d, Vt.data(), bc);
          float* dK = dk + kv + j0 * d;
          float* dV = dv + kv + j0 * d;
          for (i64 i0 = 0; i0 < p.Tq; i0 += BR) {
            const i64 br = std::min(BR, p.Tq - i0);
            if (key_end(p, i0, br) <= j0) continue;  // the whole tile is causally masked
            const auto visible = [&](i64 r) { return std::clamp<i64>(last_key(p, i0 + r) + 1 - j0, 0, bc); };
            cpu::block_gemm_limited(br, bc, d, Qs.data() + i0 * d, d, Kt.data(), bc, S.data(), bc, false, visible, [d](i64) { return d; });
            scale_and_mask(p, b, head, i0, br, j0, bc, S.data(), bc, 1.0f);
            for (i64 r = 0; r < br; r++) {  // P = exp(S - lse)
              float* s = S.data() + r * bc;
              if (L[i0 + r] == NEG_INF) std::fill(s, s + bc, 0.0f);
              else exp_row(s, bc, L[i0 + r]);
            }
            const float* Pd = S.data();  // P through dropout
            if (p.dropout_p > 0) {
              for (i64 r = 0; r < br; r++) {
                dropout_scales(p.rng, static_cast<std::uint64_t>((bh * p.Tq + i0 + r) * p.Tk + j0), bc, p.dropout_p, keep.data() + r * bc);
                for (i64 c = 0; c < bc; c++) Z[r * bc + c] = keep[r * bc + c] * S[r * bc + c];
              }
              Pd = Z.data();
            }
            // dV[j] += sum_i Pd[i,j] dO[i]
            cpu::block_gemm_tn(bc, d, br, Pd, bc, dO + i0 * d, d, dV, d, true);
            // dP = dO V^T (through dropout), dS = P (dP - D) * scale
            cpu::block_gemm(br, bc, d, dO + i0 * d, d, Vt.data(), bc, dP.data(), bc, false);
            for (i64 r = 0; r < br; r++) {
              const float* s = S.data() + r * bc;
              float* g = dP.data() + r * bc;
              const float Di = D[i0 + r];
              if (p.dropout_p > 0) {
                const float* kp = keep.data() + r * bc;
                for (i64 c = 0; c < bc; c++) g[c] = s[c] * (kp[c] * g[c] - Di) * p.scale;
              } else {
                for (i64 c = 0; c < bc; c++) g[c] = s[c] * (g[c] - Di) * p.scale;
              }
            }
            // dQ[i] += dS K, dK[j] += dS^T Q
            cpu::block_gemm(br, d, bc, dP.data(), bc, K + j0 * d, d, dQ + i0 * d, d, true);
            cpu::block_gemm_tn(bc, d, br, dP.data(), bc, Q + i0 * d, d, dK, d, true);
          }
        }
      }
    }
  }
}

}  // namespace toroid
