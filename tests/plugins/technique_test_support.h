// SPDX-License-Identifier: GPL-3.0-or-later
// Set-up shared by the technique plugins' tests (plugins/*/tst_*.cpp): the plugin under test
// loaded alone into a registry, zoo models, a small learnable synthetic data set, a
// TechniqueContext that records phases, logs and metrics, and the tensor figures several tests
// check (zeros, relative error, top-1 agreement, clone and model-file round trip).
// Everything here runs on the test's thread.
#pragma once

#include "plugin_test_support.h"

#include "engine/backend.h"
#include "engine/datasets.h"
#include "engine/feedback.h"
#include "engine/model_io.h"
#include "engine/plan.h"
#include "engine/runner.h"
#include "engine/spec_model.h"
#include "engine/technique.h"
#include "engine/zoo.h"
#include "database/store.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

#include <ATen/Context.h>
#include <torch/torch.h>

#include <map>
#include <memory>
#include <utility>

namespace jb::test {

/// One technique plugin under test, alone: its library copied into a private temporary folder
/// and a registry that scans only that folder (so the test sees nothing else of the build).
class PluginUnderTest
{
public:
    /// Copies `pluginFile` (the test's JB_PLUGIN_FILE), scans, and checks that the registry
    /// refused nothing and offers exactly `id`. False with *error naming the step that failed.
    bool load(const QString &pluginFile, const QString &id, QString *error)
    {
        if (!m_dir.isValid()) {
            *error = QStringLiteral("temporary folder: %1").arg(m_dir.errorString());
            return false;
        }
        if (copyPlugin(pluginFile, m_dir.path()).isEmpty()) {
            *error = QStringLiteral("cannot copy %1 into %2").arg(pluginFile, m_dir.path());
            return false;
        }
        m_registry = scannedRegistry({m_dir.path()});
        if (!m_registry->rejected().isEmpty()) {
            *error = m_registry->rejected().value(0).message;
            return false;
        }
        if (m_registry->ids() != QStringList{id}) {
            *error = QStringLiteral("the registry offers [%1], expected [%2]")
                         .arg(m_registry->ids().join(u", "), id);
            return false;
        }
        m_id = id;
        return true;
    }

    /// The registry holding only this plugin (after load()).
    TechniqueRegistry &registry() const { return *m_registry; }
    /// The plugin's metadata as the registry read it (after load()).
    std::optional<TechniquePluginInfo> info() const { return m_registry->plugin(m_id); }

    /// A fresh instance with `params`; null with *error when the registry refuses them.
    std::unique_ptr<Technique> create(const QJsonObject &params, QString *error) const
    {
        return m_registry->create(m_id, params, error);
    }
    /// A fresh instance with `params`; null (and the registry's message as a warning) when
    /// refused, for tests that only go on with a technique.
    std::unique_ptr<Technique> create(const QJsonObject &params) const
    {
        QString error;
        auto t = create(params, &error);
        if (!t)
            qWarning("%s", qPrintable(error));
        return t;
    }

