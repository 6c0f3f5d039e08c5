// The collective interface on NCCL, for GPU ranks (one GPU per process).
//
// libnccl is opened at run time (dlopen), so toroid_cuda.node builds and runs
// without it; the few types it needs are NCCL's public ABI (nccl.h): ncclComm_t is
// a pointer, ncclUniqueId 128 bytes passed by value, the enums are ints.
//
// Collectives run on a comm stream of their own, so the all-reduce of one bucket
// overlaps the backward still running on the compute stream (cuda::stream()):
//   compute: ... kernels ... [ready] ......... more kernels .... [wait: ticket's event]
//   comm:                     copy in -> ncclAllReduce -> copy out -> [ticket's event]
// Several spans are copied into one bucket so NCCL runs one large collective
// instead of many small ones. wait() polls the ticket's event and NCCL's async
// error with short sleeps rather than blocking in CUDA, so it can give up after
// the timeout (ncclCommAbort) instead of hanging when another rank died.
#include <dlfcn.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "cuda/common.cuh"
#include "distributed/collective.h"

namespace toroid::dist {

namespace {

// From nccl.h (values fixed by NCCL's ABI).
using Result = int;
using Comm = void*;
struct UniqueId {
  char internal[128];
};
constexpr Result kSuccess = 0, kInvalidUsage = 5, kInProgress = 7;
constexpr int kFloat32 = 7, kFloat64 = 8;
constexpr int kSum = 0;

struct Nccl {
  Result (*get_version)(int*) = nullptr;
  Result (*get_unique_id)(UniqueId*) = nullptr;
  Result (*comm_init_rank)(Comm*, int, UniqueId, int) = nullptr;
  Result (*all_reduce)(const void*, void*, std::size_t, int, int, Comm, cudaStream_t) = nullptr;
  Result (*broadcast)(const void*, void*, std::size_t, int, int, Comm, cudaStream_t) = nullptr;
  Result (*comm_destroy)(Comm) = nullptr;
  Result (*comm_abort)(Comm) = nullptr;
  Result (*comm_get_async_error)(Comm, Result*) = nullptr;
  const char* (*get_error_string)(Result) = nullptr;
};

const char* const kPrefix = "toroid.distributed (nccl): ";
std::string g_why;

// Opens libnccl once; TOROID_NCCL names the file where it is not on the search path.
const Nccl* nccl() {
  static const Nccl* loaded = []() -> const Nccl* {
    void* lib = nullptr;
    if (const char* env = std::getenv("TOROID_NCCL")) {
      if ((lib = dlopen(env, RTLD_NOW | RTLD_LOCAL)) == nullptr) {
        g_why = std::string("TOROID_NCCL=") + env + " could not be opened (" + dlerror() + ")";
        return nullptr;
      }
    } else if ((lib = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL)) == nullptr && (lib = dlopen("libnccl.so", RTLD_NOW | RTLD_LOCAL)) == nullptr) {
      g_why = "libnccl.so.2 not found: install NCCL (e.g. the nvidia-nccl-cu12 wheel's lib folder or libnccl2) "
              "and add its folder to LD_LIBRARY_PATH, or set TOROID_NCCL";
      return nullptr;
    }
    static Nccl n;
    const char* missing = nullptr;
    auto fn = [&](auto& slot, const char* name) {
      void* sym = dlsym(lib, name);
      if (sym == nullptr && missing == nullptr) missing = name;
      slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(sym);
    };
    fn(n.get_version, "ncclGetVersion");
    fn(n.get_unique_id, "ncclGetUniqueId");
    fn(n.comm_init_rank, "ncclCommInitRank");
    fn(n.all_reduce, "ncclAllReduce");
    fn(n.broadcast, "ncclBroadcast");
    fn(n.comm_destroy, "ncclCommDestroy");
    fn(n.comm_abort, "ncclCommAbort");
    fn(n.comm_get_async_error, "ncclCommGetAsyncError");
    fn(n.get_error_string, "ncclGetErrorString");
    if (missing != nullptr) {
      g_why = std::string("the NCCL library that was found lacks ") + missing + " (NCCL 2.4 or later is needed)";
      return nullptr;
    }
    return &n;
  }();
  return loaded;
}

std::string nccl_version(const Nccl& n) {
  int code = 0;
  if (n.get_version(&code) != kSuccess) return "NCCL (unknown version)";
  // NCCL_VERSION_CODE is major*10000+minor*100+patch since 2.9, major*1000+minor*100+patch before
  const int major = code >= 10000 ? code / 10000 : code / 1000;
  const int minor = code >= 10000 ? code / 100 % 100 : code / 100 % 10;
  return "NCCL " + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(code % 100);
}

// Pinned staging for all_reduce_host_f64: a copy to pageable memory would block
// in CUDA until the collective ends, out of reach of the timeout.
constexpr int kHostChunk = 4096;  // doubles (the binding sends at most 4096)

class NcclCollective final : public Collective {
 public:
  NcclCollective(const Nccl& n, const InitOptions& options, int local_rank)
      : n_(n), rank_(options.rank), world_(options.world_size), local_rank_(local_rank), timeout_s_(options.timeout_s), version_(nccl_version(n)) {}

