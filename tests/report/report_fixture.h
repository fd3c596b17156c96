// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The report tests' fixture database: fixed numbers, fixed timestamps, a hostile label.

#include "database/sample_writer.h"
#include "database/store.h"

#include <QFile>
#include <QSqlDatabase>
#include <QSqlQuery>

using namespace Qt::StringLiterals;

namespace jb::test {

inline const QString kEvil = u"<script>alert(1)</script> & \"quotes\" 'single'"_s;

inline QByteArray envJson()
{
    return R"json({"host":"node-7","kernel":"Linux 6.1.0 #1 SMP x86_64","os":"Debian GNU/Linux 12 (bookworm)",
"memoryBytes":17179869184,"cpu":{"model":"Fixture CPU 3000","physicalCores":4,"logicalCpus":8,"usableCpus":8},
"cpufreq":{"readable":true,"governors":["performance"],"driver":"intel_pstate"},
"software":{"joulebench":"0.1.0","revision":"abc123def456","qtRuntime":"6.4.2","qtBuild":"6.4.2","torch":"1.13.0","compiler":"12.2.0"},
"blas":{"kind":"openblas","config":"OpenBLAS 0.3.21"},"meterWarnings":["nvml: not present (fixture)"],
"meters":[{"id":"rapl-powercap","name":"RAPL (powercap)","kind":"measured","updateIntervalS":0.001,
 "domains":[{"name":"package-0","kind":"measured","method":"counter","partOf":""}]},
 {"id":"estimate","name":"CPU-time estimate (TDP 65 W x busy fraction)","kind":"estimate","updateIntervalS":0.01,
 "domains":[{"name":"cpu","kind":"estimate","method":"cpu-time-x-tdp","partOf":""}]}]})json";
}

inline QByteArray planJson()
{
    return (uR"json({"version":1,"name":"fixture %1","seed":42,
"dataset":{"name":"fashion-mnist","trainLimit":1000,"testLimit":500},
"model":{"zoo":"cnn-small"},"training":{"epochs":1,"batchSize":64,"optimizer":"adam","learningRate":0.001},
"variants":[{"label":"baseline","chain":[]},{"label":"%1","chain":[{"plugin":"prune.magnitude","params":{"sparsity":0.5}}]}],
"backends":["cpu"],"repetitions":2,"inference":{"batchSizes":[64],"batches":100,"warmupBatches":5},
"measurement":{"meters":"auto","idleBefore":2.0,"idleAfter":0.0,"samplingHz":10},
"accuracyBudget":1.0,"order":"interleaved","cacheBaseline":false})json"_s)
        .arg(QString(kEvil).replace(u"\""_s, u"\\\""_s))
        .toUtf8();
}

