// ms per call of the bf16 attention (the path TOROID_BF16_ISA picks) and of the float32
// kernel on the same inputs: B=32 h=8 T=256 d=64, forward and forward + backward, causal
// and not. The median of 5 timed calls after one warm-up.
//   bench/attention_bf16/run.sh
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "backend.h"
#include "cpu/bf16.h"

using namespace toroid;

template <class F>
double median_ms(F f) {
  f();
  std::vector<double> t;
  for (int r = 0; r < 5; r++) {
    const auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[2];
}

int main(int argc, char** argv) {
  const i64 B = 32, h = 8, T = 256, d = 64, n = B * h * T * d;
  std::mt19937 gen(3);
  std::normal_distribution<float> nd;
  std::vector<std::uint16_t> q(n), k(n), v(n), g(n), out(n), dq(n), dk(n), dv(n);
  std::vector<float> qf(n), kf(n), vf(n), gf(n), outf(n), dqf(n), dkf(n), dvf(n), lse(B * h * T), lsef(B * h * T);
  for (i64 e = 0; e < n; e++) {
    q[e] = f32_to_bf16(nd(gen)); k[e] = f32_to_bf16(nd(gen)); v[e] = f32_to_bf16(nd(gen)); g[e] = f32_to_bf16(nd(gen));
    qf[e] = bf16_to_f32(q[e]); kf[e] = bf16_to_f32(k[e]); vf[e] = bf16_to_f32(v[e]); gf[e] = bf16_to_f32(g[e]);
  }
  // the float32 rows once (with the first path run.sh times), and not with "bf16" (profiling)
  const bool f32 = std::string(bf16_isa()) == "amx-bf16" && !(argc > 1 && std::string(argv[1]) == "bf16");
  for (Causal causal : {Causal::none, Causal::top_left}) {
    AttentionParams p{};
    p.q = qf.data(); p.k = kf.data(); p.v = vf.data();
    p.B = B; p.h = h; p.hkv = h; p.Tq = T; p.Tk = T; p.d = d; p.kv_stride = T * d;
    p.scale = 0.125f; p.causal = causal;
    const char* c = causal == Causal::none ? "none" : "causal";
    const double fb = median_ms([&] { attention_forward_bf16(p, q.data(), k.data(), v.data(), out.data(), lse.data()); });
    const double bb = median_ms([&] {
      attention_forward_bf16(p, q.data(), k.data(), v.data(), out.data(), lse.data());
      attention_backward_bf16(p, q.data(), k.data(), v.data(), g.data(), out.data(), lse.data(), dq.data(), dk.data(), dv.data());
    });
    std::printf("bf16 %-11s %-6s fwd %7.1f ms  fwd+bwd %7.1f ms\n", bf16_isa(), c, fb, bb);
    if (f32) {
      const double ff = median_ms([&] { attention_forward(p, outf.data(), lsef.data()); });
      const double fbw = median_ms([&] {
        attention_forward(p, outf.data(), lsef.data());
        attention_backward(p, gf.data(), outf.data(), lsef.data(), dqf.data(), dkf.data(), dvf.data());
      });
      std::printf("float32 kernel   %-6s fwd %7.1f ms  fwd+bwd %7.1f ms\n", c, ff, fbw);
    }
  }
  return 0;
}
