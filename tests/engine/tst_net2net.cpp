// SPDX-License-Identifier: GPL-3.0-or-later
// Net2Net growth (engine/net2net.h): widening and deepening keep the model's function, the
// grown specs validate and build, and what cannot be grown is refused with a message.
#include "engine/net2net.h"
#include "engine/spec_model.h"
#include "engine/zoo.h"
#include "spec_test_models.h"

#include <QTest>

#include <torch/torch.h>

using namespace jb;
using namespace jb::layers;

namespace {

ArchSpec convNet()
{
    ArchSpec s;
    s.name = QStringLiteral("convnet");
    s.inputShape = {2, 8, 8};
    s.numClasses = 3;
    s.layers = {conv(4, 3, 1, 1), batchNorm(), act(),      conv(3, 3, 1, 1, false),
                batchNorm(),      act(),       maxPool(2), flatten(),
                linear(5),        act(),       linear(3)};
    return s;
}

ArchSpec mlpNet()
{
    ArchSpec s;
    s.name = QStringLiteral("mlp");
    s.inputShape = {12};
    s.numClasses = 4;
    s.layers = {linear(6), batchNorm(), act(QStringLiteral("tanh")), linear(5), act(), linear(4)};
    return s;
}

std::unique_ptr<SpecModel> build(const ArchSpec &spec, uint64_t seed = 3)
{
    QString error;
    auto m = SpecModel::create(spec, seed, &error);
    if (!m)
        qWarning("%s", qPrintable(error));
    else
        test::randomiseBatchNorm(*m);
    return m;
}

/// max |a - b| / max |a|
double relativeDifference(const torch::Tensor &a, const torch::Tensor &b)
{
    return (a - b).abs().max().item<double>() / std::max(1e-12, a.abs().max().item<double>());
}

torch::Tensor outputs(Model &m, const torch::Tensor &x, bool training)
{
    torch::NoGradGuard g;
    m.setTraining(training);
    torch::Tensor y = m.forward(x);
    m.setTraining(false);
    return y;
}

torch::Tensor inputFor(const ArchSpec &spec, int64_t n = 16)
{
    std::vector<int64_t> shape{n};
    shape.insert(shape.end(), spec.inputShape.begin(), spec.inputShape.end());
    torch::manual_seed(7);
    return torch::randn(shape);
}

torch::Tensor tensorOf(const Model &m, const std::string &name)
{
    for (const auto &[n, t] : m.state()) {
        if (n == name)
            return t;
    }
    return {};
}

} // namespace

