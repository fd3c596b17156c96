// SPDX-License-Identifier: GPL-3.0-or-later
// prune.structured through the real plugin path: a smaller spec, fewer parameters and MACs, the
// smallest-L1 filters removed, the rebuilt model computing exactly what the dense model computes
// with the removed channels silenced, and TorchScript models refused.
#include "technique_test_support.h"

#include "engine/model_metrics.h"

#include <QtTest>

#include <torch/torch.h>

#include <map>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

const QString kId = u"prune.structured"_s;

/// A model without a spec, as a TorchScript import is (only what requireSpec() looks at).
class FakeTorchScriptModel final : public Model
{
public:
    Kind kind() const override { return Kind::TorchScript; }
    QString name() const override { return u"imported"_s; }
    QString source() const override { return u"torchscript:/tmp/imported.pt"_s; }
    std::vector<int64_t> inputShape() const override { return {1, 28, 28}; }
    int64_t numClasses() const override { return 10; }
    torch::Tensor forward(const torch::Tensor &batch) override { return batch; }
    std::vector<torch::Tensor> parameters() const override { return {}; }
    NamedTensors namedParameters() const override { return {}; }
    NamedTensors namedBuffers() const override { return {}; }
    void setTraining(bool) override {}
    bool isTraining() const override { return false; }
    void to(const torch::Device &) override {}
    void setComputeDtype(torch::ScalarType) override {}
    std::unique_ptr<Model> clone(QString *) const override
    {
        return std::make_unique<FakeTorchScriptModel>();
    }
};

QJsonArray prunedLayers(const test::Recorded &rec)
{
    for (const auto &[message, data] : rec.logs)
        if (data.contains(u"layers"_s) && data.contains(u"macs_after"_s))
            return data.value(u"layers"_s).toArray();
    return {};
}

} // namespace

class TestPruneStructured : public QObject
{
    Q_OBJECT

private:
    test::PluginUnderTest m_plugin;

    /// Prunes `zooName` and checks that the rebuilt model's outputs equal those of the dense
    /// model in which each removed filter's batch-norm scale and shift are zero (so the
    /// channel is exactly 0 after BN and ReLU, and contributes nothing downstream).
    void checkFunction(const QString &zooName, std::vector<int64_t> shape, double ratio)
    {
        const QJsonObject params{{u"ratio"_s, ratio}, {u"finetune_epochs"_s, 0}};
        test::Recorded rec;
        TechniqueContext c =
            test::recordingContext(test::zooModel(zooName, 3, shape), nullptr, nullptr, &rec);
        QVERIFY(c.model);
        QString error;
        std::unique_ptr<Model> dense = c.model->clone(&error);
        QVERIFY2(dense, qPrintable(error));
        const ArchSpec denseSpec = *dense->spec();
        QVERIFY2(m_plugin.createAndApply(params, c, &error), qPrintable(error));
        QCOMPARE(c.model->kind(), Model::Kind::Spec);

        std::map<std::string, torch::Tensor> denseParams;
        for (const auto &[name, t] : dense->namedParameters())
            denseParams[name] = t;
        const QJsonArray layers = prunedLayers(rec);
        QVERIFY(!layers.isEmpty());
        int silenced = 0;
        {
            torch::NoGradGuard noGrad;
            for (const auto &v : layers) {
                const QJsonObject l = v.toObject();
                const QString path = l.value(u"layer"_s).toString();
                const QJsonArray removed = l.value(u"removed"_s).toArray();
                if (removed.isEmpty())
                    continue;
                // The smallest L1 norms were removed.
                const torch::Tensor w = denseParams.at(QString(path + u".weight"_s).toStdString());
                const torch::Tensor norms = w.abs().reshape({w.size(0), -1}).sum(1);
                torch::Tensor isRemoved = torch::zeros({w.size(0)}, torch::kBool);
                for (const auto &r : removed)
                    isRemoved[r.toInteger()] = true;
                QVERIFY(norms.masked_select(isRemoved).max().item<double>() <=
                        norms.masked_select(~isRemoved).min().item<double>());
                QCOMPARE(c.model->spec()->layerAt(path)->out,
                         denseSpec.layerAt(path)->out - removed.size());
                // Silence the channel in the dense model: BN (the next layer) scale and shift 0.
                const QString bn = QString::number(path.toInt() + 1);
                QCOMPARE(denseSpec.layerAt(bn)->kind, LayerKind::BatchNorm);
                for (const char *p : {".weight", ".bias"}) {
                    torch::Tensor t = denseParams.at(QString(bn + QLatin1String(p)).toStdString());
                    t.index_put_({isRemoved}, 0.0);
                }
                ++silenced;
            }
        }
        QVERIFY(silenced >= 2);
        dense->setTraining(false);
        c.model->setTraining(false);
        torch::manual_seed(7);
        std::vector<int64_t> full{4};
        full.insert(full.end(), shape.begin(), shape.end());
        const torch::Tensor x = torch::randn(full);
        torch::NoGradGuard noGrad;
        const torch::Tensor expected = dense->forward(x);
        const torch::Tensor got = c.model->forward(x);
        // Same function; only the float summation order over fewer channels differs.
        const double diff = (expected - got).abs().max().item<double>();
        QVERIFY2(diff < 1e-4 * std::max(1.0, expected.abs().max().item<double>()),
                 qPrintable(u"max difference %1"_s.arg(diff)));

        const auto before = computeModelMetrics(*dense, &error);
        const auto after = computeModelMetrics(*c.model, &error);
        QVERIFY(before && after);
        QVERIFY(after->parameters < before->parameters);
        QVERIFY(after->macs < before->macs);
        QCOMPARE(rec.metrics.at(u"macs_ratio"_s), double(after->macs) / double(before->macs));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QString error;
        QVERIFY2(m_plugin.load(QStringLiteral(JB_PLUGIN_FILE), kId, &error), qPrintable(error));
        QVERIFY(!m_plugin.create({{u"ratio"_s, 0.99}}, &error));
        QVERIFY2(error.contains(u"params.ratio"_s), qPrintable(error));
    }

