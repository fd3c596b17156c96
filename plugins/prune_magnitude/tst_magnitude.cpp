// SPDX-License-Identifier: GPL-3.0-or-later
// prune.magnitude through the real plugin path: the built library in a private folder, the
// registry, create() with params, apply() on zoo models with a small synthetic data set.
#include "technique_test_support.h"

#include "engine/model_metrics.h"

#include <QtTest>

#include <torch/torch.h>

#include <cmath>
#include <map>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

const QString kId = u"prune.magnitude"_s;

std::map<std::string, torch::Tensor> weights(const Model &model)
{
    std::map<std::string, torch::Tensor> copy;
    for (const auto &[name, t] : model.namedParameters())
        if (t.dim() >= 2)
            copy[name] = t.detach().clone();
    return copy;
}

} // namespace

class TestPruneMagnitude : public QObject
{
    Q_OBJECT

private:
    test::PluginUnderTest m_plugin;
    DatasetSplits m_data = test::syntheticSplits(256);

private Q_SLOTS:
    void initTestCase()
    {
        QString error;
        QVERIFY2(m_plugin.load(QStringLiteral(JB_PLUGIN_FILE), kId, &error), qPrintable(error));
        const auto info = m_plugin.info();
        QVERIFY(info);
        QCOMPARE(info->metadata.family, u"pruning"_s);
        QCOMPARE(info->metadata.parameters.defaults().value(u"sparsity"_s).toDouble(), 0.9);
    }

    void paramsAreChecked()
    {
        QString error;
        QVERIFY(!m_plugin.create({{u"sparsity"_s, 1.0}}, &error));
        QVERIFY2(error.contains(u"params.sparsity"_s), qPrintable(error));
        QVERIFY(!m_plugin.create({{u"scope"_s, u"filter"_s}}, &error));
        QVERIFY2(error.contains(u"params.scope"_s), qPrintable(error));
        QVERIFY(!m_plugin.create({{u"steps"_s, 0}}, &error));
        QVERIFY2(error.contains(u"params.steps"_s), qPrintable(error));
    }

    void globalSparsityIsExactAndPrunesTheSmallest()
    {
        const QJsonObject params{
            {u"sparsity"_s, 0.9}, {u"schedule"_s, u"one_shot"_s}, {u"epochs_per_step"_s, 0}};
        test::Recorded rec;
        TechniqueContext c = test::recordingContext(test::zooModel(u"mlp"_s), nullptr, nullptr,
                                                    &rec);
        const auto before = weights(*c.model);
        QString error;
        QVERIFY2(m_plugin.createAndApply(params, c, &error), qPrintable(error));
        int64_t total = 0, pruned = 0;
        double maxPruned = 0, minKept = 1e9;
        for (const auto &[name, after] : c.model->namedParameters()) {
            if (after.dim() < 2)
                continue;
            const torch::Tensor w = before.at(name).abs();
            const torch::Tensor kept = after.detach() != 0;
            total += after.numel();
            pruned += test::zeroCount(after.detach());
            if ((~kept).any().item<bool>())
                maxPruned = std::max(maxPruned, w.masked_select(~kept).max().item<double>());
            if (kept.any().item<bool>())
                minKept = std::min(minKept, w.masked_select(kept).min().item<double>());
            // Kept weights are unchanged (no fine-tuning here).
            QVERIFY(torch::equal(after.detach().masked_select(kept), before.at(name).masked_select(kept)));
        }
        QCOMPARE(pruned, std::llround(0.9 * double(total)));
        QVERIFY(maxPruned <= minKept); // one global threshold
        QCOMPARE(rec.metrics.at(u"sparsity"_s), double(pruned) / double(total));
        QCOMPARE(rec.phases, QStringList{u"prepare:prune"_s});
        // The per-layer figures are in the log.
        QVERIFY(!rec.logs.isEmpty());
        QCOMPARE(rec.logs.last().second.value(u"layers"_s).toArray().size(), 3);
        // Model metrics count the zeros.
        const auto metrics = computeModelMetrics(*c.model, &error);
        QVERIFY2(metrics, qPrintable(error));
        QVERIFY(metrics->nonZeroMacs < metrics->macs / 5);
    }

    void layerScopePrunesEveryTensorExactly()
    {
        const QJsonObject params{
            {u"sparsity"_s, 0.5}, {u"scope"_s, u"layer"_s}, {u"epochs_per_step"_s, 0}};
        test::Recorded rec;
        TechniqueContext c = test::recordingContext(test::zooModel(u"lenet5"_s), nullptr,
                                                    nullptr, &rec);
        QString error;
        QVERIFY2(m_plugin.createAndApply(params, c, &error), qPrintable(error));
        int tensors = 0;
        for (const auto &[name, t] : c.model->namedParameters()) {
            if (t.dim() < 2) {
                QCOMPARE(test::zeroCount(t.detach()), 0); // biases are never pruned
                continue;
            }
            ++tensors;
            QCOMPARE(test::zeroCount(t.detach()), std::llround(0.5 * double(t.numel())));
        }
        QCOMPARE(tensors, 5); // 2 conv + 3 linear
    }

