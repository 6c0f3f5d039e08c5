// Fused scaled-dot-product attention on bf16 storage: the flash-style kernel of
// attention.cc (same tiles, causal skips, masks, GQA, dropout stream), with every
// product on bf16 tiles and float32 accumulation, and the online-softmax
// statistics (running max, running sum, lse) in float32.
//
// q [B,h,Tq,d], k/v [B,hkv,Tk,d] (kv heads kv_stride apart in the forward), dout/out
// [B,h,Tq,d] bf16 bits; lse [B,h,Tq] float32. out/dq/dk/dv are rounded once from
// float32 accumulators (nearest even, NaN kept).
//
// Forward, per (batch, head, run of blocks of BR queries; K and V packed once per run):
// S = Q K^T in float32, scaled and masked; P = exp(S - m) updates m and l in float32; P rounded to bf16 feeds
// acc += P V. Backward, per (batch, kv head), as FlashAttention-2: P = exp(S - lse),
// dV^T += dO^T P, dP = dO V^T, dS = P (dP - D) scale, dK^T += Q^T dS, dQ += dS K. dK and
// dV are accumulated transposed ([d][Tk]) so that P and dS only ever need their rows
// paired (a cheap interleave), never a transpose; Q^T and dO^T are packed once per head.
//
// The tile products and their operand layouts per path are in attention_bf16_tiles.h:
// AMX-BF16 tiles, AVX512-BF16 dot products, or (avx2) tiles widened to float32 through
// block_gemm.h. Chosen once per process; TOROID_BF16_ISA=amx-bf16|avx512-bf16|avx2
// forces one (an unavailable choice falls back downward), TOROID_NO_AVX512=1 forces avx2.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "backend.h"
#include "cpu/attention_bf16_tiles.h"
#include "cpu/attention_rows.h"
#include "cpu/bf16.h"
#include "cpu/philox.h"
#include "cpu/simd.h"
#include "cpu/simd512.h"

namespace toroid {

namespace {

using attn_bf16::Isa;
using attn_bf16::round_up;

constexpr i64 BR = 64;  // query rows per tile
constexpr i64 BC = 64;  // keys per tile
using namespace attention_rows;  // NOLINT: the row pieces shared with attention.cc

// exp_row and row_max (attention_rows.h) on 16 lanes, for the paths that have AVX-512.
TOROID_AVX512 static inline float exp_row512(float* x, i64 n, float sub) {
  const __m512 vsub = _mm512_set1_ps(sub);
  __m512 acc = _mm512_setzero_ps();
  for (i64 c = 0; c < n; c += 16) {
    const __mmask16 m = attn_bf16::lanes(n - c);
    const __m512 e = _mm512_maskz_mov_ps(m, simd512::exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + c), vsub)));
    _mm512_mask_storeu_ps(x + c, m, e);
    acc = _mm512_add_ps(acc, e);
  }
  return _mm512_reduce_add_ps(acc);
}

TOROID_AVX512 static inline float row_max512(const float* x, i64 n) {
  __m512 vm = _mm512_set1_ps(NEG_INF);
  for (i64 c = 0; c < n; c += 16) vm = _mm512_mask_max_ps(vm, attn_bf16::lanes(n - c), vm, _mm512_maskz_loadu_ps(attn_bf16::lanes(n - c), x + c));
  return _mm512_reduce_max_ps(vm);
}

template <class Path>
inline float path_exp_row(float* x, i64 n, float sub) {
  if constexpr (Path::wide) return exp_row512(x, n, sub);
  else return exp_row(x, n, sub);
}
template <class Path>
inline float path_row_max(const float* x, i64 n) {
  if constexpr (Path::wide) return row_max512(x, n);
  else return row_max(x, n);
}

// Each path's work runs in a function compiled for its ISA: the templates below are
// inlined into forward_<path> / backward_<path> (one thread's share of the tasks, called
// inside the parallel region), so their loops and helpers get the path's instructions
// while the rest of the addon keeps the AVX2 floor.
#define TOROID_INLINE __attribute__((always_inline)) inline

