// SPDX-License-Identifier: GPL-3.0-or-later
// Backends: the strings plans use, what applying them does to libtorch and the BLAS, the
// errors a user meets, BLAS detection, and `joulebench-cli backends`.
#include "engine/backend.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QtTest>

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/torch.h>

using namespace jb;

namespace {

const QString kReferenceBlas = QStringLiteral("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3");
const QString kSelectedBlas = QStringLiteral("/usr/lib/x86_64-linux-gnu/libblas.so.3");

QString parseError(const QString &text)
{
    QString error;
    if (Backend::parse(text, &error))
        return QStringLiteral("<parsed>");
    return error;
}

} // namespace

class TestBackend : public QObject
{
    Q_OBJECT

private:
    struct Result
    {
        int code = -1;
        QString out;
        QString err;
    };
    static Result cli(const QStringList &args, const QString &preload = QString())
    {
#ifdef JB_CLI_PATH
        QProcess p;
        if (!preload.isEmpty()) {
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            env.insert(QStringLiteral("LD_PRELOAD"), preload);
            p.setProcessEnvironment(env);
        }
        p.start(QStringLiteral(JB_CLI_PATH), args);
        if (!p.waitForFinished(60000))
            return {};
        return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()),
                QString::fromUtf8(p.readAllStandardError())};
#else
        Q_UNUSED(args);
        Q_UNUSED(preload);
        return {};
#endif
    }

