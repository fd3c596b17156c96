// SPDX-License-Identifier: GPL-3.0-or-later
// libFuzzer target: the CIFAR-10 / CIFAR-100 binary reader. The first input byte picks the
// variant; the rest is one batch file. Invariants: no crash, no sanitizer report; a success
// has whole records, shape [N, 3, 32, 32] and labels in range; a failure names the file.
#include "engine/cifar_reader.h"
#include "fuzz_support.h"

#include <torch/types.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace jb;
    if (size == 0)
        return 0;
    const int classes = (data[0] & 1) ? 100 : 10;
    const QString file = fuzz::writeScratch(
        QStringLiteral("data_batch.bin"),
        QByteArray(reinterpret_cast<const char *>(data + 1), qsizetype(size - 1)));
    QString error;
    const std::optional<Dataset> ds = readCifar({file}, classes, &error);
    if (!ds) {
        if (!error.contains(QStringLiteral("data_batch.bin")))
            fuzz::invariantFailed("the error does not name the file:", error);
        return 0;
    }
    const int64_t n = ds->inputs.size(0);
    if (ds->inputs.sizes() != torch::IntArrayRef({n, 3, 32, 32}) || ds->targets.size(0) != n)
        fuzz::invariantFailed("inconsistent shapes");
    if (n > 0 &&
        (ds->targets.min().item<int64_t>() < 0 || ds->targets.max().item<int64_t>() >= classes))
        fuzz::invariantFailed("label out of range");
    return 0;
}
