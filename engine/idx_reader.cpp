// SPDX-License-Identifier: GPL-3.0-or-later
#include "idx_reader.h"

#include "engine_log.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <torch/torch.h>

#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace jb {

namespace {

void setError(QString *error, const QString &message)
{
    if (error)
        *error = message;
}

QString displayName(const QString &path)
{
    return QDir::toNativeSeparators(path);
}

quint32 readBigEndian32(const char *p)
{
    const auto *u = reinterpret_cast<const unsigned char *>(p);
    return (quint32(u[0]) << 24) | (quint32(u[1]) << 16) | (quint32(u[2]) << 8) | quint32(u[3]);
}

quint32 crcOf(const QByteArray &bytes)
{
    // zlib's crc32 takes a uInt length: feed it in chunks so files over 4 GiB are fine too.
    uLong crc = crc32(0L, Z_NULL, 0);
    const char *p = bytes.constData();
    qint64 left = bytes.size();
    while (left > 0) {
        const uInt n = uInt(std::min<qint64>(left, qint64(1) << 30));
        crc = crc32(crc, reinterpret_cast<const Bytef *>(p), n);
        p += n;
        left -= n;
    }
    return quint32(crc);
}

/// Inflates all gzip members of `in` into `out`. Stops with an error at corrupt or truncated
/// input, or when the output would exceed maxBytes.
bool gunzip(const QString &path, const QByteArray &in, qint64 maxBytes, QByteArray *out,
            quint32 *crc, QString *error)
{
    // The last 4 bytes hold the uncompressed size modulo 2^32 (ISIZE): a hint for the first
    // allocation only, since it can lie or wrap. A truncated or corrupt file ends in arbitrary
    // bytes, so the hint is believed only up to deflate's maximum expansion (1032:1): without
    // that cap a 60-byte damaged file made the reader allocate 4 GiB (found by fuzz_idx).
    constexpr qint64 kMaxDeflateRatio = 1032;
    qint64 capacity = qint64(in.size()) * 2;
    if (in.size() >= 18) {
        const auto *u = reinterpret_cast<const unsigned char *>(in.constData() + in.size() - 4);
        const qint64 isize =
            qint64(u[0]) | (qint64(u[1]) << 8) | (qint64(u[2]) << 16) | (qint64(u[3]) << 24);
        if (isize > capacity && isize <= maxBytes && isize <= qint64(in.size()) * kMaxDeflateRatio)
            capacity = isize;
    }
    capacity = std::clamp<qint64>(capacity, 1024, std::max<qint64>(maxBytes, 1024));
    out->resize(capacity);

    z_stream zs;
    std::memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK) {
        setError(error, QStringLiteral("%1: cannot initialise zlib").arg(displayName(path)));
        return false;
    }
    qint64 inPos = 0;
    qint64 outPos = 0;
    qint64 memberStart = 0;
    // zlib checks each member's CRC-32 against its trailer and leaves it in zs.adler: combined,
    // they are the CRC of the whole output, without a second pass over it.
    uLong wholeCrc = crc32(0L, Z_NULL, 0);
    int rc = Z_OK;
    while (true) {
        if (outPos == out->size()) {
            if (out->size() >= maxBytes) {
                inflateEnd(&zs);
                setError(error, QStringLiteral("%1: decompresses to more than %2 bytes, the limit "
                                               "for a data file; refusing to continue")
                                    .arg(displayName(path))
                                    .arg(maxBytes));
                return false;
            }
            out->resize(std::min<qint64>(maxBytes, out->size() * 2));
        }
        const qint64 inChunk = std::min<qint64>(in.size() - inPos, qint64(1) << 30);
        const qint64 outChunk = std::min<qint64>(out->size() - outPos, qint64(1) << 30);
        zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.constData() + inPos));
        zs.avail_in = uInt(inChunk);
        zs.next_out = reinterpret_cast<Bytef *>(out->data() + outPos);
        zs.avail_out = uInt(outChunk);
        rc = inflate(&zs, Z_NO_FLUSH);
        inPos += inChunk - zs.avail_in;
        outPos += outChunk - zs.avail_out;
        if (rc == Z_STREAM_END) {
            wholeCrc = crc32_combine(wholeCrc, zs.adler, z_off_t(outPos - memberStart));
            memberStart = outPos;
            // Concatenated gzip members are legal (gzip a b > c): continue with the next one,
            // ignoring zero padding some tools append.
            qint64 next = inPos;
            while (next < in.size() && in.at(next) == 0)
                ++next;
            if (next >= in.size())
                break;
            inPos = next;
            if (inflateReset(&zs) != Z_OK)
                break;
            continue;
        }
        if (rc == Z_OK)
            continue;
        if (rc == Z_BUF_ERROR && zs.avail_out == 0)
            continue; // output full: grow and go on
        break;
    }
    const char *zmsg = zs.msg;
    inflateEnd(&zs);
    if (rc == Z_STREAM_END) {
        out->resize(outPos);
        *crc = quint32(wholeCrc);
        return true;
    }
    if (rc == Z_BUF_ERROR || inPos >= in.size()) {
        setError(error, QStringLiteral("%1: truncated gzip stream: the compressed data ends at "
                                       "byte %2 after %3 decompressed bytes, before the end of "
                                       "the stream; download the file again")
                            .arg(displayName(path))
                            .arg(in.size())
                            .arg(outPos));
    } else {
        setError(error, QStringLiteral("%1: corrupt gzip data near compressed byte %2 (%3); "
                                       "download the file again")
                            .arg(displayName(path))
                            .arg(inPos)
                            .arg(zmsg ? QString::fromLatin1(zmsg) : QStringLiteral("zlib error %1").arg(rc)));
    }
    return false;
}

