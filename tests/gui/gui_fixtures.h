// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Shared fixtures of the GUI tests: the technique catalog fixture and a comparison database
// built through the Store API.

#include "database/sample_writer.h"
#include "database/store.h"
#include "engine/technique_metadata.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

namespace jb::test {

inline QString dataPath(const QString &name)
{
    return QStringLiteral(JB_TEST_DATA_DIR "/gui/") + name;
}

inline QList<TechniqueMetadata> techniqueFixture()
{
    QFile f(dataPath(QStringLiteral("techniques.json")));
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot read techniques.json");
    QList<TechniqueMetadata> out;
    for (const QJsonValue &v : QJsonDocument::fromJson(f.readAll()).array()) {
        QStringList errors;
        const auto m = parseTechniqueMetadata(v.toObject(), &errors);
        if (!m)
            qFatal("techniques.json: %s", qPrintable(errors.join(u'\n')));
        out.append(*m);
    }
    return out;
}

/// What the fixture database holds, to compare the charts against.
struct FixtureVariant
{
    QString label;
    QByteArray chain;
    double trainJ, prepareJ, evaluateJ, inferJ; ///< net J per phase (repetition 0; +1 J per rep)
    double accuracy;                            ///< fraction
    double perInferenceJ;                       ///< J/sample at batch 64 (rep r: + r * 1e-5)
    double macs, params;
};

inline QList<FixtureVariant> fixtureVariants()
{
    return {{QStringLiteral("baseline"), "[]", 100, 0, 10, 20, 0.90, 0.0030, 2.0e6, 1.0e5},
            {QStringLiteral("prune-50"), R"([{"plugin":"prune.magnitude","params":{"sparsity":0.5}}])",
             100, 40, 8, 15, 0.895, 0.0020, 1.0e6, 5.0e4},
            {QStringLiteral("prune-90"), R"([{"plugin":"prune.magnitude","params":{"sparsity":0.9}}])",
             100, 60, 6, 12, 0.85, 0.0012, 0.3e6, 1.0e4}};
}

/// Builds the database: 3 variants x 3 repetitions, domain package-0 (measured), phases idle,
/// train, prepare (not for the baseline), evaluate, inference:b64, 10 Hz samples; returns the
/// experiment id.
inline qint64 buildFixtureDatabase(const QString &path, int samplesPerRun = 400)
{
    db::Store store;
    QString error;
    if (!store.open(path, db::Store::OpenMode::ReadWrite, &error))
        qFatal("%s", qPrintable(error));
    const QByteArray plan = R"({"name":"fixture","accuracyBudget":1.0})";
    const qint64 exp = *store.createExperiment(QStringLiteral("fixture"), plan,
                                               QStringLiteral("cafe"), &error);
    const QList<FixtureVariant> vs = fixtureVariants();
    for (int rep = 0; rep < 3; ++rep)
        for (const FixtureVariant &v : vs) {
            db::RunKey key{v.label, v.chain, QStringLiteral("cpu"), rep, v.label + QStringLiteral("-key")};
            const qint64 run = *store.createRun(exp, key, "{}", "{}", &error);
            auto writer = store.sampleWriter(run, &error);
            const int ch = *writer->addDomain({0, QStringLiteral("package-0"), db::ValueKind::Measured,
                                               QStringLiteral("rapl-powercap")}, &error);
            double joules = 0;
            for (int i = 0; i < samplesPerRun; ++i) {
                joules += (20.0 + (i % 50) * 0.2 + rep) * 0.1; // ~20-30 W at 10 Hz
                writer->append(ch, i * 0.1, joules);
            }
            writer->flush(&error);
            writer.reset();
            int ordinal = 0;
            double t = 0;
            auto phase = [&](const QString &name, double dur, double netJ) {
                db::PhaseRecord p;
                p.name = name;
                p.ordinal = ordinal++;
                p.tStart = t;
                p.duration = dur;
                p.energy.append({QStringLiteral("package-0"), netJ + 5.0 * dur, netJ,
                                 db::ValueKind::Measured, (netJ + 5.0 * dur) / dur});
                t += dur;
                if (!store.addPhase(run, p, &error))
                    qFatal("%s", qPrintable(error));
            };
            phase(QStringLiteral("idle"), 2, 0);
            phase(QStringLiteral("train"), 10, v.trainJ + rep);
            if (v.prepareJ > 0)
                phase(QStringLiteral("prepare"), 5, v.prepareJ + rep);
            phase(QStringLiteral("evaluate"), 3, v.evaluateJ + rep);
            phase(QStringLiteral("inference:b64"), 4, v.inferJ + rep);
            auto metric = [&](const QString &ph, const QString &name, double value, db::ValueKind k) {
                if (!store.setMetric(run, ph, name, value, QString(), k, &error))
                    qFatal("%s", qPrintable(error));
            };
            metric(QStringLiteral("evaluate"), QStringLiteral("accuracy"), v.accuracy, db::ValueKind::Computed);
            metric(QStringLiteral("inference:b64"), QStringLiteral("energy_per_inference_j/package-0"),
                   v.perInferenceJ + rep * 1e-5, db::ValueKind::Measured);
            metric(QString(), QStringLiteral("macs"), v.macs, db::ValueKind::Proxy);
            metric(QString(), QStringLiteral("params"), v.params, db::ValueKind::Proxy);
            if (!store.finishRun(run, db::RunStatus::Completed, {}, QString(), &error))
                qFatal("%s", qPrintable(error));
        }
    return exp;
}

} // namespace jb::test
