// SPDX-License-Identifier: GPL-3.0-or-later
// The JouleBench tensor file (.jbt): round trips, the documented layout, and corruption.
#include "engine/datasets.h"
#include "engine/tensor_file.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtEndian>
#include <QtTest>

#include <torch/torch.h>

#include <zlib.h>

using namespace jb;

class TestTensorFile : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    QByteArray bytesOf(const QString &path)
    {
        QFile f(path);
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    }
    QString write(const QString &name, const QByteArray &bytes)
    {
        const QString path = m_dir.filePath(name);
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size())
            qFatal("cannot write fixture %s", qPrintable(path));
        return path;
    }
    /// A small float32 file: 3 samples [2, 2], 4 classes, names "a".."d".
    QString goodFloatFile()
    {
        const QString path = m_dir.filePath(QStringLiteral("good.jbt"));
        QString error;
        const bool ok = writeTensorFile(path, torch::arange(12, torch::kFloat32).view({3, 2, 2}),
                                        torch::tensor({0, 3, 1}, torch::kInt64), 4,
                                        {QStringLiteral("a"), QStringLiteral("b"),
                                         QStringLiteral("c"), QStringLiteral("d")},
                                        &error);
        if (!ok)
            qFatal("%s", qPrintable(error));
        return path;
    }
    QString readError(const QString &path)
    {
        QString error;
        if (readTensorFile(path, &error))
            return QString();
        return error.isEmpty() ? QStringLiteral("<failed without a message>") : error;
    }
