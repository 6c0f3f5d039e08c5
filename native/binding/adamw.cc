// adamwStep(params[], grads[], m[], v[], lr, beta1, beta2, eps, weightDecay, step): in place.
#include "binding/args.h"
#include "binding/kernels.h"

namespace toroid::binding {

Napi::Value adamw_step_js(const Napi::CallbackInfo& info) {
  Args a(info, "adamwStep", 10);
  std::vector<TensorArg> p = a.tensor_list(0, "params"), g = a.tensor_list(1, "grads"), m = a.tensor_list(2, "m"), v = a.tensor_list(3, "v");
  if (g.size() != p.size() || m.size() != p.size() || v.size() != p.size()) {
    a.range_error("grads, m and v", std::to_string(p.size()) + " tensors each like params", std::to_string(g.size()) + ", " + std::to_string(m.size()) + ", " + std::to_string(v.size()));
  }
  std::vector<float*> pp, mp, vp;
  std::vector<const float*> gp;
  std::vector<i64> sizes;
  for (std::size_t i = 0; i < p.size(); i++) {
    const std::string n = "[" + std::to_string(i) + "]";
    if (g[i].shape != p[i].shape) a.range_error("grads" + n, "the shape of params" + n + " " + describe_shape(p[i].shape), describe_shape(g[i].shape));
    if (m[i].shape != p[i].shape) a.range_error("m" + n, "the shape of params" + n + " " + describe_shape(p[i].shape), describe_shape(m[i].shape));
    if (v[i].shape != p[i].shape) a.range_error("v" + n, "the shape of params" + n + " " + describe_shape(p[i].shape), describe_shape(v[i].shape));
    pp.push_back(p[i].f32()); gp.push_back(g[i].f32()); mp.push_back(m[i].f32()); vp.push_back(v[i].f32());
    sizes.push_back(p[i].size);
  }
  const float lr = static_cast<float>(a.number(4, "lr", 0, 1e30));
  const float b1 = static_cast<float>(a.number(5, "beta1", 0, 0.9999999));
  const float b2 = static_cast<float>(a.number(6, "beta2", 0, 0.9999999));
  const float eps = static_cast<float>(a.number(7, "eps", 0, 1e30));
  const float wd = static_cast<float>(a.number(8, "weightDecay", 0, 1e30));
  const i64 step = a.integer(9, "step", 1, 1LL << 53);
  adamw_step(pp.data(), gp.data(), mp.data(), vp.data(), sizes.data(), static_cast<i64>(p.size()), lr, b1, b2, eps, wd, step);
  return info.Env().Undefined();
}

}  // namespace toroid::binding
