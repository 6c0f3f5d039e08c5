// Standalone check of native/cpu/attention_bf16.cc, forward and backward, on the path
// TOROID_BF16_ISA picks (run.sh runs all three), against a double-precision reference
// computed from the same bf16-rounded inputs. Shapes: Tq, Tk in {1, 63, 64, 65, 130} x
// d in {1, 8, 64, 80, 128} x every causal mode, with key padding, bool and float masks
// (broadcast over batch or heads, -inf entries), GQA/MQA, KV-cache strides, dropout
// p = 0.3, sharp softmaxes; then fully masked rows, and dropout's kept pattern against
// the float32 kernel.
//
// Tolerances, from bf16's unit roundoff u = 2^-8 (|round(x) - x| <= u |x|). The kernel
// rounds three kinds of value: each output once (u |ref|), P before P V and dO^T P
// (u P), dS before dS K and Q^T dS (u |dS|). Everything else is float32 (errors near
// 2^-24 per operation, d * 2^-24 per product). So per element, with a factor 2 over the
// first-order bound on the rounded operands:
//   out[i,c]  u (2 sum_j p_ij keep_ij |v_jc| + |ref|)            (p = softmax weights)
//   dV[j,c]   u (2 sum_i |Pd_ij| |dO_ic| + |ref|)                (Pd = P through dropout)
//   dQ[i,c]   u (2 sum_j M_ij |k_jc| + |ref|)
//   dK[j,c]   u (2 sum_i M_ij |q_ic| + |ref|)
// where M_ij = P_ij |scale| (keep_ij |dP_ij| + |D_i|) >= |dS_ij| bounds dS's rounding,
// plus 2^-16 P_ij |scale| (keep_ij sum_c |dO_ic v_jc| + sum_c |dO_ic O_ic|) for the
// float32 error of dP and D (d * 2^-24 <= 2^-17 for d <= 128). lse is float32 only:
// 2^-16 (1 + |lse| + |scale| max_j sum_c |q_ic k_jc|). GQA sums the bounds over a group.
// Fully masked rows must give exactly 0 and lse -inf; nothing may be NaN.
//   bench/attention_bf16/run.sh check
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backend.h"
#include "cpu/bf16.h"
#include "cpu/philox.h"

using namespace toroid;

namespace {

const double U = std::ldexp(1.0, -8);
const double NINF = -std::numeric_limits<double>::infinity();

struct Case {
  i64 B, h, hkv, Tq, Tk, d, Tk_buffer;
  Causal causal;
  bool padding;
  int mask;  // 0 none, 1 bool, 2 float
  i64 mask_B, mask_h;
  double dropout;
  float scale;
  std::string note;
};

struct Inputs {
  std::vector<std::uint16_t> q, k, v, dout;  // k, v: [B,hkv,Tk_buffer,d]
  std::vector<std::uint8_t> pad, bmask;
  std::vector<float> fmask;
};

struct Worst {
  double ratio = 0;
  std::string where;
  void see(double err, double tol, const std::string& w) {
    const double r = err / tol;
    if (!(r <= ratio)) { ratio = std::isnan(r) ? INFINITY : r; where = w; }
  }
};

long failures = 0;
Worst worst_out, worst_lse, worst_dq, worst_dk, worst_dv;

void fail(const std::string& msg) {
  if (failures++ < 20) std::printf("FAIL %s\n", msg.c_str());
}

std::string describe(const Case& c) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "B=%lld h=%lld hkv=%lld Tq=%lld Tk=%lld d=%lld causal=%d pad=%d mask=%d[%lld,%lld] p=%.1f kvbuf=%lld %s",
                (long long)c.B, (long long)c.h, (long long)c.hkv, (long long)c.Tq, (long long)c.Tk, (long long)c.d, (int)c.causal,
                c.padding, c.mask, (long long)c.mask_B, (long long)c.mask_h, c.dropout, (long long)c.Tk_buffer, c.note.c_str());
  return buf;
}

