// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "arch_spec.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>
#include <vector>

namespace jb {

/// What a zoo entry is built for: the data set's sample shape and class count, and a width
/// multiplier (distillation students, growing, NAS) that scales every hidden width — conv
/// channels and hidden linear features, rounded, at least 1 — but not the class count.
struct ZooOptions
{
    std::vector<int64_t> inputShape = {1, 28, 28};
    int64_t numClasses = 10;
    double width = 1.0;
};

/// One entry of the zoo.
struct ZooEntry
{
    QString name;           ///< "lenet5"
    QString description;    ///< one line for lists and the GUI
    bool needsImage = true; ///< needs an input [C, H, W] (false: any shape, it flattens)
};

/// All zoo entries, in a fixed order: mlp, mlp-wide, lenet5, cnn-small, vgg-cifar, resnet20,
/// mobilenet-cifar. Thread-safe (immutable table).
const QList<ZooEntry> &zooEntries();
QStringList zooModelNames();

/// The spec of a zoo entry for the given data shape, validated (shape inference). Fails for an
/// unknown name (listing the known ones), a width <= 0, or an input too small for the entry's
/// pooling (the error names the layer). Any thread.
std::optional<ArchSpec> zooSpec(const QString &name, const ZooOptions &options, QString *error);

} // namespace jb
