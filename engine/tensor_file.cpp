// SPDX-License-Identifier: GPL-3.0-or-later
#include "tensor_file.h"

#include "idx_reader.h"

#include <QDir>
#include <QSaveFile>
#include <QtEndian>

#include <torch/torch.h>

#include <zlib.h>

#include <cstring>

#if Q_BYTE_ORDER != Q_LITTLE_ENDIAN
#error "tensor_file.cpp copies tensor data as little-endian bytes: add byte swapping for this host"
#endif

namespace jb {

namespace {

void setError(QString *error, const QString &message)
{
    if (error)
        *error = message;
}

constexpr char kMagic[8] = {'J', 'B', 'T', 'E', 'N', 'S', 'O', 'R'};
constexpr qint64 kFixedHeader = 32;
constexpr quint32 kDtypeUInt8 = 1;
constexpr quint32 kDtypeFloat32 = 2;
constexpr quint32 kMaxClasses = 1'000'000;
constexpr qint64 kMaxDim = 65536;
constexpr qint64 kMaxCount = qint64(1) << 31;
constexpr quint32 kMaxNameBytes = 1024;

quint32 crcOf(const char *p, qint64 n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        const uInt chunk = uInt(std::min<qint64>(n, qint64(1) << 30));
        crc = crc32(crc, reinterpret_cast<const Bytef *>(p), chunk);
        p += chunk;
        n -= chunk;
    }
    return quint32(crc);
}

void appendU32(QByteArray *b, quint32 v)
{
    char buf[4];
    qToLittleEndian(v, buf);
    b->append(buf, 4);
}

void appendI64(QByteArray *b, qint64 v)
{
    char buf[8];
    qToLittleEndian(v, buf);
    b->append(buf, 8);
}

quint32 u32At(const QByteArray &b, qint64 pos)
{
    return qFromLittleEndian<quint32>(b.constData() + pos);
}

} // namespace