// ---- forward

struct Forward {
  const AttentionParams& p;
  const std::uint16_t *q, *k, *v;
  std::uint16_t* out;
  float* lse;
};

template <class Path>
TOROID_INLINE void forward_thread(const Forward& f) {
  using T = typename Path::T;
  constexpr i64 KA = Path::KA, MA = Path::MA, NA = Path::NA;
  const AttentionParams& p = f.p;
  const std::uint16_t *q = f.q, *k = f.k, *v = f.v;
  const i64 d = p.d, group = p.h / p.hkv, q_blocks = (p.Tq + BR - 1) / BR;
  const i64 dk = round_up(d, KA), dn = round_up(d, NA);  // d as a reduction, d as columns
  const i64 BCk = round_up(BC, KA), BCn = round_up(BC, NA);
  // a task is a run of query blocks of one head, which share the packed K and V panels;
  // runs are shortened until every thread has about 8 tasks
  const i64 run = std::clamp<i64>(p.B * p.h * q_blocks / (8 * omp_get_num_threads()), 1, std::max<i64>(q_blocks, 1));
  const i64 runs = (q_blocks + run - 1) / run, tasks = p.B * p.h * runs;
  {
    Path::begin();
    // Qa: A rows [BR][dk]; Kb: K^T panel (K = dk, N = Tkn); Vb: V panel (K = Tkn, N = dn);
    // Vblk: one block of V zero-padded past the keys a block sees (AMX pads K to 32)
    const i64 Tkn = round_up(p.Tk, BC);
    std::vector<T> Qa(BR * dk), Kb(dk * Tkn), Vb(Tkn * dn), Vblk(BCk * dn), Pa(BR * BCk);
    std::vector<float> S(BR * BCn), acc(BR * dn), m(BR), l(BR), keep(BC);
#pragma omp for schedule(dynamic, 1)
    for (i64 task = 0; task < tasks; task++) {
      const i64 bh = task / runs, qb0 = task % runs * run, qb1 = std::min(q_blocks, qb0 + run), b = bh / p.h, head = bh % p.h;
      const i64 kv = (b * p.hkv + head / group) * p.kv_stride;
      const i64 kend_run = key_end(p, qb0 * BR, std::min(qb1 * BR, p.Tq) - qb0 * BR);
      const i64 ldk = round_up(kend_run, BC);
      attn_bf16::b_cols(k + kv, d, kend_run, d, Kb.data(), ldk, dk);
      attn_bf16::b_rows(v + kv, d, kend_run, d, Vb.data(), dn, ldk);
      for (i64 qb = qb0; qb < qb1; qb++) {
        const i64 i0 = qb * BR, br = std::min(BR, p.Tq - i0), brm = round_up(br, MA);
        attn_bf16::a_rows(q + (bh * p.Tq + i0) * d, d, br, d, Qa.data(), dk, brm);
        std::fill(acc.begin(), acc.end(), 0.0f);
        std::fill(m.begin(), m.end(), NEG_INF);
        std::fill(l.begin(), l.end(), 0.0f);
        const i64 kend = key_end(p, i0, br);
        for (i64 j0 = 0; j0 < kend; j0 += BC) {
          const i64 bc = std::min(BC, kend - j0), bcn = round_up(bc, NA), bck = round_up(bc, KA);
          // columns past bc are real keys or zeros: computed, never read
          Path::gemm(brm, bcn, dk, Qa.data(), dk, attn_bf16::b_at(Kb.data(), ldk, 0, j0), ldk, S.data(), BCn, false);
          scale_and_mask(p, b, head, i0, br, j0, bc, S.data(), BCn, p.scale);
          for (i64 r = 0; r < br; r++) {
            float* s = S.data() + r * BCn;
            const float m_new = std::max(m[r], path_row_max<Path>(s, bc));
            if (m_new == NEG_INF) {  // every key so far masked: contributes nothing
              std::fill(s, s + bc, 0.0f);
              continue;
            }
            const float alpha = std::exp(m[r] - m_new);
            l[r] = l[r] * alpha + path_exp_row<Path>(s, bc, m_new);
            m[r] = m_new;
            if (alpha != 1.0f) for (i64 c = 0; c < d; c++) acc[r * dn + c] *= alpha;
            if (p.dropout_p > 0) {
              dropout_scales(p.rng, static_cast<std::uint64_t>((bh * p.Tq + i0 + r) * p.Tk + j0), bc, p.dropout_p, keep.data());
              for (i64 c = 0; c < bc; c++) s[c] *= keep[c];
            }
          }
          i64 lda = 0;
          const T* P = attn_bf16::a_tile(S.data(), BCn, br, bc, Pa.data(), bck, brm, &lda);
          // V rows past bc must be zeros, not keys this block never sees (0 * inf would be NaN)
          const T* Vj = attn_bf16::b_at(Vb.data(), dn, j0, 0);
          if (bck > bc && j0 + bc < kend_run) {
            attn_bf16::b_rows(v + kv + j0 * d, d, bc, d, Vblk.data(), dn, bck);
            Vj = Vblk.data();
          }
          Path::gemm(brm, dn, KA == 1 ? bc : bck, P, lda, Vj, dn, acc.data(), dn, true);
        }
        for (i64 r = 0; r < br; r++) {
          f.lse[bh * p.Tq + i0 + r] = l[r] > 0 ? m[r] + std::log(l[r]) : NEG_INF;
          l[r] = l[r] > 0 ? 1.0f / l[r] : 0.0f;
        }
        std::uint16_t* o = f.out + (bh * p.Tq + i0) * d;
        if constexpr (Path::wide) attn_bf16::round_rows512(acc.data(), dn, br, d, l.data(), o, d);
        else attn_bf16::round_rows(acc.data(), dn, br, d, l.data(), o, d);
      }
    }
    Path::end();
  }
}

