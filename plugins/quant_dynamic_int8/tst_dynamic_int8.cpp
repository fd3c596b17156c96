// SPDX-License-Identifier: GPL-3.0-or-later
// quant.dynamic_int8 through the real plugin path: the registry loads it, apply() converts the
// Linear layers of zoo models to int8 (prepacked, per engine), outputs stay close to fp32, the
// model clones and round-trips through a model file, and engine mistakes are clear errors.
#include "technique_test_support.h"

#include "engine/model_metrics.h"

#include <QtTest>

#include <ATen/Context.h>
#include <torch/torch.h>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

const QString kId = u"quant.dynamic_int8"_s;

} // namespace

class TestDynamicInt8 : public QObject
{
    Q_OBJECT

private:
    test::PluginUnderTest m_plugin;

private Q_SLOTS:
    void initTestCase()
    {
        QString error;
        QVERIFY2(m_plugin.load(QStringLiteral(JB_PLUGIN_FILE), kId, &error), qPrintable(error));
        const auto info = m_plugin.info();
        QVERIFY(info);
        QCOMPARE(info->metadata.family, u"quantization"_s);
        QCOMPARE(info->metadata.parameters.names(),
                 (QStringList{u"engine"_s, u"per_channel"_s, u"reduce_range"_s}));
    }

    void linearsBecomeInt8AndOutputsStayClose_data()
    {
        QTest::addColumn<QString>("engine");
        QTest::addColumn<QString>("zoo");
        QTest::addColumn<bool>("perChannel");
        for (const QString &e : test::quantizedEngineNames()) {
            for (const QString &z : {u"mlp"_s, u"lenet5"_s}) {
                QTest::addRow("%s/%s/per-channel", qPrintable(e), qPrintable(z)) << e << z << true;
                QTest::addRow("%s/%s/per-tensor", qPrintable(e), qPrintable(z)) << e << z << false;
            }
        }
    }

    void linearsBecomeInt8AndOutputsStayClose()
    {
        QFETCH(QString, engine);
        QFETCH(QString, zoo);
        QFETCH(bool, perChannel);
        QString error;
        auto technique =
            m_plugin.create({{u"engine"_s, engine}, {u"per_channel"_s, perChannel}}, &error);
        QVERIFY2(technique, qPrintable(error));
        test::Recorded rec;
        TechniqueContext c = test::cpuRecordingContext(test::zooModel(zoo), nullptr, &rec);
        torch::manual_seed(3);
        const torch::Tensor x = torch::randn({16, 1, 28, 28});
        c.model->setTraining(false);
        const torch::Tensor ref = c.model->forward(x).detach();
        const int64_t floatLinearParams = [&] {
            int64_t n = 0;
            for (const LayerSpec &l : c.model->spec()->layers)
                n += l.kind == LayerKind::Linear;
            return n;
        }();
        const auto metricsBefore = computeModelMetrics(*c.model, &error);
        QVERIFY2(metricsBefore, qPrintable(error));
        QVERIFY2(technique->apply(c, &error), qPrintable(error));

        // The int8 weights are buffers, but still the model's parameters: same count as fp32
        // (Linear keeps weight and bias; only the storage type changed).
        const auto metricsAfter = computeModelMetrics(*c.model, &error);
        QVERIFY2(metricsAfter, qPrintable(error));
        QCOMPARE(metricsAfter->parameters, metricsBefore->parameters);
        QVERIFY(metricsAfter->nonZeroParameters > 0);

        int quantized = 0;
        for (const LayerSpec &l : c.model->spec()->layers) {
            if (l.kind == LayerKind::Linear) {
                QCOMPARE(l.impl, u"quant.linear_dynamic_int8"_s);
                QCOMPARE(l.implOptions.value(u"engine"_s).toString(), engine);
                ++quantized;
            } else {
                QVERIFY(l.impl.isEmpty()); // convolutions stay float
            }
        }
        QCOMPARE(quantized, floatLinearParams);
        int int8Tensors = 0;
        for (const auto &[name, t] : c.model->state()) {
            if (name.find("weight_int8") != std::string::npos) {
                QCOMPARE(t.scalar_type(), torch::kChar);
                ++int8Tensors;
            }
        }
        QCOMPARE(int8Tensors, quantized);
        QCOMPARE(rec.metrics.at(u"quantized_layers"_s), double(quantized));
        QVERIFY(rec.metrics.at(u"model_bytes_after"_s) < rec.metrics.at(u"model_bytes_before"_s));
        QCOMPARE(int(at::globalContext().qEngine()),
                 int(engine == u"onednn"_s ? c10::QEngine::ONEDNN : c10::QEngine::QNNPACK));

        const torch::Tensor y = c.model->forward(x).detach();
        const double err = test::relativeError(y, ref);
        QVERIFY2(err < 0.05, qPrintable(u"relative error %1"_s.arg(err)));
        QVERIFY2(err > 0, "int8 output identical to fp32: nothing was quantized");

        // Clone (rebuild from the spec + loadState: prepacks again) and a model file round trip.
        QVERIFY2(test::survivesCloneAndModelFile(*c.model, x, y, &error), qPrintable(error));
    }

    void engineMistakesAreClearErrors()
    {
        QString error;
        auto technique = m_plugin.create({{u"engine"_s, u"onednn"_s}}, &error);
        QVERIFY(technique);
        auto model = test::zooModel(u"mlp"_s);
        Backend backend = *Backend::parse(u"cpu:1:qnnpack"_s, &error);
        QVERIFY(!technique->checkSupported(*model, backend, &error));
        QVERIFY2(error.contains(u"params.engine is 'onednn'"_s) && error.contains(u"qnnpack"_s),
                 qPrintable(error));

        // An engine this libtorch lacks (Debian's has no FBGEMM).
        auto autoEngine = m_plugin.create({}, &error);
        backend.quantizedEngine = u"fbgemm"_s;
        if (test::quantizedEngineNames().contains(u"fbgemm"_s))
            QSKIP("this libtorch has fbgemm");
        QVERIFY(!autoEngine->checkSupported(*model, backend, &error));
        QVERIFY2(error.contains(u"'fbgemm' is not available in this libtorch"_s),
                 qPrintable(error));
        test::Recorded rec;
        TechniqueContext c = test::cpuRecordingContext(test::zooModel(u"mlp"_s), nullptr, &rec);
        c.backend = backend;
        QVERIFY(!autoEngine->apply(c, &error));
        QVERIFY(c.model->spec()->layers[1].impl.isEmpty()); // untouched
    }
};

QTEST_GUILESS_MAIN(TestDynamicInt8)
#include "tst_dynamic_int8.moc"