struct IdxHeader
{
    int dataType = 0;
    std::vector<qint64> dims;
    qint64 headerBytes = 0;
    qint64 elements = 1;
};

QString shapeText(const std::vector<qint64> &dims)
{
    QStringList parts;
    for (qint64 d : dims)
        parts << QString::number(d);
    return parts.join(QStringLiteral(" x "));
}

/// Parses and checks an IDX header: unsigned bytes, `expectedDims` dimensions, each within the
/// limits, and exactly as many data bytes as the dimensions say.
bool parseIdxHeader(const DataFile &file, int expectedDims, const QString &what,
                    const QString &dimsMeaning, IdxHeader *h, QString *error)
{
    const QString name = displayName(file.path);
    const QByteArray &b = file.bytes;
    const quint32 expectedMagic = 0x0800u | quint32(expectedDims);
    if (b.size() < 4) {
        setError(error, QStringLiteral("%1: truncated at byte %2: expected a 4-byte IDX magic "
                                       "number 0x%3 (%4)")
                            .arg(name)
                            .arg(b.size())
                            .arg(expectedMagic, 8, 16, QLatin1Char('0'))
                            .arg(what));
        return false;
    }
    const quint32 magic = readBigEndian32(b.constData());
    if ((magic & 0xffff0000u) != 0) {
        setError(error, QStringLiteral("%1: bad magic number 0x%2 at byte 0: expected 0x%3 (IDX %4); "
                                       "is this an IDX file?")
                            .arg(name)
                            .arg(magic, 8, 16, QLatin1Char('0'))
                            .arg(expectedMagic, 8, 16, QLatin1Char('0'))
                            .arg(what));
        return false;
    }
    h->dataType = int((magic >> 8) & 0xff);
    const int dims = int(magic & 0xff);
    if (h->dataType != 0x08) {
        setError(error, QStringLiteral("%1: IDX data type 0x%2 at byte 2 is not supported: expected "
                                       "0x08 (unsigned byte), magic 0x%3 (%4)")
                            .arg(name)
                            .arg(h->dataType, 2, 16, QLatin1Char('0'))
                            .arg(expectedMagic, 8, 16, QLatin1Char('0'))
                            .arg(what));
        return false;
    }
    if (dims != expectedDims) {
        setError(error, QStringLiteral("%1: has %2 dimensions (byte 3 of the magic number): expected "
                                       "%3 (%4: %5); are images and labels swapped?")
                            .arg(name)
                            .arg(dims)
                            .arg(expectedDims)
                            .arg(what, dimsMeaning));
        return false;
    }
    h->headerBytes = 4 + 4 * qint64(dims);
    if (b.size() < h->headerBytes) {
        setError(error, QStringLiteral("%1: truncated at byte %2: expected a %3-byte header (magic "
                                       "number and %4 dimension sizes)")
                            .arg(name)
                            .arg(b.size())
                            .arg(h->headerBytes)
                            .arg(dims));
        return false;
    }
    h->dims.clear();
    h->elements = 1;
    for (int i = 0; i < dims; ++i) {
        const qint64 d = readBigEndian32(b.constData() + 4 + 4 * i);
        const qint64 limit = i == 0 ? kMaxIdxCount : kMaxIdxSide;
        if (d < 1 || d > limit) {
            setError(error, QStringLiteral("%1: dimension %2 is %3 (bytes %4-%5): expected 1..%6; "
                                           "refusing to allocate for a corrupt header")
                                .arg(name)
                                .arg(i)
                                .arg(d)
                                .arg(4 + 4 * i)
                                .arg(7 + 4 * i)
                                .arg(limit));
            return false;
        }
        h->dims.push_back(d);
        h->elements *= d;
    }
    const qint64 expected = h->headerBytes + h->elements;
    const QString expectation =
        QStringLiteral("expected %1 bytes (%2-byte header + %3 data %4)")
            .arg(expected)
            .arg(h->headerBytes)
            .arg(expectedDims == 3 ? QStringLiteral("image") : QStringLiteral("label"),
                 shapeText(h->dims));
    if (b.size() < expected) {
        setError(error, QStringLiteral("%1: truncated at byte %2: %3")
                            .arg(name)
                            .arg(b.size())
                            .arg(expectation));
        return false;
    }
    if (b.size() > expected) {
        setError(error, QStringLiteral("%1: %2 unexpected bytes after byte %3: %4; the file is "
                                       "corrupt or its header is wrong")
                            .arg(name)
                            .arg(b.size() - expected)
                            .arg(expected)
                            .arg(expectation));
        return false;
    }
    return true;
}

} // namespace

