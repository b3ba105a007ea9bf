/* A stand-in for libcuda: cuDriverGetVersion answers FAKE_CUDA_INT (12040 = CUDA 12.4). */
#ifndef FAKE_CUDA_INT
#define FAKE_CUDA_INT 12040
#endif
int cuDriverGetVersion(int *version) {
  if (version == 0) return 1; /* CUDA_ERROR_INVALID_VALUE */
  *version = FAKE_CUDA_INT;
  return 0;
}
int cuInit(unsigned int flags) { return flags == 0 ? 0 : 1; }
