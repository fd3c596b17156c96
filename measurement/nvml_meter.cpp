// SPDX-License-Identifier: GPL-3.0-or-later
#include "nvml_meter.h"

#include "measurement_log.h"

#include <dlfcn.h>

namespace jb {

namespace {
// The few NVML declarations used, from nvml.h (ABI-stable since NVML 5).
using nvmlReturn_t = int;
using nvmlDevice_t = void *;
constexpr nvmlReturn_t NVML_SUCCESS = 0;
constexpr nvmlReturn_t NVML_ERROR_NOT_SUPPORTED = 3;
constexpr nvmlReturn_t NVML_ERROR_NO_PERMISSION = 4;
} // namespace

struct NvmlApi
{
    void *lib = nullptr;
    bool initialised = false;
    nvmlReturn_t (*init)() = nullptr;
    nvmlReturn_t (*shutdown)() = nullptr;
    nvmlReturn_t (*getCount)(unsigned int *) = nullptr;
    nvmlReturn_t (*getHandle)(unsigned int, nvmlDevice_t *) = nullptr;
    nvmlReturn_t (*getName)(nvmlDevice_t, char *, unsigned int) = nullptr;
    nvmlReturn_t (*getEnergy)(nvmlDevice_t, unsigned long long *) = nullptr;
    nvmlReturn_t (*getPower)(nvmlDevice_t, unsigned int *) = nullptr;
    const char *(*errorString)(nvmlReturn_t) = nullptr;