std::optional<DataFile> readDataFile(const QString &path, QString *error, qint64 maxBytes)
{
    QFile f(path);
    if (!f.exists()) {
        setError(error, QStringLiteral("%1: no such file").arg(displayName(path)));
        return std::nullopt;
    }
    if (!f.open(QIODevice::ReadOnly)) {
        setError(error, QStringLiteral("%1: cannot open: %2").arg(displayName(path), f.errorString()));
        return std::nullopt;
    }
    DataFile out;
    out.path = path;
    out.fileBytes = f.size();
    if (out.fileBytes > maxBytes) {
        setError(error, QStringLiteral("%1: %2 bytes is more than the %3-byte limit for a data file")
                            .arg(displayName(path))
                            .arg(out.fileBytes)
                            .arg(maxBytes));
        return std::nullopt;
    }
    QByteArray raw = f.readAll();
    if (raw.size() != out.fileBytes) {
        setError(error, QStringLiteral("%1: read %2 of %3 bytes: %4")
                            .arg(displayName(path))
                            .arg(raw.size())
                            .arg(out.fileBytes)
                            .arg(f.errorString()));
        return std::nullopt;
    }
    out.gzip = raw.size() >= 2 && uchar(raw.at(0)) == 0x1f && uchar(raw.at(1)) == 0x8b;
    if (out.gzip) {
        if (!gunzip(path, raw, maxBytes, &out.bytes, &out.crc32, error))
            return std::nullopt;
    } else {
        out.bytes = std::move(raw);
        out.crc32 = crcOf(out.bytes);
    }
    return out;
}

std::optional<Dataset> readIdx(const QString &imagesPath, const QString &labelsPath,
                               int numClasses, QString *error, QList<DataFileRecord> *files)
{
    if (numClasses < 1 || numClasses > 256) {
        setError(error, QStringLiteral("readIdx: %1 classes: expected 1..256 (labels are single bytes)")
                            .arg(numClasses));
        return std::nullopt;
    }
    const std::optional<DataFile> images = readDataFile(imagesPath, error);
    if (!images)
        return std::nullopt;
    IdxHeader ih;
    if (!parseIdxHeader(*images, 3, QStringLiteral("images"),
                        QStringLiteral("count x rows x columns"), &ih, error))
        return std::nullopt;
    const std::optional<DataFile> labels = readDataFile(labelsPath, error);
    if (!labels)
        return std::nullopt;
    IdxHeader lh;
    if (!parseIdxHeader(*labels, 1, QStringLiteral("labels"), QStringLiteral("count"), &lh, error))
        return std::nullopt;
    const qint64 n = ih.dims[0];
    if (lh.dims[0] != n) {
        setError(error, QStringLiteral("%1 holds %2 images but %3 holds %4 labels: expected the "
                                       "same count; do the files belong together?")
                            .arg(displayName(imagesPath))
                            .arg(n)
                            .arg(displayName(labelsPath))
                            .arg(lh.dims[0]));
        return std::nullopt;
    }
    const auto *lab = reinterpret_cast<const uchar *>(labels->bytes.constData() + lh.headerBytes);
    for (qint64 i = 0; i < n; ++i) {
        if (lab[i] >= numClasses) {
            setError(error, QStringLiteral("%1: label %2 at byte %3 (sample %4) is out of range: "
                                           "expected 0..%5 (%6 classes)")
                                .arg(displayName(labelsPath))
                                .arg(lab[i])
                                .arg(lh.headerBytes + i)
                                .arg(i)
                                .arg(numClasses - 1)
                                .arg(numClasses));
            return std::nullopt;
        }
    }
    try {
        Dataset d;
        auto *img = const_cast<char *>(images->bytes.constData() + ih.headerBytes);
        d.inputs = torch::from_blob(img, {n, 1, ih.dims[1], ih.dims[2]}, torch::kUInt8)
                       .to(torch::kFloat32)
                       .div_(255.0);
        d.targets = torch::from_blob(const_cast<uchar *>(lab), {n}, torch::kUInt8).to(torch::kInt64);
        d.numClasses = numClasses;
        if (files)
            *files << images->record() << labels->record();
        return d;
    } catch (const std::exception &e) {
        setError(error, QStringLiteral("%1: cannot build tensors: %2")
                            .arg(displayName(imagesPath), QString::fromUtf8(e.what())));
        return std::nullopt;
    }
}

std::optional<Dataset> readIdx(const QString &imagesPath, const QString &labelsPath, QString *error)
{
    return readIdx(imagesPath, labelsPath, 10, error);
}

} // namespace jb
