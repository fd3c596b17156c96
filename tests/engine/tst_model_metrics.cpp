// SPDX-License-Identifier: GPL-3.0-or-later
// Model metrics against hand counts: MACs of conv, depthwise and linear layers, sparsity-aware
// MACs, parameters, activation estimates, saved size.
#include "engine/model_io.h"
#include "engine/model_metrics.h"
#include "engine/spec_model.h"
#include "engine/zoo.h"

#include <QTest>

#include <torch/torch.h>

using namespace jb;
using namespace jb::layers;

namespace {

std::unique_ptr<SpecModel> build(const ArchSpec &spec)
{
    QString error;
    auto m = SpecModel::create(spec, 1, &error);
    if (!m)
        qFatal("%s", qPrintable(error));
    return m;
}

std::unique_ptr<SpecModel> zoo(const QString &name, std::vector<int64_t> input = {1, 28, 28})
{
    ZooOptions o;
    o.inputShape = std::move(input);
    QString error;
    const auto spec = zooSpec(name, o, &error);
    if (!spec)
        qFatal("%s", qPrintable(error));
    return build(*spec);
}

ModelMetrics metricsOf(const Model &m)
{
    QString error;
    const auto r = computeModelMetrics(m, &error);
    if (!r)
        qFatal("%s", qPrintable(error));
    return *r;
}

} // namespace

