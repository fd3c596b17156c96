// SPDX-License-Identifier: GPL-3.0-or-later
// libFuzzer target: the IDX reader (MNIST / Fashion-MNIST images + labels, gzipped or not).
// The input is split into an images file and a labels file. Invariants: no crash, no
// sanitizer report; a success returns consistent shapes and labels in range; a failure names
// one of the two files.
#include "engine/idx_reader.h"
#include "fuzz_support.h"

#include <torch/types.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    using namespace jb;
    const auto [imagesBytes, labelsBytes] = fuzz::splitInput(data, size);
    const QString images = fuzz::writeScratch(QStringLiteral("images-idx3-ubyte"), imagesBytes);
    const QString labels = fuzz::writeScratch(QStringLiteral("labels-idx1-ubyte"), labelsBytes);
    QString error;
    const std::optional<Dataset> ds = readIdx(images, labels, 10, &error);
    if (!ds) {
        if (!error.contains(QStringLiteral("images-idx3-ubyte")) &&
            !error.contains(QStringLiteral("labels-idx1-ubyte")))
            fuzz::invariantFailed("the error names neither file:", error);
        return 0;
    }
    const int64_t n = ds->inputs.size(0);
    if (ds->inputs.dim() != 4 || ds->targets.dim() != 1 || ds->targets.size(0) != n)
        fuzz::invariantFailed("inconsistent shapes");
    if (n > 0 && (ds->targets.min().item<int64_t>() < 0 || ds->targets.max().item<int64_t>() >= 10))
        fuzz::invariantFailed("label out of range");
    return 0;
}
