// SPDX-License-Identifier: GPL-3.0-or-later
// quant.qat through the real plugin path: fake-quant fine-tuning of a zoo CNN, then conversion
// to the same int8 layers as quant.static_int8; the int8 model runs and agrees with fp32.
#include "plugin_test_support.h"

#include "engine/datasets.h"
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

const QString kId = u"quant.qat"_s;

} // namespace

class TestQat : public QObject
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

    void trainsWithFakeQuantAndConvertsToInt8()
    {
        QString error;
        const auto spec = zooSpec(u"cnn-small"_s, ZooOptions{}, &error);
        QVERIFY2(spec, qPrintable(error));
        std::unique_ptr<Model> model = SpecModel::create(*spec, 1, &error);
        model->setTraining(false);

        // Labels from the model itself: the fp32 model is 100% right, QAT must keep it close.
        DatasetSplits data;
        torch::manual_seed(7);
        data.train.name = u"random/train"_s;
        data.train.inputs = torch::randn({256, 1, 28, 28});
        data.train.numClasses = 10;
        const torch::Tensor x = torch::randn({64, 1, 28, 28});
        {
            torch::NoGradGuard noGrad;
            data.train.targets = model->forward(data.train.inputs).argmax(1);
        }
        const torch::Tensor ref = model->forward(x).detach();

        auto technique = m_registry->create(
            kId, {{u"epochs"_s, 1}, {u"learning_rate"_s, 1e-4}, {u"engine"_s, u"onednn"_s}},
            &error);
        QVERIFY2(technique, qPrintable(error));
        TechniqueContext c;
        c.model = std::move(model);
        c.data = &data;
        c.backend = *Backend::parse(u"cpu:1"_s, &error);
        c.training.batchSize = 64;
        c.seed = 3;
        QStringList phases;
        std::map<QString, double> metrics;
        c.beginPhase = [&](const QString &name) { phases << name; };
        c.metric = [&](const QString &name, double value, const QString &) {
            metrics[name] = value;
        };
        QVERIFY2(technique->apply(c, &error), qPrintable(error));
        QCOMPARE(phases, (QStringList{u"prepare:qat"_s, u"prepare:convert"_s}));
        QCOMPARE(metrics.at(u"qat_epochs"_s), 1.0);
        QCOMPARE(metrics.at(u"quantized_layers"_s), 4.0);
        QCOMPARE(metrics.at(u"folded_batchnorms"_s), 2.0);
        QVERIFY2(metrics.at(u"qat_train_accuracy"_s) > 0.8,
                 qPrintable(QString::number(metrics.at(u"qat_train_accuracy"_s))));

        int int8 = 0;
        for (const LayerSpec &l : c.model->spec()->layers)
            int8 += l.impl == u"quant.conv_int8"_s || l.impl == u"quant.linear_int8"_s;
        QCOMPARE(int8, 4);
        for (const auto &[name, t] : c.model->state())
            QVERIFY2(name.find("input_range") == std::string::npos, name.c_str()); // no QAT left

        const torch::Tensor y = c.model->forward(x).detach();
        QVERIFY(y.isfinite().all().item<bool>());
        const double agree = y.argmax(1).eq(ref.argmax(1)).to(torch::kDouble).mean().item<double>();
        QVERIFY2(agree >= 0.7, qPrintable(u"top-1 agreement with fp32 %1"_s.arg(agree)));
    }

    void needsTrainingData()
    {
        QString error;
        auto technique = m_registry->create(kId, {}, &error);
        QVERIFY(technique);
        const auto spec = zooSpec(u"mlp"_s, ZooOptions{}, &error);
        TechniqueContext c;
        c.model = SpecModel::create(*spec, 1, &error);
        QVERIFY(!technique->apply(c, &error));
        QVERIFY2(error.contains(u"training split"_s), qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestQat)
#include "tst_qat.moc"
