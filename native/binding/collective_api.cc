// The collective exports (data-parallel training, src/distributed/): the same
// functions in both addons, over Open MPI in toroid.node and NCCL in
// toroid_cuda.node (native/distributed/collective.h).
//
//   distributedAvailable() -> { engine, available, why }
//   distributedInit(rank, worldSize, uniqueId: Uint8Array | null, timeoutSeconds) -> { engine, version, rank, worldSize, localRank }
//   distributedUniqueId() -> Uint8Array(128)                       (NCCL)
//   allReduceStart(tensors[]) -> [ticket, outputs[]]               outputs[i] = sum over ranks of tensors[i]
//   broadcastStart(tensors[], root) -> [ticket, outputs[]]         outputs[i] = tensors[i] of rank root
//   collectiveWait(ticket)                                         the outputs of ticket (and earlier) are final
//   allReduceHost(Float64Array) -> Float64Array                    blocking sum of a few numbers
//   collectiveBarrier()
//   distributedAbandon(reason)                                     this rank failed: end the job at exit
//
// The started collectives read their inputs and write their outputs on the
// engine's own thread or stream, so both stay pinned (alive even if JS frees
// them) until collectiveWait returns; outputs are fresh storages, never the
// inputs, so a gradient that aliases another tensor is never changed in place.
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "binding/args.h"
#include "binding/kernels.h"
#include "distributed/collective.h"

namespace toroid::binding {

namespace {

struct Pending {
  napi_env env;
  std::vector<Block*> blocks;
};
std::mutex g_pending_mutex;
std::map<std::uint64_t, Pending> g_pending;

dist::Collective& collective(Args& a) {
  dist::Collective* c = dist::current();
  if (c == nullptr) a.type_error("collective", "initialised first by distributedInit", "none");
  return *c;
}

// Runs a call into the engine; its failures become JS errors with code TOROID_COLLECTIVE.
template <class F>
auto engine(Napi::Env env, const F& call) -> decltype(call()) {
  try {
    return call();
  } catch (const dist::CollectiveError& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Set("code", Napi::String::New(env, "TOROID_COLLECTIVE"));
    throw err;
  }
}

// Pins the inputs and fresh outputs of a started collective until its wait.
Napi::Value start(Args& a, const std::vector<TensorArg>& inputs, const std::function<std::uint64_t(const std::vector<dist::Span>&, const std::vector<dist::Span>&)>& go) {
  Napi::Env env = a.env();
  Napi::Array outputs = Napi::Array::New(env, inputs.size());
  std::vector<dist::Span> in, out;
  Pending pending{env, {}};
  for (std::size_t i = 0; i < inputs.size(); i++) {
    auto storage = new_storage(env, DType::f32, inputs[i].size);
    outputs.Set(static_cast<std::uint32_t>(i), storage);
    in.push_back({inputs[i].block->ptr, inputs[i].size});
    out.push_back({storage.Data()->ptr, inputs[i].size});
    pending.blocks.push_back(inputs[i].block);
    pending.blocks.push_back(storage.Data());
  }
  const std::uint64_t ticket = engine(env, [&] { return go(in, out); });
  for (Block* b : pending.blocks) pin(b);
  {
    std::lock_guard<std::mutex> lock(g_pending_mutex);
    g_pending[ticket] = std::move(pending);
  }
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, Napi::Number::New(env, static_cast<double>(ticket)));
  result.Set(1u, outputs);
  return result;
}

}  // namespace

Napi::Value distributed_available_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string why;
  const bool ok = dist::available(&why);
  Napi::Object o = Napi::Object::New(env);
#if defined(TOROID_CUDA)
  o.Set("engine", Napi::String::New(env, "nccl"));
#else
  o.Set("engine", Napi::String::New(env, "mpi"));
#endif
  o.Set("available", Napi::Boolean::New(env, ok));
  o.Set("why", Napi::String::New(env, why));
  return o;
}

Napi::Value distributed_init_js(const Napi::CallbackInfo& info) {
  Args a(info, "distributedInit", 4);
  dist::InitOptions options;
  options.rank = static_cast<int>(a.integer(0, "rank", 0, 1 << 24));
  options.world_size = static_cast<int>(a.integer(1, "worldSize", 1, 1 << 24));
  if (options.rank >= options.world_size) a.range_error("rank", "an integer in [0, worldSize=" + std::to_string(options.world_size) + ")", std::to_string(options.rank));
  if (!info[2].IsNull() && !info[2].IsUndefined()) {
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) a.type_error("uniqueId", "a Uint8Array or null", "another value");
    auto bytes = info[2].As<Napi::Uint8Array>();
    if (bytes.ElementLength() != 128) a.range_error("uniqueId", "128 bytes (an NCCL unique id)", std::to_string(bytes.ElementLength()) + " bytes");
    options.unique_id.assign(reinterpret_cast<const char*>(bytes.Data()), bytes.ElementLength());
  }
#if defined(TOROID_CUDA)
  // NCCL's rendezvous token: every rank needs rank 0's
  if (options.unique_id.empty()) a.type_error("uniqueId", "the Uint8Array(128) of rank 0's distributedUniqueId() (NCCL needs it on every rank)", "null");
#endif
  options.timeout_s = a.number(3, "timeoutSeconds", 1e-3, 1e9);
