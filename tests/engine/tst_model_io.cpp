// SPDX-License-Identifier: GPL-3.0-or-later
// Model files (save/load round trip, corrupt and missing files) and TorchScript import.
#include "engine/evaluator.h"
#include "engine/model_io.h"
#include "engine/model_metrics.h"
#include "engine/spec_model.h"
#include "engine/torchscript_model.h"
#include "engine/trainer.h"
#include "engine/zoo.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>

#include <torch/torch.h>

using namespace jb;

namespace {

const QString kFixture = QStringLiteral(JB_TEST_DATA_DIR "/tiny_cnn.pt");

QJsonObject fixtureInfo()
{
    QFile f(QStringLiteral(JB_TEST_DATA_DIR "/tiny_cnn.json"));
    if (!f.open(QIODevice::ReadOnly))
        qFatal("tiny_cnn.json missing");
    return QJsonDocument::fromJson(f.readAll()).object();
}

torch::Tensor probeInput()
{
    return torch::arange(64, torch::kFloat).reshape({1, 1, 8, 8}) / 64.0;
}

std::unique_ptr<SpecModel> trainedCnn()
{
    QString error;
    const auto spec =
        zooSpec(QStringLiteral("cnn-small"), ZooOptions{{1, 12, 12}, 4, 0.25}, &error);
    auto m = SpecModel::create(*spec, 2, &error);
    // A few steps so BN running statistics are not the defaults.
    Dataset d;
    d.name = QStringLiteral("noise");
    d.inputs = torch::randn({32, 1, 12, 12});
    d.targets = torch::randint(0, 4, {32}, torch::kLong);
    TrainOptions o;
    o.epochs = 1;
    o.batchSize = 8;
    if (!Trainer(o).train(*m, d, nullptr, &error))
        qFatal("%s", qPrintable(error));
    m->setTraining(false);
    return m;
}

} // namespace

