// SPDX-License-Identifier: GPL-3.0-or-later
// grow.net2net through the real plugin path: parameter checks, a narrow start grown back to the
// plan's widths (and deeper) with the outputs unchanged at each growth, growth logs and
// metrics, cancellation, and a tiny Fashion-MNIST plan through the experiment runner.
#include "plugin_test_support.h"
#include "plugins/pruning_common/pruning_test_support.h"

#include "database/store.h"
#include "engine/plan.h"
#include "engine/runner.h"
#include "engine/technique.h"

#include <QDir>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QtTest>

#include <torch/torch.h>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

const QString kId = u"grow.net2net"_s;

QList<QJsonObject> growthLogs(const test::Recorded &rec)
{
    QList<QJsonObject> out;
    for (const auto &[message, data] : rec.logs)
        if (data.contains(u"parameters_before"_s))
            out.append(data);
    return out;
}

} // namespace

class TestGrowNet2Net : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::unique_ptr<TechniqueRegistry> m_registry;

    std::unique_ptr<Technique> create(const QJsonObject &params, QString *error = nullptr)
    {
        QString e;
        auto t = m_registry->create(kId, params, &e);
        if (error)
            *error = e;
        else if (!t)
            qWarning("%s", qPrintable(e));
        return t;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QVERIFY(!test::copyPlugin(QString::fromUtf8(JB_PLUGIN_FILE), m_dir.path()).isEmpty());
        m_registry = test::scannedRegistry({m_dir.path()});
        QVERIFY2(m_registry->rejected().isEmpty(),
                 qPrintable(m_registry->rejected().value(0).message));
        QCOMPARE(m_registry->ids(), QStringList{kId});
    }

    void parameterErrors()
    {
        QString error;
        QVERIFY(!create({{u"grow_at"_s, u"2,1"_s}}, &error));
        QVERIFY2(error.contains(u"params.grow_at"_s), qPrintable(error));
        QVERIFY(!create({{u"grow_at"_s, u"1,x"_s}}, &error));
        QVERIFY2(error.contains(u"params.grow_at"_s), qPrintable(error));
        QVERIFY(!create({{u"widen_factor"_s, 1.0}}, &error));
        QVERIFY2(error.contains(u"never grow"_s), qPrintable(error));
        QVERIFY(!create({{u"start_width"_s, 0.5}, {u"max_width"_s, 0.25}}, &error));
        QVERIFY2(error.contains(u"params.max_width"_s), qPrintable(error));

        // Growing after the last epoch leaves nothing to train.
        auto t = create({{u"grow_at"_s, u"2"_s}});
        QVERIFY(t);
        const DatasetSplits data = test::syntheticSplits(64);
        test::Recorded rec;
        TechniqueContext c = test::recordingContext(test::zooModel(u"mlp"_s), &data, nullptr, &rec);
        c.training.epochs = 2;
        QVERIFY(!t->train(c, &error));
        QVERIFY2(error.contains(u"params.grow_at"_s) && error.contains(u"2 epochs"_s),
                 qPrintable(error));

        // Deepening needs a stage end (conv/linear -> relu -> pool/flatten/linear).
        auto deep = create({{u"deepen"_s, u"conv"_s}});
        QVERIFY(deep);
        auto mlp = test::zooModel(u"mlp"_s);
        QVERIFY(!deep->checkSupported(*mlp, Backend(), &error));
        QVERIFY2(error.contains(u"params.deepen"_s), qPrintable(error));
    }

    void widensBackToThePlansModel()
    {
        auto t = create({{u"start_width"_s, 0.5}, {u"grow_at"_s, u"1"_s}, {u"noise"_s, 0.01}});
        QVERIFY(t);
        QVERIFY(t->trainsModel());
        const DatasetSplits data = test::syntheticSplits(128);
        test::Recorded rec;
        TechniqueContext c =
            test::recordingContext(test::zooModel(u"cnn-small"_s), &data, nullptr, &rec);
        c.training.epochs = 2;
        const ArchSpec reference = *c.model->spec();
        const int64_t referenceParams = parameterCount(*c.model);
        QString error;
        QVERIFY(t->checkSupported(*c.model, c.backend, &error));
        QVERIFY2(t->train(c, &error), qPrintable(error));

        // The final model has the plan's architecture (cnn-small at width 1).
        QCOMPARE(*c.model->spec(), reference);
        QCOMPARE(parameterCount(*c.model), referenceParams);
        QCOMPARE(rec.metrics.at(u"growths"_s), 1.0);
        QCOMPARE(rec.metrics.at(u"parameters_final"_s), double(referenceParams));
        QVERIFY(rec.metrics.at(u"parameters_start"_s) < 0.4 * double(referenceParams));
        QVERIFY2(rec.metrics.at(u"growth_output_change"_s) < 1e-4,
                 qPrintable(QString::number(rec.metrics.at(u"growth_output_change"_s))));

        const QList<QJsonObject> growths = growthLogs(rec);
        QCOMPARE(growths.size(), 1);
        QCOMPARE(growths[0].value(u"epoch"_s).toInt(), 1);
        QCOMPARE(growths[0].value(u"width_before"_s).toDouble(), 0.5);
        QCOMPARE(growths[0].value(u"width_after"_s).toDouble(), 1.0);
        QCOMPARE(growths[0].value(u"parameters_after"_s).toInteger(), referenceParams);
        QVERIFY(growths[0].value(u"parameters_before"_s).toInteger() < referenceParams);
        QVERIFY(t->apply(c, &error));
    }

    void deepensAndWidensTwice()
    {
        auto t =
            create({{u"start_width"_s, 0.25}, {u"grow_at"_s, u"1,2"_s}, {u"deepen"_s, u"all"_s}});
        QVERIFY(t);
        const DatasetSplits data = test::syntheticSplits(128);
        test::Recorded rec;
        TechniqueContext c =
            test::recordingContext(test::zooModel(u"cnn-small"_s), &data, nullptr, &rec);
        c.training.epochs = 3;
        const ArchSpec reference = *c.model->spec();
        QString error;
        QVERIFY(t->checkSupported(*c.model, c.backend, &error));
        QVERIFY2(t->train(c, &error), qPrintable(error));

        const ArchSpec &grown = *c.model->spec();
        QVERIFY(grown.validate(&error));
        // Two growths x (two conv stages with BN: conv+BN+ReLU, one linear stage: linear+ReLU).
        QCOMPARE(grown.layers.size(), reference.layers.size() + 2 * (3 + 3 + 2));
        QCOMPARE(rec.metrics.at(u"growths"_s), 2.0);
        QCOMPARE(rec.metrics.at(u"width_final"_s), 1.0);
        // The inserted conv layers have the width of their stage at width 1: 32 and 64.
        QCOMPARE(grown.layers[3].kind, LayerKind::Conv);
        QCOMPARE(grown.layers[3].out, int64_t(32));
        QVERIFY2(rec.metrics.at(u"growth_output_change"_s) < 1e-4,
                 qPrintable(QString::number(rec.metrics.at(u"growth_output_change"_s))));
        const QList<QJsonObject> growths = growthLogs(rec);
        QCOMPARE(growths.size(), 2);
        QCOMPARE(growths[1].value(u"inserted"_s).toArray().size(), 3);
        QCOMPARE(growths[1].value(u"width_before"_s).toDouble(), 0.5);
        // The model is usable as a normal spec model afterwards.
        QVERIFY2(c.model->clone(&error), qPrintable(error));
    }

    /// Why noise defaults to 0.01: without it, a unit and its replica get equal gradients and
    /// stay equal through training, so widening adds parameters but no capacity.
    void replicasStayTwinsWithoutNoise()
    {
        const DatasetSplits data = test::syntheticSplits(256);
        double closest[2] = {0, 0};
        for (int noisy = 0; noisy < 2; ++noisy) {
            auto t = create({{u"start_width"_s, 0.5},
                             {u"grow_at"_s, u"1"_s},
                             {u"noise"_s, noisy ? 0.01 : 0.0}});
            QVERIFY(t);
            test::Recorded rec;
            TechniqueContext c =
                test::recordingContext(test::zooModel(u"mlp"_s), &data, nullptr, &rec);
            c.training.epochs = 2;
            QString error;
            QVERIFY2(t->train(c, &error), qPrintable(error));
            torch::Tensor w;
            for (const auto &[name, tensor] : c.model->namedParameters())
                if (name == "1.weight")
                    w = tensor.detach();
            QCOMPARE(w.size(0), int64_t(300));
            // Distance of each new unit (rows 150..299) to its nearest original unit (0..149),
            // relative to the weights' scale; the largest over the new units.
            const torch::Tensor d = torch::cdist(w.slice(0, 150), w.slice(0, 0, 150), 1.0);
            closest[noisy] =
                std::get<0>(d.min(1)).max().item<double>() / w.abs().sum(1).mean().item<double>();
        }
        QVERIFY2(closest[0] < 1e-5, qPrintable(QString::number(closest[0])));
        QVERIFY2(closest[1] > 1e-3, qPrintable(QString::number(closest[1])));
    }

    void cancelStops()
    {
        auto t = create({});
        QVERIFY(t);
        const DatasetSplits data = test::syntheticSplits(64);
        Feedback feedback;
        feedback.cancel();
        test::Recorded rec;
        TechniqueContext c =
            test::recordingContext(test::zooModel(u"mlp"_s), &data, &feedback, &rec);
        c.training.epochs = 2;
        QString error;
        QVERIFY(!t->train(c, &error));
        QCOMPARE(error, u"cancelled"_s);
    }

    void runsInAPlan()
    {
        const QString fm = u"/usr/share/datasets/fashion-mnist"_s;
        if (!QDir(fm).exists())
            QSKIP("Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist");
        const char *planText = R"({
            "version": 1, "name": "grow-tiny",
            "dataset": {"name": "fashion-mnist", "trainLimit": 512, "testLimit": 256},
            "model": {"zoo": "mlp"},
            "training": {"epochs": 2, "batchSize": 64},
            "repetitions": 1,
            "inference": {"batchSizes": [16], "batches": 5, "warmupBatches": 1},
            "measurement": {"idleBefore": 0.2},
            "variants": [
                {"label": "baseline", "chain": []},
                {"label": "grow", "chain": [{"plugin": "grow.net2net",
                    "params": {"start_width": 0.5, "grow_at": "1"}}]}
            ]
        })";
        const QString database = m_dir.filePath(u"grow.sqlite"_s);
        QString error;
        const auto outcome = test::runPlanText(planText, *m_registry, database, &error);
        QVERIFY2(outcome, qPrintable(error));
        QVERIFY2(outcome->failures.isEmpty(), qPrintable(outcome->failures.value(0)));
        QCOMPARE(outcome->completed, 2);

        db::Store store;
        QVERIFY2(store.open(database, db::Store::OpenMode::ReadOnly, &error),
                 qPrintable(error));
        const auto runs = *store.listRuns(store.lastExperiment(&error)->id, &error);
        QCOMPARE(runs.size(), 2);
        auto metric = [&](qint64 run, const QString &name) {
            return test::storedMetric(store, run, name).value_or(-1.0);
        };
        const qint64 baseline = runs.at(0).id;
        const qint64 grow = runs.at(1).id;
        QCOMPARE(metric(grow, u"growths"_s), 1.0);
        // The run's model is the grown one: the plan's mlp again, evaluated and timed.
        QCOMPARE(metric(grow, u"params"_s), metric(baseline, u"params"_s));
        QCOMPARE(metric(grow, u"parameters_final"_s), metric(baseline, u"params"_s));
        QVERIFY(metric(grow, u"accuracy"_s) > 0.3);
    }
};

QTEST_GUILESS_MAIN(TestGrowNet2Net)
#include "tst_grow.moc"