/// Two variants (the second with a hostile label) x 2 repetitions plus one failed run; domains
/// package-0 (measured) and cpu (estimate); fixed timestamps. Returns the experiment id.
inline qint64 buildFixture(const QString &path)
{
    db::Store store;
    QString error;
    if (!store.open(path, db::Store::OpenMode::ReadWrite, &error))
        qFatal("%s", qPrintable(error));
    const qint64 exp = *store.createExperiment(u"fixture "_s + kEvil, planJson(),
                                               u"feedfacecafebeef0123"_s, &error);
    struct V
    {
        QString label;
        QByteArray chain;
        double train, prepare, eval, infer, acc, epi;
    };
    const QList<V> vs{{u"baseline"_s, "[]", 100, 0, 10, 20, 0.90, 0.0030},
                      {kEvil, R"([{"plugin":"prune.magnitude","params":{"sparsity":0.5}}])", 100,
                       40, 8, 15, 0.895, 0.0020}};
    for (int rep = 0; rep < 2; ++rep)
        for (const V &v : vs) {
            const db::RunKey key{v.label, v.chain, u"cpu"_s, rep, v.label.left(8) + u"-key"_s};
            const qint64 run = *store.createRun(exp, key, "{}", envJson(), &error);
            auto writer = store.sampleWriter(run, &error);
            const int pkg = *writer->addDomain(
                {0, u"package-0"_s, db::ValueKind::Measured, u"rapl-powercap"_s}, &error);
            const int cpu =
                *writer->addDomain({0, u"cpu"_s, db::ValueKind::Estimate, u"estimate"_s}, &error);
            for (int i = 0; i < 200; ++i) {
                writer->append(pkg, i * 0.1, i * (2.0 + rep + (i % 7) * 0.1));
                writer->append(cpu, i * 0.1, i * (1.5 + (i % 5) * 0.1));
            }
            if (!writer->flush(&error))
                qFatal("%s", qPrintable(error));
            writer.reset();
            int ordinal = 0;
            double t = 0;
            auto phase = [&](const QString &name, double dur, double netJ) {
                db::PhaseRecord p{0, name, ordinal++, t, dur, {}};
                p.energy.append({u"package-0"_s, netJ + 5 * dur, netJ, db::ValueKind::Measured,
                                 (netJ + 5 * dur) / dur});
                p.energy.append({u"cpu"_s, netJ * 0.8 + 3 * dur, netJ * 0.8,
                                 db::ValueKind::Estimate, (netJ * 0.8 + 3 * dur) / dur});
                t += dur;
                if (!store.addPhase(run, p, &error))
                    qFatal("%s", qPrintable(error));
            };
            phase(u"idle"_s, 2, 0);
            phase(u"train"_s, 10, v.train + rep);
            if (v.prepare > 0)
                phase(u"prepare"_s, 5, v.prepare + rep);
            phase(u"evaluate"_s, 3, v.eval + rep * 0.5);
            phase(u"inference:b64"_s, 4, v.infer + rep * 0.25);
            auto metric = [&](const QString &ph, const QString &name, double value,
                              db::ValueKind k) {
                if (!store.setMetric(run, ph, name, value, QString(), k, &error))
                    qFatal("%s", qPrintable(error));
            };
            metric(u"evaluate"_s, u"accuracy"_s, v.acc + rep * 0.001, db::ValueKind::Computed);
            metric(u"inference:b64"_s, u"energy_per_inference_j/package-0"_s, v.epi + rep * 1e-5,
                   db::ValueKind::Measured);
            metric(u"inference:b64"_s, u"energy_per_inference_j/cpu"_s, v.epi * 0.8 + rep * 1e-5,
                   db::ValueKind::Estimate);
            metric(u"inference:b64"_s, u"latency_p50_ms"_s, 4.0 - v.prepare / 40 + rep * 0.1,
                   db::ValueKind::Computed);
            metric(u"inference:b64"_s, u"throughput_sps"_s, 16000 + v.prepare * 10,
                   db::ValueKind::Computed);
            metric(QString(), u"macs"_s, v.prepare > 0 ? 1.0e6 : 2.0e6, db::ValueKind::Proxy);
            metric(QString(), u"params"_s, v.prepare > 0 ? 5.0e4 : 1.0e5, db::ValueKind::Proxy);
            metric(QString(), u"sampler_rate_hz"_s, 9.8, db::ValueKind::Computed);
            QStringList flags{u"estimate"_s};
            if (rep == 1)
                flags.prepend(u"background-load"_s);
            if (!store.finishRun(run, db::RunStatus::Completed, flags, QString(), &error))
                qFatal("%s", qPrintable(error));
        }
    // A failed run with an error text that needs escaping too.
    const db::RunKey key{kEvil, vs.at(1).chain, u"cpu"_s, 2, kEvil.left(8) + u"-key"_s};
    const qint64 failed = *store.createRun(exp, key, "{}", envJson(), &error);
    if (!store.finishRun(failed, db::RunStatus::Failed, {}, u"<b>boom</b> & gone"_s, &error))
        qFatal("%s", qPrintable(error));
    store.close();

    // Fixed timestamps: the report shows the run data, and the goldens must not change.
    {
        QSqlDatabase sql = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"fixture-times"_s);
        sql.setDatabaseName(path);
        if (!sql.open())
            qFatal("cannot open the fixture with Qt Sql");
        QSqlQuery q(sql);
        if (!q.exec(u"UPDATE experiment SET created = '2026-01-02T03:04:05.000Z'"_s) ||
            !q.exec(u"UPDATE run SET started = '2026-01-02T03:05:00.000Z', "
                    "ended = '2026-01-02T03:06:00.000Z', owner_host = 'node-7'"_s))
            qFatal("cannot fix the fixture's timestamps");
        sql.close();
    }
    QSqlDatabase::removeDatabase(u"fixture-times"_s);
    return exp;
}

inline QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace jb::test