AttentionParams params(const Case& c, const Inputs& in, bool forward) {
  AttentionParams p{};
  p.B = c.B; p.h = c.h; p.hkv = c.hkv; p.Tq = c.Tq; p.Tk = c.Tk; p.d = c.d;
  p.kv_stride = (forward ? c.Tk_buffer : c.Tk) * c.d;
  p.key_padding = c.padding ? in.pad.data() : nullptr;
  p.attn_mask = c.mask == 1 ? static_cast<const void*>(in.bmask.data()) : c.mask == 2 ? static_cast<const void*>(in.fmask.data()) : nullptr;
  p.mask_is_bool = c.mask == 1;
  p.mask_B = c.mask_B; p.mask_h = c.mask_h;
  p.scale = c.scale;
  p.causal = c.causal;
  p.dropout_p = c.dropout;
  p.rng = {0x1234abcdULL + static_cast<std::uint64_t>(c.Tq * 131 + c.Tk), 977};
  return p;
}

// The additive term of score (b, head, i, j): -inf where masked, else the float mask or 0.
double mask_term(const Case& c, const Inputs& in, i64 b, i64 head, i64 i, i64 j) {
  i64 last = c.Tk - 1;
  if (c.causal == Causal::top_left) last = std::min(i, c.Tk - 1);
  if (c.causal == Causal::bottom_right) last = std::min(i + c.Tk - c.Tq, c.Tk - 1);
  if (j > last) return NINF;
  if (c.padding && in.pad[b * c.Tk + j]) return NINF;
  if (c.mask != 0) {
    const i64 e = (((c.mask_B == 1 ? 0 : b) * c.mask_h + (c.mask_h == 1 ? 0 : head)) * c.Tq + i) * c.Tk + j;
    if (c.mask == 1) return in.bmask[e] ? NINF : 0.0;
    return in.fmask[e];
  }
  return 0.0;
}

// Keep-scale of dropout element (bh, i, j): the stream the float32 kernel reads.
std::vector<float> keep_row(const AttentionParams& p, i64 bh, i64 i) {
  std::vector<float> keep(p.Tk, 1.0f);
  if (p.dropout_p > 0) dropout_scales(p.rng, static_cast<std::uint64_t>((bh * p.Tq + i) * p.Tk), p.Tk, p.dropout_p, keep.data());
  return keep;
}

double w(std::uint16_t b) { return bf16_to_f32(b); }

