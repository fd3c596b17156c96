// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "blas_info.h"

#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <torch/types.h>

#include <optional>

namespace jb {

/// Where and how a model runs: a value type, written as a string in plans and records.
///
/// Syntax: `cpu[:<threads>][:<qengine>]` or `cuda[:<index>]`, e.g. "cpu", "cpu:2" (2 intra-op
/// threads), "cpu:1:qnnpack", "cpu:onednn", "cuda:0". Without a thread count the CPU backend
/// uses libtorch's default intra-op thread count (one per physical core), recorded when applied.
/// Without a quantized engine the engine is left as libtorch chose it.
struct Backend
{
    enum class Kind { Cpu, Cuda };
    Kind kind = Kind::Cpu;
    int threads = 0;          ///< cpu: intra-op threads, 1..1024; 0 = libtorch's default
    int deviceIndex = 0;      ///< cuda: device index
    QString quantizedEngine;  ///< cpu: "onednn", "qnnpack", "fbgemm", "x86"; empty = leave it

    /// Parses the syntax above; fails with a message naming the text and the expected form.
    /// Syntax only: whether this machine has the backend is applyBackend()'s business.
    static std::optional<Backend> parse(const QString &text, QString *error);
    /// The canonical string ("cpu:2:qnnpack"), which parse() reads back to an equal value.
    QString toString() const;
    /// torch::kCPU or torch::Device(kCUDA, deviceIndex).
    torch::Device device() const;

    bool operator==(const Backend &) const = default;
};

/// Configures libtorch for `backend`: intra-op threads (at::set_num_threads, which also sets
/// the OpenMP thread count), the same count for every loaded OpenBLAS/BLIS, the quantized
/// engine, or checks that the CUDA device exists. Process-wide: call it from the thread that
/// runs the work, before the work starts, never while another thread computes. Fails with a
/// message that names the backend and the fix, e.g. "backend cuda:0: this libtorch was built
/// without CUDA" or "quantized engine fbgemm is not available in this libtorch (available:
/// onednn, qnnpack)". Inter-op threads (used only by TorchScript fork/wait) are left at
/// libtorch's default and recorded by describeMachine().
bool applyBackend(const Backend &backend, QString *error);

/// One CUDA device as libtorch sees it.
struct CudaDeviceInfo
{
    int index = 0;
    QString name;           ///< from NVML when the NVIDIA driver library is present
    qint64 memoryBytes = 0; ///< total memory (NVML), 0 when unknown
};

/// What this machine and this libtorch offer, recorded with every run.
struct BackendInfo
{
    QString cpuModel;          ///< /proc/cpuinfo "model name"
    int physicalCores = 0;     ///< distinct (physical id, core id) pairs
    int logicalCpus = 0;       ///< online logical CPUs
    int usableCpus = 0;        ///< CPUs in this process's affinity mask (containers, taskset)
    QString torchVersion;      ///< TORCH_VERSION of the headers built against
    int intraOpThreads = 0;    ///< at::get_num_threads() now
    int defaultIntraOpThreads = 0; ///< libtorch's own default, what "cpu" uses
    int interOpThreads = 0;    ///< at::get_num_interop_threads() now
    int ompMaxThreads = 0;     ///< omp_get_max_threads() now, 0 without OpenMP
    QStringList quantizedEngines; ///< supported here, lower case ("onednn", "qnnpack")
    QString quantizedEngine;   ///< the current one
    bool torchHasCuda = false; ///< libtorch was built with CUDA (libtorch_cuda is loaded)
    QList<CudaDeviceInfo> cudaDevices;
    QString cudaNote;          ///< why there is no CUDA backend, when there is none
    BlasInfo blas;
    QStringList flags;         ///< warnings for the record: "reference-blas", "unknown-blas"

    QJsonObject toJson() const;
};

/// Describes the machine and libtorch now (reads /proc/cpuinfo, asks libtorch and the loaded
/// BLAS; ~ms). Logs a warning when the BLAS is the reference one. Any thread.
BackendInfo describeMachine();

/// The backends this machine can run: "cpu", "cpu:1".."cpu:<usable CPUs>" and one "cpu:<n>:
/// <qengine>" per supported quantized engine are all valid; this returns the distinct base
/// choices: cpu (default threads), cpu:1, cpu:<usable CPUs> when different, and cuda:<i> per
/// CUDA device. Any thread.
QList<Backend> availableBackends();

} // namespace jb
