// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "dataset.h"

#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>
#include <vector>

namespace jb {

/// Which data set to load and how to split it; part of an experiment plan.
struct DatasetConfig
{
    /// A name from knownDatasets(): "fashion-mnist", "mnist", "cifar10", "cifar100", "tensor".
    QString name = QStringLiteral("fashion-mnist");
    /// Folder holding the files; empty = search the default places of the data set (see
    /// DatasetInfo::searchDirs). For "tensor": a folder with train.jbt and test.jbt.
    QString path;
    /// Fraction of the training pool held out as the validation split, per class (stratified:
    /// every class gives round(fraction x its count)), chosen by a seeded shuffle. 0 = none.
    double validationFraction = 0.1;
    /// Seeds every shuffle here (limits, validation split); same seed, same splits, on every
    /// platform (own Fisher-Yates over std::mt19937_64, not std::shuffle or torch's RNG).
    quint64 seed = 0;
    /// Subsets for fast tests and CI: when > 0, the training pool (before the validation split)
    /// or the test split is the first k samples of a seeded shuffle, kept in file order.
    qint64 trainLimit = -1;
    qint64 testLimit = -1;
    /// Normalise every split with the per-channel mean/std of the training split.
    bool normalize = true;
};

/// The three splits of a loaded data set and everything needed to record and reproduce them.
struct DatasetSplits
{
    Dataset train, validation, test;
    /// Per-channel statistics of the training split (before normalisation), population std.
    /// Applied to all splits when DatasetConfig::normalize; empty when not normalised.
    std::vector<float> mean, std;
    QString source;               ///< one line for logs: data set, folder, sizes
    QList<DataFileRecord> files;  ///< every file read
    DatasetConfig config;         ///< the configuration that produced these splits

    /// Everything above except the tensors, for the run record (config, sizes, shapes, mean/std,
    /// files with sizes and CRC-32).
    QJsonObject toJson() const;
};

/// A data set the loader knows by name (a registry, so the GUI and CLI can list them).
struct DatasetInfo
{
    QString name;            ///< "fashion-mnist"
    QString description;     ///< one line
    QStringList files;       ///< the files expected in the folder (gzip or not, for IDX)
    QStringList searchDirs;  ///< where an empty DatasetConfig::path looks, in order
    QString whereToGet;      ///< how to obtain the files (package or URL)
    int numClasses = 0;
};

/// All named data sets, sorted by name. Any thread.
QList<DatasetInfo> knownDatasets();
std::optional<DatasetInfo> findDataset(const QString &name);

/// Loads a named data set and builds train/validation/test splits as configured. Fails with a
/// message that names the file and the fix (missing files: which ones, where searched, where to
/// get them). Loading Fashion-MNIST (70k images, default config) measured 0.56 s on a quiet
/// 2-vCPU VM, 0.8-1.0 s with that VM heavily loaded (docs/datasets.md). Any thread; one call
/// does not share state with another. libtorch errors are caught and returned.
bool loadDatasetSplits(const DatasetConfig &config, DatasetSplits *out, QString *error);

/// Builds the splits from already loaded data (what loadDatasetSplits does after reading):
/// limits, stratified validation split, normalisation. `trainPool` and `test` are consumed.
bool makeSplits(Dataset trainPool, Dataset test, const DatasetConfig &config, DatasetSplits *out,
                QString *error);

/// The samples at `indices` (int64 [k], any order, repeats allowed), copied. Fails when an
/// index is out of range or indices is not a 1-D integer tensor. Data-selection plugins use it.
std::optional<Dataset> subset(const Dataset &d, const torch::Tensor &indices, QString *error);
std::optional<Dataset> subset(const Dataset &d, const std::vector<int64_t> &indices,
                              QString *error);

/// Per-channel mean and population standard deviation of d.inputs ([N, C, ...], channel = dim 1;
/// [N, F] counts as one channel), accumulated in double, in chunks (no full-size temporaries).
bool channelStats(const Dataset &d, std::vector<float> *mean, std::vector<float> *std,
                  QString *error);
/// In place: inputs[:, c] = (inputs[:, c] - mean[c]) / std[c]. Fails on a channel-count
/// mismatch or a std <= 0.
bool normalize(Dataset *d, const std::vector<float> &mean, const std::vector<float> &std,
               QString *error);

/// A seeded permutation of 0..n-1 (Fisher-Yates over std::mt19937_64, portable).
std::vector<int64_t> seededPermutation(int64_t n, quint64 seed);

/// Batches of a Dataset for training and evaluation, taken by index from the in-memory tensors.
/// Without shuffle a batch is a zero-copy slice; with shuffle each epoch draws a new seeded
/// permutation (seed mixed with the epoch number) and a batch is one index_select (a copy of
/// batchSize samples: measured 41-58 us per batch of 64 Fashion-MNIST images, 0.6-1.2 % of a
/// LeNet-5 training step; bench_data). The last short batch is returned unless dropLast. The
/// iterator keeps a shallow copy of the Dataset (shared tensors, no data copied). One thread
/// uses an iterator. Throws std::invalid_argument for batchSize < 1.
class BatchIterator
{
public:
    BatchIterator(const Dataset &data, int64_t batchSize, bool shuffle, quint64 seed = 0,
                  bool dropLast = false);

    /// Next batch of this epoch: x [B, ...] float32, y [B] int64. Returns false at the end of
    /// the epoch (x, y untouched); the following call starts the next epoch.
    bool next(torch::Tensor *x, torch::Tensor *y);
    /// Starts a new epoch now (a fresh permutation when shuffling).
    void startEpoch();

    int64_t batchesPerEpoch() const;
    int64_t epoch() const { return m_epoch; } ///< 0 before the first batch, then 1, 2, ...
    int64_t batchSize() const { return m_batchSize; }

private:
    Dataset m_data; ///< shallow copy: the tensors are shared with the caller's Dataset
    int64_t m_batchSize;
    bool m_shuffle;
    quint64 m_seed;
    bool m_dropLast;
    int64_t m_epoch = 0;
    int64_t m_pos = 0;
    bool m_atEnd = true;
    torch::Tensor m_order; ///< int64 permutation of the current epoch (shuffle only)
};

} // namespace jb
