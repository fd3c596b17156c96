// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "backend.h"
#include "database/store_types.h"
#include "datasets.h"
#include "model.h"
#include "plan.h"
#include "trainer.h"

#include <QHash>
#include <QJsonObject>
#include <QString>

#include <memory>
#include <optional>

namespace jb {

namespace db {
class Store;
}

/// Where a cached training came from: the run that trained it and its figures' identity.
struct CachedTraining
{
    QString hash;          ///< BaselineCache::key() of the training
    qint64 sourceRunId = 0; ///< the run (in the same database) whose train phase it is
    QString sourceKey;     ///< "<configKey>#<repetition>" of that run: stable across merges
    QString planHash;      ///< plan hash of that run's experiment
    QString file;          ///< the model file on disk; empty when kept in memory only
    int epochs = 0;
    qint64 samplesSeen = 0;
    double trainSeconds = 0;

    QJsonObject toJson() const;
    static std::optional<CachedTraining> fromJson(const QJsonObject &json);
};

/// Trained baselines, so the runs of a plan (and a resumed or later experiment on the same
/// database) do not train the same model again. Kept in memory for the process, and as model
/// files `<dir>/<hash>.jbm` (trained weights) and `<dir>/<hash>.init.jbm` (weights before
/// training, for techniques that rewind) written with model_io, whose metadata holds the
/// CachedTraining record.
///
/// The cache only stores models; whether a reuse is valid (the source run and its train
/// phase exist in the database) is decided by the runner, which records every reuse.
///
/// Threads: one thread (the runner's).
class BaselineCache
{
public:
    /// `dir` empty: memory only.
    explicit BaselineCache(QString dir = {});
    ~BaselineCache();
    BaselineCache(const BaselineCache &) = delete;
    BaselineCache &operator=(const BaselineCache &) = delete;

    QString directory() const { return m_dir; }

    /// The cache key of a training: sha256 (hex) of the compact sorted JSON of `identity`
    /// (model spec or TorchScript file hash, data set record, training options, backend,
    /// libtorch version; see the runner) under "cacheVersion": 1.
    static QString key(const QJsonObject &identity);
    /// `<dir>/<hash>.jbm`.
    QString fileFor(const QString &hash) const;

    /// A trained model and its initial weights, independent copies for one run.
    struct Checkout
    {
        CachedTraining info;
        std::unique_ptr<Model> model;
        NamedTensors initialState;
        bool fromDisk = false;
    };

    /// Memory first, then the files. Returns nullopt when there is no usable entry; *note
    /// (may be null) then says why a file that exists was not used (corrupt, other hash).
    std::optional<Checkout> checkout(const QString &hash, QString *note);

    /// checkout(), accepted only when `store` holds the source run (same configuration key
    /// and repetition) and its measured train phase, which is returned in *sourceTrain: the
    /// figures a reuse records. Otherwise the entry is dropped and *note says why.
    std::optional<Checkout> checkoutRecorded(const QString &hash, const db::Store &store,
                                             db::PhaseRecord *sourceTrain, QString *note);

    /// Keeps a copy of `trained` and `initialState` in memory and, with a directory, writes
    /// both files atomically. On a write failure the memory entry is still kept and *error
    /// says what failed (the caller logs it; the run goes on).
    bool put(const CachedTraining &info, const Model &trained, const NamedTensors &initialState,
             QString *error);

    /// Drops the memory entry (e.g. when its source run turned out not to be usable).
    void forget(const QString &hash);

private:
    struct Entry
    {
        CachedTraining info;
        std::unique_ptr<Model> model;
        NamedTensors initialState;
    };

    QString m_dir;
    QHash<QString, std::shared_ptr<Entry>> m_entries;
};

/// The plan's training settings as Trainer options on `backend`'s device.
TrainOptions baselineTrainOptions(const PlanTraining &training, const Backend &backend);

/// The plan's baseline model, untrained: the zoo entry built for the data set's sample shape
/// and class count with the training seed, or the TorchScript file (relative to the plan
/// file). Any thread; nullptr with *error.
std::unique_ptr<Model> buildBaselineModel(const Plan &plan, const QString &planFilePath,
                                          const DatasetSplits &splits, QString *error);

/// What identifies a training for BaselineCache::key(): the model (zoo spec as JSON, or the
/// TorchScript file's sha256), the data set record (DatasetSplits::toJson: configuration,
/// split sizes, files with CRC-32), the training settings, the backend string and the libtorch
/// version. Fails when the spec cannot be built or the TorchScript file cannot be read.
std::optional<QJsonObject> trainingIdentity(const Plan &plan, const QString &planFilePath,
                                            const DatasetSplits &splits,
                                            const QString &backendId,
                                            const QString &torchVersion, QString *error);

/// Deep copies of tensors (Model::state() aliases the model's storage).
NamedTensors cloneTensors(const NamedTensors &tensors);

} // namespace jb