class TestNet2Net : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void scaledWidthsMatchTheZoo()
    {
        QString error;
        const auto full = zooSpec(QStringLiteral("cnn-small"), {}, &error);
        QVERIFY2(full, qPrintable(error));
        ZooOptions half;
        half.width = 0.5;
        const auto zooHalf = zooSpec(QStringLiteral("cnn-small"), half, &error);
        const auto scaled = scaleWidths(*full, 0.5, &error);
        QVERIFY2(scaled, qPrintable(error));
        QCOMPARE(scaled->layers, zooHalf->layers);
        QCOMPARE(hiddenWidthPaths(*full),
                 QStringList({QStringLiteral("0"), QStringLiteral("4"), QStringLiteral("9")}));
        QCOMPARE(scaledWidth(5, 0.5), int64_t(3));
        QCOMPARE(scaledWidth(1, 0.1), int64_t(1));
        QCOMPARE(hiddenWidthPaths(test::smallResNet()),
                 QStringList({QStringLiteral("0"), QStringLiteral("3.body.0"),
                              QStringLiteral("3.body.3"), QStringLiteral("5.body.2"),
                              QStringLiteral("5.body.4"), QStringLiteral("5.shortcut.0")}));
    }

    void widenPreservesTheFunction_data()
    {
        QTest::addColumn<int>("net");
        QTest::addColumn<double>("noise");
        QTest::newRow("conv+bn+relu, flatten->linear") << 0 << 0.0;
        QTest::newRow("conv+bn+relu with noise") << 0 << 0.05;
        QTest::newRow("linear+bn1d, tanh") << 1 << 0.0;
        QTest::newRow("linear with noise") << 1 << 0.05;
        QTest::newRow("residual, depthwise, conv shortcut") << 2 << 0.0;
        QTest::newRow("residual with noise") << 2 << 0.05;
    }
    void widenPreservesTheFunction()
    {
        QFETCH(int, net);
        QFETCH(double, noise);
        const ArchSpec full = net == 0 ? convNet() : net == 1 ? mlpNet() : test::smallResNet();
        QString error;
        // Grow from roughly half width to the full spec: odd increments (3 -> 5, 2 -> 3)
        // replicate some units twice and others not at all.
        const auto narrow = scaleWidths(full, 0.5, &error);
        QVERIFY2(narrow, qPrintable(error));
        auto small = build(*narrow);
        QVERIFY(small);
        WidenOptions options;
        options.noise = noise;
        options.seed = 11;
        auto wide = net2WiderNet(*small, full, options, &error);
        QVERIFY2(wide, qPrintable(error));
        QCOMPARE(*wide->spec(), full);
        QVERIFY(wide->spec()->validate(&error));
        QVERIFY(parameterCount(*wide) > parameterCount(*small));

        const torch::Tensor x = inputFor(full);
        const double evalDiff =
            relativeDifference(outputs(*small, x, false), outputs(*wide, x, false));
        QVERIFY2(evalDiff < 1e-5, qPrintable(QStringLiteral("eval: %1").arg(evalDiff)));
        // Replicated channels have equal batch statistics: training mode is preserved too.
        const double trainDiff =
            relativeDifference(outputs(*small, x, true), outputs(*wide, x, true));
        QVERIFY2(trainDiff < 1e-4, qPrintable(QStringLiteral("train: %1").arg(trainDiff)));

        // The grown model builds again from its spec and clones (e.g. for saving).
        QVERIFY2(wide->clone(&error), qPrintable(error));
    }

    void noiseBreaksTheSymmetry()
    {
        QString error;
        ArchSpec narrow = mlpNet();
        narrow.layers[3].out = 2; // the hidden layer of 5 units starts with 2
        auto small = build(narrow);
        ArchSpec wider = narrow;
        wider.layers[3].out = 5;
        const torch::Tensor original = tensorOf(*small, "5.weight");
        for (double noise : {0.0, 0.1}) {
            WidenOptions options;
            options.seed = 1;
            options.noise = noise;
            auto grown = net2WiderNet(*small, wider, options, &error);
            QVERIFY2(grown, qPrintable(error));
            const torch::Tensor in = tensorOf(*grown, "3.weight");
            const torch::Tensor out = tensorOf(*grown, "5.weight");
            for (int64_t unit = 0; unit < 2; ++unit) {
                // The replicas of a unit: the same incoming weights.
                std::vector<int64_t> replicas;
                for (int64_t r = 0; r < 5; ++r) {
                    if (torch::equal(in[r], in[unit]))
                        replicas.push_back(r);
                }
                torch::Tensor sum = torch::zeros_like(original.select(1, unit));
                for (int64_t r : replicas)
                    sum += out.select(1, r);
                // Together they still send the unit's original outgoing weight...
                QVERIFY(torch::allclose(sum, original.select(1, unit), 1e-5, 1e-6));
                if (replicas.size() < 2)
                    continue;
                // ... in equal shares without noise, in different shares with it.
                const bool equalShares =
                    torch::allclose(out.select(1, replicas[0]), out.select(1, replicas[1]));
                QCOMPARE(equalShares, noise == 0.0);
            }
        }
    }

    void widenRefusals()
    {
        QString error;
        auto m = build(convNet());
        ArchSpec narrower = convNet();
        narrower.layers[0].out = 2;
        QVERIFY(!net2WiderNet(*m, narrower, {}, &error));
        QVERIFY2(error.contains(QStringLiteral("shrink")), qPrintable(error));

        ArchSpec other = convNet();
        other.layers[9].activation = QStringLiteral("tanh");
        QVERIFY(!net2WiderNet(*m, other, {}, &error));
        QVERIFY2(error.contains(QStringLiteral("only in conv/linear widths")), qPrintable(error));

        ArchSpec grouped = convNet();
        grouped.layers[3] = conv(4, 3, 1, 1, false);
        grouped.layers[3].groups = 2;
        auto g = build(grouped);
        QVERIFY(g);
        ArchSpec groupedWide = grouped;
        groupedWide.layers[0].out = 8;
        QVERIFY(!net2WiderNet(*g, groupedWide, {}, &error));
        QVERIFY2(error.contains(QStringLiteral("grouped conv")), qPrintable(error));
        QVERIFY(!scaleWidths(grouped, 2.0, &error));
        QVERIFY2(error.contains(QStringLiteral("layer 3 (conv)")), qPrintable(error));
    }

    void deepenPreservesTheFunction_data()
    {
        QTest::addColumn<int>("net");
        QTest::addColumn<int>("after");
        QTest::addColumn<bool>("batchNorm");
        QTest::newRow("conv+relu after relu") << 0 << 2 << false;
        QTest::newRow("conv+bn+relu after relu") << 0 << 5 << true;
        QTest::newRow("conv+bn+relu after max-pool") << 0 << 6 << true;
        QTest::newRow("linear+relu after flatten") << 0 << 7 << false;
        QTest::newRow("linear+bn+relu after relu") << 0 << 9 << true;
        QTest::newRow("conv after the residual stage's relu") << 2 << 4 << true;
    }
    void deepenPreservesTheFunction()
    {
        QFETCH(int, net);
        QFETCH(int, after);
        QFETCH(bool, batchNorm);
        const ArchSpec s = net == 0 ? convNet() : test::smallResNet();
        QString error;
        auto m = build(s);
        QVERIFY(m);
        DeepenOptions options;
        options.batchNorm = batchNorm;
        const torch::Tensor calibration = inputFor(s, 64);
        const auto before = m->namedParameters().size();
        auto deep = net2DeeperNet(*m, after, options, calibration, &error);
        QVERIFY2(deep, qPrintable(error));
        QVERIFY(deep->spec()->validate(&error));
        QCOMPARE(deep->spec()->layers.size(), s.layers.size() + (batchNorm ? 3 : 2));
        QVERIFY(deep->namedParameters().size() > before);

        const torch::Tensor x = inputFor(s);
        const double evalDiff = relativeDifference(outputs(*m, x, false), outputs(*deep, x, false));
        QVERIFY2(evalDiff < 1e-5, qPrintable(QStringLiteral("eval: %1").arg(evalDiff)));
        QVERIFY2(deep->clone(&error), qPrintable(error));

        // Then widening the deeper model still preserves the function.
        const auto wider = scaleWidths(*deep->spec(), 2.0, &error);
        QVERIFY2(wider, qPrintable(error));
        auto wide = net2WiderNet(*deep, *wider, {}, &error);
        QVERIFY2(wide, qPrintable(error));
        const double wideDiff =
            relativeDifference(outputs(*deep, x, false), outputs(*wide, x, false));
        QVERIFY2(wideDiff < 1e-5, qPrintable(QStringLiteral("widened: %1").arg(wideDiff)));
    }

    void deepenWithoutCalibrationIsIdentityInEvalMode()
    {
        QString error;
        auto m = build(convNet());
        DeepenOptions options;
        options.batchNorm = true;
        auto deep = net2DeeperNet(*m, 2, options, torch::Tensor(), &error);
        QVERIFY2(deep, qPrintable(error));
        const torch::Tensor x = inputFor(convNet());
        QVERIFY(relativeDifference(outputs(*m, x, false), outputs(*deep, x, false)) < 1e-5);
    }

    void deepenRefusals()
    {
        QString error;
        auto m = build(convNet());
        // After a batch norm the tensor can be negative: a ReLU would cut it.
        QVERIFY(!net2DeeperNet(*m, 1, {}, torch::Tensor(), &error));
        QVERIFY2(error.contains(QStringLiteral("non-negative")) &&
                     error.contains(QStringLiteral("layer 1 (batchnorm)")),
                 qPrintable(error));
        // Without activation, anywhere is fine.
        DeepenOptions linearBlock;
        linearBlock.activation.clear();
        auto deep = net2DeeperNet(*m, 1, linearBlock, torch::Tensor(), &error);
        QVERIFY2(deep, qPrintable(error));
        const torch::Tensor x = inputFor(convNet());
        QVERIFY(relativeDifference(outputs(*m, x, false), outputs(*deep, x, false)) < 1e-5);

        DeepenOptions even;
        even.kernel = 2;
        QVERIFY(!net2DeeperNet(*m, 2, even, torch::Tensor(), &error));
        QVERIFY2(error.contains(QStringLiteral("odd")), qPrintable(error));
        QVERIFY(!net2DeeperNet(*m, 42, {}, torch::Tensor(), &error));
        QVERIFY2(error.contains(QStringLiteral("no such top-level layer")), qPrintable(error));
        DeepenOptions gelu;
        gelu.activation = QStringLiteral("gelu");
        QVERIFY(!net2DeeperNet(*m, 2, gelu, torch::Tensor(), &error));
        QVERIFY2(error.contains(QStringLiteral("gelu")), qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestNet2Net)
#include "tst_net2net.moc"