bool writeTensorFile(const QString &path, const torch::Tensor &inputs,
                     const torch::Tensor &targets, int numClasses, const QStringList &classNames,
                     QString *error)
{
    const QString name = QDir::toNativeSeparators(path);
    try {
        if (!inputs.defined() || inputs.dim() < 2 || inputs.dim() > 5) {
            setError(error, QStringLiteral("%1: inputs must have 2..5 dimensions [N, ...]").arg(name));
            return false;
        }
        const int64_t n = inputs.size(0);
        if (n < 1 || n > kMaxCount) {
            setError(error, QStringLiteral("%1: %2 samples: expected 1..%3").arg(name).arg(n).arg(kMaxCount));
            return false;
        }
        for (int64_t i = 1; i < inputs.dim(); ++i) {
            if (inputs.size(i) < 1 || inputs.size(i) > kMaxDim) {
                setError(error, QStringLiteral("%1: input dimension %2 is %3: expected 1..%4")
                                    .arg(name)
                                    .arg(i)
                                    .arg(inputs.size(i))
                                    .arg(kMaxDim));
                return false;
            }
        }
        if (!targets.defined() || targets.dim() != 1 || targets.size(0) != n ||
            torch::isFloatingType(targets.scalar_type())) {
            setError(error, QStringLiteral("%1: targets must be integers of shape [%2]").arg(name).arg(n));
            return false;
        }
        if (numClasses < 1 || quint32(numClasses) > kMaxClasses) {
            setError(error, QStringLiteral("%1: %2 classes: expected 1..%3").arg(name).arg(numClasses).arg(kMaxClasses));
            return false;
        }
        if (!classNames.isEmpty() && classNames.size() != numClasses) {
            setError(error, QStringLiteral("%1: %2 class names for %3 classes: expected none or one "
                                           "per class")
                                .arg(name)
                                .arg(classNames.size())
                                .arg(numClasses));
            return false;
        }
        const torch::Tensor labels = targets.to(torch::kCPU, torch::kInt32).contiguous();
        const int64_t lo = labels.min().item<int64_t>();
        const int64_t hi = labels.max().item<int64_t>();
        if (lo < 0 || hi >= numClasses) {
            setError(error, QStringLiteral("%1: label %2 is out of range: expected 0..%3")
                                .arg(name)
                                .arg(lo < 0 ? lo : hi)
                                .arg(numClasses - 1));
            return false;
        }
        const bool bytes = inputs.scalar_type() == torch::kUInt8;
        if (!bytes && !torch::isFloatingType(inputs.scalar_type())) {
            setError(error, QStringLiteral("%1: inputs must be uint8 or floating point").arg(name));
            return false;
        }
        const torch::Tensor data =
            inputs.to(torch::kCPU, bytes ? torch::kUInt8 : torch::kFloat32).contiguous();
        if (!bytes && !torch::isfinite(data).all().item<bool>()) {
            setError(error, QStringLiteral("%1: inputs hold NaN or infinite values").arg(name));
            return false;
        }

        QByteArray out;
        out.append(kMagic, 8);
        appendU32(&out, kTensorFileVersion);
        appendU32(&out, bytes ? kDtypeUInt8 : kDtypeFloat32);
        appendU32(&out, quint32(data.dim()));
        appendU32(&out, quint32(numClasses));
        appendU32(&out, quint32(classNames.size()));
        appendU32(&out, 0);
        for (int64_t d : data.sizes())
            appendI64(&out, d);
        for (const QString &c : classNames) {
            const QByteArray utf8 = c.toUtf8();
            if (utf8.size() > qsizetype(kMaxNameBytes)) {
                setError(error, QStringLiteral("%1: class name '%2' is longer than %3 bytes")
                                    .arg(name, c.left(40))
                                    .arg(kMaxNameBytes));
                return false;
            }
            appendU32(&out, quint32(utf8.size()));
            out.append(utf8);
        }
        out.append(static_cast<const char *>(data.data_ptr()), qsizetype(data.nbytes()));
        out.append(static_cast<const char *>(labels.data_ptr()), qsizetype(labels.nbytes()));
        appendU32(&out, crcOf(out.constData(), out.size()));

        QSaveFile f(path);
        if (!f.open(QIODevice::WriteOnly) || f.write(out) != out.size() || !f.commit()) {
            setError(error, QStringLiteral("%1: cannot write: %2").arg(name, f.errorString()));
            return false;
        }
        return true;
    } catch (const std::exception &e) {
        setError(error, QStringLiteral("%1: %2").arg(name, QString::fromUtf8(e.what())));
        return false;
    }
}

bool writeTensorFile(const QString &path, const Dataset &data, QString *error)
{
    return writeTensorFile(path, data.inputs, data.targets, data.numClasses, data.classNames, error);
}

