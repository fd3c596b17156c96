// SPDX-License-Identifier: GPL-3.0-or-later
// Spec-built models: parameter names, layer swap, clone, channel removal and rebuild with the
// surviving weights.
#include "engine/channel_surgery.h"
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
    s.layers = {conv(8, 3, 1, 1), batchNorm(), act(),      conv(6, 3, 1, 1),
                batchNorm(),      act(),       maxPool(2), flatten(),
                linear(5),        act(),       linear(3)};
    return s;
}

torch::Tensor tensorOf(const Model &m, const std::string &name)
{
    for (const auto &[n, t] : m.state()) {
        if (n == name)
            return t;
    }
    return {};
}

/// A layer the tests swap in: scales its input (like a custom/quantized implementation would
/// compute the same function differently).
class ScaleLayer : public Layer
{
public:
    explicit ScaleLayer(double f) : m_f(register_buffer("factor", torch::full({}, f))) {}
    torch::Tensor forward(const torch::Tensor &x) override { return x * m_f; }

private:
    torch::Tensor m_f;
};

} // namespace

class TestSpecModel : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        at::set_num_threads(2);
        QVERIFY(registerLayerImpl(QStringLiteral("test.scale"),
                                  [](const LayerSpec &s, const std::vector<int64_t> &, QString *) {
                                      return std::make_shared<ScaleLayer>(
                                          s.implOptions.value(QStringLiteral("f")).toDouble(1.0));
                                  }));
        QVERIFY(!registerLayerImpl(QStringLiteral("test.scale"), [](auto &, auto &, auto *) {
            return std::shared_ptr<Layer>();
        }));
    }

    void parameterNamesFollowLayerPaths()
    {
        QString error;
        auto m = SpecModel::create(test::smallResNet(), 3, &error);
        QVERIFY2(m, qPrintable(error));
        QStringList names;
        for (const auto &[n, t] : m->namedParameters())
            names << QString::fromStdString(n);
        QVERIFY(names.contains(QStringLiteral("0.weight")));
        QVERIFY(names.contains(QStringLiteral("3.body.0.weight")));
        QVERIFY(names.contains(QStringLiteral("5.shortcut.1.bias")));
        QVERIFY(names.contains(QStringLiteral("8.bias")));
        QVERIFY(!names.contains(QStringLiteral("0.bias"))); // bias = false
        QCOMPARE(tensorOf(*m, "5.body.0.weight").sizes().vec(),
                 (std::vector<int64_t>{4, 1, 3, 3})); // depthwise
        QVERIFY(tensorOf(*m, "1.running_var").defined());
        QVERIFY(m->layer(QStringLiteral("5.body.4")));
        QVERIFY(!m->layer(QStringLiteral("5.body.5")));
        const torch::Tensor y = m->forward(torch::randn({3, 3, 8, 8}));
        QCOMPARE(y.sizes().vec(), (std::vector<int64_t>{3, 4}));
    }

    void seededCreateIsReproducibleAndLeavesGlobalRng()
    {
        QString error;
        torch::manual_seed(42);
        const torch::Tensor before = torch::rand({4});
        torch::manual_seed(42);
        auto a = SpecModel::create(convNet(), 7, &error);
        const torch::Tensor after = torch::rand({4});
        auto b = SpecModel::create(convNet(), 7, &error);
        auto c = SpecModel::create(convNet(), 8, &error);
        QVERIFY(torch::equal(before, after)); // the global stream was not consumed
        QVERIFY(torch::equal(tensorOf(*a, "3.weight"), tensorOf(*b, "3.weight")));
        QVERIFY(!torch::equal(tensorOf(*a, "3.weight"), tensorOf(*c, "3.weight")));
    }

    void conventionalInitMatchesTorchNn()
    {
        // Same seed, same init calls: spec conv == torch::nn::Conv2d.
        ArchSpec s;
        s.name = QStringLiteral("one");
        s.inputShape = {3, 5, 5};
        s.numClasses = 2;
        s.layers = {conv(4, 3), flatten(), linear(2)};
        QString error;
        torch::manual_seed(5);
        auto m = SpecModel::create(s, &error);
        torch::manual_seed(5);
        torch::nn::Conv2d ref(torch::nn::Conv2dOptions(3, 4, 3));
        QVERIFY(torch::allclose(tensorOf(*m, "0.weight"), ref->weight));
        QVERIFY(torch::allclose(tensorOf(*m, "0.bias"), ref->bias));
    }

    void cloneIsDeepAndEqual()
    {
        QString error;
        auto m = SpecModel::create(test::smallResNet(), 1, &error);
        test::randomiseBatchNorm(*m);
        m->setTraining(false);
        auto copy = m->clone(&error);
        QVERIFY2(copy, qPrintable(error));
        QVERIFY(!copy->isTraining());
        const torch::Tensor x = torch::randn({2, 3, 8, 8});
        QVERIFY(torch::allclose(m->forward(x), copy->forward(x)));
        {
            torch::NoGradGuard g;
            tensorOf(*copy, "0.weight").add_(1);
        }
        QVERIFY(!torch::allclose(m->forward(x), copy->forward(x)));
    }

    void replaceLayerSwapsImplementation()
    {
        QString error;
        auto m = SpecModel::create(convNet(), 1, &error);
        m->setTraining(false);
        const torch::Tensor x = torch::randn({2, 2, 8, 8});
        const torch::Tensor y = m->forward(x);
        // A replacement that changes the layer's output shape is refused (probe input):
        QVERIFY(!m->replaceLayer(QStringLiteral("7"), std::make_shared<ScaleLayer>(1.0),
                                 QStringLiteral("test.scale"), {}, &error));
        QVERIFY2(error.contains(QStringLiteral("the replacement gives [1, 6, 4, 4] for one "
                                               "sample, the spec needs [1, 96]")),
                 qPrintable(error));
        QVERIFY(!m->replaceLayer(QStringLiteral("2"), std::make_shared<ScaleLayer>(1.0),
                                 QStringLiteral("not.registered"), {}, &error));
        QVERIFY(error.contains(QStringLiteral("'not.registered' is not registered")));
        // Activation 2 -> scale by 2: the output changes (no ReLU), the spec records the impl.
        QVERIFY2(m->replaceLayer(QStringLiteral("2"), std::make_shared<ScaleLayer>(2.0),
                                 QStringLiteral("test.scale"),
                                 QJsonObject{{QStringLiteral("f"), 2.0}}, &error),
                 qPrintable(error));
        QCOMPARE(m->spec()->layers[2].impl, QStringLiteral("test.scale"));
        const torch::Tensor y2 = m->forward(x);
        QVERIFY(!torch::allclose(y, y2));
        // The rewritten spec rebuilds the same function through the registry (clone).
        auto copy = m->clone(&error);
        QVERIFY2(copy, qPrintable(error));
        QVERIFY(torch::allclose(copy->forward(x), y2));
        QVERIFY(tensorOf(*copy, "2.factor").defined());
    }

    void rebuildKeepsKeptPathOutputs()
    {
        // Remove channels of conv 0 (feeds conv 3) and of conv 3 (feeds linear 8 through
        // pool and flatten), composed into one rebuild. With the removed channels' downstream
        // weights zeroed first, the pruned model must compute exactly the same logits.
        QString error;
        auto m = SpecModel::create(convNet(), 11, &error);
        test::randomiseBatchNorm(*m);
        m->setTraining(false);
        const std::vector<int64_t> removed0 = {1, 4, 6};
        const std::vector<int64_t> removed3 = {0, 5};
        {
            torch::NoGradGuard g;
            torch::Tensor w3 = tensorOf(*m, "3.weight");
            for (int64_t c : removed0)
                w3.select(1, c).zero_();
            torch::Tensor w8 = tensorOf(*m, "8.weight"); // [5, 6*4*4], channel c -> 16c..16c+15
            for (int64_t c : removed3)
                w8.narrow(1, c * 16, 16).zero_();
        }
        ChannelMaps maps;
        auto s1 = removeChannels(*m->spec(), QStringLiteral("0"), removed0, &maps, &error);
        QVERIFY2(s1, qPrintable(error));
        QCOMPARE(s1->layers[0].out, 5);
        // Indices of the current spec: conv 3 still has 6 channels; remove 0 and 5 of them.
        auto s2 = removeChannels(*s1, QStringLiteral("3"), removed3, &maps, &error);
        QVERIFY2(s2, qPrintable(error));
        QCOMPARE(maps[QStringLiteral("0")].keptOut, (std::vector<int64_t>{0, 2, 3, 5, 7}));
        QCOMPARE(maps[QStringLiteral("1")].keptOut, (std::vector<int64_t>{0, 2, 3, 5, 7}));
        QCOMPARE(maps[QStringLiteral("3")].keptIn, (std::vector<int64_t>{0, 2, 3, 5, 7}));
        QCOMPARE(maps[QStringLiteral("3")].keptOut, (std::vector<int64_t>{1, 2, 3, 4}));
        QCOMPARE(maps[QStringLiteral("8")].keptIn.size(), size_t(4 * 16));
        QCOMPARE(maps[QStringLiteral("8")].keptIn.front(), 16);

        auto pruned = m->rebuild(*s2, maps, &error);
        QVERIFY2(pruned, qPrintable(error));
        QVERIFY(!pruned->isTraining());
        QVERIFY(parameterCount(*pruned) < parameterCount(*m));
        QCOMPARE(tensorOf(*pruned, "3.weight").sizes().vec(), (std::vector<int64_t>{4, 5, 3, 3}));
        QCOMPARE(tensorOf(*pruned, "8.weight").sizes().vec(), (std::vector<int64_t>{5, 64}));

        const torch::Tensor x = torch::randn({4, 2, 8, 8});
        // Layer 0 alone: the kept channels are identical.
        const torch::Tensor a0 = m->layer(QStringLiteral("0"))->forward(x);
        const torch::Tensor b0 = pruned->layer(QStringLiteral("0"))->forward(x);
        QVERIFY(torch::equal(a0.index_select(1, torch::tensor({0, 2, 3, 5, 7})), b0));
        // The whole model: same logits.
        QVERIFY(torch::allclose(m->forward(x), pruned->forward(x), 1e-5, 1e-6));
    }

    void rebuildInsideResidualBody()
    {
        QString error;
        auto m = SpecModel::create(test::smallResNet(), 5, &error);
        test::randomiseBatchNorm(*m);
        m->setTraining(false);
        {
            torch::NoGradGuard g;
            tensorOf(*m, "3.body.3.weight").select(1, 2).zero_();
            tensorOf(*m, "5.body.4.weight").select(1, 0).zero_();
        }
        ChannelMaps maps;
        auto s1 = removeChannels(*m->spec(), QStringLiteral("3.body.0"), {2}, &maps, &error);
        QVERIFY2(s1, qPrintable(error));
        auto s2 = removeChannels(*s1, QStringLiteral("5.body.2"), {0}, &maps, &error);
        QVERIFY2(s2, qPrintable(error));
        auto pruned = m->rebuild(*s2, maps, &error);
        QVERIFY2(pruned, qPrintable(error));
        const torch::Tensor x = torch::randn({2, 3, 8, 8});
        QVERIFY(torch::allclose(m->forward(x), pruned->forward(x), 1e-5, 1e-6));
    }

    void removalRefusals_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QList<qint64>>("channels");
        QTest::addColumn<QString>("expected");
        QTest::newRow("output layer")
            << "8" << QList<qint64>{0} << "layer 8 (linear) produces the model's output";
        QTest::newRow("last of body")
            << "3.body.3" << QList<qint64>{0} << "its output is added in residual block 3";
        QTest::newRow("feeds a block") << "0" << QList<qint64>{0} << "feeds residual block 3";
        QTest::newRow("depthwise")
            << "5.body.0" << QList<qint64>{0} << "only convs with groups = 1 and linear layers";
        QTest::newRow("all channels")
            << "3.body.0" << QList<qint64>{0, 1, 2, 3, 4, 5} << "cannot remove all 6 channels";
        QTest::newRow("no such channel")
            << "3.body.0" << QList<qint64>{6} << "channel 6 does not exist (it has 6)";
        QTest::newRow("no such layer")
            << "3.body.9" << QList<qint64>{0} << "no layer at path '3.body.9'";
    }

    void removalRefusals()
    {
        QFETCH(QString, path);
        QFETCH(QList<qint64>, channels);
        QFETCH(QString, expected);
        ChannelMaps maps;
        QString error;
        const std::vector<int64_t> c(channels.begin(), channels.end());
        QVERIFY(!removeChannels(test::smallResNet(), path, c, &maps, &error));
        QVERIFY2(error.contains(expected), qPrintable(error));
        QVERIFY(maps.empty()); // untouched on failure
    }

    void rebuildShapeMismatchIsAnError()
    {
        QString error;
        auto m = SpecModel::create(convNet(), 1, &error);
        ArchSpec wider = convNet();
        wider.layers[0].out = 10; // growing without a map
        QVERIFY(!m->rebuild(wider, {}, &error));
        QVERIFY2(
            error.contains(QStringLiteral("tensor '0.weight' needs shape [10, 2, 3, 3], the "
                                          "old model's (after the channel map) has [8, 2, 3, 3]")),
            qPrintable(error));
        ArchSpec deeper = convNet();
        deeper.layers.insert(deeper.layers.begin() + 10, linear(3));
        deeper.layers.insert(deeper.layers.begin() + 10, act());
        QVERIFY(!m->rebuild(deeper, {}, &error));
        QVERIFY2(error.contains(QStringLiteral("has no counterpart")), qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestSpecModel)
#include "tst_spec_model.moc"