    /// A fresh instance with `params`, applied to `c`. False with *error when the registry
    /// refuses the params or apply() fails (for tests of a successful run).
    bool createAndApply(const QJsonObject &params, TechniqueContext &c, QString *error) const
    {
        auto technique = create(params, error);
        return technique && technique->apply(c, error);
    }

private:
    QTemporaryDir m_dir;
    std::unique_ptr<TechniqueRegistry> m_registry;
    QString m_id;
};

/// A zoo model built from its spec with `seed`; null (and a warning) when the zoo refuses.
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

/// A context for `model` and `data` (may be null) that records into `rec`: 1 epoch of batches
/// of 64 at learning rate 1e-3, the default backend.
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

/// The backend a test names ("cpu:1"); aborts the test on a typo, which is the test's bug.
inline Backend parsedBackend(const QString &text)
{
    QString error;
    const auto backend = Backend::parse(text, &error);
    if (!backend)
        qFatal("%s", qPrintable(error));
    return *backend;
}

/// recordingContext() on backend "cpu:1" (one thread), as the quantization tests run.
inline TechniqueContext cpuRecordingContext(std::unique_ptr<Model> model, const DatasetSplits *data,
                                            Recorded *rec, quint64 seed = 1)
{
    TechniqueContext c = recordingContext(std::move(model), data, nullptr, rec, seed);
    c.backend = parsedBackend(QStringLiteral("cpu:1"));
    return c;
}

/// Elements of `t` that are exactly zero.
inline int64_t zeroCount(const torch::Tensor &t)
{
    return t.numel() - t.count_nonzero().item<int64_t>();
}

/// The prunable weights of a model (parameters with 2 or more dimensions): how many, and how
/// many of them are zero.
struct WeightCount
{
    int64_t total = 0;
    int64_t zeros = 0;
};

inline WeightCount prunableWeights(const Model &model)
{
    WeightCount n;
    for (const auto &[name, t] : model.namedParameters()) {
        if (t.dim() < 2)
            continue;
        n.total += t.numel();
        n.zeros += zeroCount(t.detach());
    }
    return n;
}

/// ||a - ref|| / ||ref||.
inline double relativeError(const torch::Tensor &a, const torch::Tensor &ref)
{
    return (a - ref).norm().item<double>() / ref.norm().item<double>();
}

/// The fraction of rows whose arg-max (top-1 class) is the same in `logits` and `ref`.
inline double top1Agreement(const torch::Tensor &logits, const torch::Tensor &ref)
{
    return logits.argmax(1).eq(ref.argmax(1)).to(torch::kDouble).mean().item<double>();
}

/// The quantized engines this libtorch offers, by the names params.engine uses.
inline QStringList quantizedEngineNames()
{
    QStringList names;
    for (c10::QEngine e : at::globalContext().supportedQEngines()) {
        if (e == c10::QEngine::ONEDNN)
            names << QStringLiteral("onednn");
        if (e == c10::QEngine::QNNPACK)
            names << QStringLiteral("qnnpack");
    }
    return names;
}

/// Checks that a clone of `model` and the model read back from its model file both give `y`
/// for the input `x`. False with *error naming the step that failed.
inline bool survivesCloneAndModelFile(const Model &model, const torch::Tensor &x,
                                      const torch::Tensor &y, QString *error)
{
    auto copy = model.clone(error);
    if (!copy)
        return false;
    if (!torch::allclose(copy->forward(x), y)) {
        *error = QStringLiteral("the clone's output differs from the model's");
        return false;
    }
    const auto bytes = serializeModel(model, error);
    if (!bytes)
        return false;
    auto loaded = deserializeModel(*bytes, QStringLiteral("memory"), error);
    if (!loaded)
        return false;
    if (!torch::allclose(loaded->forward(x), y)) {
        *error = QStringLiteral("the model read back from its file gives another output");
        return false;
    }
    return true;
}

/// Runs a plan given as JSON text through ExperimentRunner into `databasePath`, with the
/// estimate meter and the techniques of `registry` (an end-to-end run of a plugin). Returns
/// the outcome, or nullopt with *error (the plan's problems, or why the run could not start).
inline std::optional<ExperimentOutcome> runPlanText(const char *planJson,
                                                    TechniqueRegistry &registry,
                                                    const QString &databasePath, QString *error)
{
    QStringList errors;
    const auto plan = Plan::fromJson(QJsonDocument::fromJson(planJson).object(), &errors);
    if (!plan) {
        *error = errors.join(u'\n');
        return std::nullopt;
    }
    RunnerOptions o;
    o.databasePath = databasePath;
    o.meters = {QStringLiteral("estimate")};
    o.techniqueFactory = [&registry](const PlanStep &step, QString *e) {
        return registry.create(step.plugin, step.params, e);
    };
    ExperimentRunner runner(*plan, o);
    return runner.run(error);
}

/// The stored value of metric `name` of run `runId` (in `phase` when it is not empty), or
/// nullopt when there is none.
inline std::optional<double> storedMetric(db::Store &store, qint64 runId, const QString &name,
                                          const QString &phase = QString())
{
    const auto records = store.metrics(runId, nullptr); // kept alive for the loop
    if (records)
        for (const db::MetricRecord &m : *records)
            if (m.name == name && (phase.isEmpty() || m.phase == phase))
                return m.value;
    return std::nullopt;
}

} // namespace jb::test
