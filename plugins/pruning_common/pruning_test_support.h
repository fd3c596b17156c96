// SPDX-License-Identifier: GPL-3.0-or-later
// Helpers shared by the pruning plugins' tests (plugins/prune_*/tst_*.cpp): zoo models, a small
// learnable synthetic data set, and a TechniqueContext that records phases, logs and metrics.
#pragma once

#include "engine/datasets.h"
#include "engine/feedback.h"
#include "engine/spec_model.h"
#include "engine/technique.h"
#include "engine/zoo.h"

#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <torch/torch.h>

#include <map>
#include <memory>
#include <utility>

namespace jb::test {

inline std::unique_ptr<Model> zooModel(const QString &name, uint64_t seed = 1,
                                       std::vector<int64_t> inputShape = {1, 28, 28})
{
    QString error;
    ZooOptions options;
    options.inputShape = std::move(inputShape);
    const auto spec = zooSpec(name, options, &error);
    if (!spec) {
        qWarning("%s", qPrintable(error));
        return nullptr;
    }
    std::unique_ptr<Model> model = SpecModel::create(*spec, seed, &error);
    if (!model)
        qWarning("%s", qPrintable(error));
    return model;
}

/// `n` samples of shape `shape`, labels from a fixed random linear map of the inputs (so a
/// model can learn them), seeded.
inline Dataset syntheticData(int64_t n, std::vector<int64_t> shape, uint64_t seed,
                             const QString &name)
{
    torch::manual_seed(seed);
    std::vector<int64_t> full{n};
    full.insert(full.end(), shape.begin(), shape.end());
    Dataset d;
    d.name = name;
    d.inputs = torch::randn(full);
    int64_t features = 1;
    for (int64_t s : shape)
        features *= s;
    torch::manual_seed(12345); // the same labelling rule for every split
    const torch::Tensor w = torch::randn({features, 10});
    d.targets = d.inputs.reshape({n, features}).matmul(w).argmax(1);
    d.numClasses = 10;
    return d;
}

inline DatasetSplits syntheticSplits(int64_t n = 256, std::vector<int64_t> shape = {1, 28, 28})
{
    DatasetSplits s;
    s.train = syntheticData(n, shape, 1, QStringLiteral("synthetic/train"));
    s.validation = syntheticData(n / 2, shape, 2, QStringLiteral("synthetic/validation"));
    s.test = syntheticData(n / 2, shape, 3, QStringLiteral("synthetic/test"));
    return s;
}

/// What a technique reported through its context.
struct Recorded
{
    QStringList phases;
    std::map<QString, double> metrics;
    QList<std::pair<QString, QJsonObject>> logs;
};

inline TechniqueContext recordingContext(std::unique_ptr<Model> model, const DatasetSplits *data,
                                         Feedback *feedback, Recorded *rec, quint64 seed = 1)
{
    TechniqueContext c;
    c.model = std::move(model);
    c.data = data;
    c.seed = seed;
    c.feedback = feedback;
    c.training.epochs = 1;
    c.training.batchSize = 64;
    c.training.learningRate = 1e-3;
    c.beginPhase = [rec](const QString &name) { rec->phases.append(name); };
    c.log = [rec](const QString &message, const QJsonObject &data) {
        rec->logs.append({message, data});
    };
    c.metric = [rec](const QString &name, double value, const QString &) {
        rec->metrics[name] = value;
    };
    return c;
}

} // namespace jb::test
