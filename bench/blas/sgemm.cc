// SGEMM GFLOP/s of one BLAS at Transformer shapes, row-major through CBLAS.
// Built twice by run.sh (static BLIS and static OpenBLAS, both OpenMP builds)
// so the GEMM library of the cpu backend is chosen by measurement.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

int main() {
  // M, N, K: the square reference, the linear layers of a d=512 model (forward and both grads)
  const int shapes[][3] = {{1024, 1024, 1024}, {2048, 2048, 512}, {2048, 512, 2048}, {512, 2048, 2048}, {2048, 512, 512}, {256, 256, 256}};
  for (const auto& s : shapes) {
    const int M = s[0], N = s[1], K = s[2];
    std::vector<float> A(static_cast<size_t>(M) * K, 0.5f), B(static_cast<size_t>(K) * N, 0.25f), C(static_cast<size_t>(M) * N);
    auto run = [&] { cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N); };
    run();
    std::vector<double> times;
    for (int r = 0; r < 9; r++) {
      const auto t0 = std::chrono::steady_clock::now();
      int reps = 0;
      double elapsed;
      do {
        run();
        reps++;
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      } while (elapsed < 0.1);
      times.push_back(elapsed / reps);
    }
    std::sort(times.begin(), times.end());
    std::printf("%dx%dx%d %.1f\n", M, N, K, 2.0 * M * N * K / times[times.size() / 2] / 1e9);
  }
}
