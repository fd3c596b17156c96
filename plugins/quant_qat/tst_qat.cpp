// SPDX-License-Identifier: GPL-3.0-or-later
// quant.qat through the real plugin path: fake-quant fine-tuning of a zoo CNN, then conversion
// to the same int8 layers as quant.static_int8; the int8 model runs and agrees with fp32.
#include "technique_test_support.h"

#include <QtTest>

#include <torch/torch.h>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

const QString kId = u"quant.qat"_s;

} // namespace

class TestQat : public QObject
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

    void trainsWithFakeQuantAndConvertsToInt8()
    {
        std::unique_ptr<Model> model = test::zooModel(u"cnn-small"_s);
        QVERIFY(model);
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

        QString error;
        auto technique = m_plugin.create(
            {{u"epochs"_s, 1}, {u"learning_rate"_s, 1e-4}, {u"engine"_s, u"onednn"_s}}, &error);
        QVERIFY2(technique, qPrintable(error));
        test::Recorded rec;
        TechniqueContext c = test::cpuRecordingContext(std::move(model), &data, &rec, 3);
        QVERIFY2(technique->apply(c, &error), qPrintable(error));
        QCOMPARE(rec.phases, (QStringList{u"prepare:qat"_s, u"prepare:convert"_s}));
        QCOMPARE(rec.metrics.at(u"qat_epochs"_s), 1.0);
        QCOMPARE(rec.metrics.at(u"quantized_layers"_s), 4.0);
        QCOMPARE(rec.metrics.at(u"folded_batchnorms"_s), 2.0);
        QVERIFY2(rec.metrics.at(u"qat_train_accuracy"_s) > 0.8,
                 qPrintable(QString::number(rec.metrics.at(u"qat_train_accuracy"_s))));

        int int8 = 0;
        for (const LayerSpec &l : c.model->spec()->layers)
            int8 += l.impl == u"quant.conv_int8"_s || l.impl == u"quant.linear_int8"_s;
        QCOMPARE(int8, 4);
        for (const auto &[name, t] : c.model->state())
            QVERIFY2(name.find("input_range") == std::string::npos, name.c_str()); // no QAT left

        const torch::Tensor y = c.model->forward(x).detach();
        QVERIFY(y.isfinite().all().item<bool>());
        const double agree = test::top1Agreement(y, ref);
        QVERIFY2(agree >= 0.7, qPrintable(u"top-1 agreement with fp32 %1"_s.arg(agree)));
    }

    void needsTrainingData()
    {
        QString error;
        auto technique = m_plugin.create({}, &error);
        QVERIFY(technique);
        test::Recorded rec;
        TechniqueContext c = test::cpuRecordingContext(test::zooModel(u"mlp"_s), nullptr, &rec);
        QVERIFY(!technique->apply(c, &error));
        QVERIFY2(error.contains(u"training split"_s), qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestQat)
#include "tst_qat.moc"