void forward_avx2(const Forward& f) { forward_thread<attn_bf16::PathAvx2>(f); }
TOROID_AVX512BF16 void forward_avx512bf16(const Forward& f) { forward_thread<attn_bf16::PathAvx512Bf16>(f); }
TOROID_AMX void forward_amx(const Forward& f) { forward_thread<attn_bf16::PathAmx>(f); }

// ---- backward

struct Backward {
  const AttentionParams& p;
  const std::uint16_t *q, *k, *v, *dout, *out;
  const float* lse;
  std::uint16_t *dq, *dk, *dv;
};

template <class Path>
TOROID_INLINE void backward_thread(const Backward& f) {
  using T = typename Path::T;
  const AttentionParams& p = f.p;
  const std::uint16_t *q = f.q, *k = f.k, *v = f.v, *dout = f.dout, *out = f.out;
  const float* lse = f.lse;
  std::uint16_t *dq = f.dq, *dk = f.dk, *dv = f.dv;
  constexpr i64 KA = Path::KA, MA = Path::MA, NA = Path::NA;
  const i64 d = p.d, group = p.h / p.hkv, tasks = p.B * p.hkv;
  const i64 dk_ = round_up(d, KA), dn = round_up(d, NA), dm = round_up(d, MA);
  // whole tiles of queries and keys: every block's padding lies inside the buffers
  const i64 Tqp = round_up(p.Tq, BR), Tkp = round_up(p.Tk, BC);
  const i64 BCn = round_up(BC, NA), BCk = round_up(BC, KA);
  {
    Path::begin();
    // per task: K^T and V^T panels (K = dk_, N = Tkp), K as a panel (K = Tkp, N = dn), dK^T/dV^T [dm][Tkp]
    std::vector<T> KTb(dk_ * Tkp), VTb(dk_ * Tkp), Kb(Tkp * dn);
    std::vector<float> dKt(dm * Tkp), dVt(dm * Tkp);
    // per head: Q, dO as A rows [Tqp][dk_]; Q^T, dO^T as A rows [dm][Tqp]; dQ [Tqp][dn]
    std::vector<T> Qa(Tqp * dk_), dOa(Tqp * dk_), Qt(dm * Tqp), dOt(dm * Tqp);
    std::vector<float> dQ(Tqp * dn), D(p.Tq), O(d), G(d);
    // per tile
    std::vector<float> S(BR * BCn), dP(BR * BCn), Z(BR * BCn), keep(BR * BC);
    std::vector<T> Pb(BR * BCn), dSb(BR * BCn), dSa(BR * BCk);
#pragma omp for schedule(dynamic, 1)
    for (i64 task = 0; task < tasks; task++) {
      const i64 b = task / p.hkv, kvh = task % p.hkv, kv = task * p.Tk * d;
      attn_bf16::b_cols(k + kv, d, p.Tk, d, KTb.data(), Tkp, dk_);
      attn_bf16::b_cols(v + kv, d, p.Tk, d, VTb.data(), Tkp, dk_);
      attn_bf16::b_rows(k + kv, d, p.Tk, d, Kb.data(), dn, Tkp);
      std::fill(dKt.begin(), dKt.end(), 0.0f);
      std::fill(dVt.begin(), dVt.end(), 0.0f);
      for (i64 head = kvh * group; head < (kvh + 1) * group; head++) {
        const i64 bh = b * p.h + head, base = bh * p.Tq * d;
        const float* L = lse + bh * p.Tq;
        attn_bf16::a_rows(q + base, d, p.Tq, d, Qa.data(), dk_, Tqp);
        attn_bf16::a_rows(dout + base, d, p.Tq, d, dOa.data(), dk_, Tqp);
        attn_bf16::a_cols(q + base, d, p.Tq, d, Qt.data(), Tqp, dm);
        attn_bf16::a_cols(dout + base, d, p.Tq, d, dOt.data(), Tqp, dm);
        for (i64 i = 0; i < p.Tq; i++) {  // D = rowsum(dO * O)
          bf16_widen(out + base + i * d, O.data(), d);
          bf16_widen(dout + base + i * d, G.data(), d);
          float s = 0;
          for (i64 c = 0; c < d; c++) s += G[c] * O[c];
          D[i] = s;
        }
        std::fill(dQ.begin(), dQ.end(), 0.0f);
        for (i64 j0 = 0; j0 < p.Tk; j0 += BC) {
          const i64 bc = std::min(BC, p.Tk - j0), bcn = round_up(bc, NA), bck = round_up(bc, KA);
          for (i64 i0 = 0; i0 < p.Tq; i0 += BR) {
            const i64 br = std::min(BR, p.Tq - i0), brm = round_up(br, MA), brk = round_up(br, KA);
            if (key_end(p, i0, br) <= j0) continue;  // the whole tile is causally masked
            // S = Q K^T, P = exp(S - lse)
            Path::gemm(brm, bcn, dk_, Qa.data() + i0 * dk_, dk_, attn_bf16::b_at(KTb.data(), Tkp, 0, j0), Tkp, S.data(), BCn, false);
            scale_and_mask(p, b, head, i0, br, j0, bc, S.data(), BCn, p.scale);
            for (i64 r = 0; r < br; r++) {
              float* s = S.data() + r * BCn;
              if (L[i0 + r] == NEG_INF) std::fill(s, s + bc, 0.0f);
              else path_exp_row<Path>(s, bc, L[i0 + r]);
            }
            const float* Pd = S.data();  // P through dropout
            if (p.dropout_p > 0) {
              for (i64 r = 0; r < br; r++) {
                dropout_scales(p.rng, static_cast<std::uint64_t>((bh * p.Tq + i0 + r) * p.Tk + j0), bc, p.dropout_p, keep.data() + r * bc);
                for (i64 c = 0; c < bc; c++) Z[r * BCn + c] = keep[r * bc + c] * S[r * BCn + c];
              }
              Pd = Z.data();
            }
            i64 ldb = 0;
            // dV^T[:, j] += dO^T Pd
            const T* PdB = attn_bf16::b_tile(Pd, BCn, br, bc, Pb.data(), bcn, brk, &ldb);
            Path::gemm(dm, bcn, KA == 1 ? br : brk, dOt.data() + i0, Tqp, PdB, ldb, dVt.data() + j0, Tkp, true);
            // dP = dO V^T (through dropout), dS = P (dP - D) * scale
            Path::gemm(brm, bcn, dk_, dOa.data() + i0 * dk_, dk_, attn_bf16::b_at(VTb.data(), Tkp, 0, j0), Tkp, dP.data(), BCn, false);
            for (i64 r = 0; r < br; r++) {
              const float* s = S.data() + r * BCn;
              float* g = dP.data() + r * BCn;
              const float Di = D[i0 + r];
              if (p.dropout_p > 0) {
                const float* kp = keep.data() + r * bc;
                for (i64 c = 0; c < bc; c++) g[c] = s[c] * (kp[c] * g[c] - Di) * p.scale;
              } else {
                for (i64 c = 0; c < bc; c++) g[c] = s[c] * (g[c] - Di) * p.scale;
              }
            }
            // dK^T[:, j] += Q^T dS
            const T* dSB = attn_bf16::b_tile(dP.data(), BCn, br, bc, dSb.data(), bcn, brk, &ldb);
            Path::gemm(dm, bcn, KA == 1 ? br : brk, Qt.data() + i0, Tqp, dSB, ldb, dKt.data() + j0, Tkp, true);
            // dQ[i] += dS K
            i64 lda = 0;
            const T* dSA = attn_bf16::a_tile(dP.data(), BCn, br, bc, dSa.data(), bck, brm, &lda);
            Path::gemm(brm, dn, KA == 1 ? bc : bck, dSA, lda, attn_bf16::b_at(Kb.data(), dn, j0, 0), dn, dQ.data() + i0 * dn, dn, true);
          }
        }
        if constexpr (Path::wide) attn_bf16::round_rows512(dQ.data(), dn, p.Tq, d, nullptr, dq + base, d);
        else attn_bf16::round_rows(dQ.data(), dn, p.Tq, d, nullptr, dq + base, d);
      }
      if constexpr (Path::wide) {
        attn_bf16::round_cols512(dKt.data(), Tkp, p.Tk, d, dk + kv, d);
        attn_bf16::round_cols512(dVt.data(), Tkp, p.Tk, d, dv + kv, d);
      } else {
        attn_bf16::round_cols(dKt.data(), Tkp, p.Tk, d, dk + kv, d);
        attn_bf16::round_cols(dVt.data(), Tkp, p.Tk, d, dv + kv, d);
      }
    }
    Path::end();
  }
}

