// SPDX-License-Identifier: GPL-3.0-or-later
#include "cifar_reader.h"

#include "idx_reader.h"

#include <QDir>

#include <torch/torch.h>

namespace jb {

namespace {

void setError(QString *error, const QString &message)
{
    if (error)
        *error = message;
}

constexpr int64_t kImageBytes = 3 * 32 * 32;

} // namespace

std::optional<Dataset> readCifar(const QStringList &batchFiles, int numClasses, QString *error,
                                 QList<DataFileRecord> *files)
{
    if (numClasses != 10 && numClasses != 100) {
        setError(error, QStringLiteral("readCifar: %1 classes: expected 10 (CIFAR-10) or 100 "
                                       "(CIFAR-100)")
                            .arg(numClasses));
        return std::nullopt;
    }
    if (batchFiles.isEmpty()) {
        setError(error, QStringLiteral("readCifar: no files given"));
        return std::nullopt;
    }
    const int labelBytes = numClasses == 10 ? 1 : 2;
    const int64_t record = labelBytes + kImageBytes;
    const QString layout =
        numClasses == 10
            ? QStringLiteral("CIFAR-10 records of 1 label byte + 3 x 32 x 32 image bytes")
            : QStringLiteral("CIFAR-100 records of 1 coarse + 1 fine label byte + 3 x 32 x 32 "
                             "image bytes");
    std::vector<torch::Tensor> images, labels;
    QList<DataFileRecord> read;
    try {
        for (const QString &path : batchFiles) {
            const QString name = QDir::toNativeSeparators(path);
            std::optional<DataFile> f = readDataFile(path, error);
            if (!f)
                return std::nullopt;
            const int64_t size = f->bytes.size();
            if (size == 0 || size % record != 0) {
                const int64_t whole = size / record;
                setError(error, QStringLiteral("%1: truncated at byte %2: expected a multiple of "
                                               "%3 bytes (%4); record %5 is incomplete, %6 of %3 "
                                               "bytes%7")
                                    .arg(name)
                                    .arg(size)
                                    .arg(record)
                                    .arg(layout)
                                    .arg(whole)
                                    .arg(size - whole * record)
                                    .arg(numClasses == 10 && size % (record + 1) == 0
                                             ? QStringLiteral("; the size fits CIFAR-100: is this "
                                                              "a CIFAR-100 file?")
                                         : numClasses == 100 && size % (record - 1) == 0
                                             ? QStringLiteral("; the size fits CIFAR-10: is this "
                                                              "a CIFAR-10 file?")
                                             : QString()));
                return std::nullopt;
            }
            const int64_t n = size / record;
            const auto *b = reinterpret_cast<const uchar *>(f->bytes.constData());
            for (int64_t i = 0; i < n; ++i) {
                const uchar *r = b + i * record;
                const int fine = r[labelBytes - 1];
                const bool bad = fine >= numClasses || (labelBytes == 2 && r[0] >= 20);
                if (bad) {
                    const bool coarse = labelBytes == 2 && r[0] >= 20;
                    setError(error,
                             QStringLiteral("%1: %2 label %3 at byte %4 (record %5) is out of range: "
                                            "expected 0..%6 (%7)")
                                 .arg(name,
                                      coarse ? QStringLiteral("coarse")
                                             : (labelBytes == 2 ? QStringLiteral("fine")
                                                                : QStringLiteral("the")))
                                 .arg(coarse ? r[0] : fine)
                                 .arg(i * record + (coarse ? 0 : labelBytes - 1))
                                 .arg(i)
                                 .arg(coarse ? 19 : numClasses - 1)
                                 .arg(layout));
                    return std::nullopt;
                }
            }
            const torch::Tensor all =
                torch::from_blob(const_cast<char *>(f->bytes.constData()), {n, record}, torch::kUInt8);
            images.push_back(all.narrow(1, labelBytes, kImageBytes)
                                 .to(torch::kFloat32)
                                 .div_(255.0)
                                 .reshape({n, 3, 32, 32}));
            labels.push_back(all.select(1, labelBytes - 1).to(torch::kInt64));
            read << f->record();
        }
        Dataset d;
        d.inputs = images.size() == 1 ? images[0] : torch::cat(images, 0);
        d.targets = labels.size() == 1 ? labels[0] : torch::cat(labels, 0);
        d.numClasses = numClasses;
        if (files)
            *files << read;
        return d;
    } catch (const std::exception &e) {
        setError(error, QStringLiteral("%1: cannot build tensors: %2")
                            .arg(QDir::toNativeSeparators(batchFiles.first()),
                                 QString::fromUtf8(e.what())));
        return std::nullopt;
    }
}

} // namespace jb
