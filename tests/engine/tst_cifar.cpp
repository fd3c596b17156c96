// SPDX-License-Identifier: GPL-3.0-or-later
// The CIFAR-10/100 binary reader on generated files (CIFAR itself is not packaged): layout,
// concatenation, truncation, wrong variant, labels out of range, and the named data set.
#include "engine/cifar_reader.h"
#include "engine/datasets.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <torch/torch.h>

using namespace jb;

namespace {

/// CIFAR records: labels as given; image byte j of record i is (i + j) % 256.
QByteArray records(const QList<QList<int>> &labels)
{
    QByteArray b;
    for (int i = 0; i < labels.size(); ++i) {
        for (int l : labels[i])
            b.append(char(l));
        for (int j = 0; j < 3072; ++j)
            b.append(char((i + j) % 256));
    }
    return b;
}

} // namespace

class TestCifar : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    QString write(const QString &name, const QByteArray &bytes)
    {
        const QString path = m_dir.filePath(name);
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size())
            qFatal("cannot write fixture %s", qPrintable(path));
        return path;
    }
    QString errorFor(const QStringList &files, int classes)
    {
        QString error;
        if (readCifar(files, classes, &error))
            return QString();
        return error.isEmpty() ? QStringLiteral("<failed without a message>") : error;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void readsCifar10Layout()
    {
        const QString a = write(QStringLiteral("a.bin"), records({{3}, {9}}));
        const QString b = write(QStringLiteral("b.bin"), records({{0}}));
        QString error;
        QList<DataFileRecord> files;
        const auto d = readCifar({a, b}, 10, &error, &files);
        QVERIFY2(d, qPrintable(error));
        QCOMPARE(d->size(), 3);
        QCOMPARE(d->inputs.sizes().vec(), (std::vector<int64_t>{3, 3, 32, 32}));
        QCOMPARE(d->targets[0].item<int64_t>(), 3);
        QCOMPARE(d->targets[1].item<int64_t>(), 9);
        QCOMPARE(d->targets[2].item<int64_t>(), 0);
        // Record 1, green channel (bytes 1024..2047), row 2, column 5: byte j = 1024 + 69.
        QCOMPARE(d->inputs[1][1][2][5].item<float>(), float((1 + 1024 + 2 * 32 + 5) % 256) / 255.f);
        QCOMPARE(files.size(), 2);
        QCOMPARE(files[1].bytes, 3073);
    }

    void readsCifar100FineLabels()
    {
        const QString f = write(QStringLiteral("train.bin"), records({{19, 99}, {0, 42}}));
        QString error;
        const auto d = readCifar({f}, 100, &error);
        QVERIFY2(d, qPrintable(error));
        QCOMPARE(d->numClasses, 100);
        QCOMPARE(d->targets[0].item<int64_t>(), 99);
        QCOMPARE(d->targets[1].item<int64_t>(), 42);
        QCOMPARE(d->inputs[1][0][0][0].item<float>(), 1.f / 255.f);
    }

    void truncatedFile()
    {
        const QString f = write(QStringLiteral("data_batch_1.bin"), records({{1}, {2}}).left(5000));
        const QString e = errorFor({f}, 10);
        QVERIFY2(e.contains(f + QStringLiteral(": truncated at byte 5000: expected a multiple of "
                                               "3073 bytes (CIFAR-10 records of 1 label byte + "
                                               "3 x 32 x 32 image bytes); record 1 is incomplete, "
                                               "1927 of 3073 bytes")),
                 qPrintable(e));
        const QString empty = errorFor({write(QStringLiteral("empty.bin"), QByteArray())}, 10);
        QVERIFY2(empty.contains(QStringLiteral("truncated at byte 0")), qPrintable(empty));
    }

    void wrongVariantIsNamed()
    {
        // Three CIFAR-100 records are 9222 bytes: not whole CIFAR-10 records.
        const QString f = write(QStringLiteral("hundred.bin"), records({{1, 2}, {1, 2}, {1, 2}}));
        const QString e = errorFor({f}, 10);
        QVERIFY2(e.contains(QStringLiteral("is this a CIFAR-100 file?")), qPrintable(e));
    }

    void labelOutOfRange()
    {
        const QString f = write(QStringLiteral("bad.bin"), records({{1}, {10}}));
        const QString e = errorFor({f}, 10);
        QVERIFY2(e.contains(f + QStringLiteral(": the label 10 at byte 3073 (record 1) is out of "
                                               "range: expected 0..9")),
                 qPrintable(e));
        const QString g = write(QStringLiteral("bad100.bin"), records({{20, 5}}));
        const QString e100 = errorFor({g}, 100);
        QVERIFY2(e100.contains(QStringLiteral("coarse label 20 at byte 0 (record 0) is out of "
                                              "range: expected 0..19")),
                 qPrintable(e100));
        const QString h = write(QStringLiteral("badfine.bin"), records({{2, 5}, {2, 100}}));
        QVERIFY2(errorFor({h}, 100).contains(QStringLiteral("fine label 100 at byte 3075")),
                 qPrintable(errorFor({h}, 100)));
    }

    void badArguments()
    {
        QVERIFY(errorFor({}, 10).contains(QStringLiteral("no files")));
        QVERIFY(errorFor({QStringLiteral("x")}, 20).contains(QStringLiteral("expected 10")));
        QVERIFY(errorFor({m_dir.filePath(QStringLiteral("absent.bin"))}, 10)
                    .contains(QStringLiteral("absent.bin: no such file")));
    }

    void namedCifar10FromAFolder()
    {
        QTemporaryDir dir;
        QDir d(dir.path());
        for (int i = 1; i <= 5; ++i) {
            QFile f(d.filePath(QStringLiteral("data_batch_%1.bin").arg(i)));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(records({{i}, {(i + 1) % 10}, {(i * 3) % 10}, {i % 2}}));
        }
        QFile t(d.filePath(QStringLiteral("test_batch.bin")));
        QVERIFY(t.open(QIODevice::WriteOnly));
        t.write(records({{0}, {1}}));
        t.close();
        DatasetConfig config;
        config.name = QStringLiteral("cifar10");
        config.path = dir.path();
        config.validationFraction = 0;
        DatasetSplits s;
        QString error;
        QVERIFY2(loadDatasetSplits(config, &s, &error), qPrintable(error));
        QCOMPARE(s.train.size(), 20);
        QCOMPARE(s.test.size(), 2);
        QCOMPARE(s.train.sampleShape(), (std::vector<int64_t>{3, 32, 32}));
        QCOMPARE(s.mean.size(), size_t(3));
        QCOMPARE(s.train.classNames.value(0), QStringLiteral("airplane"));
        QCOMPARE(s.files.size(), 6);

        // One batch missing: the error lists it and says where CIFAR comes from.
        QVERIFY(QFile::remove(d.filePath(QStringLiteral("data_batch_3.bin"))));
        QVERIFY(!loadDatasetSplits(config, &s, &error));
        QVERIFY2(error.contains(QStringLiteral("lacks data_batch_3.bin (expected: data_batch_1.bin, "
                                               "data_batch_2.bin, data_batch_3.bin")),
                 qPrintable(error));
        QVERIFY(error.contains(QStringLiteral("cifar-10-binary.tar.gz")));
    }
};

QTEST_GUILESS_MAIN(TestCifar)
#include "tst_cifar.moc"