void run_case(const Case& c, std::mt19937& gen) {
  std::normal_distribution<float> nd;
  std::uniform_real_distribution<float> ud;
  const i64 B = c.B, h = c.h, hkv = c.hkv, Tq = c.Tq, Tk = c.Tk, d = c.d, group = h / hkv;
  Inputs in;
  in.q.resize(B * h * Tq * d);
  in.dout.resize(B * h * Tq * d);
  in.k.resize(B * hkv * c.Tk_buffer * d);
  in.v.resize(B * hkv * c.Tk_buffer * d);
  for (auto& x : in.q) x = f32_to_bf16(nd(gen));
  for (auto& x : in.dout) x = f32_to_bf16(nd(gen));
  for (auto& x : in.k) x = f32_to_bf16(nd(gen));
  for (auto& x : in.v) x = f32_to_bf16(nd(gen));
  in.pad.assign(B * Tk, 0);
  if (c.padding) for (auto& x : in.pad) x = ud(gen) < 0.25f;
  const i64 msize = c.mask_B * c.mask_h * Tq * Tk;
  if (c.mask == 1) { in.bmask.resize(msize); for (auto& x : in.bmask) x = ud(gen) < 0.2f; }
  if (c.mask == 2) {
    in.fmask.resize(msize);
    for (auto& x : in.fmask) x = ud(gen) < 0.1f ? -INFINITY : 2.0f * nd(gen);
  }
  if (c.note == "all-masked") {
    // batch 1: every key padded; batch 0 head 0 row 0 and the last row: every key masked (bool)
    for (i64 j = 0; j < Tk; j++) in.pad[1 * Tk + j] = 1;
    for (i64 j = 0; j < Tk; j++) { in.bmask[j] = 1; in.bmask[(Tq - 1) * Tk + j] = 1; }
  }

  const AttentionParams pf = params(c, in, true), pb = params(c, in, false);
  std::vector<std::uint16_t> out(B * h * Tq * d, 0xdead);
  std::vector<float> lse(B * h * Tq, 7.0f);
  attention_forward_bf16(pf, in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data());
  // the backward reads k/v with Tk rows per head: compact them when the forward read a KV buffer
  std::vector<std::uint16_t> kc(B * hkv * Tk * d), vc(B * hkv * Tk * d);
  for (i64 n = 0; n < B * hkv; n++)
    for (i64 e = 0; e < Tk * d; e++) { kc[n * Tk * d + e] = in.k[n * c.Tk_buffer * d + e]; vc[n * Tk * d + e] = in.v[n * c.Tk_buffer * d + e]; }
  std::vector<std::uint16_t> dq(B * h * Tq * d, 0xdead), dk(B * hkv * Tk * d, 0xdead), dv(B * hkv * Tk * d, 0xdead);
  attention_backward_bf16(pb, in.q.data(), kc.data(), vc.data(), in.dout.data(), out.data(), lse.data(), dq.data(), dk.data(), dv.data());

  const std::string name = describe(c);
  std::vector<double> rdk(B * hkv * Tk * d, 0), rdv(rdk.size(), 0), tdk(rdk.size(), 0), tdv(rdk.size(), 0);
  std::vector<double> P(Tk), Pd(Tk), M(Tk), rdq(d), tdq(d), ro(d), to(d);
  const double sc = c.scale;
  for (i64 b = 0; b < B; b++) for (i64 head = 0; head < h; head++) {
    const i64 bh = b * h + head, kvh = b * hkv + head / group;
    const std::uint16_t* K = kc.data() + kvh * Tk * d;
    const std::uint16_t* V = vc.data() + kvh * Tk * d;
    for (i64 i = 0; i < Tq; i++) {
      const std::uint16_t* Q = in.q.data() + (bh * Tq + i) * d;
      const std::uint16_t* dO = in.dout.data() + (bh * Tq + i) * d;
      const std::uint16_t* O = out.data() + (bh * Tq + i) * d;
      const std::vector<float> keep = keep_row(pf, bh, i);
      double m = NINF, qk_mag = 0;
      for (i64 j = 0; j < Tk; j++) {
        double s = 0, mag = 0;
        for (i64 e = 0; e < d; e++) { s += w(Q[e]) * w(K[j * d + e]); mag += std::fabs(w(Q[e]) * w(K[j * d + e])); }
        qk_mag = std::max(qk_mag, mag);
        P[j] = s * sc + mask_term(c, in, b, head, i, j);
        m = std::max(m, P[j]);
      }
      const std::string at = name + " b=" + std::to_string(b) + " head=" + std::to_string(head) + " i=" + std::to_string(i);
      const float got_lse = lse[bh * Tq + i];
      if (m == NINF) {  // fully masked row: zeros, lse -inf, no gradient
        if (got_lse != -INFINITY) fail("lse of a fully masked row is " + std::to_string(got_lse) + ": " + at);
        for (i64 e = 0; e < d; e++) {
          if (out[(bh * Tq + i) * d + e] != 0) fail("out of a fully masked row is not 0: " + at);
          if (dq[(bh * Tq + i) * d + e] != 0) fail("dq of a fully masked row is not 0: " + at);
        }
        continue;
      }
      double l = 0;
      for (i64 j = 0; j < Tk; j++) { P[j] = std::exp(P[j] - m); l += P[j]; }
      for (i64 j = 0; j < Tk; j++) { P[j] /= l; Pd[j] = P[j] * keep[j]; }
      const double ref_lse = m + std::log(l);
      const double tol_lse = std::ldexp(1.0, -16) * (1 + std::fabs(ref_lse) + std::fabs(sc) * qk_mag);
      worst_lse.see(std::fabs(got_lse - ref_lse), tol_lse, at);
      if (!(std::fabs(got_lse - ref_lse) <= tol_lse)) fail("lse " + std::to_string(got_lse) + " vs " + std::to_string(ref_lse) + ": " + at);
      // forward
      double Di = 0, DO_mag = 0;
      for (i64 e = 0; e < d; e++) {
        double s = 0, mag = 0;
        for (i64 j = 0; j < Tk; j++) { s += Pd[j] * w(V[j * d + e]); mag += std::fabs(Pd[j] * w(V[j * d + e])); }
        const double tol = U * (2 * mag + std::fabs(s)) + 1e-30;
        const double got = w(O[e]);
        worst_out.see(std::fabs(got - s), tol, at);
        if (!(std::fabs(got - s) <= tol)) fail("out[" + std::to_string(e) + "] " + std::to_string(got) + " vs " + std::to_string(s) + ": " + at);
        Di += w(dO[e]) * got;
        DO_mag += std::fabs(w(dO[e]) * got);
      }
      // backward of row i
      for (i64 j = 0; j < Tk; j++) {
        double dP = 0, dP_mag = 0;
        for (i64 e = 0; e < d; e++) { dP += w(dO[e]) * w(V[j * d + e]); dP_mag += std::fabs(w(dO[e]) * w(V[j * d + e])); }
        const double dS = P[j] * (keep[j] * dP - Di) * sc;
        M[j] = P[j] * std::fabs(sc) * (keep[j] * std::fabs(dP) + std::fabs(Di)) +
               std::ldexp(1.0, -16) * P[j] * std::fabs(sc) * (keep[j] * dP_mag + DO_mag);
        for (i64 e = 0; e < d; e++) {
          rdv[(kvh * Tk + j) * d + e] += Pd[j] * w(dO[e]);
          tdv[(kvh * Tk + j) * d + e] += 2 * U * std::fabs(Pd[j] * w(dO[e]));
          rdk[(kvh * Tk + j) * d + e] += dS * w(Q[e]);
          tdk[(kvh * Tk + j) * d + e] += 2 * U * M[j] * std::fabs(w(Q[e]));
        }
        P[j] = dS;  // keep dS for dq below
      }
      for (i64 e = 0; e < d; e++) {
        double s = 0, t = 0;
        for (i64 j = 0; j < Tk; j++) { s += P[j] * w(K[j * d + e]); t += 2 * U * M[j] * std::fabs(w(K[j * d + e])); }
        t += U * std::fabs(s) + 1e-30;
        const double got = w(dq[(bh * Tq + i) * d + e]);
        worst_dq.see(std::fabs(got - s), t, at);
        if (!(std::fabs(got - s) <= t)) fail("dq[" + std::to_string(e) + "] " + std::to_string(got) + " vs " + std::to_string(s) + ": " + at);
      }
    }
  }
  for (std::size_t e = 0; e < rdk.size(); e++) {
    const std::string at = name + " dk/dv element " + std::to_string(e);
    const double tk = tdk[e] + U * std::fabs(rdk[e]) + 1e-30, tv = tdv[e] + U * std::fabs(rdv[e]) + 1e-30;
    const double gk = w(dk[e]), gv = w(dv[e]);
    worst_dk.see(std::fabs(gk - rdk[e]), tk, at);
    worst_dv.see(std::fabs(gv - rdv[e]), tv, at);
    if (!(std::fabs(gk - rdk[e]) <= tk)) fail("dk " + std::to_string(gk) + " vs " + std::to_string(rdk[e]) + ": " + at);
    if (!(std::fabs(gv - rdv[e]) <= tv)) fail("dv " + std::to_string(gv) + " vs " + std::to_string(rdv[e]) + ": " + at);
  }
}

