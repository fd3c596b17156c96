// SPDX-License-Identifier: GPL-3.0-or-later
// The IDX reader (MNIST, Fashion-MNIST): good files, gzip or not, and every kind of damage a
// user can meet, each with an error naming the file, the offset and the expectation.
#include "engine/idx_reader.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <torch/torch.h>

#include <zlib.h>

#include <cstring>

using namespace jb;

namespace {

QByteArray bigEndian32(quint32 v)
{
    QByteArray b(4, '\0');
    b[0] = char(v >> 24);
    b[1] = char(v >> 16);
    b[2] = char(v >> 8);
    b[3] = char(v);
    return b;
}

/// IDX images count x rows x cols, pixel value (i * 7 + j) % 256 for sample i, byte j.
QByteArray idxImages(quint32 count, quint32 rows, quint32 cols)
{
    QByteArray b = bigEndian32(0x00000803) + bigEndian32(count) + bigEndian32(rows) +
                   bigEndian32(cols);
    for (quint32 i = 0; i < count; ++i)
        for (quint32 j = 0; j < rows * cols; ++j)
            b.append(char((i * 7 + j) % 256));
    return b;
}

QByteArray idxLabels(const QList<int> &labels)
{
    QByteArray b = bigEndian32(0x00000801) + bigEndian32(quint32(labels.size()));
    for (int l : labels)
        b.append(char(l));
    return b;
}

QByteArray gzip(const QByteArray &data)
{
    z_stream zs;
    std::memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    QByteArray out(int(deflateBound(&zs, uLong(data.size()))), '\0');
    zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(data.constData()));
    zs.avail_in = uInt(data.size());
    zs.next_out = reinterpret_cast<Bytef *>(out.data());
    zs.avail_out = uInt(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(int(zs.total_out));
    deflateEnd(&zs);
    return out;
}

} // namespace

