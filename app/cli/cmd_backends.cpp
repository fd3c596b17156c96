// SPDX-License-Identifier: GPL-3.0-or-later
// `joulebench-cli backends`: what this machine and this libtorch can run on, and whether the
// BLAS behind libtorch is fit for timing.
#include "command.h"

#include "engine/backend.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace {

using namespace jb;
using namespace jb::cli;

QString row(const QString &key, const QString &value)
{
    return QStringLiteral("  %1 %2\n").arg(key, -16).arg(value);
}

QString gib(qint64 bytes)
{
    return QStringLiteral("%1 GiB").arg(double(bytes) / double(qint64(1) << 30), 0, 'f', 1);
}

QString table(const BackendInfo &m, const QList<Backend> &backends)
{
    QString t = QStringLiteral("Machine\n");
    t += row(QStringLiteral("CPU"), m.cpuModel.isEmpty() ? QStringLiteral("(unknown)") : m.cpuModel);
    t += row(QStringLiteral("Cores"), QStringLiteral("%1 physical, %2 logical, %3 usable by this "
                                                     "process")
                                          .arg(m.physicalCores)
                                          .arg(m.logicalCpus)
                                          .arg(m.usableCpus));
    t += row(QStringLiteral("libtorch"), QStringLiteral("%1, intra-op threads %2 (default %3), "
                                                        "inter-op %4, OpenMP max %5")
                                             .arg(m.torchVersion)
                                             .arg(m.intraOpThreads)
                                             .arg(m.defaultIntraOpThreads)
                                             .arg(m.interOpThreads)
                                             .arg(m.ompMaxThreads));
    QString blas = m.blas.kind;
    if (!m.blas.library.isEmpty())
        blas += QStringLiteral(" (%1)").arg(m.blas.library);
    t += row(QStringLiteral("BLAS"), blas);
    if (!m.blas.config.isEmpty())
        t += row(QString(), m.blas.config + (m.blas.threads > 0
                                                 ? QStringLiteral(", %1 threads").arg(m.blas.threads)
                                                 : QString()));
    t += row(QStringLiteral("Quantized"), QStringLiteral("%1 (current: %2)")
                                              .arg(m.quantizedEngines.join(QStringLiteral(", ")),
                                                   m.quantizedEngine));
    if (m.cudaDevices.isEmpty()) {
        t += row(QStringLiteral("CUDA"), QStringLiteral("none: ") + m.cudaNote);
    } else {
        for (const CudaDeviceInfo &d : m.cudaDevices)
            t += row(QStringLiteral("CUDA %1").arg(d.index),
                     (d.name.isEmpty() ? QStringLiteral("(name unknown)") : d.name) +
                         (d.memoryBytes > 0 ? QStringLiteral(", ") + gib(d.memoryBytes) : QString()));
    }
    t += QStringLiteral("\nBackends (syntax cpu[:<threads>][:<quantized engine>], cuda[:<index>])\n");
    for (const Backend &b : backends) {
        QString what;
        if (b.kind == Backend::Kind::Cuda)
            what = QStringLiteral("CUDA device %1").arg(b.deviceIndex);
        else if (b.threads == 0)
            what = QStringLiteral("CPU, libtorch's default thread count (%1 here)")
                       .arg(m.defaultIntraOpThreads);
        else
            what = QStringLiteral("CPU, %1 thread%2").arg(b.threads).arg(b.threads == 1 ? QString() : QStringLiteral("s"));
        t += row(b.toString(), what);
    }
    for (const QString &q : m.quantizedEngines)
        t += row(QStringLiteral("cpu:") + q, QStringLiteral("CPU with the %1 quantized engine").arg(q));
    if (!m.flags.isEmpty())
        t += QStringLiteral("\nFlags: %1\n").arg(m.flags.join(QStringLiteral(", ")));
    return t;
}

int runBackends(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Lists the CPU, libtorch, BLAS, quantized engines and CUDA devices of this "
                       "machine, and the backends a plan can name."));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print JSON."));
    const QCommandLineOption check(QStringLiteral("check"),
                                   QStringLiteral("Apply <backend> (e.g. cpu:1:qnnpack) and report "
                                                  "whether this machine can run it."),
                                   QStringLiteral("backend"));
    parser.addOption(json);
    parser.addOption(check);
    int code = ExitOk;
    if (!parseArguments(parser, args, &code))
        return code;
    if (!parser.positionalArguments().isEmpty()) {
        printError(QStringLiteral("unexpected argument '%1'").arg(parser.positionalArguments().first()));
        return ExitUsage;
    }
    if (parser.isSet(check)) {
        QString error;
        const std::optional<Backend> b = Backend::parse(parser.value(check), &error);
        if (!b) {
            printError(error);
            return ExitUsage;
        }
        if (!applyBackend(*b, &error)) {
            printError(error);
            return ExitFailure;
        }
    }
    const BackendInfo machine = describeMachine();
    const QList<Backend> backends = availableBackends();
    if (parser.isSet(json)) {
        QJsonObject o = machine.toJson();
        QJsonArray list;
        for (const Backend &b : backends)
            list.append(b.toString());
        for (const QString &q : machine.quantizedEngines)
            list.append(QString(QStringLiteral("cpu:") + q));
        o.insert(QStringLiteral("backends"), list);
        if (parser.isSet(check))
            o.insert(QStringLiteral("checked"), Backend::parse(parser.value(check), nullptr)->toString());
        printOut(QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Indented)));
    } else {
        if (parser.isSet(check))
            printOut(QStringLiteral("backend %1: OK\n").arg(Backend::parse(parser.value(check), nullptr)->toString()));
        printOut(table(machine, backends));
    }
    if (machine.blas.isReference())
        printError(QStringLiteral("libtorch uses the reference BLAS (%1): fp32 timings and energy "
                                  "will be ~30x too high. Fix: update-alternatives --set "
                                  "libblas.so.3-x86_64-linux-gnu "
                                  "/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3")
                       .arg(machine.blas.library));
    return ExitOk;
}

} // namespace

JB_CLI_COMMAND(backends, "backends", "List this machine's CPU, BLAS, quantized engines and GPUs",
               runBackends);
