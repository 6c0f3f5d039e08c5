// The collective backend interface: what data-parallel training needs from an
// engine that clusters already run (Open MPI for CPU ranks, NCCL for GPU ranks).
// Plain C++ types only: the binding (native/binding/collective_api.cc) drives
// it, and each addon links one implementation (mpi.cc in toroid.node, nccl.cu in
// toroid_cuda.node). Both engines are opened at run time (dlopen): without them
// the addon builds and loads as before, and init() says what is missing.
//
// Buffers are float32 spans of the backend's own memory (host for MPI, device for
// NCCL). All-reduce and broadcast are asynchronous: start returns a ticket at
// once, the engine reads the inputs and writes the outputs in the background,
// and wait(ticket) returns when the outputs are final. The caller keeps every
// span alive and untouched until then. Tickets complete in the order they were
// started, and every rank must start the same collectives in the same order.
#pragma once
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace toroid::dist {

struct Span {
  void* ptr = nullptr;
  std::int64_t count = 0;  // float32 elements
};

// A collective that failed or ran out of time. The engine is broken from then on:
// every later call throws the same message (the ranks no longer agree on where
// they are, so no later collective could be trusted).
struct CollectiveError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct InitOptions {
  int rank = -1;         // NCCL: from RANK; MPI ignores it (mpirun assigns ranks)
  int world_size = -1;   // NCCL: from WORLD_SIZE; MPI ignores it
  std::string unique_id; // NCCL: the 128-byte ncclUniqueId from rank 0's rendezvous
  double timeout_s = 300;  // how long wait() and the blocking calls wait before failing
};

// "3.1 MB" / "8.3 kB": the size of a collective in the engines' error messages.
inline std::string describe_bytes(double bytes) {
  char buf[32];
  if (bytes >= 1e6) std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
  else std::snprintf(buf, sizeof buf, "%.1f kB", bytes / 1e3);
  return buf;
}

class Collective {
 public:
  virtual ~Collective() = default;
  virtual const char* engine() const = 0;   // "mpi" | "nccl"
  virtual std::string version() const = 0;  // e.g. "Open MPI v4.1.4" / "NCCL 2.21.5"
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual int local_rank() const = 0;       // rank among the processes on this machine

  // outputs[i] = sum over ranks of inputs[i] (inputs.size() == outputs.size(),
  // equal counts; inputs and outputs may not overlap). Returns a ticket.
  virtual std::uint64_t all_reduce_start(const std::vector<Span>& inputs, const std::vector<Span>& outputs) = 0;
  // outputs[i] = inputs[i] of rank `root`. Returns a ticket.
  virtual std::uint64_t broadcast_start(const std::vector<Span>& inputs, const std::vector<Span>& outputs, int root) = 0;
  // Blocks until the ticket (and every earlier one) completed; throws CollectiveError
  // on failure or after timeout_s.
  virtual void wait(std::uint64_t ticket) = 0;
  // In-place sum of a few host doubles across ranks (loss, token counts, hashes): blocking.
  virtual void all_reduce_host_f64(double* values, int count) = 0;
  virtual void barrier() = 0;
  // This rank failed outside a collective (a task error): mark the collective
  // broken, so that exit ends the whole job (MPI_Abort / ncclCommAbort) instead of
  // leaving the other ranks waiting for this one until their timeout.
  virtual void abandon(const std::string& why) = 0;
  // Orderly shutdown (MPI_Finalize / ncclCommDestroy); abort() when broken.
  virtual void finalize() = 0;
};

// The process's collective: created by init() once, never replaced (MPI cannot be
// initialised twice in one process). Throws CollectiveError naming what is missing
// (the library, a variable, a GPU) when the engine cannot start.
Collective& init(const InitOptions& options);
// The one init() created, or nullptr.
Collective* current();
// Whether the engine's library can be opened here, and if not, why (for errors).
bool available(std::string* why);
// NCCL only: a fresh ncclUniqueId (128 bytes) for rank 0 to hand to the others
// through the rendezvous (src/distributed/rendezvous.ts). MPI throws.
std::string new_unique_id();

}  // namespace toroid::dist