class TestIdx : public QObject
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
    /// Reads `images` with good labels for 3 samples and returns the error (empty on success).
    QString errorFor(const QString &images, const QString &labels)
    {
        QString error;
        const std::optional<Dataset> d = readIdx(images, labels, 10, &error);
        if (d)
            return QString();
        if (error.isEmpty())
            return QStringLiteral("<failed without a message>");
        return error;
    }
    QString goodLabels() { return write(QStringLiteral("good-labels"), idxLabels({1, 0, 9})); }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void readsRawFiles()
    {
        const QString images = write(QStringLiteral("img"), idxImages(3, 4, 5));
        QString error;
        QList<DataFileRecord> files;
        const std::optional<Dataset> d = readIdx(images, goodLabels(), 10, &error, &files);
        QVERIFY2(d, qPrintable(error));
        QCOMPARE(d->size(), 3);
        QCOMPARE(d->inputs.sizes().vec(), (std::vector<int64_t>{3, 1, 4, 5}));
        QCOMPARE(d->inputs.scalar_type(), torch::kFloat32);
        QCOMPARE(d->targets.scalar_type(), torch::kInt64);
        QCOMPARE(d->numClasses, 10);
        // Sample 2, row 1, column 3 is byte j = 8 of sample 2: (2 * 7 + 8) % 256 = 22.
        QCOMPARE(d->inputs[2][0][1][3].item<float>(), 22.f / 255.f);
        QCOMPARE(d->targets[0].item<int64_t>(), 1);
        QCOMPARE(d->targets[2].item<int64_t>(), 9);
        QCOMPARE(files.size(), 2);
        QCOMPARE(files[0].path, images);
        QCOMPARE(files[0].bytes, 16 + 3 * 4 * 5);
        QVERIFY(files[0].crc32 != 0);
    }

    void readsGzipFilesToTheSameTensors()
    {
        const QString raw = write(QStringLiteral("img-raw"), idxImages(3, 4, 5));
        const QString gz = write(QStringLiteral("img.gz"), gzip(idxImages(3, 4, 5)));
        const QString labelsGz = write(QStringLiteral("lab.gz"), gzip(idxLabels({1, 0, 9})));
        QString error;
        QList<DataFileRecord> rawFiles, gzFiles;
        const auto a = readIdx(raw, goodLabels(), 10, &error, &rawFiles);
        QVERIFY2(a, qPrintable(error));
        const auto b = readIdx(gz, labelsGz, 10, &error, &gzFiles);
        QVERIFY2(b, qPrintable(error));
        QVERIFY(torch::equal(a->inputs, b->inputs));
        QVERIFY(torch::equal(a->targets, b->targets));
        // The CRC identifies the data, not its compression.
        QCOMPARE(gzFiles[0].crc32, rawFiles[0].crc32);
        QVERIFY(gzFiles[0].bytes != rawFiles[0].bytes);
    }

    void readsConcatenatedGzipMembers()
    {
        const QByteArray whole = idxImages(3, 4, 5);
        const QString path =
            write(QStringLiteral("multi.gz"), gzip(whole.left(30)) + gzip(whole.mid(30)));
        QCOMPARE(errorFor(path, goodLabels()), QString());
        // The recorded CRC is the one of the whole decompressed content, across members.
        QString error;
        const auto f = readDataFile(path, &error);
        QVERIFY2(f, qPrintable(error));
        QCOMPARE(f->bytes, whole);
        QCOMPARE(f->crc32, quint32(crc32(crc32(0L, Z_NULL, 0),
                                         reinterpret_cast<const Bytef *>(whole.constData()),
                                         uInt(whole.size()))));
    }

    void truncatedImageDataNamesFileOffsetAndExpectation()
    {
        const QString path =
            write(QStringLiteral("train-images-idx3-ubyte"), idxImages(3, 4, 5).left(50));
        const QString e = errorFor(path, goodLabels());
        QVERIFY2(e.contains(path + QStringLiteral(": truncated at byte 50: expected 76 bytes "
                                                  "(16-byte header + image data 3 x 4 x 5)")),
                 qPrintable(e));
    }

    void truncatedGzipDataIsTruncatedNotGarbage()
    {
        // A good gzip stream of a short IDX file: the gzip layer is fine, the IDX layer is not.
        const QString path =
            write(QStringLiteral("short.gz"), gzip(idxImages(3, 4, 5).left(40)));
        const QString e = errorFor(path, goodLabels());
        QVERIFY2(e.contains(QStringLiteral("short.gz: truncated at byte 40: expected 76 bytes")),
                 qPrintable(e));
    }

    void truncatedGzipStream()
    {
        const QByteArray gz = gzip(idxImages(50, 28, 28));
        const QString path = write(QStringLiteral("cut.gz"), gz.left(gz.size() / 2));
        const QString e = errorFor(path, goodLabels());
        QVERIFY2(e.contains(QStringLiteral("cut.gz: truncated gzip stream")), qPrintable(e));
    }

    void corruptGzipStream()
    {
        QByteArray gz = gzip(idxImages(50, 28, 28));
        for (int i = 20; i < gz.size() - 20; i += 7)
            gz[i] = char(gz[i] ^ 0x5a);
        const QString path = write(QStringLiteral("corrupt.gz"), gz);
        const QString e = errorFor(path, goodLabels());
        QVERIFY2(e.startsWith(path + QStringLiteral(": ")), qPrintable(e));
        QVERIFY2(e.contains(QStringLiteral("gzip")), qPrintable(e));
    }

    void badMagic()
    {
        QByteArray b = idxImages(3, 4, 5);
        b[0] = 'P';
        b[1] = 'K';
        const QString e = errorFor(write(QStringLiteral("zip"), b), goodLabels());
        QVERIFY2(e.contains(QStringLiteral("bad magic number 0x504b0803 at byte 0: expected "
                                           "0x00000803")),
                 qPrintable(e));
    }

    void unsupportedDataType()
    {
        QByteArray b = idxImages(3, 4, 5);
        b[2] = char(0x0d);
        const QString e = errorFor(write(QStringLiteral("floats"), b), goodLabels());
        QVERIFY2(e.contains(QStringLiteral("IDX data type 0x0d at byte 2 is not supported")),
                 qPrintable(e));
    }

    void wrongDimensionsSwappedFiles()
    {
        const QString images = write(QStringLiteral("img-ok"), idxImages(3, 4, 5));
        const QString e = errorFor(goodLabels(), images);
        QVERIFY2(e.contains(QStringLiteral("has 1 dimensions (byte 3 of the magic number): "
                                           "expected 3")),
                 qPrintable(e));
        QVERIFY(e.contains(QStringLiteral("swapped")));
    }

    void absurdDimensionsAreRefusedBeforeAllocating()
    {
        QByteArray b = bigEndian32(0x00000803) + bigEndian32(0xffffffffu) + bigEndian32(28) +
                       bigEndian32(28);
        QString e = errorFor(write(QStringLiteral("huge"), b), goodLabels());
        QVERIFY2(e.contains(QStringLiteral("dimension 0 is 4294967295 (bytes 4-7): expected "
                                           "1..100000000; refusing to allocate")),
                 qPrintable(e));
        b = bigEndian32(0x00000803) + bigEndian32(3) + bigEndian32(0) + bigEndian32(28);
        e = errorFor(write(QStringLiteral("zero"), b), goodLabels());
        QVERIFY2(e.contains(QStringLiteral("dimension 1 is 0 (bytes 8-11)")), qPrintable(e));
    }

    void truncatedHeader()
    {
        const QString e = errorFor(write(QStringLiteral("hdr"), idxImages(3, 4, 5).left(10)),
                                   goodLabels());
        QVERIFY2(e.contains(QStringLiteral("truncated at byte 10: expected a 16-byte header")),
                 qPrintable(e));
        const QString empty = errorFor(write(QStringLiteral("empty"), QByteArray()), goodLabels());
        QVERIFY2(empty.contains(QStringLiteral("truncated at byte 0: expected a 4-byte IDX magic")),
                 qPrintable(empty));
    }

    void trailingBytes()
    {
        const QString e = errorFor(write(QStringLiteral("long"), idxImages(3, 4, 5) + "xyz"),
                                   goodLabels());
        QVERIFY2(e.contains(QStringLiteral("3 unexpected bytes after byte 76")), qPrintable(e));
    }

    void labelOutOfRange()
    {
        const QString images = write(QStringLiteral("img3"), idxImages(3, 4, 5));
        const QString labels = write(QStringLiteral("bad-labels"), idxLabels({1, 2, 10}));
        const QString e = errorFor(images, labels);
        QVERIFY2(e.contains(labels + QStringLiteral(": label 10 at byte 10 (sample 2) is out of "
                                                    "range: expected 0..9 (10 classes)")),
                 qPrintable(e));
    }

    void labelAndImageCountsMustMatch()
    {
        const QString images = write(QStringLiteral("img4"), idxImages(4, 4, 5));
        const QString e = errorFor(images, goodLabels());
        QVERIFY2(e.contains(QStringLiteral("holds 4 images but")) &&
                     e.contains(QStringLiteral("holds 3 labels")),
                 qPrintable(e));
    }

    void missingFile()
    {
        const QString e = errorFor(m_dir.filePath(QStringLiteral("nope")), goodLabels());
        QVERIFY2(e.contains(QStringLiteral("nope: no such file")), qPrintable(e));
    }

    void decompressionLimit()
    {
        const QString path = write(QStringLiteral("big.gz"), gzip(QByteArray(1 << 20, 'a')));
        QString error;
        QVERIFY(!readDataFile(path, &error, 4096));
        QVERIFY2(error.contains(QStringLiteral("decompresses to more than 4096 bytes")),
                 qPrintable(error));
        const auto f = readDataFile(path, &error);
        QVERIFY2(f, qPrintable(error));
        QCOMPARE(f->bytes.size(), 1 << 20);
        QVERIFY(f->gzip);
    }
};

QTEST_GUILESS_MAIN(TestIdx)
#include "tst_idx.moc"