    ~NvmlApi()
    {
        if (initialised && shutdown)
            shutdown();
        if (lib)
            dlclose(lib);
    }
    QString describe(const char *call, nvmlReturn_t r) const
    {
        const char *text = errorString ? errorString(r) : nullptr;
        return QStringLiteral("%1 returned %2 (%3)")
            .arg(QString::fromLatin1(call))
            .arg(r)
            .arg(text ? QString::fromUtf8(text) : QStringLiteral("no error text"));
    }
};

namespace {

template <typename F>
bool resolve(NvmlApi &api, F *fn, const char *symbol, const QString &library, QString *error)
{
    *fn = reinterpret_cast<F>(dlsym(api.lib, symbol));
    if (!*fn) {
        *error = QStringLiteral("%1 does not export %2: not an NVML library, or too old (NVML 5+ "
                                "needed)")
                     .arg(library, QString::fromLatin1(symbol));
        return false;
    }
    return true;
}

std::shared_ptr<NvmlApi> loadNvml(const QString &library, QString *error, bool *present)
{
    *present = false;
    auto api = std::make_shared<NvmlApi>();
    api->lib = dlopen(library.toLocal8Bit().constData(), RTLD_NOW | RTLD_LOCAL);
    if (!api->lib) {
        const char *why = dlerror();
        *error = QStringLiteral("not present: cannot load %1 (%2); the NVIDIA driver is not "
                                "installed, or set JOULEBENCH_NVML_LIBRARY to its path")
                     .arg(library, why ? QString::fromLocal8Bit(why) : QString());
        return nullptr;
    }
    if (!resolve(*api, &api->init, "nvmlInit_v2", library, error) ||
        !resolve(*api, &api->shutdown, "nvmlShutdown", library, error) ||
        !resolve(*api, &api->getCount, "nvmlDeviceGetCount_v2", library, error) ||
        !resolve(*api, &api->getHandle, "nvmlDeviceGetHandleByIndex_v2", library, error) ||
        !resolve(*api, &api->getName, "nvmlDeviceGetName", library, error) ||
        !resolve(*api, &api->getEnergy, "nvmlDeviceGetTotalEnergyConsumption", library, error) ||
        !resolve(*api, &api->getPower, "nvmlDeviceGetPowerUsage", library, error) ||
        !resolve(*api, &api->errorString, "nvmlErrorString", library, error)) {
        *error = QStringLiteral("not present: ") + *error;
        return nullptr;
    }
    *present = true;
    const nvmlReturn_t r = api->init();
    if (r != NVML_SUCCESS) {
        *error = QStringLiteral("not readable: %1; check that the NVIDIA driver is loaded "
                                "('nvidia-smi' must work)")
                     .arg(api->describe("nvmlInit_v2", r));
        return nullptr;
    }
    api->initialised = true;
    return api;
}

} // namespace

QString NvmlMeter::defaultLibrary()
{
    const QString env = qEnvironmentVariable("JOULEBENCH_NVML_LIBRARY");
    return env.isEmpty() ? QStringLiteral("libnvidia-ml.so.1") : env;
}

MeterStatus NvmlMeter::probe(const QString &library)
{
    MeterStatus status;
    status.id = QStringLiteral("nvml");
    status.displayName = QStringLiteral("NVIDIA NVML (%1)").arg(library);
    status.kind = MeterKind::Measured;

    QString error;
    bool present = false;
    std::shared_ptr<NvmlApi> api = loadNvml(library, &error, &present);
    status.present = present;
    if (!api) {
        status.reason = error;
        return status;
    }
    unsigned int count = 0;
    if (const nvmlReturn_t r = api->getCount(&count); r != NVML_SUCCESS) {
        status.reason =
            QStringLiteral("not readable: %1").arg(api->describe("nvmlDeviceGetCount_v2", r));
        return status;
    }
    if (count == 0) {
        status.present = false;
        status.reason = QStringLiteral("not present: NVML reports no GPU");
        return status;
    }

    std::unique_ptr<NvmlMeter> meter(new NvmlMeter);
    meter->m_library = library;
    meter->m_api = api;
    QString firstProblem;
    for (unsigned int i = 0; i < count; ++i) {
        DomainStatus ds;
        ds.info.name = QStringLiteral("gpu-%1").arg(i);
        ds.info.kind = MeterKind::Measured;
        nvmlDevice_t handle = nullptr;
        if (const nvmlReturn_t r = api->getHandle(i, &handle); r != NVML_SUCCESS) {
            ds.problem = api->describe("nvmlDeviceGetHandleByIndex_v2", r);
            ds.info.source = QStringLiteral("GPU %1").arg(i);
            firstProblem = firstProblem.isEmpty() ? ds.problem : firstProblem;
            status.domains.append(ds);
            continue;
        }
        char name[96] = {};
        if (api->getName(handle, name, sizeof name) != NVML_SUCCESS)
            qstrncpy(name, "unknown GPU", sizeof name);
        ds.info.source = QStringLiteral("%1 (NVML index %2)").arg(QString::fromUtf8(name)).arg(i);

        Gpu g;
        g.handle = handle;
        unsigned long long mj = 0;
        const nvmlReturn_t re = api->getEnergy(handle, &mj);
        if (re == NVML_SUCCESS) {
            g.counter = true;
            ds.info.method = QString::fromLatin1(method::Counter);
        } else if (re == NVML_ERROR_NOT_SUPPORTED) {
            unsigned int mw = 0;
            const nvmlReturn_t rp = api->getPower(handle, &mw);
            if (rp != NVML_SUCCESS) {
                ds.problem = QStringLiteral("no energy counter (%1) and %2")
                                 .arg(api->describe("nvmlDeviceGetTotalEnergyConsumption", re),
                                      api->describe("nvmlDeviceGetPowerUsage", rp));
                firstProblem = firstProblem.isEmpty() ? ds.problem : firstProblem;
                status.domains.append(ds);
                continue;
            }
            ds.info.method = QString::fromLatin1(method::PowerIntegration);
            ds.info.note = QStringLiteral("no energy counter on this GPU: energy integrated from "
                                          "nvmlDeviceGetPowerUsage samples (trapezoid rule)");
        } else {
            ds.problem = api->describe("nvmlDeviceGetTotalEnergyConsumption", re);
            if (re == NVML_ERROR_NO_PERMISSION)
                ds.problem += QStringLiteral("; run as a user allowed to query the GPU");
            firstProblem = firstProblem.isEmpty() ? ds.problem : firstProblem;
            status.domains.append(ds);
            continue;
        }
        g.info = ds.info;
        ds.readable = true;
        ds.problem = ds.info.note;
        status.domains.append(ds);
        meter->m_gpus.push_back(g);
    }
    if (meter->m_gpus.empty()) {
        status.reason = QStringLiteral("not readable: %1").arg(firstProblem);
        return status;
    }
    if (!meter->start(&error)) {
        status.reason = QStringLiteral("not readable: %1").arg(error);
        return status;
    }
    status.readable = true;
    status.meter = std::shared_ptr<Meter>(meter.release());
    return status;
}

NvmlMeter::~NvmlMeter() = default;

QString NvmlMeter::displayName() const
{
    return QStringLiteral("NVIDIA NVML (%1)").arg(m_library);
}

QList<DomainInfo> NvmlMeter::domains() const
{
    QList<DomainInfo> list;
    for (const Gpu &g : m_gpus)
        list.append(g.info);
    return list;
}

double NvmlMeter::counterUpdateIntervalS() const
{
    for (const Gpu &g : m_gpus) {
        if (!g.counter)
            return kPowerUpdateS;
    }
    return kCounterUpdateS;
}

bool NvmlMeter::start(QString *error)
{
    for (Gpu &g : m_gpus) {
        if (g.counter) {
            if (const nvmlReturn_t r = m_api->getEnergy(g.handle, &g.startMj); r != NVML_SUCCESS) {
                if (error)
                    *error = QStringLiteral("%1: %2").arg(
                        g.info.name, m_api->describe("nvmlDeviceGetTotalEnergyConsumption", r));
                return false;
            }
        } else {
            unsigned int mw = 0;
            if (const nvmlReturn_t r = m_api->getPower(g.handle, &mw); r != NVML_SUCCESS) {
                if (error)
                    *error = QStringLiteral("%1: %2").arg(
                        g.info.name, m_api->describe("nvmlDeviceGetPowerUsage", r));
                return false;
            }
            g.lastTimeS = monotonicSeconds();
            g.lastPowerW = mw * 1e-3;
            g.joules = 0;
        }
    }
    return true;
}

bool NvmlMeter::readGpu(Gpu &g, double *joules, QString *error)
{
    if (g.counter) {
        unsigned long long mj = 0;
        if (const nvmlReturn_t r = m_api->getEnergy(g.handle, &mj); r != NVML_SUCCESS) {
            if (error)
                *error = QStringLiteral("%1: %2").arg(
                    g.info.name, m_api->describe("nvmlDeviceGetTotalEnergyConsumption", r));
            return false;
        }
        *joules = static_cast<double>(mj - g.startMj) * 1e-3;
        return true;
    }
    unsigned int mw = 0;
    if (const nvmlReturn_t r = m_api->getPower(g.handle, &mw); r != NVML_SUCCESS) {
        if (error)
            *error = QStringLiteral("%1: %2").arg(g.info.name,
                                                  m_api->describe("nvmlDeviceGetPowerUsage", r));
        return false;
    }
    const double now = monotonicSeconds();
    const double powerW = mw * 1e-3;
    g.joules += 0.5 * (g.lastPowerW + powerW) * (now - g.lastTimeS); // trapezoid
    g.lastPowerW = powerW;
    g.lastTimeS = now;
    *joules = g.joules;
    return true;
}

bool NvmlMeter::read(std::span<double> joules, QString *error)
{
    Q_ASSERT(joules.size() == m_gpus.size());
    for (size_t i = 0; i < m_gpus.size(); ++i) {
        if (!readGpu(m_gpus[i], &joules[i], error))
            return false;
    }
    return true;
}

} // namespace jb
