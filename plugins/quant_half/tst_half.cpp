// SPDX-License-Identifier: GPL-3.0-or-later
// quant.half through the real plugin path: bf16 is a real dtype change with close outputs;
// fp16 convolution on the CPU is refused by checkSupported() before any work.
#include "plugin_test_support.h"

#include "engine/spec_model.h"
#include "engine/technique.h"
#include "engine/zoo.h"

#include <QTemporaryDir>
#include <QtTest>

#include <torch/torch.h>

#include <map>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

const QString kId = u"quant.half"_s;

std::unique_ptr<Model> makeModel(const QString &zooName)
{
    QString error;
    const auto spec = zooSpec(zooName, ZooOptions{}, &error);
    return spec ? SpecModel::create(*spec, 1, &error) : nullptr;
}

} // namespace

class TestHalf : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::unique_ptr<TechniqueRegistry> m_registry;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QVERIFY(!test::copyPlugin(QStringLiteral(JB_PLUGIN_FILE), m_dir.path()).isEmpty());
        m_registry = test::scannedRegistry({m_dir.path()});
        QVERIFY2(m_registry->rejected().isEmpty(),
                 qPrintable(m_registry->rejected().value(0).message));
        QCOMPARE(m_registry->ids(), QStringList{kId});
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
        auto technique = m_registry->create(kId, {{u"dtype"_s, u"bf16"_s}}, &error);
        QVERIFY2(technique, qPrintable(error));
        TechniqueContext c;
        c.model = makeModel(zoo);
        c.model->setTraining(false);
        c.backend = *Backend::parse(u"cpu:1"_s, &error);
        std::map<QString, double> metrics;
        c.metric = [&](const QString &name, double value, const QString &) {
            metrics[name] = value;
        };
        torch::manual_seed(1);
        const torch::Tensor x = torch::randn({16, 1, 28, 28});
        const torch::Tensor ref = c.model->forward(x).detach();
        QVERIFY2(technique->checkSupported(*c.model, c.backend, &error), qPrintable(error));
        QVERIFY2(technique->apply(c, &error), qPrintable(error));
        QCOMPARE(c.model->computeDtype(), torch::kBFloat16);
        for (const auto &[name, t] : c.model->namedParameters())
            QCOMPARE(t.scalar_type(), torch::kBFloat16);
        // Half of every float tensor (the batch-norm's int64 step counters stay as they are).
        QVERIFY(std::abs(metrics.at(u"model_size_ratio"_s) - 0.5) < 0.01);
        const torch::Tensor y = c.model->forward(x.to(torch::kBFloat16)).to(torch::kFloat);
        const double err = (y - ref).norm().item<double>() / ref.norm().item<double>();
        QVERIFY2(err < 0.03 && err > 0, qPrintable(u"relative error %1"_s.arg(err)));
    }

    void fp16ConvolutionOnCpuIsRefusedBeforeTheRun()
    {
        QString error;
        auto technique = m_registry->create(kId, {{u"dtype"_s, u"fp16"_s}}, &error);
        QVERIFY(technique);
        auto model = makeModel(u"cnn-small"_s);
        const Backend cpu = *Backend::parse(u"cpu:1"_s, &error);
        QVERIFY(!technique->checkSupported(*model, cpu, &error));
        QVERIFY2(error.contains(u"fp16 convolution is not supported on backend cpu:1"_s),
                 qPrintable(error));
        QVERIFY2(error.contains(u"bf16"_s), qPrintable(error)); // names the fix
        TechniqueContext c;
        c.model = std::move(model);
        c.backend = cpu;
        QVERIFY(!technique->apply(c, &error));
        QCOMPARE(c.model->computeDtype(), torch::kFloat); // untouched
    }

    void fp16LinearOnCpuEitherRunsOrIsRefusedClearly()
    {
        QString error;
        auto technique = m_registry->create(kId, {{u"dtype"_s, u"fp16"_s}}, &error);
        auto model = makeModel(u"mlp"_s);
        const Backend cpu = *Backend::parse(u"cpu:1"_s, &error);
        if (technique->checkSupported(*model, cpu, &error)) {
            TechniqueContext c;
            c.model = std::move(model);
            c.backend = cpu;
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
