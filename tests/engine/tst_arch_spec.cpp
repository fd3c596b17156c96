// SPDX-License-Identifier: GPL-3.0-or-later
// Architecture spec: JSON round trip, shape inference and its errors, zoo entries.
#include "engine/arch_spec.h"
#include "engine/spec_model.h"
#include "engine/zoo.h"

#include <QJsonDocument>
#include <QTest>

#include <torch/torch.h>

using namespace jb;
using namespace jb::layers;

class TestArchSpec : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { at::set_num_threads(2); }

    void jsonRoundTripOfEveryZooEntry()
    {
        for (const QString &name : zooModelNames()) {
            ZooOptions o;
            o.inputShape = {3, 32, 32};
            QString error;
            const auto spec = zooSpec(name, o, &error);
            QVERIFY2(spec, qPrintable(error));
            // spec -> JSON text -> spec
            const QByteArray text = QJsonDocument(spec->toJson()).toJson();
            const auto back = ArchSpec::fromJson(QJsonDocument::fromJson(text).object(), &error);
            QVERIFY2(back, qPrintable(name + QStringLiteral(": ") + error));
            QCOMPARE(*back, *spec);
            // -> model -> spec
            auto model = SpecModel::create(*back, 1, &error);
            QVERIFY2(model, qPrintable(error));
            QCOMPARE(*model->spec(), *spec);
            QCOMPARE(model->spec()->toJson(), spec->toJson());
        }
    }

    void jsonKeepsEveryField()
    {
        ArchSpec s;
        s.name = QStringLiteral("fields");
        s.inputShape = {4, 9, 9};
        s.numClasses = 2;
        LayerSpec c = conv(8, 3, 2, 1, false);
        c.groups = 2;
        LayerSpec d = depthwise(3, 1, 1, true);
        d.multiplier = 2;
        LayerSpec bn = batchNorm();
        bn.eps = 1e-3;
        bn.momentum = 0.01;
        LayerSpec impl = act(QStringLiteral("relu6"));
        impl.impl = QStringLiteral("some.impl");
        impl.implOptions = QJsonObject{{QStringLiteral("bits"), 8}};
        s.layers = {c,
                    d,
                    bn,
                    impl,
                    avgPool(3, 2, 1),
                    residual({conv(16, 3, 1, 1), act()}),
                    maxPool(2),
                    flatten(),
                    dropout(0.2),
                    linear(2)};
        QString error;
        QVERIFY2(s.validate(&error), qPrintable(error));
        const auto back = ArchSpec::fromJson(s.toJson(), &error);
        QVERIFY2(back, qPrintable(error));
        QCOMPARE(*back, s);
        QCOMPARE(back->layers[0].groups, 2);
        QCOMPARE(back->layers[1].multiplier, 2);
        QCOMPARE(back->layers[2].eps, 1e-3);
        QCOMPARE(back->layers[3].impl, QStringLiteral("some.impl"));
        QCOMPARE(back->layers[3].implOptions.value(QStringLiteral("bits")).toInt(), 8);
        QCOMPARE(back->layers[4].pool, PoolMode::Avg);
        QCOMPARE(back->layers[5].body.size(), size_t(2));
        QCOMPARE(back->layers[8].p, 0.2);
    }

    void shapeInference()
    {
        ArchSpec s;
        s.name = QStringLiteral("shapes");
        s.inputShape = {1, 28, 28};
        s.numClasses = 10;
        s.layers = {conv(6, 5, 1, 2), act(),     maxPool(2), conv(16, 5),
                    maxPool(2),       flatten(), linear(10)};
        std::vector<LayerShape> shapes;
        QString error;
        QVERIFY2(s.inferShapes(&shapes, &error), qPrintable(error));
        QCOMPARE(shapes.size(), size_t(7));
        QCOMPARE(shapes[0].output, (std::vector<int64_t>{6, 28, 28}));
        QCOMPARE(shapes[2].output, (std::vector<int64_t>{6, 14, 14}));
        QCOMPARE(shapes[3].output, (std::vector<int64_t>{16, 10, 10}));
        QCOMPARE(shapes[5].output, (std::vector<int64_t>{400}));
        QCOMPARE(shapes[6].path, QStringLiteral("6"));

        // Paths inside residual blocks, pre-order.
        ArchSpec r;
        r.name = QStringLiteral("res");
        r.inputShape = {4, 8, 8};
        r.numClasses = 2;
        r.layers = {residual({conv(8, 3, 2, 1), act()}, {conv(8, 1, 2)}), globalAvgPool(),
                    flatten(), linear(2)};
        QVERIFY2(r.inferShapes(&shapes, &error), qPrintable(error));
        QStringList paths;
        for (const LayerShape &ls : shapes)
            paths << ls.path;
        QCOMPARE(paths, (QStringList{"0", "0.body.0", "0.body.1", "0.shortcut.0", "1", "2", "3"}));
        QCOMPARE(shapes[0].output, (std::vector<int64_t>{8, 4, 4}));
        QVERIFY(r.layerAt(QStringLiteral("0.shortcut.0")));
        QCOMPARE(r.layerAt(QStringLiteral("0.shortcut.0"))->kernel, 1);
        QVERIFY(!r.layerAt(QStringLiteral("0.body.7")));
        QVERIFY(!r.layerAt(QStringLiteral("1.body.0")));
        QVERIFY(!r.layerAt(QStringLiteral("x")));
    }

    void validationErrorsNameLayerAndMismatch_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("expected");
        auto wrap = [](const char *layers, int classes = 3) {
            return QStringLiteral(R"({"format":"joulebench-arch","version":1,"name":"t",)"
                                  R"("input":[1,8,8],"classes":%1,"layers":[%2]})")
                .arg(classes)
                .arg(QString::fromLatin1(layers));
        };
        QTest::newRow("linear needs flat input")
            << wrap(R"({"type":"conv","out":4,"kernel":3},{"type":"linear","out":3})")
            << QStringLiteral("layer 1 (linear): expects a flat input [F], got [4, 6, 6]; add a "
                              "'flatten' layer before it");
        QTest::newRow("kernel too large")
            << wrap(
                   R"({"type":"conv","out":4,"kernel":3},{"type":"pool","mode":"max","kernel":2},)"
                   R"({"type":"conv","out":4,"kernel":5},{"type":"flatten"},{"type":"linear","out":3})")
            << QStringLiteral("layer 2 (conv): kernel 5 is larger than the padded input [4, 3, 3] "
                              "(padding 0)");
        QTest::newRow("wrong class count")
            << wrap(R"({"type":"flatten"},{"type":"linear","out":5})")
            << QStringLiteral("the final output is [5], expected [3]");
        QTest::newRow("residual mismatch")
            << wrap(
                   R"({"type":"residual","body":[{"type":"conv","out":2,"kernel":3,"padding":1}]},)"
                   R"({"type":"flatten"},{"type":"linear","out":3})")
            << QStringLiteral("layer 0 (residual): body output [2, 8, 8] does not match the "
                              "identity shortcut output [1, 8, 8]");
        QTest::newRow("nested error path")
            << wrap(
                   R"({"type":"residual","body":[{"type":"conv","out":1,"kernel":3,"padding":1},)"
                   R"({"type":"activation","fn":"swish"}]},{"type":"flatten"},{"type":"linear","out":3})")
            << QStringLiteral("layer 0.body.1 (activation): unknown activation 'swish'");
        QTest::newRow("unknown type")
            << wrap(R"({"type":"convolution","out":4})")
            << QStringLiteral("layers.0: unknown layer type 'convolution'");
        QTest::newRow("unknown key (typo)") << wrap(R"({"type":"conv","out":4,"kernal":3})")
                                            << QStringLiteral("layers.0: missing key 'kernel'");
        QTest::newRow("unknown key")
            << wrap(R"({"type":"flatten","size":3},{"type":"linear","out":3})")
            << QStringLiteral("layers.0: unknown key 'size'");
        QTest::newRow("non-integer") << wrap(R"({"type":"flatten"},{"type":"linear","out":2.5})")
                                     << QStringLiteral("layers.1: key 'out' must be an integer");
        QTest::newRow("groups")
            << wrap(
                   R"({"type":"conv","out":3,"kernel":1,"groups":2},{"type":"flatten"},{"type":"linear","out":3})")
            << QStringLiteral(
                   "layer 0 (conv): groups 2 must divide in-channels 1 and out-channels 3");
        QTest::newRow("dropout p")
            << wrap(R"({"type":"flatten"},{"type":"dropout","p":1.0},{"type":"linear","out":3})")
            << QStringLiteral("layer 1 (dropout): p must be in [0, 1), got 1");
        QTest::newRow("version")
            << QStringLiteral(
                   R"({"format":"joulebench-arch","version":7,"input":[1],"classes":1,"layers":[]})")
            << QStringLiteral("version 7 is not supported");
        QTest::newRow("no layers")
            << QStringLiteral(
                   R"({"format":"joulebench-arch","version":1,"name":"e","input":[1],"classes":1,"layers":[]})")
            << QStringLiteral("architecture spec 'e' has no layers");
    }

    void validationErrorsNameLayerAndMismatch()
    {
        QFETCH(QString, json);
        QFETCH(QString, expected);
        QJsonParseError pe;
        const QJsonDocument doc = QJsonDocument::fromJson(json.toUtf8(), &pe);
        QVERIFY2(doc.isObject(), qPrintable(pe.errorString()));
        QString error;
        QVERIFY(!ArchSpec::fromJson(doc.object(), &error));
        QVERIFY2(error.contains(expected), qPrintable(QStringLiteral("got: ") + error));
    }

    void zooParameterCounts_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QList<qint64>>("input");
        QTest::addColumn<qint64>("params");
        // Hand counts (weights + biases + BN affine; BN running stats are buffers).
        // mlp: 784*300+300 + 300*100+100 + 100*10+10
        QTest::newRow("mlp") << "mlp" << QList<qint64>{1, 28, 28} << qint64(266610);
        // mlp-wide: 784*1024+1024 + 1024*1024+1024 + 1024*10+10
        QTest::newRow("mlp-wide") << "mlp-wide" << QList<qint64>{1, 28, 28} << qint64(1863690);
        // lenet5: 156 + 2416 + 48120 + 10164 + 850 (the classic 61,706)
        QTest::newRow("lenet5") << "lenet5" << QList<qint64>{1, 28, 28} << qint64(61706);
        // cnn-small: 288 + 64 + 18432 + 128 + (3136*128+128) + 1290
        QTest::newRow("cnn-small") << "cnn-small" << QList<qint64>{1, 28, 28} << qint64(421738);
        // resnet20 with 1x1-conv shortcuts: 269,722 (option A) + 512+64 + 2048+128
        QTest::newRow("resnet20") << "resnet20" << QList<qint64>{3, 32, 32} << qint64(272474);
        // vgg-cifar: convs 3*32*9, 32*32*9, 32*64*9, 64*64*9, 64*128*9, 128*128*9 (no bias),
        // BN 2*(32+32+64+64+128+128), linear 128*10+10
        QTest::newRow("vgg-cifar")
            << "vgg-cifar" << QList<qint64>{3, 32, 32}
            << qint64(864 + 9216 + 18432 + 36864 + 73728 + 147456 + 896 + 1290);
    }

    void zooParameterCounts()
    {
        QFETCH(QString, name);
        QFETCH(QList<qint64>, input);
        QFETCH(qint64, params);
        ZooOptions o;
        o.inputShape.assign(input.begin(), input.end());
        QString error;
        const auto spec = zooSpec(name, o, &error);
        QVERIFY2(spec, qPrintable(error));
        auto model = SpecModel::create(*spec, &error);
        QVERIFY2(model, qPrintable(error));
        QCOMPARE(parameterCount(*model), params);
        const torch::Tensor y = model->forward(torch::zeros({2, input[0], input[1], input[2]}));
        QCOMPARE(y.sizes().vec(), (std::vector<int64_t>{2, 10}));
    }

    void zooOnFashionMnistShapeAndWidth()
    {
        for (const QString &name : zooModelNames()) {
            QString error;
            const auto spec = zooSpec(name, ZooOptions{}, &error);
            QVERIFY2(spec, qPrintable(name + QStringLiteral(": ") + error));
            ZooOptions half;
            half.width = 0.5;
            const auto small = zooSpec(name, half, &error);
            QVERIFY2(small, qPrintable(error));
            auto full = SpecModel::create(*spec, &error);
            auto thin = SpecModel::create(*small, &error);
            QVERIFY(full && thin);
            QVERIFY2(parameterCount(*thin) < parameterCount(*full) / 2,
                     qPrintable(name)); // widths halve, so most weight tensors quarter
            QCOMPARE(thin->numClasses(), 10);
        }
        // width 0.5 of mlp: 784-150-50-10.
        ZooOptions half;
        half.width = 0.5;
        QString error;
        const auto mlp = zooSpec(QStringLiteral("mlp"), half, &error);
        QCOMPARE(mlp->layers[1].out, 150);
        QCOMPARE(mlp->layers[3].out, 50);
        QCOMPARE(mlp->layers[5].out, 10);
        QCOMPARE(mlp->name, QStringLiteral("mlp-x0.5"));
    }

    void zooErrors()
    {
        QString error;
        QVERIFY(!zooSpec(QStringLiteral("alexnet"), {}, &error));
        QVERIFY(
            error.contains(QStringLiteral("unknown zoo model 'alexnet' (known: mlp, mlp-wide")));
        ZooOptions flat;
        flat.inputShape = {20};
        QVERIFY(zooSpec(QStringLiteral("mlp"), flat, &error)); // an MLP takes flat samples
        QVERIFY(!zooSpec(QStringLiteral("lenet5"), flat, &error));
        QVERIFY(error.contains(QStringLiteral("needs image input [C, H, W]")));
        ZooOptions tiny;
        tiny.inputShape = {1, 4, 4};
        QVERIFY(!zooSpec(QStringLiteral("lenet5"), tiny, &error));
        QVERIFY2(error.contains(QStringLiteral("layer 3 (conv): kernel 5 is larger")),
                 qPrintable(error));
        ZooOptions zero;
        zero.width = 0;
        QVERIFY(!zooSpec(QStringLiteral("mlp"), zero, &error));
        QVERIFY(error.contains(QStringLiteral("width multiplier must be > 0")));
    }
};

QTEST_GUILESS_MAIN(TestArchSpec)
#include "tst_arch_spec.moc"
