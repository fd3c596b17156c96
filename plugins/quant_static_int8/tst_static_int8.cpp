// SPDX-License-Identifier: GPL-3.0-or-later
// quant.static_int8 through the real plugin path: batch-norm folding is exact in fp32, the
// calibrated int8 network keeps quint8 tensors between layers and stays close to fp32, the
// model clones and saves, and missing data or a wrong engine are clear errors.
#include "technique_test_support.h"

#include "plugins/quant_common/quant_convert.h"

#include "engine/spec_model.h"

#include <QtTest>

#include <torch/torch.h>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

const QString kId = u"quant.static_int8"_s;

std::unique_ptr<Model> makeModel(const QString &zooName, std::vector<int64_t> shape)
{
    auto model = test::zooModel(zooName, 1, std::move(shape));
    if (!model)
        return nullptr;
    // Non-trivial batch-norm statistics, so folding has something to fold.
    torch::NoGradGuard noGrad;
    torch::manual_seed(5);
    for (const auto &[name, t] : model->state()) {
        if (name.find("running_mean") != std::string::npos)
            t.copy_(torch::randn_like(t) * 0.2);
        else if (name.find("running_var") != std::string::npos)
            t.copy_(torch::rand_like(t) + 0.5);
    }
    model->setTraining(false);
    return model;
}

DatasetSplits randomSplits(std::vector<int64_t> shape, int64_t n)
{
    DatasetSplits s;
    shape.insert(shape.begin(), n);
    torch::manual_seed(11);
    s.validation.name = u"random/validation"_s;
    s.validation.inputs = torch::randn(shape);
    s.validation.targets = torch::randint(10, {n}, torch::kLong);
    s.validation.numClasses = 10;
    return s;
}

} // namespace