  // ncclCommInitRank blocks until all world_size ranks called it with the same id,
  // under no timeout of ours (NCCL offers none on this blocking call): the
  // rendezvous that handed out the id is what bounds the wait for a rank that
  // never started, since every rank got here only after meeting rank 0 there.
  void open(const std::string& unique_id) {
    try {
      cuda::check(cudaStreamCreateWithFlags(&comm_stream_, cudaStreamNonBlocking), "cudaStreamCreate (nccl)");
      cuda::check(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming), "cudaEventCreate (nccl)");
      cuda::check(cudaEventCreateWithFlags(&host_done_, cudaEventDisableTiming), "cudaEventCreate (nccl)");
      cuda::check(cudaMallocHost(&host_, kHostChunk * sizeof(double)), "cudaMallocHost (nccl)");
      UniqueId id;
      std::memcpy(id.internal, unique_id.data(), sizeof id.internal);
      const Result r = n_.comm_init_rank(&comm_, world_, id, rank_);
      if (r != kSuccess) {
        comm_ = nullptr;
        throw CollectiveError(kPrefix + std::string("ncclCommInitRank failed") + where() + ": " + n_.get_error_string(r) +
                              (r == kInvalidUsage ? " (each rank on a machine needs its own GPU: set TOROID_CUDA_DEVICE=$LOCAL_RANK or CUDA_VISIBLE_DEVICES)" : ""));
      }
    } catch (...) {
      release();
      throw;
    }
  }

  const char* engine() const override { return "nccl"; }
  std::string version() const override { return version_; }
  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  int local_rank() const override { return local_rank_; }

  std::uint64_t all_reduce_start(const std::vector<Span>& inputs, const std::vector<Span>& outputs) override {
    return start("all-reduce", inputs, outputs, [&](const void* in, void* out, std::size_t count) {
      return n_.all_reduce(in, out, count, kFloat32, kSum, comm_, comm_stream_);
    });
  }

  std::uint64_t broadcast_start(const std::vector<Span>& inputs, const std::vector<Span>& outputs, int root) override {
    if (root < 0 || root >= world_) throw CollectiveError(kPrefix + std::string("broadcast root must be a rank in [0, ") + std::to_string(world_) + "), got " + std::to_string(root));
    return start("broadcast", inputs, outputs, [&](const void* in, void* out, std::size_t count) {
      return n_.broadcast(in, out, count, kFloat32, root, comm_, comm_stream_);
    });
  }

  void wait(std::uint64_t ticket) override {
    std::lock_guard<std::mutex> lock(mutex_);
    usable();
    if (ticket == 0 || ticket >= next_ticket_) throw CollectiveError(kPrefix + std::string("wait: no collective #") + std::to_string(ticket) + " was started");
    if (pending_.empty() || ticket < pending_.front().ticket) return;  // an earlier wait covered it
    guarded([&] {
      const cudaStream_t compute = cuda::stream();  // also selects the device on this thread
      // tickets are consecutive and complete in order on the one comm stream
      const Pending& p = pending_[ticket - pending_.front().ticket];
      await(p.done, p.what);
      // the caller frees or reuses the outputs on the compute stream: order that after the copy out
      cuda::check(cudaStreamWaitEvent(compute, p.done, 0), "cudaStreamWaitEvent (nccl)");
      while (!pending_.empty() && pending_.front().ticket <= ticket) {
        cuda::check(cudaEventDestroy(pending_.front().done), "cudaEventDestroy (nccl)");
        pending_.pop_front();
      }
    });
  }

