// oneDNN 2.6.3's matmul primitive (Debian libdnnl2): bf16 in, float32 or bf16 out, and float32.
// The primitive for each case is created once and cached, as a framework would; transposes are
// the "ba" layout of the plain buffer (what toroid would hand it), weights included.
#include <dnnl.hpp>
#include <map>
#include <tuple>

#include "harness.h"

using namespace dnnl;
using dt = memory::data_type;

namespace {
engine eng(engine::kind::cpu, 0);
stream strm(eng);
struct Prim {
  matmul mm;
  memory a, b, c;
};
std::map<std::tuple<long, long, long, int, std::string>, Prim> cache;
}  // namespace

void run(const Case& c, const std::string& mode, Buffers& buf) {
  auto key = std::make_tuple(c.M, c.N, c.K, c.ta * 2 + c.tb, mode);
  auto it = cache.find(key);
  if (it == cache.end()) {
    const dt in = mode == "f32" ? dt::f32 : dt::bf16, out = mode == "bf16" ? dt::bf16 : dt::f32;
    memory::desc a_md({c.M, c.K}, in, c.ta ? memory::dims{1, c.M} : memory::dims{c.K, 1});
    memory::desc b_md({c.K, c.N}, in, c.tb ? memory::dims{1, c.K} : memory::dims{c.N, 1});
    memory::desc c_md({c.M, c.N}, out, memory::dims{c.N, 1});
    matmul::primitive_desc pd(matmul::desc(a_md, b_md, c_md), eng);
    static bool told = false;
    if (!told) std::fprintf(stderr, "oneDNN implementation: %s\n", pd.impl_info_str()), told = true;
    void* pa = in == dt::f32 ? static_cast<void*>(buf.a32.data()) : static_cast<void*>(buf.a16.data());
    void* pb = in == dt::f32 ? static_cast<void*>(buf.b32.data()) : static_cast<void*>(buf.b16.data());
    void* pc = out == dt::f32 ? static_cast<void*>(buf.c32.data()) : static_cast<void*>(buf.c16.data());
    it = cache.emplace(key, Prim{matmul(pd), memory(a_md, eng, pa), memory(b_md, eng, pb), memory(c_md, eng, pc)}).first;
  }
  Prim& p = it->second;
  p.mm.execute(strm, {{DNNL_ARG_SRC, p.a}, {DNNL_ARG_WEIGHTS, p.b}, {DNNL_ARG_DST, p.c}});
  strm.wait();
}

int main(int argc, char** argv) { return bench_main("onednn", argc, argv); }
