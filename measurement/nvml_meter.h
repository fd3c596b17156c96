// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "meter.h"

#include <memory>
#include <vector>

namespace jb {

struct NvmlApi; // the dlopen()ed library and its function pointers (nvml_meter.cpp)

/// NVIDIA GPUs through NVML, loaded at run time with dlopen() (no build dependency).
///
/// One domain per GPU, "gpu-N". Where nvmlDeviceGetTotalEnergyConsumption works (Volta and
/// newer) the domain is a counter (millijoules since driver load, 64 bits, no wrap). Otherwise
/// (it returns NVML_ERROR_NOT_SUPPORTED) the meter integrates nvmlDeviceGetPowerUsage
/// (milliwatts) over its reads with the trapezoid rule, method "power-integration": its
/// accuracy then depends on how often read() is called (the Sampler's rate), and on Ampere and
/// newer GPUs that power value is itself an average over the last second.
///
/// Threads: see Meter.
class NvmlMeter final : public Meter
{
public:
    /// JOULEBENCH_NVML_LIBRARY when set, else "libnvidia-ml.so.1".
    static QString defaultLibrary();
    /// Loads the library, initialises NVML and probes every GPU.
    static MeterStatus probe(const QString &library);

    /// Assumed update periods (NVML does not document the counter's; the power value is a
    /// 1 s average on Ampere and newer, per the NVML reference of nvmlDeviceGetPowerUsage).
    static constexpr double kCounterUpdateS = 0.1;
    static constexpr double kPowerUpdateS = 1.0;

    ~NvmlMeter() override;
    QString id() const override { return QStringLiteral("nvml"); }
    QString displayName() const override;
    MeterKind kind() const override { return MeterKind::Measured; }
    QList<DomainInfo> domains() const override;
    bool start(QString *error) override;
    bool read(std::span<double> joules, QString *error) override;
    /// kPowerUpdateS when any GPU uses power integration, else kCounterUpdateS.
    double counterUpdateIntervalS() const override;

private:
    struct Gpu
    {
        DomainInfo info;
        void *handle = nullptr; // nvmlDevice_t
        bool counter = false;
        unsigned long long startMj = 0; // counter at start()
        double lastPowerW = 0;          // power integration state
        double lastTimeS = 0;
        double joules = 0;
    };
    NvmlMeter() = default;
    bool readGpu(Gpu &g, double *joules, QString *error);

    QString m_library;
    std::shared_ptr<NvmlApi> m_api;
    std::vector<Gpu> m_gpus;
};

} // namespace jb