class TestModelIo : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        at::set_num_threads(2);
        QVERIFY(m_dir.isValid());
    }

    void specModelRoundTrip()
    {
        auto m = trainedCnn();
        const QString path = m_dir.filePath(QStringLiteral("cnn.jbm"));
        QString error;
        QJsonObject meta{{QStringLiteral("run"), 17}};
        QVERIFY2(saveModel(*m, path, &error, meta), qPrintable(error));
        QJsonObject metaBack;
        auto back = loadModel(path, &error, &metaBack);
        QVERIFY2(back, qPrintable(error));
        QCOMPARE(back->kind(), Model::Kind::Spec);
        QCOMPARE(*back->spec(), *m->spec());
        QCOMPARE(metaBack.value(QStringLiteral("run")).toInt(), 17);
        QVERIFY(!back->isTraining());
        const NamedTensors a = m->state(), b = back->state();
        QCOMPARE(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i) {
            QCOMPARE(a[i].first, b[i].first);
            QVERIFY2(torch::equal(a[i].second, b[i].second), a[i].first.c_str());
        }
        const torch::Tensor x = torch::randn({3, 1, 12, 12});
        QVERIFY(torch::equal(m->forward(x), back->forward(x)));
        // The size metric is the size of the file as saved (without metadata here).
        const QString plain = m_dir.filePath(QStringLiteral("plain.jbm"));
        QVERIFY2(saveModel(*m, plain, &error), qPrintable(error));
        QCOMPARE(QFileInfo(plain).size(), computeModelMetrics(*m, &error)->sizeBytes);
    }

    void reducedPrecisionRoundTrip()
    {
        QString error;
        const auto spec = zooSpec(QStringLiteral("mlp"), ZooOptions{{1, 8, 8}, 3, 0.1}, &error);
        auto m = SpecModel::create(*spec, 4, &error);
        m->setComputeDtype(torch::kBFloat16);
        QCOMPARE(m->computeDtype(), torch::kBFloat16);
        m->setTraining(false);
        // The evaluator casts the float32 data to the model's dtype.
        Dataset d;
        d.name = QStringLiteral("noise");
        d.numClasses = 3;
        d.inputs = torch::randn({10, 1, 8, 8});
        d.targets = torch::randint(0, 3, {10}, torch::kLong);
        QVERIFY2(Evaluator().evaluate(*m, d, nullptr, &error), qPrintable(error));
        const QString path = m_dir.filePath(QStringLiteral("bf16.jbm"));
        QVERIFY2(saveModel(*m, path, &error), qPrintable(error));
        auto back = loadModel(path, &error);
        QVERIFY2(back, qPrintable(error));
        QCOMPARE(back->computeDtype(), torch::kBFloat16);
        const torch::Tensor x = d.inputs.to(torch::kBFloat16);
        QVERIFY(torch::equal(m->forward(x), back->forward(x)));
        auto copy = m->clone(&error);
        QCOMPARE(copy->computeDtype(), torch::kBFloat16);
    }

    void corruptFiles_data()
    {
        QTest::addColumn<QString>("how");
        QTest::addColumn<QString>("expected");
        QTest::newRow("truncated") << "truncate"
                                   << "the file is truncated or corrupt";
        QTest::newRow("flipped weight byte") << "flip"
                                             << "SHA-256 does not match";
        QTest::newRow("foreign file") << "magic"
                                      << "not a JouleBench model file";
        QTest::newRow("header cut") << "header"
                                    << "does not fit in the file";
        QTest::newRow("empty") << "empty"
                               << "not a JouleBench model file";
        QTest::newRow("trailing garbage") << "append"
                                          << "the file is truncated or corrupt";
    }

    void corruptFiles()
    {
        QFETCH(QString, how);
        QFETCH(QString, expected);
        auto m = trainedCnn();
        QString error;
        QByteArray bytes = *serializeModel(*m, &error);
        if (how == QLatin1String("truncate"))
            bytes.chop(100);
        else if (how == QLatin1String("flip"))
            bytes[bytes.size() - 50] = static_cast<char>(bytes[bytes.size() - 50] ^ 0x20);
        else if (how == QLatin1String("magic"))
            bytes[0] = 'X';
        else if (how == QLatin1String("header"))
            bytes.truncate(40);
        else if (how == QLatin1String("empty"))
            bytes.clear();
        else if (how == QLatin1String("append"))
            bytes.append("junk");
        const QString path = m_dir.filePath(how + QStringLiteral(".jbm"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(bytes);
        f.close();
        QVERIFY(!loadModel(path, &error));
        QVERIFY2(error.startsWith(QStringLiteral("model file '") + path + QStringLiteral("': ")),
                 qPrintable(error));
        QVERIFY2(error.contains(expected), qPrintable(error));
    }

    void missingFile()
    {
        QString error;
        QVERIFY(!loadModel(m_dir.filePath(QStringLiteral("nope.jbm")), &error));
        QVERIFY2(error.contains(QStringLiteral("cannot open model file")), qPrintable(error));
        auto m = trainedCnn();
        QVERIFY(!saveModel(*m, m_dir.filePath(QStringLiteral("no/such/dir/m.jbm")), &error));
        QVERIFY2(error.contains(QStringLiteral("cannot write model file")), qPrintable(error));
    }

    void torchScriptImport()
    {
        const QJsonObject info = fixtureInfo();
        QString error;
        auto m = TorchScriptModel::load(kFixture, {1, 8, 8}, 3, &error);
        QVERIFY2(m, qPrintable(error));
        QCOMPARE(m->name(), QStringLiteral("tiny_cnn"));
        QCOMPARE(m->kind(), Model::Kind::TorchScript);
        QVERIFY(!m->spec());
        QCOMPARE(parameterCount(*m), info.value(QStringLiteral("parameters")).toInteger());
        m->setTraining(false);
        const torch::Tensor y = m->forward(probeInput());
        const QJsonArray expected = info.value(QStringLiteral("probeLogits")).toArray();
        QCOMPARE(y.size(1), 3);
        for (int i = 0; i < 3; ++i)
            QVERIFY(std::abs(y[0][i].item<double>() - expected[i].toDouble()) < 1e-5);

        // Class count from the probe when not given; a wrong one is an error.
        QVERIFY(TorchScriptModel::load(kFixture, {1, 8, 8}, 0, &error));
        QVERIFY(!TorchScriptModel::load(kFixture, {1, 8, 8}, 10, &error));
        QVERIFY2(error.contains(QStringLiteral("gives [2, 3] for an input [2, 1, 8, 8]; expected "
                                               "[2, 10]")),
                 qPrintable(error));
        QVERIFY(!TorchScriptModel::load(kFixture, {3, 32, 32}, 3, &error));
        QVERIFY2(error.contains(QStringLiteral("fails on an input [2, 3, 32, 32]")),
                 qPrintable(error));
        QVERIFY(!error.contains(QStringLiteral("Exception raised from")));
        QVERIFY(
            !TorchScriptModel::load(m_dir.filePath(QStringLiteral("x.pt")), {1, 8, 8}, 3, &error));
        QVERIFY(error.contains(QStringLiteral("does not exist")));
        const QString notScript = m_dir.filePath(QStringLiteral("not.pt"));
        QFile f(notScript);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("hello");
        f.close();
        QVERIFY(!TorchScriptModel::load(notScript, {1, 8, 8}, 3, &error));
        QVERIFY2(error.contains(QStringLiteral("is not a loadable TorchScript file")),
                 qPrintable(error));
    }

    void torchScriptTrainsSavesAndRefusesSpecOperations()
    {
        QString error;
        auto m = TorchScriptModel::load(kFixture, {1, 8, 8}, 3, &error);
        QVERIFY2(m, qPrintable(error));
        Dataset d;
        d.name = QStringLiteral("noise");
        d.numClasses = 3;
        d.inputs = torch::randn({24, 1, 8, 8});
        d.targets = torch::randint(0, 3, {24}, torch::kLong);
        const torch::Tensor before = m->namedParameters()[0].second.clone();
        TrainOptions o;
        o.epochs = 1;
        o.batchSize = 8;
        QVERIFY2(Trainer(o).train(*m, d, nullptr, &error), qPrintable(error));
        QVERIFY(!torch::equal(before, m->namedParameters()[0].second));

        // Clone is deep.
        auto copy = m->clone(&error);
        QVERIFY2(copy, qPrintable(error));
        {
            torch::NoGradGuard g;
            copy->namedParameters()[0].second.add_(1);
        }
        QVERIFY(!torch::equal(copy->namedParameters()[0].second, m->namedParameters()[0].second));

        // Save/load keeps the trained weights.
        const QString path = m_dir.filePath(QStringLiteral("ts.jbm"));
        QVERIFY2(saveModel(*m, path, &error), qPrintable(error));
        auto back = loadModel(path, &error);
        QVERIFY2(back, qPrintable(error));
        QCOMPARE(back->kind(), Model::Kind::TorchScript);
        QCOMPARE(back->name(), QStringLiteral("tiny_cnn"));
        m->setTraining(false);
        QVERIFY(torch::allclose(m->forward(probeInput()), back->forward(probeInput())));

        // Operations that need a spec say so.
        QVERIFY(!requireSpec(*m, QStringLiteral("structured pruning"), &error));
        QVERIFY2(error.startsWith(QStringLiteral("structured pruning needs a model built from an "
                                                 "architecture spec")),
                 qPrintable(error));
        QVERIFY(error.contains(QStringLiteral("'tiny_cnn' is a TorchScript model")));
        const auto metrics = computeModelMetrics(*m, &error);
        QVERIFY(metrics);
        QVERIFY(!metrics->macsKnown);
        QVERIFY(metrics->macsUnavailableReason.contains(QStringLiteral("TorchScript")));
        QCOMPARE(metrics->parameters, 243);
    }

private:
    QTemporaryDir m_dir;
};

QTEST_GUILESS_MAIN(TestModelIo)
#include "tst_model_io.moc"
