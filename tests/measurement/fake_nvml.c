// SPDX-License-Identifier: GPL-3.0-or-later
// A stand-in for libnvidia-ml.so.1 with just the calls NvmlMeter uses. Behaviour from the
// environment, read at nvmlInit_v2:
//   FAKE_NVML_INIT_FAIL=1       nvmlInit_v2 returns NVML_ERROR_DRIVER_NOT_LOADED (9)
//   FAKE_NVML_DEVICES=N         number of GPUs (default 1)
//   FAKE_NVML_ENERGY=absent     nvmlDeviceGetTotalEnergyConsumption returns NOT_SUPPORTED (3)
//   FAKE_NVML_POWER_MW=P        constant power per GPU in milliwatts (default 100000)
// Built with FAKE_NVML_WITHOUT_ENERGY_SYMBOL it lacks nvmlDeviceGetTotalEnergyConsumption.
// The energy counter is P x (time since nvmlInit_v2) plus a start offset, in millijoules.
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int nvmlReturn_t;
typedef struct FakeDevice *nvmlDevice_t;

struct FakeDevice
{
    unsigned int index;
};

static struct FakeDevice devices[8];
static unsigned int deviceCount = 1;
static int energyAbsent = 0;
static unsigned int powerMw = 100000;
static double t0 = 0;
static int initCount = 0;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

nvmlReturn_t nvmlInit_v2(void)
{
    const char *fail = getenv("FAKE_NVML_INIT_FAIL");
    if (fail && strcmp(fail, "1") == 0)
        return 9;
    const char *n = getenv("FAKE_NVML_DEVICES");
    deviceCount = n ? (unsigned int)atoi(n) : 1;
    if (deviceCount > 8)
        deviceCount = 8;
    const char *e = getenv("FAKE_NVML_ENERGY");
    energyAbsent = e && strcmp(e, "absent") == 0;
    const char *p = getenv("FAKE_NVML_POWER_MW");
    powerMw = p ? (unsigned int)atoi(p) : 100000;
    for (unsigned int i = 0; i < 8; ++i)
        devices[i].index = i;
    t0 = now();
    ++initCount;
    return 0;
}

nvmlReturn_t nvmlShutdown(void)
{
    if (initCount == 0)
        return 1; /* NVML_ERROR_UNINITIALIZED */
    --initCount;
    return 0;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
    if (initCount == 0)
        return 1;
    *count = deviceCount;
    return 0;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    if (initCount == 0)
        return 1;
    if (index >= deviceCount)
        return 2; /* NVML_ERROR_INVALID_ARGUMENT */
    *device = &devices[index];
    return 0;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    if (!device || length == 0)
        return 2;
    const char *base = "Fake GPU";
    strncpy(name, base, length - 1);
    name[length - 1] = 0;
    return 0;
}

#ifndef FAKE_NVML_WITHOUT_ENERGY_SYMBOL
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *energy)
{
    if (!device)
        return 2;
    if (energyAbsent)
        return 3; /* NVML_ERROR_NOT_SUPPORTED */
    *energy = 5000000ULL + (unsigned long long)((now() - t0) * (double)powerMw);
    return 0;
}
#endif

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power)
{
    if (!device)
        return 2;
    *power = powerMw;
    return 0;
}

const char *nvmlErrorString(nvmlReturn_t result)
{
    switch (result) {
    case 0:
        return "Success";
    case 1:
        return "Uninitialized";
    case 2:
        return "Invalid Argument";
    case 3:
        return "Not Supported";
    case 9:
        return "Driver Not Loaded";
    default:
        return "Unknown Error";
    }
}