  void all_reduce_host_f64(double* values, int count) override {
    std::lock_guard<std::mutex> lock(mutex_);
    reduce_host(values, count, "all-reduce of step statistics");
  }

  // NCCL has no barrier: a one-number all-reduce returns only once every rank sent its number.
  void barrier() override {
    std::lock_guard<std::mutex> lock(mutex_);
    double one = 1;
    reduce_host(&one, 1, "barrier");
  }

  // Aborts at once rather than at exit: the other ranks' NCCL then sees this one
  // leave (a remote error) where the transport can tell, else they time out.
  void abandon(const std::string& why) override {
    std::lock_guard<std::mutex> lock(mutex_);
    break_with(kPrefix + std::string("rank ") + std::to_string(rank_) + " stopped: " + why);
  }

  void finalize() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finalized_) return;
    finalized_ = true;
    if (!broken_.empty()) return;  // aborted when it broke
    guarded([&] {
      cuda::stream();  // selects the device on this thread
      cuda::check(cudaEventRecord(host_done_, comm_stream_), "cudaEventRecord (nccl)");
      await(host_done_, "finalize (the last collectives)");
      const Result r = n_.comm_destroy(comm_);
      comm_ = nullptr;
      if (r != kSuccess) fail(std::string("ncclCommDestroy failed") + where() + ": " + n_.get_error_string(r));
      release();
    });
  }

 private:
  struct Pending {
    std::uint64_t ticket;
    cudaEvent_t done;
    std::string what;  // "all-reduce #12 (3.1 MB)", for the timeout message
  };

  // Ticket of one collective over float32 spans: `run(in, out, count)` enqueues
  // the NCCL call on the comm stream (in-place when in == out).
  template <class Run>
  std::uint64_t start(const char* kind, const std::vector<Span>& inputs, const std::vector<Span>& outputs, const Run& run) {
    std::lock_guard<std::mutex> lock(mutex_);
    usable();
    if (inputs.size() != outputs.size()) throw CollectiveError(kPrefix + std::string(kind) + ": inputs and outputs must have the same length");
    std::int64_t total = 0;
    for (std::size_t i = 0; i < inputs.size(); i++) {
      if (inputs[i].count != outputs[i].count || inputs[i].count < 0) throw CollectiveError(kPrefix + std::string(kind) + ": span " + std::to_string(i) + " has unequal or negative counts");
      total += inputs[i].count;
    }
    const std::uint64_t ticket = next_ticket_;
    const std::string what = kind + (" #" + std::to_string(ticket)) + " (" + describe_bytes(total * 4.0) + ")";
    return guarded([&] {
      // the comm stream starts once the compute stream has produced the inputs
      cuda::check(cudaEventRecord(ready_, cuda::stream()), "cudaEventRecord (nccl)");
      cuda::check(cudaStreamWaitEvent(comm_stream_, ready_, 0), "cudaStreamWaitEvent (nccl)");
      if (inputs.size() == 1 && total > 0) {
        nccl_ok(run(inputs[0].ptr, outputs[0].ptr, static_cast<std::size_t>(total)), what);
      } else if (total > 0) {
        char* bucket = static_cast<char*>(bucket_for(static_cast<std::size_t>(total) * sizeof(float)));
        copy_spans(inputs, bucket, true);
        nccl_ok(run(bucket, bucket, static_cast<std::size_t>(total)), what);
        copy_spans(outputs, bucket, false);
      }
      cudaEvent_t done = nullptr;
      cuda::check(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreate (nccl)");
      pending_.push_back({ticket, done, what});
      cuda::check(cudaEventRecord(done, comm_stream_), "cudaEventRecord (nccl)");
      return next_ticket_++;
    });
  }

  // Copies spans into (to_bucket) or out of the bucket, in order, on the comm stream.
  void copy_spans(const std::vector<Span>& spans, char* bucket, bool to_bucket) {
    for (const Span& s : spans) {
      const std::size_t bytes = static_cast<std::size_t>(s.count) * sizeof(float);
      if (bytes == 0) continue;
      void* dst = to_bucket ? static_cast<void*>(bucket) : s.ptr;
      const void* src = to_bucket ? s.ptr : static_cast<const void*>(bucket);
      cuda::check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, comm_stream_), "bucket copy (cudaMemcpyAsync, nccl)");
      bucket += bytes;
    }
  }

  // The one bucket, grown on demand. Everything on the comm stream runs in order,
  // so the next collective reuses it only after the last one copied out, and the
  // old one is freed (stream-ordered) only after the collectives still queued on it.
  void* bucket_for(std::size_t bytes) {
    if (bytes <= bucket_bytes_) return bucket_;
    if (bucket_ != nullptr) cuda::check(cudaFreeAsync(bucket_, comm_stream_), "cudaFreeAsync (nccl bucket)");
    bucket_ = nullptr;
    bucket_bytes_ = 0;
    cuda::check(cudaMallocAsync(&bucket_, bytes, comm_stream_), "cudaMallocAsync (nccl bucket)");
    bucket_bytes_ = bytes;
    return bucket_;
  }

  // Sum of host doubles across ranks, through pinned memory and the bucket.
  void reduce_host(double* values, int count, const char* what) {
    usable();
    if (count < 0 || (count > 0 && values == nullptr)) throw CollectiveError(kPrefix + std::string(what) + ": needs count >= 0 values");
    guarded([&] {
      cuda::stream();  // selects the device on this thread
      for (int at = 0; at < count; at += kHostChunk) {
        const int n = count - at < kHostChunk ? count - at : kHostChunk;
        const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(double);
        void* device = bucket_for(bytes);
        std::memcpy(host_, values + at, bytes);
        cuda::check(cudaMemcpyAsync(device, host_, bytes, cudaMemcpyHostToDevice, comm_stream_), "upload (cudaMemcpyAsync, nccl)");
        nccl_ok(n_.all_reduce(device, device, static_cast<std::size_t>(n), kFloat64, kSum, comm_, comm_stream_), what);
        cuda::check(cudaMemcpyAsync(host_, device, bytes, cudaMemcpyDeviceToHost, comm_stream_), "download (cudaMemcpyAsync, nccl)");
        cuda::check(cudaEventRecord(host_done_, comm_stream_), "cudaEventRecord (nccl)");
        await(host_done_, what);
        std::memcpy(values + at, host_, bytes);
      }
    });
  }

  // Polls `done` until it completes, NCCL reports an error, or the timeout passes.
  void await(cudaEvent_t done, const std::string& what) {
    const auto started = std::chrono::steady_clock::now();
    for (;;) {
      const cudaError_t state = cudaEventQuery(done);
      if (state == cudaSuccess) return;
      if (state != cudaErrorNotReady) cuda::check(state, what.c_str());
      (void)cudaGetLastError();  // not-ready is no error: keep it from surfacing at the next check_launch
      Result async = kSuccess;
      const Result r = n_.comm_get_async_error(comm_, &async);
      if (r != kSuccess) async = r;
      if (async != kSuccess && async != kInProgress) fail(what + " failed" + where() + ": " + n_.get_error_string(async));
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() > timeout_s_) {
        char secs[32];
        std::snprintf(secs, sizeof secs, "%g", timeout_s_);
        fail(what + " did not complete within " + secs + " s" + where() + ": another rank may have died or stopped calling the collective");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  void nccl_ok(Result r, const std::string& what) {
    if (r != kSuccess) fail(what + " could not start" + where() + ": " + n_.get_error_string(r));
  }

  std::string where() const { return " on rank " + std::to_string(rank_) + " of " + std::to_string(world_); }

  [[noreturn]] void fail(const std::string& why) {
    break_with(kPrefix + why + "; the job cannot continue");
    throw CollectiveError(broken_);
  }

  // From the first failure on, the ranks no longer agree on where they are: abort
  // (which also stops NCCL kernels waiting for peers) and refuse every later call.
  void break_with(const std::string& why) {
    if (broken_.empty()) broken_ = why;
    if (comm_ != nullptr) (void)n_.comm_abort(comm_);  // nothing more to do if the abort itself fails
    comm_ = nullptr;
  }

  // Runs `body`; any failure inside (a CUDA error too) leaves this rank out of step
  // with the others, so it breaks the collective before the exception goes on.
  template <class Body>
  auto guarded(const Body& body) -> decltype(body()) {
    try {
      return body();
    } catch (const CollectiveError&) {
      throw;
    } catch (const std::exception& e) {
      break_with(kPrefix + std::string("stopped after a CUDA error") + where() + " (" + e.what() + "); the job cannot continue");
      throw;
    }
  }

  void usable() const {
    if (!broken_.empty()) throw CollectiveError(broken_);
    if (finalized_) throw CollectiveError(kPrefix + std::string("the collective was finalized"));
  }

  // Frees what open() made; errors are ignored: this is cleanup after a failure
  // or after the comm stream was seen idle.
  void release() {
    for (const Pending& p : pending_) (void)cudaEventDestroy(p.done);
    pending_.clear();
    if (bucket_ != nullptr) (void)cudaFreeAsync(bucket_, comm_stream_);
    if (host_ != nullptr) (void)cudaFreeHost(host_);
    if (host_done_ != nullptr) (void)cudaEventDestroy(host_done_);
    if (ready_ != nullptr) (void)cudaEventDestroy(ready_);
    if (comm_stream_ != nullptr) (void)cudaStreamDestroy(comm_stream_);
    bucket_ = nullptr;
    bucket_bytes_ = 0;
    host_ = nullptr;
    host_done_ = ready_ = nullptr;
    comm_stream_ = nullptr;
    (void)cudaGetLastError();
  }

  const Nccl& n_;
  const int rank_, world_, local_rank_;
  const double timeout_s_;
  const std::string version_;
  std::mutex mutex_;  // calls come from one Node thread at a time, not always the same one
  Comm comm_ = nullptr;
  cudaStream_t comm_stream_ = nullptr;
  cudaEvent_t ready_ = nullptr, host_done_ = nullptr;
  void* bucket_ = nullptr;
  std::size_t bucket_bytes_ = 0;
  double* host_ = nullptr;
  std::deque<Pending> pending_;  // started, not yet waited for: consecutive tickets
  std::uint64_t next_ticket_ = 1;
  std::string broken_;
  bool finalized_ = false;
};

std::mutex g_mutex;
NcclCollective* g_collective = nullptr;  // never deleted: it lives until exit

}  // namespace

