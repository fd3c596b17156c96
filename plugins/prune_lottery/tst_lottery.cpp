// SPDX-License-Identifier: GPL-3.0-or-later
// prune.lottery through the real plugin path: rewinding to the initial (or early-epoch)
// weights, masks kept through retraining, Early-Bird stopping when masks stabilise.
#include "technique_test_support.h"

#include "engine/trainer.h"

#include <QtTest>

#include <torch/torch.h>

#include <cmath>
#include <map>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

const QString kId = u"prune.lottery"_s;

NamedTensors snapshot(const Model &model)
{
    NamedTensors out;
    for (const auto &[name, t] : model.state())
        out.emplace_back(name, t.detach().clone());
    return out;
}

std::map<std::string, torch::Tensor> byName(const NamedTensors &state)
{
    return {state.begin(), state.end()};
}

} // namespace

class TestPruneLottery : public QObject
{
    Q_OBJECT

private:
    test::PluginUnderTest m_plugin;
    DatasetSplits m_data = test::syntheticSplits(256);

    /// An mlp, its initial state, then one epoch of training (the "trained baseline").
    TechniqueContext trainedContext(test::Recorded *rec, Feedback *feedback = nullptr)
    {
        TechniqueContext c =
            test::recordingContext(test::zooModel(u"mlp"_s), &m_data, feedback, rec, 5);
        c.initialState = snapshot(*c.model);
        TrainOptions o = c.training;
        o.seed = 99;
        Trainer trainer(o);
        QString error;
        if (!trainer.train(*c.model, m_data.train, nullptr, &error))
            qWarning("%s", qPrintable(error));
        return c;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QString error;
        QVERIFY2(m_plugin.load(QStringLiteral(JB_PLUGIN_FILE), kId, &error), qPrintable(error));
        QVERIFY(!m_plugin.create({{u"prune_fraction"_s, 1.0}}, &error));
        QVERIFY2(error.contains(u"params.prune_fraction"_s), qPrintable(error));
        QVERIFY(!m_plugin.create(
            {{u"mode"_s, u"early_bird"_s}, {u"eb_window"_s, 5}, {u"eb_max_epochs"_s, 5}}, &error));
        QVERIFY2(error.contains(u"params.eb_window"_s), qPrintable(error));
    }

    void rewindsSurvivorsToTheInitialWeights()
    {
        const QJsonObject params{
            {u"rounds"_s, 2}, {u"prune_fraction"_s, 0.5}, {u"retrain_epochs"_s, 0}};
        test::Recorded rec;
        TechniqueContext c = trainedContext(&rec);
        const auto init = byName(c.initialState);
        const auto trained = byName(snapshot(*c.model));
        QString error;
        QVERIFY2(m_plugin.createAndApply(params, c, &error), qPrintable(error));
        QCOMPARE(rec.phases, (QStringList{u"prepare:round-1"_s, u"prepare:round-2"_s}));
        int64_t total = 0, pruned = 0;
        for (const auto &[name, t] : c.model->namedParameters()) {
            const torch::Tensor w = t.detach();
            if (w.dim() < 2) {
                QVERIFY(torch::equal(w, init.at(name))); // biases rewound too
                continue;
            }
            total += w.numel();
            pruned += test::zeroCount(w);
            const torch::Tensor kept = w != 0;
            // Every surviving weight has exactly its initial value.
            QVERIFY(torch::equal(w.masked_select(kept), init.at(name).masked_select(kept)));
            QVERIFY(!torch::equal(w, trained.at(name)));
        }
        QCOMPARE(pruned, std::llround(0.75 * double(total))); // 1 - 0.5^2
        QCOMPARE(rec.metrics.at(u"sparsity"_s), double(pruned) / double(total));
    }

    void lateRewindingUsesTheWeightsAfterKEpochs()
    {
        const QJsonObject params{{u"rounds"_s, 1},
                                 {u"prune_fraction"_s, 0.3},
                                 {u"retrain_epochs"_s, 0},
                                 {u"rewind_epoch"_s, 1}};
        test::Recorded rec;
        TechniqueContext c = trainedContext(&rec);
        // The same training the plugin must do: 1 epoch from the initial weights, seed + 1000.
        auto reference = test::zooModel(u"mlp"_s);
        QString error;
        QVERIFY2(reference->loadState(c.initialState, &error), qPrintable(error));
        TrainOptions o = c.training;
        o.epochs = 1;
        o.seed = c.seed + 1000;
        QVERIFY2(Trainer(o).train(*reference, m_data.train, nullptr, &error), qPrintable(error));
        const auto expected = byName(snapshot(*reference));
        QVERIFY2(m_plugin.createAndApply(params, c, &error), qPrintable(error));
        QCOMPARE(rec.phases, (QStringList{u"prepare:rewind-capture"_s, u"prepare:round-1"_s}));
        for (const auto &[name, t] : c.model->namedParameters()) {
            const torch::Tensor w = t.detach();
            const torch::Tensor kept = w != 0;
            QVERIFY2(torch::equal(w.masked_select(kept), expected.at(name).masked_select(kept)),
                     name.c_str());
        }
    }