class TestStaticInt8 : public QObject
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

    void batchNormFoldingIsExact()
    {
        torch::manual_seed(2);
        const torch::Tensor x = torch::randn({4, 3, 9, 9});
        const torch::Tensor w = torch::randn({8, 3, 3, 3});
        const torch::Tensor b = torch::randn({8});
        const torch::Tensor gamma = torch::rand({8}) + 0.5, beta = torch::randn({8});
        const torch::Tensor mean = torch::randn({8}), var = torch::rand({8}) + 0.1;
        const torch::Tensor ref = torch::batch_norm(torch::conv2d(x, w, b, 1, 1), gamma, beta,
                                                    mean, var, false, 0.1, 1e-5, false);
        torch::Tensor fw, fb;
        quant::foldBatchNorm(w, b, gamma, beta, mean, var, 1e-5, &fw, &fb);
        const torch::Tensor folded = torch::conv2d(x, fw, fb, 1, 1);
        QVERIFY2(torch::allclose(folded, ref, 1e-5, 1e-5),
                 qPrintable(QString::number((folded - ref).abs().max().item<double>())));
        // Without a bias (the zoo's conv-BN layers have none).
        quant::foldBatchNorm(w, {}, gamma, beta, mean, var, 1e-5, &fw, &fb);
        const torch::Tensor ref2 = torch::batch_norm(torch::conv2d(x, w, {}, 1, 1), gamma, beta,
                                                     mean, var, false, 0.1, 1e-5, false);
        QVERIFY(torch::allclose(torch::conv2d(x, fw, fb, 1, 1), ref2, 1e-5, 1e-5));
    }

    void unitsAbsorbBatchNormAndRelu()
    {
        auto model = makeModel(u"cnn-small"_s, {1, 28, 28});
        const auto units = quant::findUnits(*model->spec());
        QCOMPARE(int(units.size()), 4);
        QCOMPARE(units[0].path, u"0"_s);
        QCOMPARE(units[0].bnPath, u"1"_s);
        QCOMPARE(units[0].reluPath, u"2"_s);
        QVERIFY(units[0].quantizedOutput); // max-pool passes quint8 on to the next conv
        QVERIFY(units[2].quantizedOutput); // linear-relu -> linear
        QVERIFY(!units[3].quantizedOutput); // the logits are dequantized
    }

    void wholeNetworkRunsInt8_data()
    {
        QTest::addColumn<QString>("engine");
        QTest::addColumn<QString>("zoo");
        QTest::addColumn<bool>("perChannel");
        for (const QString &e : test::quantizedEngineNames()) {
            QTest::addRow("%s/cnn-small", qPrintable(e)) << e << u"cnn-small"_s << true;
            QTest::addRow("%s/cnn-small/per-tensor", qPrintable(e)) << e << u"cnn-small"_s << false;
            QTest::addRow("%s/vgg-cifar", qPrintable(e)) << e << u"vgg-cifar"_s << true;
        }
    }

    void wholeNetworkRunsInt8()
    {
        QFETCH(QString, engine);
        QFETCH(QString, zoo);
        QFETCH(bool, perChannel);
        const std::vector<int64_t> shape =
            zoo == u"vgg-cifar"_s ? std::vector<int64_t>{3, 32, 32} : std::vector<int64_t>{1, 28, 28};
        const DatasetSplits data = randomSplits(shape, 256);
        QString error;
        auto technique = m_plugin.create(
            {{u"engine"_s, engine}, {u"calibration_batches"_s, 4}, {u"per_channel"_s, perChannel}},
            &error);
        QVERIFY2(technique, qPrintable(error));
        test::Recorded rec;
        TechniqueContext c = test::cpuRecordingContext(makeModel(zoo, shape), &data, &rec);
        std::vector<int64_t> xs = shape;
        xs.insert(xs.begin(), 32);
        torch::manual_seed(4);
        const torch::Tensor x = torch::randn(xs);
        const torch::Tensor ref = c.model->forward(x).detach();
        QVERIFY2(technique->apply(c, &error), qPrintable(error));

        int convs = 0, linears = 0, bns = 0;
        for (const LayerSpec &l : c.model->spec()->layers) {
            if (l.kind == LayerKind::Conv)
                convs += l.impl == u"quant.conv_int8"_s;
            if (l.kind == LayerKind::Linear)
                linears += l.impl == u"quant.linear_int8"_s;
            if (l.kind == LayerKind::BatchNorm)
                bns += l.impl == u"quant.folded_batchnorm"_s;
        }
        const int expectedConvs = zoo == u"vgg-cifar"_s ? 6 : 2;
        QCOMPARE(convs, expectedConvs);
        QCOMPARE(bns, expectedConvs);
        QCOMPARE(linears, zoo == u"vgg-cifar"_s ? 1 : 2);
        QCOMPARE(rec.metrics.at(u"quantized_layers"_s), double(convs + linears));
        QCOMPARE(rec.metrics.at(u"calibration_samples"_s), 256.0);
        QVERIFY(rec.metrics.at(u"model_bytes_after"_s) <
                0.4 * rec.metrics.at(u"model_bytes_before"_s));

        // Between the first and the last layer the tensors are quint8.
        auto *spec = dynamic_cast<SpecModel *>(c.model.get());
        torch::Tensor h = x;
        int quantizedOutputs = 0;
        for (size_t i = 0; i < spec->network().size(); ++i) {
            h = spec->network().at(i)->forward(h);
            quantizedOutputs += h.is_quantized();
            if (i + 1 < spec->network().size() && i > 0)
                QVERIFY2(h.is_quantized(), qPrintable(u"layer %1 gives float"_s.arg(i)));
        }
        QVERIFY(!h.is_quantized());
        QVERIFY(quantizedOutputs >= int(spec->network().size()) - 2);

        const torch::Tensor y = c.model->forward(x).detach();
        const double err = test::relativeError(y, ref);
        QVERIFY2(err < 0.15, qPrintable(u"relative error %1"_s.arg(err)));
        QVERIFY2(err > 0, "identical to fp32: nothing was quantized");
        const double agree = test::top1Agreement(y, ref);
        QVERIFY2(agree >= 0.8, qPrintable(u"top-1 agreement %1"_s.arg(agree)));

        QVERIFY2(test::survivesCloneAndModelFile(*c.model, x, y, &error), qPrintable(error));
    }

    void missingDataAndWrongEngineAreErrors()
    {
        QString error;
        auto technique = m_plugin.create({}, &error);
        QVERIFY(technique);
        test::Recorded rec;
        TechniqueContext c =
            test::cpuRecordingContext(makeModel(u"cnn-small"_s, {1, 28, 28}), nullptr, &rec);
        QVERIFY(!technique->apply(c, &error));
        QVERIFY2(error.contains(u"validation split"_s), qPrintable(error));

        DatasetSplits empty;
        c.data = &empty;
        QVERIFY(!technique->apply(c, &error));
        QVERIFY2(error.contains(u"is empty"_s), qPrintable(error));

        auto qnn = m_plugin.create({{u"engine"_s, u"qnnpack"_s}}, &error);
        c.backend.quantizedEngine = u"onednn"_s;
        QVERIFY(!qnn->checkSupported(*c.model, c.backend, &error));
        QVERIFY2(error.contains(u"params.engine is 'qnnpack'"_s), qPrintable(error));
        c.backend.quantizedEngine = u"fbgemm"_s;
        if (!test::quantizedEngineNames().contains(u"fbgemm"_s)) {
            QVERIFY(!technique->checkSupported(*c.model, c.backend, &error));
            QVERIFY2(error.contains(u"not available in this libtorch"_s), qPrintable(error));
        }
    }
};

QTEST_GUILESS_MAIN(TestStaticInt8)
#include "tst_static_int8.moc"