std::optional<Dataset> readTensorFile(const QString &path, QString *error,
                                      QList<DataFileRecord> *files)
{
    const QString name = QDir::toNativeSeparators(path);
    const std::optional<DataFile> file = readDataFile(path, error);
    if (!file)
        return std::nullopt;
    const QByteArray &b = file->bytes;
    const qint64 size = b.size();
    auto truncated = [&](qint64 need, const QString &what) {
        setError(error, QStringLiteral("%1: truncated at byte %2: expected %3 bytes (%4)")
                            .arg(name)
                            .arg(size)
                            .arg(need)
                            .arg(what));
        return std::nullopt;
    };
    if (size < kFixedHeader)
        return truncated(kFixedHeader, QStringLiteral("the 32-byte fixed header"));
    if (std::memcmp(b.constData(), kMagic, 8) != 0) {
        setError(error, QStringLiteral("%1: bad magic at byte 0: expected \"JBTENSOR\"; is this a "
                                       "JouleBench tensor file (docs/datasets.md)?")
                            .arg(name));
        return std::nullopt;
    }
    const quint32 version = u32At(b, 8);
    if (version != kTensorFileVersion) {
        setError(error, QStringLiteral("%1: version %2 at byte 8: this JouleBench reads version %3%4")
                            .arg(name)
                            .arg(version)
                            .arg(kTensorFileVersion)
                            .arg(version > kTensorFileVersion
                                     ? QStringLiteral("; update JouleBench or write the file "
                                                      "again with version %1")
                                           .arg(kTensorFileVersion)
                                     : QString()));
        return std::nullopt;
    }
    const quint32 dtype = u32At(b, 12);
    const quint32 ndim = u32At(b, 16);
    const quint32 numClasses = u32At(b, 20);
    const quint32 nameCount = u32At(b, 24);
    const quint32 reserved = u32At(b, 28);
    auto bad = [&](qint64 offset, const QString &field, qint64 value, const QString &expected) {
        setError(error, QStringLiteral("%1: %2 is %3 at byte %4: expected %5")
                            .arg(name, field)
                            .arg(value)
                            .arg(offset)
                            .arg(expected));
        return std::nullopt;
    };
    if (dtype != kDtypeUInt8 && dtype != kDtypeFloat32)
        return bad(12, QStringLiteral("dtype"), dtype, QStringLiteral("1 (uint8) or 2 (float32)"));
    if (ndim < 2 || ndim > 5)
        return bad(16, QStringLiteral("ndim"), ndim, QStringLiteral("2..5"));
    if (numClasses < 1 || numClasses > kMaxClasses)
        return bad(20, QStringLiteral("numClasses"), numClasses,
                   QStringLiteral("1..%1").arg(kMaxClasses));
    if (nameCount != 0 && nameCount != numClasses)
        return bad(24, QStringLiteral("the class-name count"), nameCount,
                   QStringLiteral("0 or numClasses (%1)").arg(numClasses));
    if (reserved != 0)
        return bad(28, QStringLiteral("the reserved field"), reserved, QStringLiteral("0"));
    qint64 pos = kFixedHeader;
    if (size < pos + 8 * qint64(ndim))
        return truncated(pos + 8 * qint64(ndim), QStringLiteral("%1 dimension sizes").arg(ndim));
    std::vector<int64_t> dims;
    qint64 sampleElements = 1;
    for (quint32 i = 0; i < ndim; ++i, pos += 8) {
        const qint64 d = qFromLittleEndian<qint64>(b.constData() + pos);
        const qint64 limit = i == 0 ? kMaxCount : kMaxDim;
        if (d < 1 || d > limit)
            return bad(pos, QStringLiteral("dimension %1").arg(i), d, QStringLiteral("1..%1").arg(limit));
        dims.push_back(d);
        if (i > 0)
            sampleElements *= d;
    }
    // Bounded: sampleElements <= 65536^4 = 2^64 would overflow, so check before using it.
    if (sampleElements > (qint64(1) << 32))
        return bad(32, QStringLiteral("the sample size"), sampleElements,
                   QStringLiteral("at most 2^32 elements per sample"));
    QStringList classNames;
    for (quint32 i = 0; i < nameCount; ++i) {
        if (size < pos + 4)
            return truncated(pos + 4, QStringLiteral("the length of class name %1").arg(i));
        const quint32 len = u32At(b, pos);
        if (len > kMaxNameBytes)
            return bad(pos, QStringLiteral("the length of class name %1").arg(i), len,
                       QStringLiteral("0..%1").arg(kMaxNameBytes));
        pos += 4;
        if (size < pos + len)
            return truncated(pos + len, QStringLiteral("class name %1").arg(i));
        classNames << QString::fromUtf8(b.constData() + pos, len);
        pos += len;
    }
    const qint64 n = dims[0];
    const qint64 width = dtype == kDtypeUInt8 ? 1 : 4;
    // sampleElements x width <= 2^34: compare per sample before multiplying by n (no overflow).
    if (sampleElements * width > (size - pos) / n) {
        setError(error, QStringLiteral("%1: truncated at byte %2: expected %3 samples x %4 %5 "
                                       "values after byte %6, then labels and CRC")
                            .arg(name)
                            .arg(size)
                            .arg(n)
                            .arg(sampleElements)
                            .arg(dtype == kDtypeUInt8 ? QStringLiteral("uint8")
                                                      : QStringLiteral("float32"))
                            .arg(pos));
        return std::nullopt;
    }
    const qint64 dataBytes = n * sampleElements * width;
    const qint64 expected = pos + dataBytes + 4 * n + 4;
    const QString layout = QStringLiteral("header, %1 samples of %2 %3 values, %1 labels, CRC")
                               .arg(n)
                               .arg(sampleElements)
                               .arg(dtype == kDtypeUInt8 ? QStringLiteral("uint8")
                                                         : QStringLiteral("float32"));
    if (size < expected)
        return truncated(expected, layout);
    if (size > expected) {
        setError(error, QStringLiteral("%1: %2 unexpected bytes after byte %3: expected exactly %3 "
                                       "bytes (%4)")
                            .arg(name)
                            .arg(size - expected)
                            .arg(expected)
                            .arg(layout));
        return std::nullopt;
    }
    const quint32 stored = u32At(b, size - 4);
    const quint32 computed = crcOf(b.constData(), size - 4);
    if (stored != computed) {
        setError(error, QStringLiteral("%1: CRC-32 mismatch: stored 0x%2 at byte %3, computed 0x%4 "
                                       "over bytes 0..%5; the file is corrupt, write it again")
                            .arg(name)
                            .arg(stored, 8, 16, QLatin1Char('0'))
                            .arg(size - 4)
                            .arg(computed, 8, 16, QLatin1Char('0'))
                            .arg(size - 5));
        return std::nullopt;
    }
    const qint64 labelPos = pos + dataBytes;
    for (qint64 i = 0; i < n; ++i) {
        const auto label = qint32(u32At(b, labelPos + 4 * i));
        if (label < 0 || quint32(label) >= numClasses) {
            setError(error, QStringLiteral("%1: label %2 at byte %3 (sample %4) is out of range: "
                                           "expected 0..%5")
                                .arg(name)
                                .arg(label)
                                .arg(labelPos + 4 * i)
                                .arg(i)
                                .arg(numClasses - 1));
            return std::nullopt;
        }
    }
    try {
        Dataset d;
        auto *raw = const_cast<char *>(b.constData() + pos);
        if (dtype == kDtypeUInt8) {
            d.inputs = torch::from_blob(raw, dims, torch::kUInt8).to(torch::kFloat32).div_(255.0);
        } else {
            // The data start at an offset that need not be 4-aligned: copy bytewise first.
            d.inputs = torch::empty(dims, torch::kFloat32);
            std::memcpy(d.inputs.data_ptr(), raw, size_t(dataBytes));
            if (!torch::isfinite(d.inputs).all().item<bool>()) {
                const int64_t first =
                    torch::logical_not(torch::isfinite(d.inputs.reshape({n, -1}))).any(1).nonzero()[0][0].item<int64_t>();
                setError(error, QStringLiteral("%1: sample %2 (from byte %3) holds NaN or infinite "
                                               "values: expected finite float32")
                                    .arg(name)
                                    .arg(first)
                                    .arg(pos + first * sampleElements * 4));
                return std::nullopt;
            }
        }
        d.targets = torch::empty({n}, torch::kInt32);
        std::memcpy(d.targets.data_ptr(), b.constData() + labelPos, size_t(4 * n));
        d.targets = d.targets.to(torch::kInt64);
        d.numClasses = int(numClasses);
        d.classNames = classNames;
        if (files)
            *files << file->record();
        return d;
    } catch (const std::exception &e) {
        setError(error, QStringLiteral("%1: cannot build tensors: %2").arg(name, QString::fromUtf8(e.what())));
        return std::nullopt;
    }
}

} // namespace jb
