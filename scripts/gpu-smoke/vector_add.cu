// vector_add: the smallest CUDA program that proves a container reaches a working GPU. Adds two
// vectors of 1M floats on the device, checks every element on the host and prints the device's
// name and the sum. Every CUDA call is checked: on failure it prints the call and CUDA's error
// string and exits non-zero. Built with `nvcc -cudart static` so the image needs no CUDA
// runtime of its own, only the driver's libcuda.so.1 that hull mounts into the container.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK(call)                                                                 \
  do {                                                                              \
    cudaError_t err_ = (call);                                                      \
    if (err_ != cudaSuccess) {                                                      \
      std::fprintf(stderr, "vector_add: %s failed: %s (%s)\n", #call,               \
                   cudaGetErrorString(err_), cudaGetErrorName(err_));               \
      std::exit(1);                                                                 \
    }                                                                               \
  } while (0)

__global__ void add(const float* a, const float* b, float* c, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i];
}

int main() {
  constexpr int kN = 1 << 20;
  int driver = 0, runtime = 0, count = 0;
  CHECK(cudaDriverGetVersion(&driver));
  CHECK(cudaRuntimeGetVersion(&runtime));
  CHECK(cudaGetDeviceCount(&count));
  cudaDeviceProp prop{};
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("vector_add: %d device(s); device 0: %s (sm_%d%d), driver CUDA %d.%d, runtime %d.%d\n",
              count, prop.name, prop.major, prop.minor, driver / 1000, driver % 1000 / 10,
              runtime / 1000, runtime % 1000 / 10);

  std::vector<float> a(kN), b(kN), c(kN);
  for (int i = 0; i < kN; ++i) {
    a[i] = static_cast<float>(i % 1000) * 0.5f;
    b[i] = static_cast<float>(i % 7);
  }
  float *da = nullptr, *db = nullptr, *dc = nullptr;
  const size_t bytes = kN * sizeof(float);
  CHECK(cudaMalloc(&da, bytes));
  CHECK(cudaMalloc(&db, bytes));
  CHECK(cudaMalloc(&dc, bytes));
  CHECK(cudaMemcpy(da, a.data(), bytes, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(db, b.data(), bytes, cudaMemcpyHostToDevice));
  const int threads = 256;
  add<<<(kN + threads - 1) / threads, threads>>>(da, db, dc, kN);
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  CHECK(cudaMemcpy(c.data(), dc, bytes, cudaMemcpyDeviceToHost));
  CHECK(cudaFree(da));
  CHECK(cudaFree(db));
  CHECK(cudaFree(dc));

  double sum = 0;
  for (int i = 0; i < kN; ++i) {
    if (std::fabs(c[i] - (a[i] + b[i])) > 1e-6f) {
      std::fprintf(stderr, "vector_add: element %d is %f, want %f\n", i, c[i], a[i] + b[i]);
      return 1;
    }
    sum += c[i];
  }
  std::printf("vector_add: %d elements OK, sum=%.1f\n", kN, sum);
  return 0;
}