class TestModelMetrics : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { at::set_num_threads(2); }

    void lenet300100()
    {
        auto m = zoo(QStringLiteral("mlp"));
        const ModelMetrics r = metricsOf(*m);
        QVERIFY(r.macsKnown);
        QCOMPARE(r.macs, 784 * 300 + 300 * 100 + 100 * 10); // 266,200
        QCOMPARE(r.macs, 266200);
        QCOMPARE(r.flops, 532400);
        QCOMPARE(r.nonZeroMacs, r.macs); // dense init
        QCOMPARE(r.parameters, 266610);
        QCOMPARE(r.nonZeroParameters, 266610);
        QCOMPARE(r.bufferElements, 0);
        // Other ops: biases 300 + 100 + 10, ReLUs 300 + 100.
        QCOMPARE(r.otherOps, 410 + 400);
        // Activations: linear/relu outputs 300 + 300 + 100 + 100 + 10 (flatten is a view).
        QCOMPARE(r.activationBytes, 4 * 810);
        // Peak: the first linear's input (784) and output (300) alive together.
        QCOMPARE(r.peakActivationBytes, 4 * (784 + 300));
        QCOMPARE(r.layers.size(), size_t(6));
        QCOMPARE(r.layers[1].macs, 235200);
        QCOMPARE(r.layers[1].parameters, 235500);
        QCOMPARE(r.layers[1].outputShape, (std::vector<int64_t>{300}));
    }

    void lenet5()
    {
        auto m = zoo(QStringLiteral("lenet5"));
        const ModelMetrics r = metricsOf(*m);
        // conv1 6x28x28 outputs x 1x5x5, conv2 16x10x10 x 6x5x5, fc 400x120, 120x84, 84x10
        QCOMPARE(r.macs, 6 * 28 * 28 * 25 + 16 * 10 * 10 * 6 * 25 + 400 * 120 + 120 * 84 + 84 * 10);
        QCOMPARE(r.macs, 416520);
        QCOMPARE(r.parameters, 61706);
    }

    void convStrideGroupsAndDepthwise()
    {
        ArchSpec s;
        s.name = QStringLiteral("dw");
        s.inputShape = {4, 8, 8};
        s.numClasses = 3;
        LayerSpec grouped = conv(6, 3, 2, 1, false);
        grouped.groups = 2;
        s.layers = {depthwise(3, 1, 1, false), // 4 x 8x8 outputs x 1 x 3x3
                    batchNorm(),
                    conv(8, 1, 1, 0, false), // 8 x 8x8 x 4
                    grouped,                 // 6 x 4x4 x (8/2) x 3x3
                    globalAvgPool(),
                    flatten(),
                    linear(3)};
        auto m = build(s);
        const ModelMetrics r = metricsOf(*m);
        QCOMPARE(r.layers[0].macs, 4 * 64 * 9);
        QCOMPARE(r.layers[2].macs, 8 * 64 * 4);
        QCOMPARE(r.layers[3].macs, 6 * 16 * 4 * 9);
        QCOMPARE(r.layers[3].outputShape, (std::vector<int64_t>{6, 4, 4}));
        QCOMPARE(r.layers[6].macs, 6 * 3);
        QCOMPARE(r.macs, 2304 + 2048 + 3456 + 18);
        QCOMPARE(r.layers[0].parameters, 4 * 9);
        QCOMPARE(r.layers[1].otherOps, 2 * 4 * 64); // BN scale + shift
        QCOMPARE(r.layers[4].otherOps, 6 * 16);     // global pooling reads every element
        QCOMPARE(r.bufferElements, 4 + 4 + 1);      // running mean, var, batches tracked
    }

    void sparsityAwareMacs()
    {
        auto m = zoo(QStringLiteral("mlp"));
        {
            torch::NoGradGuard g;
            for (auto &[name, t] : m->namedParameters()) {
                if (name == "1.weight")
                    t.narrow(0, 0, 100).zero_(); // 100 of 300 output neurons
            }
        }
        ModelMetrics r = metricsOf(*m);
        QCOMPARE(r.macs, 266200);
        QCOMPARE(r.nonZeroMacs, 266200 - 100 * 784);
        QCOMPARE(r.nonZeroFlops, 2 * (266200 - 100 * 784));
        QCOMPARE(r.nonZeroParameters, 266610 - 100 * 784);

        // A conv: zeros count once per output position.
        auto c = zoo(QStringLiteral("lenet5"));
        {
            torch::NoGradGuard g;
            for (auto &[name, t] : c->namedParameters()) {
                if (name == "3.weight")
                    t.select(1, 0).zero_(); // input channel 0 of all 16 filters: 16 x 25 weights
            }
        }
        r = metricsOf(*c);
        QCOMPARE(r.nonZeroMacs, 416520 - 16 * 25 * 10 * 10);
    }

    void residualActivationEstimate()
    {
        ArchSpec s;
        s.name = QStringLiteral("res");
        s.inputShape = {2, 4, 4};
        s.numClasses = 3;
        s.layers = {residual({conv(2, 3, 1, 1)}), flatten(), linear(3)};
        auto m = build(s);
        const ModelMetrics r = metricsOf(*m);
        QCOMPARE(r.macs, 2 * 16 * 2 * 9 + 32 * 3);
        // Outputs: conv 32, the addition 32, linear 3.
        QCOMPARE(r.activationBytes, 4 * (32 + 32 + 3));
        // Peak: the addition reads body output (32) and input (32) and writes 32; the conv runs
        // with the block input kept (32) besides its own input (32) and output (32).
        QCOMPARE(r.peakActivationBytes, 4 * 96);
        QCOMPARE(r.otherOps, 32 /*conv bias*/ + 32 /*add*/ + 3 /*linear bias*/);
        QCOMPARE(r.layers.size(), size_t(4));
        QCOMPARE(r.layers[1].path, QStringLiteral("0.body.0"));
    }

    void sizeIsTheSavedFile()
    {
        auto m = zoo(QStringLiteral("lenet5"));
        const ModelMetrics r = metricsOf(*m);
        QString error;
        const auto bytes = serializeModel(*m, &error);
        QVERIFY(bytes);
        QCOMPARE(r.sizeBytes, bytes->size());
        QVERIFY(r.sizeBytes > 4 * r.parameters);
        QVERIFY(r.sizeBytes < 4 * r.parameters + 32 * 1024);
    }

    void everyZooEntryHasMetrics()
    {
        for (const QString &name : zooModelNames()) {
            auto m = zoo(name, {3, 32, 32});
            const ModelMetrics r = metricsOf(*m);
            QVERIFY2(r.macs > 0 && r.macs == r.nonZeroMacs, qPrintable(name));
            QCOMPARE(r.parameters, parameterCount(*m));
            QVERIFY(r.peakActivationBytes <= r.activationBytes + 4 * 3 * 32 * 32);
        }
        // ResNet-20 on CIFAR: about 41 M MACs (He et al. report 41 M FLOPs counting MACs); with
        // 1x1-conv shortcuts (+0.4 M).
        auto rn = zoo(QStringLiteral("resnet20"), {3, 32, 32});
        const ModelMetrics r = metricsOf(*rn);
        QVERIFY2(r.macs > 40'500'000 && r.macs < 41'500'000, qPrintable(QString::number(r.macs)));
    }
};

QTEST_GUILESS_MAIN(TestModelMetrics)
#include "tst_model_metrics.moc"
