// SPDX-License-Identifier: GPL-3.0-or-later
#include "backend.h"

#include "engine_log.h"

#include <QFile>
#include <QJsonArray>
#include <QRegularExpression>
#include <QSet>

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <dlfcn.h>
#include <link.h>
#include <sched.h>
#include <cstring>
#include <unistd.h>

namespace jb {

namespace {

void setError(QString *error, const QString &message)
{
    if (error)
        *error = message;
}

constexpr int kMaxThreads = 1024;

QString engineName(at::QEngine e)
{
    return QString::fromStdString(c10::toString(e)).toLower();
}

QStringList supportedEngines()
{
    QStringList names;
    for (at::QEngine e : at::globalContext().supportedQEngines()) {
        if (e != at::QEngine::NoQEngine)
            names << engineName(e);
    }
    return names;
}

/// All quantized engines libtorch 1.13 knows by name, whether built in or not.
std::optional<at::QEngine> engineByName(const QString &name)
{
    for (at::QEngine e : {at::QEngine::FBGEMM, at::QEngine::QNNPACK, at::QEngine::ONEDNN,
                          at::QEngine::X86}) {
        if (engineName(e) == name)
            return e;
    }
    return std::nullopt;
}

bool objectLoaded(const char *fragment)
{
    struct Search
    {
        const char *fragment;
        bool found = false;
    } s{fragment};
    dl_iterate_phdr(
        [](dl_phdr_info *info, size_t, void *data) {
            auto *s = static_cast<Search *>(data);
            if (info->dlpi_name && std::strstr(info->dlpi_name, s->fragment))
                s->found = true;
            return 0;
        },
        &s);
    return s.found;
}

/// NVML (the driver's management library), loaded only if present, for GPU names and memory.
QList<CudaDeviceInfo> nvmlDevices()
{
    QList<CudaDeviceInfo> list;
    void *h = dlopen("libnvidia-ml.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!h)
        return list;
    using InitFn = int (*)();
    using CountFn = int (*)(unsigned *);
    using HandleFn = int (*)(unsigned, void **);
    using NameFn = int (*)(void *, char *, unsigned);
    struct Memory { unsigned long long total, free, used; };
    using MemFn = int (*)(void *, Memory *);
    auto init = reinterpret_cast<InitFn>(dlsym(h, "nvmlInit_v2"));
    auto shutdown = reinterpret_cast<InitFn>(dlsym(h, "nvmlShutdown"));
    auto count = reinterpret_cast<CountFn>(dlsym(h, "nvmlDeviceGetCount_v2"));
    auto handle = reinterpret_cast<HandleFn>(dlsym(h, "nvmlDeviceGetHandleByIndex_v2"));
    auto name = reinterpret_cast<NameFn>(dlsym(h, "nvmlDeviceGetName"));
    auto memory = reinterpret_cast<MemFn>(dlsym(h, "nvmlDeviceGetMemoryInfo"));
    unsigned n = 0;
    if (init && shutdown && count && handle && name && memory && init() == 0) {
        if (count(&n) == 0) {
            for (unsigned i = 0; i < n; ++i) {
                void *dev = nullptr;
                char buf[96] = {};
                Memory mem{};
                CudaDeviceInfo d;
                d.index = int(i);
                if (handle(i, &dev) == 0) {
                    if (name(dev, buf, sizeof buf) == 0)
                        d.name = QString::fromLatin1(buf);
                    if (memory(dev, &mem) == 0)
                        d.memoryBytes = qint64(mem.total);
                }
                list << d;
            }
        }
        shutdown();
    }
    dlclose(h);
    return list;
}

int ompMaxThreads()
{
    using Fn = int (*)();
    auto f = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
    return f ? f() : 0;
}

/// libtorch's own default intra-op thread count, for "cpu" without a number.
int defaultThreads()
{
    return std::max(1, at::intraop_default_num_threads());
}

void readCpuInfo(BackendInfo *info)
{
    QFile f(QStringLiteral("/proc/cpuinfo"));
    QSet<QString> cores;
    if (f.open(QIODevice::ReadOnly | QIODevice::Text)) {
        QString physicalId;
        int cpuCores = 0;
        for (const QByteArray &raw : f.readAll().split('\n')) {
            const QString line = QString::fromLatin1(raw);
            const QString key = line.section(QLatin1Char(':'), 0, 0).trimmed();
            const QString value = line.section(QLatin1Char(':'), 1).trimmed();
            if (key == QLatin1String("model name") && info->cpuModel.isEmpty())
                info->cpuModel = value;
            else if (key == QLatin1String("physical id"))
                physicalId = value;
            else if (key == QLatin1String("core id"))
                cores.insert(physicalId + QLatin1Char('/') + value);
            else if (key == QLatin1String("cpu cores"))
                cpuCores = value.toInt();
        }
        info->physicalCores = cores.isEmpty() ? cpuCores : int(cores.size());
    }
    info->logicalCpus = int(sysconf(_SC_NPROCESSORS_ONLN));
    cpu_set_t set;
    CPU_ZERO(&set);
    info->usableCpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                                    : info->logicalCpus;
    if (info->physicalCores <= 0)
        info->physicalCores = info->logicalCpus;
}

} // namespace

std::optional<Backend> Backend::parse(const QString &text, QString *error)
{
    const QString t = text.trimmed().toLower();
    const QStringList parts = t.split(QLatin1Char(':'));
    const QString syntax = QStringLiteral("expected cpu[:<threads>][:<quantized engine>] or "
                                          "cuda[:<index>], e.g. cpu, cpu:2, cpu:1:qnnpack, cuda:0");
    Backend b;
    if (parts.first() == QLatin1String("cpu")) {
        b.kind = Kind::Cpu;
        bool haveThreads = false;
        for (const QString &p : parts.mid(1)) {
            bool isNumber = false;
            const int n = p.toInt(&isNumber);
            if (isNumber && !haveThreads) {
                if (n < 1 || n > kMaxThreads) {
                    setError(error, QStringLiteral("backend '%1': %2 threads: expected 1..%3")
                                        .arg(text)
                                        .arg(n)
                                        .arg(kMaxThreads));
                    return std::nullopt;
                }
                b.threads = n;
                haveThreads = true;
            } else if (!isNumber && b.quantizedEngine.isEmpty() &&
                       QRegularExpression(QStringLiteral("^[a-z][a-z0-9_]*$")).match(p).hasMatch()) {
                b.quantizedEngine = p;
            } else {
                setError(error, QStringLiteral("backend '%1': unexpected '%2': %3")
                                    .arg(text, p, syntax));
                return std::nullopt;
            }
        }
        return b;
    }
    if (parts.first() == QLatin1String("cuda")) {
        b.kind = Kind::Cuda;
        if (parts.size() > 2) {
            setError(error, QStringLiteral("backend '%1': %2").arg(text, syntax));
            return std::nullopt;
        }
        if (parts.size() == 2) {
            bool ok = false;
            b.deviceIndex = parts[1].toInt(&ok);
            if (!ok || b.deviceIndex < 0 || b.deviceIndex > 255) {
                setError(error, QStringLiteral("backend '%1': device index '%2': expected 0..255")
                                    .arg(text, parts[1]));
                return std::nullopt;
            }
        }
        return b;
    }
    setError(error, QStringLiteral("backend '%1': unknown kind '%2': %3")
                        .arg(text, parts.first(), syntax));
    return std::nullopt;
}

QString Backend::toString() const
{
    if (kind == Kind::Cuda)
        return QStringLiteral("cuda:%1").arg(deviceIndex);
    QString s = QStringLiteral("cpu");
    if (threads > 0)
        s += QStringLiteral(":%1").arg(threads);
    if (!quantizedEngine.isEmpty())
        s += QLatin1Char(':') + quantizedEngine;
    return s;
}

torch::Device Backend::device() const
{
    if (kind == Kind::Cuda)
        return torch::Device(torch::kCUDA, c10::DeviceIndex(deviceIndex));
    return torch::Device(torch::kCPU);
}

bool applyBackend(const Backend &backend, QString *error)
{
    const QString name = backend.toString();
    try {
        if (backend.kind == Backend::Kind::Cuda) {
            if (!objectLoaded("libtorch_cuda") && !torch::cuda::is_available()) {
                setError(error, QStringLiteral("backend %1: this libtorch was built without CUDA; "
                                               "install a CUDA build of libtorch or use cpu")
                                    .arg(name));
                return false;
            }
            const auto count = int(torch::cuda::device_count());
            if (backend.deviceIndex >= count) {
                setError(error, QStringLiteral("backend %1: %2 CUDA device(s) visible, index %3 "
                                               "does not exist (check the driver and "
                                               "CUDA_VISIBLE_DEVICES)")
                                    .arg(name)
                                    .arg(count)
                                    .arg(backend.deviceIndex));
                return false;
            }
            return true;
        }
        if (!backend.quantizedEngine.isEmpty()) {
            const QStringList available = supportedEngines();
            const std::optional<at::QEngine> e = engineByName(backend.quantizedEngine);
            if (!e || !available.contains(backend.quantizedEngine)) {
                setError(error, QStringLiteral("backend %1: quantized engine %2 is %3 (available: "
                                               "%4)")
                                    .arg(name, backend.quantizedEngine,
                                         e ? QStringLiteral("not available in this libtorch")
                                           : QStringLiteral("unknown"),
                                         available.join(QStringLiteral(", "))));
                return false;
            }
            at::globalContext().setQEngine(*e);
        }
        const int threads = backend.threads > 0 ? backend.threads : defaultThreads();
        // at::set_num_threads also sets the OpenMP count; OpenBLAS keeps its own, set it too so
        // a "cpu:1" backend really computes on one core.
        at::set_num_threads(threads);
        const int blas = setBlasThreads(threads);
        qCDebug(lcEngine) << "backend" << name << ":" << threads << "intra-op threads," << blas
                          << "BLAS libraries set";
        return true;
    } catch (const std::exception &e) {
        setError(error, QStringLiteral("backend %1: %2").arg(name, QString::fromUtf8(e.what())));
        return false;
    }
}

QJsonObject BackendInfo::toJson() const
{
    QJsonArray gpus;
    for (const CudaDeviceInfo &d : cudaDevices)
        gpus.append(QJsonObject{{QStringLiteral("index"), d.index},
                                {QStringLiteral("name"), d.name},
                                {QStringLiteral("memoryBytes"), d.memoryBytes}});
    return QJsonObject{{QStringLiteral("cpuModel"), cpuModel},
                       {QStringLiteral("physicalCores"), physicalCores},
                       {QStringLiteral("logicalCpus"), logicalCpus},
                       {QStringLiteral("usableCpus"), usableCpus},
                       {QStringLiteral("torchVersion"), torchVersion},
                       {QStringLiteral("intraOpThreads"), intraOpThreads},
                       {QStringLiteral("defaultIntraOpThreads"), defaultIntraOpThreads},
                       {QStringLiteral("interOpThreads"), interOpThreads},
                       {QStringLiteral("ompMaxThreads"), ompMaxThreads},
                       {QStringLiteral("quantizedEngines"), QJsonArray::fromStringList(quantizedEngines)},
                       {QStringLiteral("quantizedEngine"), quantizedEngine},
                       {QStringLiteral("torchHasCuda"), torchHasCuda},
                       {QStringLiteral("cudaDevices"), gpus},
                       {QStringLiteral("cudaNote"), cudaNote},
                       {QStringLiteral("blas"), blas.toJson()},
                       {QStringLiteral("flags"), QJsonArray::fromStringList(flags)}};
}

BackendInfo describeMachine()
{
    BackendInfo info;
    readCpuInfo(&info);
    info.torchVersion = QStringLiteral(TORCH_VERSION);
    try {
        info.intraOpThreads = at::get_num_threads();
        info.defaultIntraOpThreads = defaultThreads();
        info.interOpThreads = at::get_num_interop_threads();
        info.quantizedEngines = supportedEngines();
        info.quantizedEngine = engineName(at::globalContext().qEngine());
        info.torchHasCuda = objectLoaded("libtorch_cuda");
        const int count = info.torchHasCuda ? int(torch::cuda::device_count()) : 0;
        const QList<CudaDeviceInfo> nvml = nvmlDevices();
        for (int i = 0; i < count; ++i) {
            CudaDeviceInfo d;
            d.index = i;
            // NVML counts in PCI bus order, CUDA fastest first unless CUDA_DEVICE_ORDER says
            // otherwise: names only when the two orders cannot differ.
            if (nvml.size() == count &&
                (count == 1 ||
                 qEnvironmentVariable("CUDA_DEVICE_ORDER") == QLatin1String("PCI_BUS_ID")))
                d = nvml[i];
            info.cudaDevices << d;
        }
        if (!info.torchHasCuda)
            info.cudaNote = nvml.isEmpty()
                                ? QStringLiteral("this libtorch was built without CUDA")
                                : QStringLiteral("this libtorch was built without CUDA, though "
                                                 "the driver sees %1 NVIDIA GPU(s): %2")
                                      .arg(nvml.size())
                                      .arg(nvml.first().name);
        else if (count == 0)
            info.cudaNote = QStringLiteral("libtorch has CUDA but sees no device (driver, "
                                           "CUDA_VISIBLE_DEVICES?)");
    } catch (const std::exception &e) {
        qCWarning(lcEngine) << "describing libtorch failed:" << e.what();
        info.flags << QStringLiteral("torch-query-failed");
    }
    info.ompMaxThreads = ompMaxThreads();
    info.blas = detectBlas();
    if (info.blas.isReference())
        info.flags << QStringLiteral("reference-blas");
    else if (info.blas.kind == QLatin1String("unknown") || info.blas.kind == QLatin1String("none"))
        info.flags << QStringLiteral("unknown-blas");
    return info;
}

QList<Backend> availableBackends()
{
    QList<Backend> list;
    list << Backend{};
    Backend one;
    one.threads = 1;
    list << one;
    BackendInfo info;
    readCpuInfo(&info);
    if (info.usableCpus > 1) {
        Backend all;
        all.threads = info.usableCpus;
        list << all;
    }
    if (objectLoaded("libtorch_cuda")) {
        for (int i = 0; i < int(torch::cuda::device_count()); ++i) {
            Backend c;
            c.kind = Backend::Kind::Cuda;
            c.deviceIndex = i;
            list << c;
        }
    }
    return list;
}

} // namespace jb
