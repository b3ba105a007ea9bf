/* A stand-in for libnvidia-ml: the handful of NVML entry points hull calls, with the ABI of the
 * public nvml.h (return codes, buffer sizes, nvmlMemory_t, nvmlPciInfo_t). The GPUs are compiled
 * in: FAKE_GPUS, FAKE_DRIVER ("550.54.14"), FAKE_CUDA (12040), FAKE_NAME. */
#include <stdio.h>
#include <string.h>

#ifndef FAKE_GPUS
#define FAKE_GPUS 2
#endif
#ifndef FAKE_DRIVER
#define FAKE_DRIVER "550.54.14"
#endif
#ifndef FAKE_CUDA
#define FAKE_CUDA 12040
#endif
#ifndef FAKE_NAME
#define FAKE_NAME "NVIDIA H100 80GB HBM3"
#endif

typedef int nvmlReturn_t;
enum { OK = 0, UNINITIALIZED = 1, INVALID_ARGUMENT = 2, INSUFFICIENT_SIZE = 7 };
typedef struct fake_device { unsigned int index; } *nvmlDevice_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct {
  char busIdLegacy[16];
  unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
  char busId[32];
} nvmlPciInfo_t;

static struct fake_device devices[FAKE_GPUS > 0 ? FAKE_GPUS : 1];
static int initialised;

static nvmlReturn_t copy_out(const char *s, char *buf, unsigned int len) {
  if (buf == NULL) return INVALID_ARGUMENT;
  if (strlen(s) + 1 > len) return INSUFFICIENT_SIZE;
  memcpy(buf, s, strlen(s) + 1);
  return OK;
}

static int valid(nvmlDevice_t d) {
  return initialised && d != NULL && d >= devices && d < devices + FAKE_GPUS;
}

nvmlReturn_t nvmlInit_v2(void) {
  for (unsigned int i = 0; i < FAKE_GPUS; i++) devices[i].index = i;
  initialised = 1;
  return OK;
}
nvmlReturn_t nvmlShutdown(void) {
  if (!initialised) return UNINITIALIZED;
  initialised = 0;
  return OK;
}
const char *nvmlErrorString(nvmlReturn_t r) {
  switch (r) {
    case OK: return "Success";
    case UNINITIALIZED: return "Uninitialized";
    case INVALID_ARGUMENT: return "Invalid Argument";
    case INSUFFICIENT_SIZE: return "Insufficient Size";
    default: return "Unknown Error";
  }
}
nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
  if (!initialised) return UNINITIALIZED;
  return copy_out(FAKE_DRIVER, version, length);
}
nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *v) {
  if (v == NULL) return INVALID_ARGUMENT;
  *v = FAKE_CUDA;
  return OK;
}
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
  if (!initialised) return UNINITIALIZED;
  if (count == NULL) return INVALID_ARGUMENT;
  *count = FAKE_GPUS;
  return OK;
}
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
  if (!initialised) return UNINITIALIZED;
  if (index >= FAKE_GPUS || device == NULL) return INVALID_ARGUMENT;
  *device = &devices[index];
  return OK;
}
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int length) {
  if (!valid(d)) return INVALID_ARGUMENT;
  return copy_out(FAKE_NAME, name, length);
}
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *uuid, unsigned int length) {
  char buf[96];
  if (!valid(d)) return INVALID_ARGUMENT;
  snprintf(buf, sizeof buf, "GPU-8c4b1a3e-0d2f-4e6a-9b7c-5f1e2d3c4b%02x", d->index);
  return copy_out(buf, uuid, length);
}
nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t d, unsigned int *minor) {
  if (!valid(d) || minor == NULL) return INVALID_ARGUMENT;
  *minor = d->index;
  return OK;
}
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *memory) {
  if (!valid(d) || memory == NULL) return INVALID_ARGUMENT;
  memory->total = 85520809984ULL; /* 81559 MiB, as an H100 80GB reports */
  memory->used = 1048576ULL * 2;
  memory->free = memory->total - memory->used;
  return OK;
}
nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t d, int *major, int *minor) {
  if (!valid(d) || major == NULL || minor == NULL) return INVALID_ARGUMENT;
  *major = 9;
  *minor = 0;
  return OK;
}
nvmlReturn_t nvmlDeviceGetBrand(nvmlDevice_t d, int *brand) {
  if (!valid(d) || brand == NULL) return INVALID_ARGUMENT;
  *brand = 14; /* NVML_BRAND_NVIDIA */
  return OK;
}
nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *pci) {
  if (!valid(d) || pci == NULL) return INVALID_ARGUMENT;
  memset(pci, 0, sizeof *pci);
  pci->bus = d->index + 1;
  snprintf(pci->busId, sizeof pci->busId, "00000000:%02X:00.0", pci->bus);
  snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "0000:%02X:00.0", pci->bus);
  return OK;
}
