// The collective interface on Open MPI, for CPU ranks started by mpirun.
//
// libmpi is opened at run time (dlopen), so toroid builds and runs without it;
// the few handles it needs are Open MPI's ABI: MPI_Comm, MPI_Datatype, MPI_Op
// and MPI_Request are pointers, and MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM are the
// addresses of exported globals (mpi.h's OMPI_PREDEFINED_GLOBAL).
//
// One communication thread owns MPI (it calls MPI_Init_thread, so
// MPI_THREAD_FUNNELED is enough, and every later call) and runs the queued
// collectives in order while the caller's thread goes on with the backward. It
// starts each one non-blocking and polls MPI_Test, with short sleeps while the
// caller's thread computes (it does not spin on a core the kernels need) and
// without them while the caller waits for the result. It can give up after the
// timeout instead of hanging when another rank died or stopped.
// MPI_Finalize (or MPI_Abort, once broken) runs at process exit: MPI cannot be
// initialised twice in a process, so a second Trainer reuses the first one's.
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "distributed/collective.h"

namespace toroid::dist {

namespace {

using Handle = void*;  // MPI_Comm, MPI_Datatype, MPI_Op, MPI_Request, MPI_Errhandler
constexpr int kSuccess = 0;
constexpr int kThreadFunneled = 1;
void* const kInPlace = reinterpret_cast<void*>(1);
// the most elements one MPI call takes (its count is an int)
constexpr std::int64_t kMaxCount = std::int64_t{1} << 30;
// tensors of at least this many elements are reduced in place of a copy (64k: 256 KB)
constexpr std::int64_t kDirectCount = std::int64_t{1} << 16;

struct Api {
  void* lib = nullptr;
  int (*init_thread)(int*, char***, int, int*) = nullptr;
  int (*initialized)(int*) = nullptr;
  int (*finalize)() = nullptr;
  int (*abort)(Handle, int) = nullptr;
  int (*comm_rank)(Handle, int*) = nullptr;
  int (*comm_size)(Handle, int*) = nullptr;
  int (*comm_set_errhandler)(Handle, Handle) = nullptr;
  int (*iallreduce)(const void*, void*, int, Handle, Handle, Handle, Handle*) = nullptr;
  int (*ibcast)(void*, int, Handle, int, Handle, Handle*) = nullptr;
  int (*ibarrier)(Handle, Handle*) = nullptr;
  int (*test)(Handle*, int*, void*) = nullptr;
  int (*testall)(int, Handle*, int*, void*) = nullptr;
  int (*error_string)(int, char*, int*) = nullptr;
  int (*library_version)(char*, int*) = nullptr;
  Handle comm_world = nullptr, type_float = nullptr, type_double = nullptr, op_sum = nullptr, errors_return = nullptr;
};

std::string g_why;

// Opens libmpi once. RTLD_GLOBAL: Open MPI's own plugins (mca_*.so) resolve
// libmpi's symbols from the global scope.
const Api* api() {
  static const Api* loaded = []() -> const Api* {
    const char* env = std::getenv("TOROID_MPI");
    const std::string names[] = {env != nullptr ? env : "", "libmpi.so.40", "libmpi.so"};
    void* lib = nullptr;
    for (const std::string& name : names) {
      if (!name.empty() && (lib = dlopen(name.c_str(), RTLD_NOW | RTLD_GLOBAL)) != nullptr) break;
    }
    if (lib == nullptr) {
      g_why = "libmpi.so.40 (Open MPI) was not found: install it (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev) or set TOROID_MPI to its path";
      return nullptr;
    }
    static Api a;
    a.lib = lib;
    bool ok = true;
    auto fn = [&](auto& slot, const char* name) {
      void* sym = dlsym(lib, name);
      if (sym == nullptr) ok = false;
      slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(sym);
    };
    fn(a.init_thread, "MPI_Init_thread");
    fn(a.initialized, "MPI_Initialized");
    fn(a.finalize, "MPI_Finalize");
    fn(a.abort, "MPI_Abort");
    fn(a.comm_rank, "MPI_Comm_rank");
    fn(a.comm_size, "MPI_Comm_size");
    fn(a.comm_set_errhandler, "MPI_Comm_set_errhandler");
    fn(a.iallreduce, "MPI_Iallreduce");
    fn(a.ibcast, "MPI_Ibcast");
    fn(a.ibarrier, "MPI_Ibarrier");
    fn(a.test, "MPI_Test");
    fn(a.testall, "MPI_Testall");
    fn(a.error_string, "MPI_Error_string");
    fn(a.library_version, "MPI_Get_library_version");
    a.comm_world = dlsym(lib, "ompi_mpi_comm_world");
    a.type_float = dlsym(lib, "ompi_mpi_float");
    a.type_double = dlsym(lib, "ompi_mpi_double");
    a.op_sum = dlsym(lib, "ompi_mpi_op_sum");
    a.errors_return = dlsym(lib, "ompi_mpi_errors_return");
    if (!ok || a.comm_world == nullptr || a.type_float == nullptr || a.type_double == nullptr || a.op_sum == nullptr || a.errors_return == nullptr) {
      g_why = "the MPI library that was found is not Open MPI 3 or later (toroid uses Open MPI's ABI; MPICH is not supported)";
      return nullptr;
    }
    return &a;
  }();
  return loaded;
}

std::string mpi_error(const Api& a, int code) {
  char text[512] = {0};
  int len = 0;
  if (a.error_string(code, text, &len) != kSuccess) return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<std::size_t>(std::max(0, std::min(len, 511))));
}

class MpiCollective final : public Collective {
 public:
  explicit MpiCollective(const InitOptions& options) : timeout_s_(options.timeout_s) {
    const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    local_rank_ = local != nullptr ? std::atoi(local) : 0;
    thread_ = std::thread([this] { run(); });
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return started_; });
    if (!init_error_.empty()) {
      lock.unlock();
      thread_.join();
      throw CollectiveError(init_error_);
    }
  }

  const char* engine() const override { return "mpi"; }
  std::string version() const override { return version_; }
  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  int local_rank() const override { return local_rank_; }

  std::uint64_t all_reduce_start(const std::vector<Span>& inputs, const std::vector<Span>& outputs) override {
    return submit(Job{Kind::all_reduce, inputs, outputs, 0, nullptr, 0, 0});
  }
  std::uint64_t broadcast_start(const std::vector<Span>& inputs, const std::vector<Span>& outputs, int root) override {
    if (root < 0 || root >= world_) throw CollectiveError("toroid.distributed: broadcast root must be a rank in [0, " + std::to_string(world_) + "), got " + std::to_string(root));
    return submit(Job{Kind::broadcast, inputs, outputs, root, nullptr, 0, 0});
  }
  void all_reduce_host_f64(double* values, int count) override { wait(submit(Job{Kind::host_f64, {}, {}, 0, values, count, 0})); }
  void barrier() override { wait(submit(Job{Kind::barrier, {}, {}, 0, nullptr, 0, 0})); }

  void wait(std::uint64_t ticket) override {
    std::unique_lock<std::mutex> lock(mutex_);
    // the communication thread enforces the timeout; while a caller waits here its
    // core is free, so the communication thread polls without sleeping
    waiters_++;
    changed_.wait(lock, [&] { return completed_ >= ticket || !error_.empty(); });
    waiters_--;
    if (completed_ < ticket) throw CollectiveError(error_);
  }

  void abandon(const std::string& why) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (error_.empty()) error_ = "toroid.distributed: rank " + std::to_string(rank_) + " stopped: " + why;
    changed_.notify_all();
  }

  void finalize() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (finalizing_) return;
      finalizing_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  enum class Kind { all_reduce, broadcast, host_f64, barrier };
  struct Job {
    Kind kind;
    std::vector<Span> inputs, outputs;
    int root;
    double* host;
    int count;
    std::uint64_t ticket;
  };

  std::uint64_t submit(Job job) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_.empty()) throw CollectiveError(error_);
    if (finalizing_) throw CollectiveError("toroid.distributed: MPI was finalized (the process is exiting)");
    const std::uint64_t ticket = job.ticket = ++submitted_;
    queue_.push_back(std::move(job));
    changed_.notify_all();
    return ticket;
  }

  // The communication thread: MPI_Init_thread, then jobs in order until finalize.
  void run() {
    const Api& a = *api();
    // Open MPI's non-blocking all-reduce (libnbc) picks recursive doubling for large
    // buffers by default, where each rank sends its whole buffer; Rabenseifner's
    // (reduce-scatter, then all-gather) sends half and took 1.7 ms instead of 4.3 ms
    // for 8 MB over shared memory. Read at MPI_Init; the user's own setting wins.
    setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "3", 0);
    int provided = 0, already = 0;
    std::string failure;
    a.initialized(&already);
    if (already) failure = "toroid.distributed: MPI was already initialised in this process by other code; toroid must own MPI's initialisation";
    else if (int rc = a.init_thread(nullptr, nullptr, kThreadFunneled, &provided); rc != kSuccess) failure = "toroid.distributed: MPI_Init_thread failed: " + mpi_error(a, rc);
    else if (provided < kThreadFunneled) failure = "toroid.distributed: this Open MPI build offers no thread support (MPI_THREAD_FUNNELED)";
    if (failure.empty()) {
      a.comm_set_errhandler(a.comm_world, a.errors_return);  // errors come back as codes, never abort()
      a.comm_rank(a.comm_world, &rank_);
      a.comm_size(a.comm_world, &world_);
      char text[512] = {0};
      int len = 0;
      a.library_version(text, &len);
      version_.assign(text, static_cast<std::size_t>(std::max(0, std::min(len, 511))));
      version_ = version_.substr(0, version_.find_first_of(",\n"));
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      init_error_ = failure;
      started_ = true;
    }
    changed_.notify_all();
    if (!failure.empty()) return;

    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [this] { return !queue_.empty() || finalizing_; });
        if (queue_.empty()) break;  // finalizing, nothing left to do
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      std::string err = error_snapshot();
      if (err.empty()) err = execute(a, job);
      std::lock_guard<std::mutex> lock(mutex_);
      if (!err.empty() && error_.empty()) error_ = err;
      if (error_.empty()) completed_ = job.ticket;
      changed_.notify_all();
    }
    if (error_snapshot().empty()) a.finalize();
    else a.abort(a.comm_world, 1);  // the ranks disagree on where they are: end the whole job
  }

  std::string error_snapshot() {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
  }

  // Runs one job; returns "" or the error that breaks the collective.
  std::string execute(const Api& a, Job& job) {
    std::int64_t total = 0;
    for (const Span& s : job.inputs) total += s.count;
    std::vector<Handle> requests;
    auto fail = [&](int rc, const char* what) {
      return std::string("toroid.distributed (mpi): ") + what + " #" + std::to_string(job.ticket) + " failed on rank " + std::to_string(rank_) + ": " + mpi_error(a, rc);
    };
    if (job.kind == Kind::all_reduce) {
      // large gradients are reduced from input to output directly (no copies); the
      // small ones (biases, norms) are packed into one buffer, reduced in one call
      // and unpacked, so the many tiny ones do not pay a call each
      std::vector<std::size_t> packed;
      std::int64_t packed_count = 0;
      for (std::size_t i = 0; i < job.inputs.size(); i++) {
        if (job.inputs[i].count < kDirectCount) {
          packed.push_back(i);
          packed_count += job.inputs[i].count;
          continue;
        }
        for (std::int64_t off = 0; off < job.inputs[i].count; off += kMaxCount) {
          const int n = static_cast<int>(std::min(kMaxCount, job.inputs[i].count - off));
          Handle request = nullptr;
          const int rc = a.iallreduce(static_cast<float*>(job.inputs[i].ptr) + off, static_cast<float*>(job.outputs[i].ptr) + off, n, a.type_float, a.op_sum, a.comm_world, &request);
          if (rc != kSuccess) return fail(rc, "all-reduce");
          requests.push_back(request);
        }
      }
      bucket_.resize(static_cast<std::size_t>(packed_count));
      float* at = bucket_.data();
      for (std::size_t i : packed) {
        std::memcpy(at, job.inputs[i].ptr, static_cast<std::size_t>(job.inputs[i].count) * sizeof(float));
        at += job.inputs[i].count;
      }
      if (packed_count > 0) {
        Handle request = nullptr;
        const int rc = a.iallreduce(kInPlace, bucket_.data(), static_cast<int>(packed_count), a.type_float, a.op_sum, a.comm_world, &request);
        if (rc != kSuccess) return fail(rc, "all-reduce");
        requests.push_back(request);
      }
      if (std::string err = complete(a, requests, "all-reduce", job.ticket, total * 4.0); !err.empty()) return err;
      at = bucket_.data();
      for (std::size_t i : packed) {
        std::memcpy(job.outputs[i].ptr, at, static_cast<std::size_t>(job.inputs[i].count) * sizeof(float));
        at += job.inputs[i].count;
      }
      return "";
    }
    if (job.kind == Kind::broadcast) {
      // in place on the outputs: the root's own values first
      for (std::size_t i = 0; i < job.inputs.size(); i++) {
        if (rank_ == job.root) std::memcpy(job.outputs[i].ptr, job.inputs[i].ptr, static_cast<std::size_t>(job.inputs[i].count) * sizeof(float));
        for (std::int64_t off = 0; off < job.outputs[i].count; off += kMaxCount) {
          const int n = static_cast<int>(std::min(kMaxCount, job.outputs[i].count - off));
          Handle request = nullptr;
          const int rc = a.ibcast(static_cast<float*>(job.outputs[i].ptr) + off, n, a.type_float, job.root, a.comm_world, &request);
          if (rc != kSuccess) return fail(rc, "broadcast");
          requests.push_back(request);
        }
      }
      return complete(a, requests, "broadcast", job.ticket, total * 4.0);
    }
    Handle request = nullptr;
    if (job.kind == Kind::host_f64) {
      const int rc = a.iallreduce(kInPlace, job.host, job.count, a.type_double, a.op_sum, a.comm_world, &request);
      if (rc != kSuccess) return fail(rc, "all-reduce of step statistics");
      requests.push_back(request);
      return complete(a, requests, "all-reduce of step statistics", job.ticket, job.count * 8.0);
    }
    const int rc = a.ibarrier(a.comm_world, &request);
    if (rc != kSuccess) return fail(rc, "barrier");
    requests.push_back(request);
    return complete(a, requests, "barrier", job.ticket, 0);
  }

  // Polls the requests to completion: spins briefly (small collectives finish in
  // microseconds), then sleeps between tests while the caller's thread computes.
  std::string complete(const Api& a, std::vector<Handle>& requests, const char* what, std::uint64_t ticket, double bytes) {
    if (requests.empty()) return "";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(timeout_s_));
    int done = 0;
    for (int polls = 0;; polls++) {
      const int rc = a.testall(static_cast<int>(requests.size()), requests.data(), &done, nullptr);
      if (rc != kSuccess) return std::string("toroid.distributed (mpi): ") + what + " #" + std::to_string(ticket) + " failed on rank " + std::to_string(rank_) + ": " + mpi_error(a, rc);
      if (done) return "";
      if (polls > 200 && waiters_.load(std::memory_order_relaxed) == 0) std::this_thread::sleep_for(std::chrono::microseconds(polls > 2000 ? 200 : 20));
      if ((polls & 63) == 0 && std::chrono::steady_clock::now() > deadline) {
        char secs[32];
        std::snprintf(secs, sizeof secs, "%g", timeout_s_);
        return std::string("toroid.distributed (mpi): ") + what + " #" + std::to_string(ticket) + (bytes > 0 ? " (" + describe_bytes(bytes) + ")" : "") +
               " did not complete within " + secs + " s on rank " + std::to_string(rank_) + " of " + std::to_string(world_) +
               ": another rank died or stopped calling the collective (a crash, a kill, or a different number of steps); the job cannot continue";
      }
      if (finalizing_now()) return "toroid.distributed (mpi): the process is exiting during a " + std::string(what);
    }
  }

  bool finalizing_now() {
    std::lock_guard<std::mutex> lock(mutex_);
    return finalizing_;
  }

  const double timeout_s_;
  int rank_ = 0, world_ = 1, local_rank_ = 0;
  std::string version_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool started_ = false, finalizing_ = false;
  std::string init_error_, error_;
  std::deque<Job> queue_;
  std::uint64_t submitted_ = 0, completed_ = 0;
  std::atomic<int> waiters_{0};  // callers blocked in wait(): their cores are idle
  std::vector<float> bucket_;  // communication thread only
};

std::mutex g_mutex;
MpiCollective* g_collective = nullptr;  // never deleted: it lives until exit

void finalize_at_exit() {
  if (g_collective != nullptr) g_collective->finalize();
}

}  // namespace

bool available(std::string* why) {
  const bool ok = api() != nullptr;
  if (!ok && why != nullptr) *why = g_why;
  return ok;
}

Collective& init(const InitOptions& options) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_collective != nullptr) return *g_collective;
  if (api() == nullptr) throw CollectiveError("toroid.distributed: 'mpi' is not available: " + g_why);
  if (!(options.timeout_s > 0)) throw CollectiveError("toroid.distributed: timeout must be positive");
  g_collective = new MpiCollective(options);
  std::atexit(finalize_at_exit);
  return *g_collective;
}

Collective* current() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_collective;
}

std::string new_unique_id() { throw CollectiveError("toroid.distributed: a unique id is an NCCL rendezvous token; 'mpi' does not use one"); }

}  // namespace toroid::dist