private Q_SLOTS:
    void parsesTheBackendSyntax()
    {
        QString error;
        auto b = Backend::parse(QStringLiteral("cpu"), &error);
        QVERIFY2(b, qPrintable(error));
        QCOMPARE(b->kind, Backend::Kind::Cpu);
        QCOMPARE(b->threads, 0);
        QVERIFY(b->quantizedEngine.isEmpty());
        QCOMPARE(b->device(), torch::Device(torch::kCPU));

        b = Backend::parse(QStringLiteral("cpu:1:qnnpack"), &error);
        QVERIFY2(b, qPrintable(error));
        QCOMPARE(b->threads, 1);
        QCOMPARE(b->quantizedEngine, QStringLiteral("qnnpack"));

        // Order-free and case-free, one canonical spelling.
        b = Backend::parse(QStringLiteral(" CPU:onednn:4 "), &error);
        QVERIFY2(b, qPrintable(error));
        QCOMPARE(b->toString(), QStringLiteral("cpu:4:onednn"));

        b = Backend::parse(QStringLiteral("cuda"), &error);
        QVERIFY2(b, qPrintable(error));
        QCOMPARE(b->toString(), QStringLiteral("cuda:0"));
        b = Backend::parse(QStringLiteral("cuda:1"), &error);
        QVERIFY2(b, qPrintable(error));
        QCOMPARE(b->device(), torch::Device(torch::kCUDA, 1));

        for (const QString &s : {QStringLiteral("cpu"), QStringLiteral("cpu:2"),
                                 QStringLiteral("cpu:qnnpack"), QStringLiteral("cpu:8:onednn"),
                                 QStringLiteral("cuda:3")}) {
            const auto parsed = Backend::parse(s, &error);
            QVERIFY2(parsed, qPrintable(error));
            QCOMPARE(parsed->toString(), s);
            QCOMPARE(*Backend::parse(parsed->toString(), &error), *parsed);
        }
    }

    void parseErrorsSayWhatIsExpected()
    {
        QVERIFY2(parseError(QStringLiteral("cpu:0")).contains(
                     QStringLiteral("backend 'cpu:0': 0 threads: expected 1..1024")),
                 qPrintable(parseError(QStringLiteral("cpu:0"))));
        QVERIFY(parseError(QStringLiteral("cpu:2:3")).contains(QStringLiteral("unexpected '3'")));
        QVERIFY(parseError(QStringLiteral("cpu:qnnpack:onednn"))
                    .contains(QStringLiteral("unexpected 'onednn'")));
        QVERIFY(parseError(QStringLiteral("cpu:-1")).contains(QStringLiteral("threads")));
        const QString tpu = parseError(QStringLiteral("tpu:0"));
        QVERIFY2(tpu.contains(QStringLiteral("unknown kind 'tpu': expected cpu[:<threads>]"
                                             "[:<quantized engine>] or cuda[:<index>]")),
                 qPrintable(tpu));
        QVERIFY(parseError(QStringLiteral("cuda:x")).contains(QStringLiteral("device index 'x'")));
        QVERIFY(parseError(QStringLiteral("cuda:0:1")).contains(QStringLiteral("expected")));
        QVERIFY(parseError(QString()).contains(QStringLiteral("unknown kind ''")));
    }

    void applyingCpuSetsTorchAndBlasThreads()
    {
        QString error;
        QVERIFY2(applyBackend(*Backend::parse(QStringLiteral("cpu:1"), &error), &error),
                 qPrintable(error));
        QCOMPARE(at::get_num_threads(), 1);
        QCOMPARE(describeMachine().intraOpThreads, 1);
        const BlasInfo blas = detectBlas();
        if (blas.kind == QLatin1String("openblas"))
            QCOMPARE(blas.threads, 1);

        QVERIFY2(applyBackend(Backend{}, &error), qPrintable(error));
        QCOMPARE(at::get_num_threads(), at::intraop_default_num_threads());
        if (blas.kind == QLatin1String("openblas"))
            QCOMPARE(detectBlas().threads, at::intraop_default_num_threads());
    }

    void applyingAQuantizedEngine()
    {
        const QStringList engines = describeMachine().quantizedEngines;
        QVERIFY(!engines.isEmpty());
        QString error;
        for (const QString &e : engines) {
            QVERIFY2(applyBackend(*Backend::parse(QStringLiteral("cpu:1:") + e, &error), &error),
                     qPrintable(error));
            QCOMPARE(describeMachine().quantizedEngine, e);
        }
        QVERIFY(!applyBackend(*Backend::parse(QStringLiteral("cpu:1:bogus"), &error), &error));
        QVERIFY2(error.contains(QStringLiteral("quantized engine bogus is unknown (available: ") +
                                engines.join(QStringLiteral(", ")) + QLatin1Char(')')),
                 qPrintable(error));
        if (engines.contains(QStringLiteral("fbgemm")))
            QSKIP("this libtorch has FBGEMM; the missing-engine message cannot be shown");
        QVERIFY(!applyBackend(*Backend::parse(QStringLiteral("cpu:fbgemm"), &error), &error));
        QVERIFY2(error.contains(QStringLiteral("quantized engine fbgemm is not available in this "
                                               "libtorch (available: ") +
                                engines.join(QStringLiteral(", ")) + QLatin1Char(')')),
                 qPrintable(error));
    }

    void cudaWithoutCudaIsAClearError()
    {
        if (torch::cuda::is_available())
            QSKIP("this libtorch has CUDA and a device");
        QString error;
        QVERIFY(!applyBackend(*Backend::parse(QStringLiteral("cuda:0"), &error), &error));
        QVERIFY2(error.contains(QStringLiteral("backend cuda:0: this libtorch was built without "
                                               "CUDA")),
                 qPrintable(error));
        const BackendInfo m = describeMachine();
        QVERIFY(m.cudaDevices.isEmpty());
        QVERIFY(m.cudaNote.contains(QStringLiteral("without CUDA")));
        for (const Backend &b : availableBackends())
            QCOMPARE(b.kind, Backend::Kind::Cpu);
    }

    void blasDetectionFindsTheSelectedLibrary()
    {
        const QString selected = QFileInfo(kSelectedBlas).canonicalFilePath();
        if (selected.isEmpty())
            QSKIP("no libblas.so.3 alternative on this system");
        const BlasInfo blas = detectBlas();
        QVERIFY2(!blas.library.isEmpty(), "no library answers sgemm_");
        if (selected.contains(QLatin1String("openblas"))) {
            QCOMPARE(blas.kind, QStringLiteral("openblas"));
            QVERIFY2(blas.library.contains(QLatin1String("openblas")), qPrintable(blas.library));
            QVERIFY2(blas.config.startsWith(QLatin1String("OpenBLAS")), qPrintable(blas.config));
            QVERIFY(blas.threads >= 1);
            QVERIFY(!describeMachine().flags.contains(QStringLiteral("reference-blas")));
        } else if (selected.contains(QLatin1String("/blas/"))) {
            QCOMPARE(blas.kind, QStringLiteral("reference"));
            QVERIFY(describeMachine().flags.contains(QStringLiteral("reference-blas")));
        }
    }

    void describesTheMachine()
    {
        const BackendInfo m = describeMachine();
        QVERIFY(m.logicalCpus >= 1);
        QVERIFY(m.usableCpus >= 1 && m.usableCpus <= m.logicalCpus);
        QVERIFY(m.physicalCores >= 1 && m.physicalCores <= m.logicalCpus);
        QVERIFY(m.torchVersion.startsWith(QString::number(TORCH_VERSION_MAJOR) + QLatin1Char('.')));
        QVERIFY(m.intraOpThreads >= 1);
        if (QFileInfo(QStringLiteral("/proc/cpuinfo")).exists())
            QVERIFY(!m.cpuModel.isEmpty());
        const QJsonObject j = m.toJson();
        for (const char *key : {"cpuModel", "physicalCores", "torchVersion", "quantizedEngines",
                                "blas", "cudaDevices", "flags", "ompMaxThreads"})
            QVERIFY2(j.contains(QLatin1String(key)), key);
        QCOMPARE(j.value(QStringLiteral("blas")).toObject().value(QStringLiteral("kind")).toString(),
                 m.blas.kind);
    }

    void cliListsBackends()
    {
#ifndef JB_CLI_PATH
        QSKIP("joulebench-cli is not built");
#endif
        Result r = cli({QStringLiteral("backends")});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains(QStringLiteral("BLAS")) && r.out.contains(QStringLiteral("cpu:1")),
                 qPrintable(r.out));
        QVERIFY(r.out.contains(detectBlas().kind));

        r = cli({QStringLiteral("backends"), QStringLiteral("--json")});
        QCOMPARE(r.code, 0);
        QJsonParseError pe;
        const QJsonObject j = QJsonDocument::fromJson(r.out.toUtf8(), &pe).object();
        QVERIFY2(pe.error == QJsonParseError::NoError, qPrintable(pe.errorString()));
        QCOMPARE(j.value(QStringLiteral("blas")).toObject().value(QStringLiteral("kind")).toString(),
                 detectBlas().kind);
        QVERIFY(j.value(QStringLiteral("backends")).toArray().contains(QStringLiteral("cpu:1")));

        r = cli({QStringLiteral("backends"), QStringLiteral("--check"), QStringLiteral("cpu:1")});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains(QStringLiteral("backend cpu:1: OK")), qPrintable(r.out));
        if (!torch::cuda::is_available()) {
            r = cli({QStringLiteral("backends"), QStringLiteral("--check"), QStringLiteral("cuda:0")});
            QCOMPARE(r.code, 1);
            QVERIFY2(r.err.contains(QStringLiteral("this libtorch was built without CUDA")),
                     qPrintable(r.err));
        }
        r = cli({QStringLiteral("backends"), QStringLiteral("--check"), QStringLiteral("tpu")});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains(QStringLiteral("unknown kind 'tpu'")));
    }

    void cliWarnsAboutTheReferenceBlas()
    {
#ifndef JB_CLI_PATH
        QSKIP("joulebench-cli is not built");
#endif
        if (!QFileInfo::exists(kReferenceBlas))
            QSKIP("the reference BLAS (libblas3) is not installed");
        // Preloaded, the reference BLAS answers sgemm_ first: what a wrong alternative does.
        const Result r = cli({QStringLiteral("backends"), QStringLiteral("--json")}, kReferenceBlas);
        QCOMPARE(r.code, 0);
        const QJsonObject j = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QCOMPARE(j.value(QStringLiteral("blas")).toObject().value(QStringLiteral("kind")).toString(),
                 QStringLiteral("reference"));
        QVERIFY(j.value(QStringLiteral("flags")).toArray().contains(QStringLiteral("reference-blas")));
        QVERIFY2(r.err.contains(QStringLiteral("libtorch uses the reference BLAS")), qPrintable(r.err));
        QVERIFY(r.err.contains(QStringLiteral("update-alternatives --set")));
    }
};

QTEST_GUILESS_MAIN(TestBackend)
#include "tst_backend.moc"