    void vggHalvedComputesTheSameFunction()
    {
        checkFunction(u"vgg-cifar"_s, {3, 32, 32}, 0.5);
    }

    void cnnSmallThroughFlattenComputesTheSameFunction()
    {
        checkFunction(u"cnn-small"_s, {1, 28, 28}, 0.25);
    }

    void halfTheFiltersGiveASmallerModel()
    {
        const QJsonObject params{{u"ratio"_s, 0.5}, {u"finetune_epochs"_s, 0}};
        test::Recorded rec;
        TechniqueContext c = test::recordingContext(test::zooModel(u"vgg-cifar"_s, 1, {3, 32, 32}),
                                                    nullptr, nullptr, &rec);
        const ArchSpec denseSpec = *c.model->spec();
        QString error;
        QVERIFY2(m_plugin.createAndApply(params, c, &error), qPrintable(error));
        int convs = 0;
        for (size_t i = 0; i < denseSpec.layers.size(); ++i) {
            if (denseSpec.layers[i].kind != LayerKind::Conv)
                continue;
            ++convs;
            QCOMPARE(c.model->spec()->layers[i].out, denseSpec.layers[i].out / 2);
        }
        QCOMPARE(convs, 6);
        // Conv parameters shrink about 4x (in and out halved), the classifier 2x.
        QVERIFY(rec.metrics.at(u"parameters_ratio"_s) < 0.3);
        QVERIFY(rec.metrics.at(u"macs_ratio"_s) < 0.3);
        QCOMPARE(rec.phases, QStringList{u"prepare:prune"_s});
    }

    void minChannelsIsKept()
    {
        const QJsonObject params{
            {u"ratio"_s, 0.9}, {u"min_channels"_s, 20}, {u"finetune_epochs"_s, 0}};
        test::Recorded rec;
        TechniqueContext c = test::recordingContext(test::zooModel(u"vgg-cifar"_s, 1, {3, 32, 32}),
                                                    nullptr, nullptr, &rec);
        QString error;
        QVERIFY2(m_plugin.createAndApply(params, c, &error), qPrintable(error));
        QCOMPARE(c.model->spec()->layers[0].out, 20);  // 32 -> max(20, 32 - 28)
        QCOMPARE(c.model->spec()->layers[17].out, 20); // 128 -> max(20, 128 - 115)
    }

    void fineTuningRunsOnThePrunedModel()
    {
        DatasetSplits data = test::syntheticSplits(128);
        const QJsonObject params{{u"ratio"_s, 0.5}, {u"finetune_epochs"_s, 1}};
        test::Recorded rec;
        TechniqueContext c =
            test::recordingContext(test::zooModel(u"cnn-small"_s), &data, nullptr, &rec);
        QString error;
        QVERIFY2(m_plugin.createAndApply(params, c, &error), qPrintable(error));
        QCOMPARE(rec.phases, (QStringList{u"prepare:prune"_s, u"prepare:finetune"_s}));
        QCOMPARE(c.model->spec()->layers[0].out, 16);
    }

    void torchScriptModelIsRefused()
    {
        auto technique = m_plugin.create({});
        QVERIFY(technique);
        FakeTorchScriptModel fake;
        QString error;
        QVERIFY(!technique->checkSupported(fake, Backend{}, &error));
        QVERIFY2(error.contains(u"needs a model built from an architecture spec"_s) &&
                     error.contains(u"TorchScript"_s),
                 qPrintable(error));
        test::Recorded rec;
        TechniqueContext c = test::recordingContext(std::make_unique<FakeTorchScriptModel>(),
                                                    nullptr, nullptr, &rec);
        QString applyError;
        QVERIFY(!technique->apply(c, &applyError));
        QCOMPARE(applyError, error);
    }
};

QTEST_GUILESS_MAIN(TestPruneStructured)
#include "tst_structured.moc"