bool available(std::string* why) {
  const bool ok = nccl() != nullptr;
  if (!ok && why != nullptr) *why = g_why;
  return ok;
}

std::string new_unique_id() {
  const Nccl* n = nccl();
  if (n == nullptr) throw CollectiveError(kPrefix + std::string("NCCL is not available: ") + g_why);
  UniqueId id;
  const Result r = n->get_unique_id(&id);
  if (r != kSuccess) throw CollectiveError(kPrefix + std::string("ncclGetUniqueId failed: ") + n->get_error_string(r));
  return std::string(id.internal, sizeof id.internal);
}

Collective& init(const InitOptions& options) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_collective != nullptr) {
    if (options.rank == g_collective->rank() && options.world_size == g_collective->world_size()) return *g_collective;
    throw CollectiveError(kPrefix + std::string("already initialised as rank ") + std::to_string(g_collective->rank()) + " of " +
                          std::to_string(g_collective->world_size()) + "; a process joins one job only (asked for rank " +
                          std::to_string(options.rank) + " of " + std::to_string(options.world_size) + ")");
  }
  if (options.world_size < 1) throw CollectiveError(kPrefix + std::string("world_size must be >= 1, got ") + std::to_string(options.world_size));
  if (options.rank < 0 || options.rank >= options.world_size)
    throw CollectiveError(kPrefix + std::string("rank must be in [0, world_size=") + std::to_string(options.world_size) + "), got " + std::to_string(options.rank));
  if (options.unique_id.size() != sizeof(UniqueId::internal))
    throw CollectiveError(kPrefix + std::string("unique_id must be the 128 bytes of rank 0's ncclUniqueId, got ") + std::to_string(options.unique_id.size()) + " bytes");
  if (!(options.timeout_s > 0)) throw CollectiveError(kPrefix + std::string("timeout_s must be positive"));
  const Nccl* n = nccl();
  if (n == nullptr) throw CollectiveError(kPrefix + std::string("NCCL is not available: ") + g_why);
  cuda::stream();  // selects the GPU (TOROID_CUDA_DEVICE) that NCCL binds the communicator to
  const char* local = std::getenv("LOCAL_RANK");
  auto* c = new NcclCollective(*n, options, local != nullptr ? std::atoi(local) : 0);
  try {
    c->open(options.unique_id);
  } catch (...) {
    delete c;  // a later init may try again with a fresh id
    throw;
  }
  g_collective = c;
  return *g_collective;
}

Collective* current() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_collective;
}

}  // namespace toroid::dist