    void lastLayerCanBeExcluded()
    {
        const QJsonObject params{
            {u"sparsity"_s, 0.7}, {u"include_last_layer"_s, false}, {u"epochs_per_step"_s, 0}};
        test::Recorded rec;
        TechniqueContext c = test::recordingContext(test::zooModel(u"mlp"_s), nullptr, nullptr,
                                                    &rec);
        const auto before = weights(*c.model);
        QString error;
        QVERIFY2(m_plugin.createAndApply(params, c, &error), qPrintable(error));
        QVERIFY(torch::equal(c.model->namedParameters()[4].second.detach(), before.at("5.weight")));
        QCOMPARE(c.model->namedParameters()[4].first, std::string("5.weight"));
        QVERIFY(test::zeroCount(c.model->namedParameters()[0].second.detach()) > 0);
    }

    void masksSurviveIterativeFineTuning()
    {
        const QJsonObject params{{u"sparsity"_s, 0.8},
                                 {u"schedule"_s, u"cubic"_s},
                                 {u"steps"_s, 2},
                                 {u"epochs_per_step"_s, 1},
                                 {u"lr_factor"_s, 1.0}};
        test::Recorded rec;
        Feedback feedback;
        TechniqueContext c = test::recordingContext(test::zooModel(u"mlp"_s), &m_data, &feedback,
                                                    &rec);
        const auto before = weights(*c.model);
        QString error;
        QVERIFY2(m_plugin.createAndApply(params, c, &error), qPrintable(error));
        QCOMPARE(rec.phases, (QStringList{u"prepare:prune-step-1"_s, u"prepare:finetune-step-1"_s,
                                          u"prepare:prune-step-2"_s,
                                          u"prepare:finetune-step-2"_s}));
        int64_t total = 0, pruned = 0;
        bool trained = false;
        for (const auto &[name, t] : c.model->namedParameters()) {
            if (t.dim() < 2)
                continue;
            total += t.numel();
            pruned += test::zeroCount(t.detach());
            const torch::Tensor kept = t.detach() != 0;
            trained = trained || !torch::equal(t.detach().masked_select(kept),
                                               before.at(name).masked_select(kept));
        }
        // Adam moved the kept weights, the pruned ones stayed exactly 0: the count is exact.
        QVERIFY(trained);
        QCOMPARE(pruned, std::llround(0.8 * double(total)));
        QCOMPARE(rec.metrics.at(u"sparsity"_s), double(pruned) / double(total));
    }

    void cubicScheduleRampsToTheTarget()
    {
        const QJsonObject params{{u"sparsity"_s, 0.9},
                                 {u"schedule"_s, u"cubic"_s},
                                 {u"steps"_s, 3},
                                 {u"epochs_per_step"_s, 0}};
        test::Recorded rec;
        TechniqueContext c = test::recordingContext(test::zooModel(u"mlp"_s), nullptr, nullptr,
                                                    &rec);
        QString error;
        QVERIFY2(m_plugin.createAndApply(params, c, &error), qPrintable(error));
        // One log per step, then the final one: 0.9 x (1 - (1 - t)^3) for t = 1/3, 2/3, 1.
        QCOMPARE(rec.logs.size(), 4);
        const double expected[] = {0.9 * (1 - std::pow(2.0 / 3, 3)), 0.9 * (1 - std::pow(1.0 / 3, 3)),
                                   0.9};
        for (int i = 0; i < 3; ++i)
            QVERIFY(std::abs(rec.logs[i].second.value(u"sparsity"_s).toDouble() - expected[i]) <
                    1e-5);
    }

    void fineTuningWithoutDataIsAnError()
    {
        auto technique = m_plugin.create({});
        QVERIFY(technique);
        test::Recorded rec;
        TechniqueContext c = test::recordingContext(test::zooModel(u"mlp"_s), nullptr, nullptr,
                                                    &rec);
        QString error;
        QVERIFY(!technique->apply(c, &error));
        QVERIFY2(error.contains(u"training split"_s), qPrintable(error));
    }

    void cancelStops()
    {
        auto technique = m_plugin.create({});
        QVERIFY(technique);
        Feedback feedback;
        feedback.cancel();
        test::Recorded rec;
        TechniqueContext c = test::recordingContext(test::zooModel(u"mlp"_s), &m_data, &feedback,
                                                    &rec);
        QString error;
        QVERIFY(!technique->apply(c, &error));
        QCOMPARE(error, u"cancelled"_s);
    }
};

QTEST_GUILESS_MAIN(TestPruneMagnitude)
#include "tst_magnitude.moc"