void backward_avx2(const Backward& f) { backward_thread<attn_bf16::PathAvx2>(f); }
TOROID_AVX512BF16 void backward_avx512bf16(const Backward& f) { backward_thread<attn_bf16::PathAvx512Bf16>(f); }
TOROID_AMX void backward_amx(const Backward& f) { backward_thread<attn_bf16::PathAmx>(f); }

}  // namespace


void attention_forward_bf16(const AttentionParams& p, const std::uint16_t* q, const std::uint16_t* k, const std::uint16_t* v,
                            std::uint16_t* out, float* lse) {
  const Forward f{p, q, k, v, out, lse};
  const Isa path = bf16_path();
#pragma omp parallel
  {
    if (path == Isa::amx) forward_amx(f);
    else if (path == Isa::avx512bf16) forward_avx512bf16(f);
    else forward_avx2(f);
  }
}

void attention_backward_bf16(const AttentionParams& p, const std::uint16_t* q, const std::uint16_t* k, const std::uint16_t* v,
                             const std::uint16_t* dout, const std::uint16_t* out, const float* lse, std::uint16_t* dq,
                             std::uint16_t* dk, std::uint16_t* dv) {
  const Backward f{p, q, k, v, dout, out, lse, dq, dk, dv};
  const Isa path = bf16_path();
#pragma omp parallel
  {
    if (path == Isa::amx) backward_amx(f);
    else if (path == Isa::avx512bf16) backward_avx512bf16(f);
    else backward_avx2(f);
  }
}

}  // namespace toroid
