// SPDX-License-Identifier: GPL-3.0-or-later
// quant.dynamic_int8 through the real plugin path: the registry loads it, apply() converts the
// Linear layers of zoo models to int8 (prepacked, per engine), outputs stay close to fp32, the
// model clones and round-trips through a model file, and engine mistakes are clear errors.
#include "plugin_test_support.h"

#include "engine/model_io.h"
#include "engine/model_metrics.h"
#include "engine/spec_model.h"
#include "engine/technique.h"
#include "engine/zoo.h"

#include <QTemporaryDir>
#include <QtTest>

#include <ATen/Context.h>
#include <torch/torch.h>

#include <map>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

const QString kId = u"quant.dynamic_int8"_s;

std::unique_ptr<Model> makeModel(const QString &zooName, uint64_t seed = 1)
{
    QString error;
    const auto spec = zooSpec(zooName, ZooOptions{}, &error);
    if (!spec)
        return nullptr;
    return SpecModel::create(*spec, seed, &error);
}

double relativeError(const torch::Tensor &a, const torch::Tensor &ref)
{
    return (a - ref).norm().item<double>() / ref.norm().item<double>();
}

QStringList supportedEngines()
{
    QStringList names;
    for (c10::QEngine e : at::globalContext().supportedQEngines()) {
        if (e == c10::QEngine::ONEDNN)
            names << u"onednn"_s;
        if (e == c10::QEngine::QNNPACK)
            names << u"qnnpack"_s;
    }
    return names;
}

} // namespace

class TestDynamicInt8 : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::unique_ptr<TechniqueRegistry> m_registry;
    std::map<QString, double> m_metrics;

    TechniqueContext contextFor(std::unique_ptr<Model> model, const QString &backend = u"cpu:1"_s)
    {
        TechniqueContext c;
        c.model = std::move(model);
        QString error;
        c.backend = *Backend::parse(backend, &error);
        c.log = [](const QString &, const QJsonObject &) {};
        c.metric = [this](const QString &name, double value, const QString &) {
            m_metrics[name] = value;
        };
        return c;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QVERIFY(!test::copyPlugin(QStringLiteral(JB_PLUGIN_FILE), m_dir.path()).isEmpty());
        m_registry = test::scannedRegistry({m_dir.path()});
        QVERIFY2(m_registry->rejected().isEmpty(),
                 qPrintable(m_registry->rejected().value(0).message));
        QCOMPARE(m_registry->ids(), QStringList{kId});
        const auto info = m_registry->plugin(kId);
        QCOMPARE(info->metadata.family, u"quantization"_s);
        QCOMPARE(info->metadata.parameters.names(),
                 (QStringList{u"engine"_s, u"per_channel"_s, u"reduce_range"_s}));
    }

    void linearsBecomeInt8AndOutputsStayClose_data()
    {
        QTest::addColumn<QString>("engine");
        QTest::addColumn<QString>("zoo");
        QTest::addColumn<bool>("perChannel");
        for (const QString &e : supportedEngines()) {
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
            m_registry->create(kId, {{u"engine"_s, engine}, {u"per_channel"_s, perChannel}}, &error);
        QVERIFY2(technique, qPrintable(error));
        TechniqueContext c = contextFor(makeModel(zoo));
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
        QCOMPARE(m_metrics.at(u"quantized_layers"_s), double(quantized));
        QVERIFY(m_metrics.at(u"model_bytes_after"_s) < m_metrics.at(u"model_bytes_before"_s));
        QCOMPARE(int(at::globalContext().qEngine()),
                 int(engine == u"onednn"_s ? c10::QEngine::ONEDNN : c10::QEngine::QNNPACK));

        const torch::Tensor y = c.model->forward(x).detach();
        const double err = relativeError(y, ref);
        QVERIFY2(err < 0.05, qPrintable(u"relative error %1"_s.arg(err)));
        QVERIFY2(err > 0, "int8 output identical to fp32: nothing was quantized");

        // Clone (rebuild from the spec + loadState: prepacks again) and a model file round trip.
        auto copy = c.model->clone(&error);
        QVERIFY2(copy, qPrintable(error));
        QVERIFY(torch::allclose(copy->forward(x), y));
        const auto bytes = serializeModel(*c.model, &error);
        QVERIFY2(bytes, qPrintable(error));
        auto loaded = deserializeModel(*bytes, u"memory"_s, &error);
        QVERIFY2(loaded, qPrintable(error));
        QVERIFY(torch::allclose(loaded->forward(x), y));
    }

    void engineMistakesAreClearErrors()
    {
        QString error;
        auto technique = m_registry->create(kId, {{u"engine"_s, u"onednn"_s}}, &error);
        QVERIFY(technique);
        auto model = makeModel(u"mlp"_s);
        Backend backend = *Backend::parse(u"cpu:1:qnnpack"_s, &error);
        QVERIFY(!technique->checkSupported(*model, backend, &error));
        QVERIFY2(error.contains(u"params.engine is 'onednn'"_s) && error.contains(u"qnnpack"_s),
                 qPrintable(error));

        // An engine this libtorch lacks (Debian's has no FBGEMM).
        auto autoEngine = m_registry->create(kId, {}, &error);
        backend.quantizedEngine = u"fbgemm"_s;
        if (supportedEngines().contains(u"fbgemm"_s))
            QSKIP("this libtorch has fbgemm");
        QVERIFY(!autoEngine->checkSupported(*model, backend, &error));
        QVERIFY2(error.contains(u"'fbgemm' is not available in this libtorch"_s),
                 qPrintable(error));
        TechniqueContext c = contextFor(makeModel(u"mlp"_s));
        c.backend = backend;
        QVERIFY(!autoEngine->apply(c, &error));
        QVERIFY(c.model->spec()->layers[1].impl.isEmpty()); // untouched
    }
};

QTEST_GUILESS_MAIN(TestDynamicInt8)
#include "tst_dynamic_int8.moc"
