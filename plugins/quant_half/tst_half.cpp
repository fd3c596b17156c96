// SPDX-License-Identifier: GPL-3.0-or-later
// quant.half through the real plugin path: bf16 is a real dtype change with close outputs;
// fp16 convolution on the CPU is refused by checkSupported() before any work.
#include "technique_test_support.h"

#include <QtTest>

#include <torch/torch.h>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

const QString kId = u"quant.half"_s;

} // namespace

class TestHalf : public QObject
{
    Q_OBJECT

private:
    test::PluginUnderTest m_plugin;

private Q_SLOTS:
    void initTestCase()
    {
        QString error;
        QVERIFY2(m_plugin.load(QStringLiteral(JB_PLUGIN_FILE), kId, &error), qPrintable(error));
    }

    void bf16IsARealDtypeChangeWithCloseOutputs_data()
    {
        QTest::addColumn<QString>("zoo");
        QTest::newRow("mlp") << u"mlp"_s;
        QTest::newRow("cnn-small") << u"cnn-small"_s;
    }

    void bf16IsARealDtypeChangeWithCloseOutputs()
    {
        QFETCH(QString, zoo);
        QString error;
        auto technique = m_plugin.create({{u"dtype"_s, u"bf16"_s}}, &error);
        QVERIFY2(technique, qPrintable(error));
        test::Recorded rec;
        TechniqueContext c = test::cpuRecordingContext(test::zooModel(zoo), nullptr, &rec);
        c.model->setTraining(false);
        torch::manual_seed(1);
        const torch::Tensor x = torch::randn({16, 1, 28, 28});
        const torch::Tensor ref = c.model->forward(x).detach();
        QVERIFY2(technique->checkSupported(*c.model, c.backend, &error), qPrintable(error));
        QVERIFY2(technique->apply(c, &error), qPrintable(error));
        QCOMPARE(c.model->computeDtype(), torch::kBFloat16);
        for (const auto &[name, t] : c.model->namedParameters())
            QCOMPARE(t.scalar_type(), torch::kBFloat16);
        // Half of every float tensor (the batch-norm's int64 step counters stay as they are).
        QVERIFY(std::abs(rec.metrics.at(u"model_size_ratio"_s) - 0.5) < 0.01);
        const torch::Tensor y = c.model->forward(x.to(torch::kBFloat16)).to(torch::kFloat);
        const double err = test::relativeError(y, ref);
        QVERIFY2(err < 0.03 && err > 0, qPrintable(u"relative error %1"_s.arg(err)));
    }

    void fp16ConvolutionOnCpuIsRefusedBeforeTheRun()
    {
        QString error;
        auto technique = m_plugin.create({{u"dtype"_s, u"fp16"_s}}, &error);
        QVERIFY(technique);
        test::Recorded rec;
        TechniqueContext c =
            test::cpuRecordingContext(test::zooModel(u"cnn-small"_s), nullptr, &rec);
        QVERIFY(!technique->checkSupported(*c.model, c.backend, &error));
        QVERIFY2(error.contains(u"fp16 convolution is not supported on backend cpu:1"_s),
                 qPrintable(error));
        QVERIFY2(error.contains(u"bf16"_s), qPrintable(error)); // names the fix
        QVERIFY(!technique->apply(c, &error));
        QCOMPARE(c.model->computeDtype(), torch::kFloat); // untouched
    }

    void fp16LinearOnCpuEitherRunsOrIsRefusedClearly()
    {
        QString error;
        auto technique = m_plugin.create({{u"dtype"_s, u"fp16"_s}}, &error);
        test::Recorded rec;
        TechniqueContext c = test::cpuRecordingContext(test::zooModel(u"mlp"_s), nullptr, &rec);
        if (technique->checkSupported(*c.model, c.backend, &error)) {
            QVERIFY2(technique->apply(c, &error), qPrintable(error));
            QCOMPARE(c.model->computeDtype(), torch::kHalf);
        } else {
            qInfo("fp16 mlp on the CPU: %s", qPrintable(error));
            QVERIFY2(error.startsWith(u"fp16 is not supported on backend cpu:1 for model 'mlp'"_s),
                     qPrintable(error));
        }
    }
};

QTEST_GUILESS_MAIN(TestHalf)
#include "tst_half.moc"