// Dropout's kept pattern, bf16 kernel against the float32 kernel: with q = 0 (uniform
// weights) and v = the identity, out[i,c] = keep[i,c] / Tk, so the zeros of out are
// exactly the dropped elements; with dout = the identity, dv[j,c] = keep[c,j] / Tk.
void check_pattern(Causal causal) {
  const i64 B = 2, h = 2, T = 64, d = 64;
  std::vector<std::uint16_t> q(B * h * T * d, 0), kv(B * h * T * d, 0), v(B * h * T * d, 0), dO(B * h * T * d, 0);
  std::vector<float> qf(q.size(), 0), kf(q.size(), 0), vf(q.size(), 0), dOf(q.size(), 0);
  for (i64 n = 0; n < B * h; n++)
    for (i64 i = 0; i < T; i++) {
      v[(n * T + i) * d + i] = dO[(n * T + i) * d + i] = f32_to_bf16(1.0f);
      vf[(n * T + i) * d + i] = dOf[(n * T + i) * d + i] = 1.0f;
    }
  AttentionParams p{};
  p.B = B; p.h = h; p.hkv = h; p.Tq = T; p.Tk = T; p.d = d; p.kv_stride = T * d;
  p.scale = 0.125f; p.causal = causal; p.dropout_p = 0.3; p.rng = {42, 7};
  std::vector<std::uint16_t> out(q.size()), dq(q.size()), dk(q.size()), dv(q.size());
  std::vector<float> lse(B * h * T), outf(q.size()), lsef(lse.size()), dqf(q.size()), dkf(q.size()), dvf(q.size());
  attention_forward_bf16(p, q.data(), kv.data(), v.data(), out.data(), lse.data());
  attention_backward_bf16(p, q.data(), kv.data(), v.data(), dO.data(), out.data(), lse.data(), dq.data(), dk.data(), dv.data());
  p.q = qf.data(); p.k = kf.data(); p.v = vf.data();
  attention_forward(p, outf.data(), lsef.data());
  attention_backward(p, dOf.data(), outf.data(), lsef.data(), dqf.data(), dkf.data(), dvf.data());
  long kept = 0, diff = 0;
  for (std::size_t e = 0; e < out.size(); e++) {
    kept += out[e] != 0;
    diff += (out[e] != 0) != (outf[e] != 0);
    diff += (dv[e] != 0) != (dvf[e] != 0);
  }
  std::printf("  dropout pattern (causal %d): %ld of %zu kept, %ld differences from the float32 kernel (out and dv)\n", (int)causal,
              kept, out.size(), diff);
  if (diff != 0 || kept == 0 || kept == static_cast<long>(out.size())) fail("dropout pattern differs from the float32 kernel");
}

}  // namespace

