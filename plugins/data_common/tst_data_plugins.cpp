// SPDX-License-Identifier: GPL-3.0-or-later
// The four data-selection plugins through the real plugin path: subset sizes per epoch for
// each plugin and ratio schedule, determinism with a seed, the "train:score" / "train:fit"
// sub-phases, the stored metrics, and a whole experiment through the runner on a Fashion-MNIST
// subset (phases and metrics in the database).
#include "plugin_test_support.h"
#include "plugins/pruning_common/pruning_test_support.h"

#include "database/store.h"
#include "engine/runner.h"
#include "engine/technique.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QtTest>

#include <torch/torch.h>

#include <cmath>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

/// The rows per epoch that a technique logged ("epoch e/E: training on k of N rows").
QList<qint64> epochRows(const test::Recorded &rec)
{
    QList<qint64> out;
    for (const auto &[message, data] : rec.logs)
        if (data.contains(u"rows"_s) && data.contains(u"of"_s))
            out.append(data.value(u"rows"_s).toInteger());
    return out;
}

bool sameWeights(const Model &a, const Model &b)
{
    const NamedTensors x = a.state();
    const NamedTensors y = b.state();
    if (x.size() != y.size())
        return false;
    for (size_t i = 0; i < x.size(); ++i)
        if (!torch::equal(x[i].second, y[i].second))
            return false;
    return true;
}

} // namespace