    void retrainingKeepsTheMask()
    {
        const QJsonObject params{
            {u"rounds"_s, 2}, {u"prune_fraction"_s, 0.6}, {u"retrain_epochs"_s, 1}};
        test::Recorded rec;
        TechniqueContext c = trainedContext(&rec);
        const auto init = byName(c.initialState);
        QString error;
        QVERIFY2(m_plugin.createAndApply(params, c, &error), qPrintable(error));
        bool moved = false;
        for (const auto &[name, t] : c.model->namedParameters())
            moved = moved || (t.dim() >= 2 && !torch::equal(t.detach(), init.at(name)));
        QVERIFY(moved);
        const test::WeightCount weights = test::prunableWeights(*c.model);
        QCOMPARE(weights.zeros, std::llround((1 - 0.4 * 0.4) * double(weights.total)));
    }

    void missingInitialStateIsAnError()
    {
        auto technique = m_plugin.create({});
        QVERIFY(technique);
        test::Recorded rec;
        TechniqueContext c =
            test::recordingContext(test::zooModel(u"mlp"_s), &m_data, nullptr, &rec);
        QString error;
        QVERIFY(!technique->apply(c, &error));
        QVERIFY2(error.contains(u"initial weights"_s), qPrintable(error));
    }

    void earlyBirdStopsWhenMasksStabilise()
    {
        // A learning rate of 1e-9 barely moves the weights: the masks are stable, the search
        // stops as soon as the window of distances is full (epoch 1 + window).
        const QJsonObject params{{u"mode"_s, u"early_bird"_s}, {u"eb_sparsity"_s, 0.5},
                                 {u"eb_threshold"_s, 0.01},    {u"eb_window"_s, 2},
                                 {u"eb_max_epochs"_s, 6},      {u"retrain_epochs"_s, 0}};
        test::Recorded rec;
        TechniqueContext c = trainedContext(&rec);
        c.training.learningRate = 1e-9;
        QString error;
        QVERIFY2(m_plugin.createAndApply(params, c, &error), qPrintable(error));
        QCOMPARE(rec.metrics.at(u"early_bird_found"_s), 1.0);
        QCOMPARE(rec.metrics.at(u"early_bird_epochs"_s), 3.0);
        QCOMPARE(rec.phases, QStringList{u"prepare:early-bird-search"_s});
        const test::WeightCount weights = test::prunableWeights(*c.model);
        QCOMPARE(weights.zeros, std::llround(0.5 * double(weights.total)));
    }

    void earlyBirdKeepsSearchingWhileMasksChange()
    {
        const QJsonObject params{{u"mode"_s, u"early_bird"_s},
                                 {u"eb_threshold"_s, 1e-6},
                                 {u"eb_window"_s, 1},
                                 {u"eb_max_epochs"_s, 4},
                                 {u"retrain_epochs"_s, 1}};
        test::Recorded rec;
        TechniqueContext c = trainedContext(&rec);
        c.training.learningRate = 1e-2;
        QString error;
        QVERIFY2(m_plugin.createAndApply(params, c, &error), qPrintable(error));
        QCOMPARE(rec.metrics.at(u"early_bird_found"_s), 0.0);
        QCOMPARE(rec.metrics.at(u"early_bird_epochs"_s), 4.0);
        QCOMPARE(rec.phases,
                 (QStringList{u"prepare:early-bird-search"_s, u"prepare:retrain"_s}));
        // Logged distances are all above the threshold.
        bool logged = false;
        for (const auto &[message, data] : rec.logs) {
            if (!data.contains(u"mask_distances"_s) || !data.contains(u"found"_s))
                continue;
            logged = true;
            const QJsonArray d = data.value(u"mask_distances"_s).toArray();
            QCOMPARE(d.size(), 3);
            for (const auto &v : d)
                QVERIFY(v.toDouble() >= 1e-6);
        }
        QVERIFY(logged);
    }
};

QTEST_GUILESS_MAIN(TestPruneLottery)
#include "tst_lottery.moc"