private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void floatRoundTrip()
    {
        QString error;
        QList<DataFileRecord> files;
        const auto d = readTensorFile(goodFloatFile(), &error, &files);
        QVERIFY2(d, qPrintable(error));
        QVERIFY(torch::equal(d->inputs, torch::arange(12, torch::kFloat32).view({3, 2, 2})));
        QVERIFY(torch::equal(d->targets, torch::tensor({0, 3, 1}, torch::kInt64)));
        QCOMPARE(d->numClasses, 4);
        QCOMPARE(d->classNames, (QStringList{QStringLiteral("a"), QStringLiteral("b"),
                                             QStringLiteral("c"), QStringLiteral("d")}));
        QCOMPARE(files.size(), 1);
    }

    void documentedLayout()
    {
        // docs/datasets.md and tensor_file.h promise this layout to people writing converters.
        const QByteArray b = bytesOf(goodFloatFile());
        QCOMPARE(b.left(8), QByteArray("JBTENSOR"));
        QCOMPARE(qFromLittleEndian<quint32>(b.constData() + 8), 1u);  // version
        QCOMPARE(qFromLittleEndian<quint32>(b.constData() + 12), 2u); // float32
        QCOMPARE(qFromLittleEndian<quint32>(b.constData() + 16), 3u); // ndim
        QCOMPARE(qFromLittleEndian<quint32>(b.constData() + 20), 4u); // classes
        QCOMPARE(qFromLittleEndian<quint32>(b.constData() + 24), 4u); // names
        QCOMPARE(qFromLittleEndian<qint64>(b.constData() + 32), 3);   // N
        const qint64 names = 32 + 3 * 8;
        QCOMPARE(qFromLittleEndian<quint32>(b.constData() + names), 1u);
        QCOMPARE(b.at(names + 4), 'a');
        const qint64 data = names + 4 * 5;
        QCOMPARE(qFromLittleEndian<float>(b.constData() + data + 4 * 5), 5.f);
        QCOMPARE(qFromLittleEndian<qint32>(b.constData() + data + 12 * 4 + 4), 3);
        QCOMPARE(b.size(), data + 12 * 4 + 3 * 4 + 4);
    }

    void uint8RoundTripScalesTo01()
    {
        const QString path = m_dir.filePath(QStringLiteral("bytes.jbt"));
        QString error;
        const torch::Tensor pixels = torch::tensor({0, 51, 255, 102}, torch::kUInt8).view({2, 1, 2});
        QVERIFY2(writeTensorFile(path, pixels, torch::tensor({1, 0}), 2, {}, &error), qPrintable(error));
        const auto d = readTensorFile(path, &error);
        QVERIFY2(d, qPrintable(error));
        QCOMPARE(d->inputs.scalar_type(), torch::kFloat32);
        QVERIFY(torch::allclose(d->inputs.flatten(), torch::tensor({0.f, 0.2f, 1.f, 0.4f})));
        QVERIFY(d->classNames.isEmpty());
        QCOMPARE(bytesOf(path).size(), 32 + 3 * 8 + 4 + 2 * 4 + 4);
    }

    void namedTensorDataSet()
    {
        QTemporaryDir dir;
        QString error;
        QVERIFY(writeTensorFile(dir.filePath(QStringLiteral("train.jbt")),
                                torch::rand({40, 5}), torch::randint(0, 3, {40}), 3, {}, &error));
        QVERIFY(writeTensorFile(dir.filePath(QStringLiteral("test.jbt")), torch::rand({8, 5}),
                                torch::randint(0, 3, {8}), 3, {}, &error));
        DatasetConfig config;
        config.name = QStringLiteral("tensor");
        config.path = dir.path();
        config.validationFraction = 0.25;
        DatasetSplits s;
        QVERIFY2(loadDatasetSplits(config, &s, &error), qPrintable(error));
        QCOMPARE(s.train.size() + s.validation.size(), 40);
        QCOMPARE(s.test.size(), 8);
        QCOMPARE(s.train.sampleShape(), (std::vector<int64_t>{5}));
        QCOMPARE(s.mean.size(), size_t(1)); // flat data: one channel
    }

    void writerRefusesBadData()
    {
        const QString path = m_dir.filePath(QStringLiteral("refused.jbt"));
        QString error;
        QVERIFY(!writeTensorFile(path, torch::rand({2, 2}), torch::tensor({0, 5}), 3, {}, &error));
        QVERIFY2(error.contains(QStringLiteral("label 5 is out of range: expected 0..2")),
                 qPrintable(error));
        QVERIFY(!writeTensorFile(path, torch::rand({2, 2}), torch::tensor({0}), 3, {}, &error));
        QVERIFY(error.contains(QStringLiteral("targets must be integers of shape [2]")));
        torch::Tensor nan = torch::rand({2, 2});
        nan[1][1] = std::numeric_limits<float>::quiet_NaN();
        QVERIFY(!writeTensorFile(path, nan, torch::tensor({0, 1}), 3, {}, &error));
        QVERIFY(error.contains(QStringLiteral("NaN")));
        QVERIFY(!writeTensorFile(path, torch::rand({2}), torch::tensor({0, 1}), 3, {}, &error));
        QVERIFY(!writeTensorFile(path, torch::rand({2, 2}), torch::tensor({0, 1}), 3,
                                 {QStringLiteral("only one")}, &error));
        QVERIFY(error.contains(QStringLiteral("1 class names for 3 classes")));
        QVERIFY(!QFile::exists(path)); // nothing half-written
    }

    void truncatedAnywhere()
    {
        const QByteArray good = bytesOf(goodFloatFile());
        for (const qint64 cut : {qint64(0), qint64(10), qint64(40), qint64(60), qint64(100),
                                 qint64(good.size() - 1)}) {
            const QString e = readError(write(QStringLiteral("cut.jbt"), good.left(cut)));
            QVERIFY2(e.contains(QStringLiteral("cut.jbt: truncated at byte %1: expected").arg(cut)),
                     qPrintable(e));
        }
        const QString longer = readError(write(QStringLiteral("long.jbt"), good + "!!"));
        QVERIFY2(longer.contains(QStringLiteral("2 unexpected bytes after byte %1").arg(good.size())),
                 qPrintable(longer));
    }

    void corruptHeaderFields()
    {
        auto withU32 = [&](qint64 offset, quint32 value) {
            QByteArray b = bytesOf(goodFloatFile());
            qToLittleEndian(value, b.data() + offset);
            return readError(write(QStringLiteral("hdr.jbt"), b));
        };
        QByteArray b = bytesOf(goodFloatFile());
        b[0] = 'X';
        QVERIFY(readError(write(QStringLiteral("magic.jbt"), b))
                    .contains(QStringLiteral("bad magic at byte 0: expected \"JBTENSOR\"")));
        QVERIFY2(withU32(8, 2).contains(QStringLiteral("version 2 at byte 8: this JouleBench reads "
                                                       "version 1; update JouleBench")),
                 qPrintable(withU32(8, 2)));
        QVERIFY(withU32(12, 7).contains(QStringLiteral("dtype is 7 at byte 12: expected 1 (uint8) "
                                                       "or 2 (float32)")));
        QVERIFY(withU32(16, 9).contains(QStringLiteral("ndim is 9 at byte 16: expected 2..5")));
        QVERIFY(withU32(20, 0).contains(QStringLiteral("numClasses is 0 at byte 20")));
        QVERIFY(withU32(24, 2).contains(QStringLiteral("class-name count is 2 at byte 24")));
        QVERIFY(withU32(28, 1).contains(QStringLiteral("reserved field is 1 at byte 28")));
        // Absurd dimensions are refused before anything is allocated.
        b = bytesOf(goodFloatFile());
        qToLittleEndian(qint64(1) << 40, b.data() + 32);
        QVERIFY2(readError(write(QStringLiteral("huge.jbt"), b))
                     .contains(QStringLiteral("dimension 0 is 1099511627776 at byte 32: expected "
                                              "1..2147483648")),
                 qPrintable(readError(write(QStringLiteral("huge.jbt"), b))));
        b = bytesOf(goodFloatFile());
        qToLittleEndian(qint64(60000), b.data() + 40);
        QVERIFY(readError(write(QStringLiteral("wide.jbt"), b)).contains(QStringLiteral("truncated")));
    }

    void corruptPayloadFailsTheCrc()
    {
        QByteArray b = bytesOf(goodFloatFile());
        b[80] = char(b[80] ^ 0x01); // inside the float data
        const QString e = readError(write(QStringLiteral("flip.jbt"), b));
        QVERIFY2(e.contains(QStringLiteral("flip.jbt: CRC-32 mismatch: stored 0x")), qPrintable(e));
        QVERIFY(e.contains(QStringLiteral("the file is corrupt")));
    }

    void labelOutOfRangeIsCaughtEvenWithAValidCrc()
    {
        // A buggy converter (right CRC, wrong label): write through the writer's layout by hand.
        QString error;
        const QString path = m_dir.filePath(QStringLiteral("labels.jbt"));
        QVERIFY(writeTensorFile(path, torch::rand({2, 3}), torch::tensor({0, 1}), 2, {}, &error));
        QByteArray b = bytesOf(path);
        const qint64 labelPos = 32 + 2 * 8 + 2 * 3 * 4;
        qToLittleEndian(qint32(7), b.data() + labelPos + 4);
        const uLong crc = crc32(crc32(0L, Z_NULL, 0),
                                reinterpret_cast<const Bytef *>(b.constData()), uInt(b.size() - 4));
        qToLittleEndian(quint32(crc), b.data() + b.size() - 4);
        const QString e = readError(write(QStringLiteral("labels.jbt"), b));
        QVERIFY2(e.contains(QStringLiteral("label 7 at byte %1 (sample 1) is out of range: "
                                           "expected 0..1").arg(labelPos + 4)),
                 qPrintable(e));
    }

    void gzippedFileReads()
    {
        // Users may gzip a .jbt as a whole; the reader sees through it.
        QByteArray raw = bytesOf(goodFloatFile());
        z_stream zs{};
        deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
        QByteArray gz(int(deflateBound(&zs, uLong(raw.size()))), '\0');
        zs.next_in = reinterpret_cast<Bytef *>(raw.data());
        zs.avail_in = uInt(raw.size());
        zs.next_out = reinterpret_cast<Bytef *>(gz.data());
        zs.avail_out = uInt(gz.size());
        deflate(&zs, Z_FINISH);
        gz.resize(int(zs.total_out));
        deflateEnd(&zs);
        QString error;
        const auto d = readTensorFile(write(QStringLiteral("good.jbt.gz"), gz), &error);
        QVERIFY2(d, qPrintable(error));
        QCOMPARE(d->size(), 3);
    }
};

QTEST_GUILESS_MAIN(TestTensorFile)
#include "tst_tensor_file.moc"