#if !defined(TOROID_CUDA)
  // an MPI singleton (no mpirun) would train alone while pretending to be distributed
  if (std::getenv("OMPI_COMM_WORLD_SIZE") == nullptr) a.type_error("process", "started by mpirun (OMPI_COMM_WORLD_SIZE set)", "no mpirun environment");
#endif
  // joined already: the same rank and size get the collective back, others are refused (was: any
  // rank and size silently got the one joined first)
  if (dist::Collective* joined = dist::current(); joined != nullptr && (joined->rank() != options.rank || joined->world_size() != options.world_size)) {
    a.range_error("rank", "rank " + std::to_string(joined->rank()) + " of worldSize " + std::to_string(joined->world_size()) + " (this process joined the collective as that)",
                  "rank " + std::to_string(options.rank) + " of worldSize " + std::to_string(options.world_size));
  }
  dist::Collective* c = engine(info.Env(), [&] { return &dist::init(options); });
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("engine", Napi::String::New(env, c->engine()));
  o.Set("version", Napi::String::New(env, c->version()));
  o.Set("rank", Napi::Number::New(env, c->rank()));
  o.Set("worldSize", Napi::Number::New(env, c->world_size()));
  o.Set("localRank", Napi::Number::New(env, c->local_rank()));
  return o;
}

Napi::Value distributed_unique_id_js(const Napi::CallbackInfo& info) {
  Args a(info, "distributedUniqueId", 0);
#if !defined(TOROID_CUDA)
  a.type_error("engine", "nccl (a unique id is NCCL's rendezvous token)", "mpi");
#endif
  const std::string id = engine(info.Env(), [] { return dist::new_unique_id(); });
  auto out = Napi::Uint8Array::New(info.Env(), id.size());
  std::copy(id.begin(), id.end(), out.Data());
  return out;
}

Napi::Value all_reduce_start_js(const Napi::CallbackInfo& info) {
  Args a(info, "allReduceStart", 1);
  std::vector<TensorArg> inputs = a.tensor_list(0, "tensors");
  dist::Collective& c = collective(a);
  return start(a, inputs, [&](const auto& in, const auto& out) { return c.all_reduce_start(in, out); });
}

Napi::Value broadcast_start_js(const Napi::CallbackInfo& info) {
  Args a(info, "broadcastStart", 2);
  std::vector<TensorArg> inputs = a.tensor_list(0, "tensors");
  const int root = static_cast<int>(a.integer(1, "root", 0, 1 << 24));
  dist::Collective& c = collective(a);
  if (root >= c.world_size()) a.range_error("root", "a rank in [0, " + std::to_string(c.world_size()) + ")", std::to_string(root));
  return start(a, inputs, [&](const auto& in, const auto& out) { return c.broadcast_start(in, out, root); });
}

Napi::Value collective_wait_js(const Napi::CallbackInfo& info) {
  Args a(info, "collectiveWait", 1);
  const auto ticket = static_cast<std::uint64_t>(a.integer(0, "ticket", 1, i64{1} << 53));
  dist::Collective& c = collective(a);
  {
    std::lock_guard<std::mutex> lock(g_pending_mutex);
    if (g_pending.find(ticket) == g_pending.end()) a.range_error("ticket", "a started collective that was not waited for yet", std::to_string(ticket));
  }
  engine(info.Env(), [&] { c.wait(ticket); });  // on failure the blocks stay pinned: the engine may still touch them
  std::vector<Pending> done;
  {
    std::lock_guard<std::mutex> lock(g_pending_mutex);
    for (auto it = g_pending.begin(); it != g_pending.end() && it->first <= ticket;) {
      done.push_back(std::move(it->second));
      it = g_pending.erase(it);
    }
  }
  for (Pending& p : done) {
    for (Block* b : p.blocks) unpin(p.env, b);
  }
  return info.Env().Undefined();
}

Napi::Value all_reduce_host_js(const Napi::CallbackInfo& info) {
  Args a(info, "allReduceHost", 1);
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) a.type_error("values", "a Float64Array", "another value");
  auto values = info[0].As<Napi::Float64Array>();
  if (values.ElementLength() > 4096) a.range_error("values", "at most 4096 numbers", std::to_string(values.ElementLength()));
  dist::Collective& c = collective(a);
  std::vector<double> copy(values.Data(), values.Data() + values.ElementLength());
  if (!copy.empty()) engine(info.Env(), [&] { c.all_reduce_host_f64(copy.data(), static_cast<int>(copy.size())); });
  auto out = Napi::Float64Array::New(info.Env(), copy.size());
  std::copy(copy.begin(), copy.end(), out.Data());
  return out;
}

Napi::Value collective_barrier_js(const Napi::CallbackInfo& info) {
  Args a(info, "collectiveBarrier", 0);
  dist::Collective& c = collective(a);
  engine(info.Env(), [&] { c.barrier(); });
  return info.Env().Undefined();
}

Napi::Value distributed_abandon_js(const Napi::CallbackInfo& info) {
  Args a(info, "distributedAbandon", 1);
  const std::string why = a.string(0, "reason");
  if (dist::Collective* c = dist::current()) c->abandon(why.substr(0, 2000));
  return info.Env().Undefined();
}

}  // namespace toroid::binding