class TestDataPlugins : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::unique_ptr<TechniqueRegistry> m_registry;
    DatasetSplits m_data = test::syntheticSplits(256);

    std::unique_ptr<Technique> create(const QString &id, const QJsonObject &params)
    {
        QString error;
        auto t = m_registry->create(id, params, &error);
        if (!t)
            qWarning("%s", qPrintable(error));
        return t;
    }

    /// Trains an untrained mlp with `id` for `epochs` epochs; returns the context (model out).
    TechniqueContext trained(const QString &id, const QJsonObject &params, int epochs,
                             test::Recorded *rec, quint64 seed = 5, bool *ok = nullptr)
    {
        TechniqueContext c =
            test::recordingContext(test::zooModel(u"mlp"_s), &m_data, nullptr, rec, seed);
        c.training.epochs = epochs;
        c.training.seed = 99;
        auto technique = create(id, params);
        QString error;
        const bool done = technique && technique->trainsModel() && technique->train(c, &error);
        if (!done)
            qWarning("%s: %s", qPrintable(id), qPrintable(error));
        if (ok)
            *ok = done;
        return c;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        for (const char *file :
             {JB_RANDOM_FILE, JB_EL2N_FILE, JB_FORGETTING_FILE, JB_LOSS_ADAPTIVE_FILE})
            QVERIFY(!test::copyPlugin(QString::fromUtf8(file), m_dir.path()).isEmpty());
        m_registry = test::scannedRegistry({m_dir.path()});
        QVERIFY2(m_registry->rejected().isEmpty(),
                 qPrintable(m_registry->rejected().value(0).message));
        QStringList ids = m_registry->ids();
        ids.sort();
        QCOMPARE(ids, (QStringList{u"data.el2n"_s, u"data.forgetting"_s, u"data.loss_adaptive"_s,
                                   u"data.random"_s}));
        QString error;
        QVERIFY(!m_registry->create(
            u"data.random"_s,
            {{u"ratio"_s, 0.3}, {u"ratio_schedule"_s, u"linear"_s}, {u"ratio_end"_s, 0.6}},
            &error));
        QVERIFY2(error.contains(u"params.ratio_end"_s), qPrintable(error));
        QVERIFY(!m_registry->create(u"data.el2n"_s,
                                    {{u"score_run"_s, u"same"_s}, {u"score_seeds"_s, 3}}, &error));
        QVERIFY2(error.contains(u"params.score_seeds"_s), qPrintable(error));
        QVERIFY(!m_registry->create(u"data.random"_s, {{u"ratio"_s, 0.0}}, &error));
    }

    void randomAdaptiveRedrawsEachEpoch()
    {
        test::Recorded rec;
        bool ok = false;
        TechniqueContext c = trained(u"data.random"_s, {{u"ratio"_s, 0.5}}, 3, &rec, 5, &ok);
        QVERIFY(ok);
        QCOMPARE(epochRows(rec), (QList<qint64>{128, 128, 128}));
        QVERIFY(rec.phases.isEmpty()); // no scoring: the whole of `train` is training
        QCOMPARE(rec.metrics.at(u"samples_seen"_s), 384.0);
        QCOMPARE(rec.metrics.at(u"fraction_seen"_s), 0.5);
        QVERIFY(rec.metrics.at(u"distinct_fraction"_s) > 0.6); // new rows every epoch
        QCOMPARE(rec.metrics.at(u"scoring_seconds"_s), 0.0);

        // Same seed: same subsets, hence the same weights; another seed: other subsets.
        test::Recorded again, other;
        TechniqueContext c2 = trained(u"data.random"_s, {{u"ratio"_s, 0.5}}, 3, &again, 5);
        TechniqueContext c3 = trained(u"data.random"_s, {{u"ratio"_s, 0.5}}, 3, &other, 6);
        QVERIFY(sameWeights(*c.model, *c2.model));
        QVERIFY(!sameWeights(*c.model, *c3.model));
    }

    void randomFixedAndDecreasing()
    {
        test::Recorded fixed;
        trained(u"data.random"_s, {{u"ratio"_s, 0.25}, {u"mode"_s, u"fixed"_s}}, 3, &fixed);
        QCOMPARE(epochRows(fixed), (QList<qint64>{64, 64, 64}));
        QCOMPARE(fixed.metrics.at(u"distinct_fraction"_s), 0.25); // one subset for the run

        test::Recorded linear;
        trained(u"data.random"_s,
                {{u"ratio"_s, 0.8}, {u"ratio_schedule"_s, u"linear"_s}, {u"ratio_end"_s, 0.2}}, 3,
                &linear);
        QCOMPARE(epochRows(linear), (QList<qint64>{205, 128, 51}));
        QCOMPARE(linear.metrics.at(u"samples_seen"_s), 384.0);

        test::Recorded shrinking;
        trained(u"data.random"_s,
                {{u"ratio"_s, 0.5},
                 {u"mode"_s, u"fixed"_s},
                 {u"ratio_schedule"_s, u"linear"_s},
                 {u"ratio_end"_s, 0.25},
                 {u"stratified"_s, true}},
                2, &shrinking);
        QCOMPARE(epochRows(shrinking), (QList<qint64>{128, 64}));
        QCOMPARE(shrinking.metrics.at(u"distinct_fraction"_s), 0.5); // the later part is inside
    }

    void el2nSeparateScoringThenSubset()
    {
        test::Recorded rec;
        bool ok = false;
        trained(u"data.el2n"_s, {{u"ratio"_s, 0.25}, {u"score_epochs"_s, 1}, {u"score_seeds"_s, 2}},
                2, &rec, 5, &ok);
        QVERIFY(ok);
        QCOMPARE(rec.phases, (QStringList{u"train:score"_s, u"train:fit"_s}));
        QCOMPARE(epochRows(rec), (QList<qint64>{64, 64}));
        QCOMPARE(rec.metrics.at(u"fraction_seen"_s), 0.25);
        QCOMPARE(rec.metrics.at(u"scoring_samples"_s), 512.0); // 2 seeds x 256 rows
        QVERIFY(rec.metrics.at(u"scoring_seconds"_s) > 0);
        // The hardest quarter has a higher mean EL2N than all rows.
        double all = 0;
        for (const auto &[message, data] : rec.logs)
            if (data.contains(u"mean_all"_s))
                all = data.value(u"mean_all"_s).toDouble();
        QVERIFY(all > 0);
        QVERIFY(rec.metrics.at(u"mean_score_kept"_s) > all);

        test::Recorded again;
        TechniqueContext a = trained(u"data.el2n"_s, {{u"ratio"_s, 0.25}}, 1, &again);
        test::Recorded same;
        TechniqueContext b = trained(u"data.el2n"_s, {{u"ratio"_s, 0.25}}, 1, &same);
        QVERIFY(sameWeights(*a.model, *b.model)); // deterministic for a seed
    }

    void el2nSameRunAndGrandStratified()
    {
        test::Recorded rec;
        bool ok = false;
        trained(u"data.el2n"_s,
                {{u"ratio"_s, 0.5}, {u"score_epochs"_s, 1}, {u"score_run"_s, u"same"_s}}, 3, &rec,
                5, &ok);
        QVERIFY(ok);
        QCOMPARE(epochRows(rec), (QList<qint64>{256, 128, 128}));
        QCOMPARE(rec.phases, (QStringList{u"train:score"_s, u"train:fit"_s}));
        QCOMPARE(rec.metrics.at(u"samples_seen"_s), 512.0);

        test::Recorded grand;
        trained(u"data.el2n"_s,
                {{u"score"_s, u"grand"_s},
                 {u"keep"_s, u"stratified"_s},
                 {u"bins"_s, 4},
                 {u"ratio"_s, 0.5},
                 {u"score_epochs"_s, 0}},
                1, &grand, 5, &ok);
        QVERIFY(ok);
        QCOMPARE(epochRows(grand), (QList<qint64>{128}));

        // score_run "same" needs epochs left after scoring.
        test::Recorded bad;
        trained(u"data.el2n"_s, {{u"score_run"_s, u"same"_s}, {u"score_epochs"_s, 2}}, 2, &bad, 5,
                &ok);
        QVERIFY(!ok);
    }

    void forgettingKeepsTheMostForgotten()
    {
        test::Recorded rec;
        bool ok = false;
        trained(u"data.forgetting"_s, {{u"ratio"_s, 0.5}, {u"score_epochs"_s, 2}}, 2, &rec, 5, &ok);
        QVERIFY(ok);
        QCOMPARE(rec.phases, (QStringList{u"train:score"_s, u"train:fit"_s}));
        QCOMPARE(epochRows(rec), (QList<qint64>{128, 128}));
        QCOMPARE(rec.metrics.at(u"scoring_samples"_s), 512.0); // 2 epochs x 256 presentations
        const double unforgettable = rec.metrics.at(u"unforgettable_rows"_s);
        const double never = rec.metrics.at(u"never_learned_rows"_s);
        QVERIFY(unforgettable + never <= 256);

        test::Recorded same;
        trained(u"data.forgetting"_s,
                {{u"ratio"_s, 0.25}, {u"score_epochs"_s, 2}, {u"score_run"_s, u"same"_s}}, 3, &same,
                5, &ok);
        QVERIFY(ok);
        QCOMPARE(epochRows(same), (QList<qint64>{256, 256, 64}));
        QCOMPARE(same.phases, (QStringList{u"train:score"_s, u"train:fit"_s}));
    }

    void lossAdaptiveRenewsEveryKEpochs()
    {
        test::Recorded rec;
        bool ok = false;
        trained(u"data.loss_adaptive"_s,
                {{u"ratio"_s, 0.5}, {u"warmup_epochs"_s, 1}, {u"renew_every"_s, 1}}, 3, &rec, 5,
                &ok);
        QVERIFY(ok);
        QCOMPARE(epochRows(rec), (QList<qint64>{256, 128, 128}));
        QCOMPARE(rec.phases,
                 (QStringList{u"train:score"_s, u"train:fit"_s, u"train:score"_s, u"train:fit"_s}));
        QCOMPARE(rec.metrics.at(u"renewals"_s), 2.0);

        test::Recorded dynamic;
        trained(u"data.loss_adaptive"_s,
                {{u"ratio"_s, 0.75},
                 {u"ratio_schedule"_s, u"linear"_s},
                 {u"ratio_end"_s, 0.25},
                 {u"warmup_epochs"_s, 0},
                 {u"renew_every"_s, 2}},
                3, &dynamic, 5, &ok);
        QVERIFY(ok);
        QCOMPARE(epochRows(dynamic), (QList<qint64>{192, 128, 64}));
        QCOMPARE(dynamic.metrics.at(u"renewals"_s), 2.0); // epochs 1 and 3
    }

    // A whole experiment: baseline, data.random and data.el2n (same run) on 512 Fashion-MNIST
    // rows, with the estimate meter. `train` spans the scoring and fitting parts.
    void wholeExperimentThroughTheRunner()
    {
        if (!QFileInfo::exists(u"/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"_s))
            QSKIP("Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist");
        const char *planText = R"({
            "version": 1, "name": "data-selection-tiny",
            "dataset": {"name": "fashion-mnist", "trainLimit": 512, "testLimit": 256},
            "model": {"zoo": "mlp"},
            "training": {"epochs": 2, "batchSize": 64},
            "repetitions": 1,
            "inference": {"batchSizes": [16], "batches": 5, "warmupBatches": 1},
            "measurement": {"idleBefore": 0.2},
            "variants": [
                {"label": "baseline", "chain": []},
                {"label": "random-50", "chain": [{"plugin": "data.random",
                    "params": {"ratio": 0.5}}]},
                {"label": "el2n-50", "chain": [{"plugin": "data.el2n",
                    "params": {"ratio": 0.5, "score_epochs": 1, "score_run": "same"}}]}
            ]
        })";
        const QString database = m_dir.filePath(u"e2e.sqlite"_s);
        QString error;
        const auto outcome = test::runPlanText(planText, *m_registry, database, &error);
        QVERIFY2(outcome, qPrintable(error));
        QVERIFY2(outcome->failures.isEmpty(), qPrintable(outcome->failures.value(0)));
        QCOMPARE(outcome->completed, 3);

        db::Store store;
        QVERIFY2(store.open(database, db::Store::OpenMode::ReadOnly, &error),
                 qPrintable(error));
        const auto runs = *store.listRuns(store.lastExperiment(&error)->id, &error);
        QCOMPARE(runs.size(), 3);
        auto metric = [&](qint64 run, const QString &phase, const QString &name) {
            return test::storedMetric(store, run, name, phase).value_or(-1.0);
        };
        auto phase = [&](qint64 run, const QString &name) -> std::optional<db::PhaseRecord> {
            const auto phases = store.phases(run, nullptr);
            for (const db::PhaseRecord &p : *phases)
                if (p.name == name)
                    return p;
            return std::nullopt;
        };
        const qint64 random = runs.at(1).id;
        // 512 rows less the validation split; half of them (rounded) per epoch.
        QVERIFY(std::fabs(metric(random, u"train"_s, u"fraction_seen"_s) - 0.5) < 0.005);
        QVERIFY(metric(random, u"train"_s, u"samples_seen"_s) > 400);
        QVERIFY(phase(random, u"train"_s));
        QVERIFY(!phase(random, u"train:score"_s));
        QVERIFY(!phase(random, u"prepare:data.random"_s) ||
                phase(random, u"prepare:data.random"_s)->duration < 1.0);

        const qint64 el2n = runs.at(2).id;
        const auto train = phase(el2n, u"train"_s);
        const auto score = phase(el2n, u"train:score"_s);
        const auto fit = phase(el2n, u"train:fit"_s);
        QVERIFY(train && score && fit);
        QVERIFY(train->ordinal < score->ordinal && score->ordinal < fit->ordinal);
        // `train` spans its parts: the scoring and fitting durations are inside it.
        QVERIFY(train->duration + 1e-6 >= score->duration + fit->duration);
        QVERIFY(std::fabs(train->tStart + train->duration - (fit->tStart + fit->duration)) < 1e-6);
        QVERIFY(train->energy.first().grossJ + 1e-9 >=
                score->energy.first().grossJ + fit->energy.first().grossJ);
        QCOMPARE(train->energy.first().kind, db::ValueKind::Estimate);
        QVERIFY(metric(el2n, u"train"_s, u"scoring_seconds"_s) > 0);
        // All rows in epoch 1, half in epoch 2.
        QVERIFY(std::fabs(metric(el2n, u"train"_s, u"fraction_seen"_s) - 0.75) < 0.005);
    }
};

QTEST_GUILESS_MAIN(TestDataPlugins)
#include "tst_data_plugins.moc"