int main() {
  std::mt19937 gen(11);
  const i64 Ts[] = {1, 63, 64, 65, 130}, ds[] = {1, 8, 64, 80, 128};
  const i64 heads[][2] = {{2, 2}, {4, 2}, {3, 1}};
  long cases = 0, idx = 0;
  for (i64 Tq : Ts) for (i64 Tk : Ts) for (i64 d : ds) for (int causal = 0; causal < 3; causal++, idx++) {
    Case c{};
    c.B = 2;
    c.h = heads[idx % 3][0];
    c.hkv = heads[idx % 3][1];
    c.Tq = Tq; c.Tk = Tk; c.d = d;
    c.Tk_buffer = idx % 5 == 0 ? Tk + 7 : Tk;
    c.causal = static_cast<Causal>(causal);
    c.padding = idx % 2 == 1;
    c.mask = static_cast<int>((idx / 2) % 3);
    c.mask_B = (idx / 6) % 2 ? c.B : 1;
    c.mask_h = (idx / 12) % 2 ? c.h : 1;
    c.dropout = idx % 4 == 3 ? 0.3 : 0.0;
    c.scale = static_cast<float>((idx % 7 == 0 ? 4.0 : 1.0) / std::sqrt(static_cast<double>(d)));
    run_case(c, gen);
    cases++;
  }
  // fully masked rows: padding, bool mask, and bottom-right causal with Tq > Tk
  for (int causal = 0; causal < 3; causal++) {
    Case c{2, 2, 1, 65, 63, 64, 63, static_cast<Causal>(causal), true, 1, 1, 1, causal == 1 ? 0.3 : 0.0, 0.125f, "all-masked"};
    run_case(c, gen);
    cases++;
  }
  {
    Case c{2, 4, 4, 130, 64, 80, 64, Causal::bottom_right, false, 0, 1, 1, 0.0, 0.11f, "Tq>Tk"};
    run_case(c, gen);
    cases++;
  }
  // enough heads that a forward task runs several query blocks over one packing of K and V
  // (with 2 threads); bottom-right with Tq = 2 Tk gives blocks that see part of a key tile
  for (int causal = 0; causal < 3; causal++) {
    Case c{4, 4, 2, 130, 65, 64, 71, static_cast<Causal>(causal), true, 2, 1, 4, causal == 2 ? 0.3 : 0.0, 0.125f, "runs"};
    run_case(c, gen);
    cases++;
  }
  std::printf("%s: %ld cases\n", bf16_isa(), cases);
  check_pattern(Causal::none);
  check_pattern(Causal::top_left);
  std::printf("  worst error / tolerance: out %.3f, lse %.3f, dq %.3f, dk %.3f, dv %.3f\n", worst_out.ratio, worst_lse.ratio,
              worst_dq.ratio, worst_dk.ratio, worst_dv.ratio);
  std::printf("  (worst out at %s)\n", worst_out.where.c_str());
  std::printf("  %ld failures\n", failures);
  return failures == 0 ? 0 : 1;
}
