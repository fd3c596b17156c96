// SPDX-License-Identifier: GPL-3.0-or-later
#include "datasets.h"

#include "cifar_reader.h"
#include "engine_log.h"
#include "idx_reader.h"
#include "tensor_file.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QStandardPaths>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace jb {

namespace {

void setError(QString *error, const QString &message)
{
    if (error)
        *error = message;
}

/// splitmix64: derives independent seeds for the separate shuffles from one user seed.
quint64 mixSeed(quint64 seed, quint64 stream)
{
    quint64 z = seed + 0x9e3779b97f4a7c15ull * (stream + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

enum SeedStream : quint64 { StreamTrainLimit = 1, StreamTestLimit = 2, StreamValidation = 3,
                            StreamEpoch = 1000 };

/// Loads the training pool and the test split of one named data set from `dir`.
using Loader = bool (*)(const DatasetInfo &info, const QString &dir, Dataset *trainPool,
                        Dataset *test, QList<DataFileRecord> *files, QString *error);

struct Entry
{
    DatasetInfo info;
    Loader load = nullptr;
    QStringList classNames;
};

QString userDataDir(const QString &sub)
{
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) +
           QStringLiteral("/joulebench/datasets/") + sub;
}

QStringList defaultDirs(const QString &sub, bool debianPackage)
{
    QStringList dirs;
    const QString env = qEnvironmentVariable("JOULEBENCH_DATA_DIR");
    if (!env.isEmpty())
        dirs << env + QLatin1Char('/') + sub;
    dirs << userDataDir(sub);
    if (debianPackage)
        dirs << QStringLiteral("/usr/share/datasets/") + sub;
    return dirs;
}

/// `base` or `base.gz` in dir; empty when neither exists.
QString idxFile(const QString &dir, const QString &base)
{
    for (const QString &name : QStringList{base, base + QStringLiteral(".gz")}) {
        const QString p = dir + QLatin1Char('/') + name;
        if (QFileInfo::exists(p))
            return p;
    }
    return {};
}

/// A damaged file of a downloaded data set: the reader's message (file, byte, expectation)
/// plus the fix.
bool damaged(const DatasetInfo &info, QString *error)
{
    if (error)
        *error += QStringLiteral("; the file is damaged or not data set %1's: get the files "
                                 "again: %2")
                      .arg(info.name, info.whereToGet);
    return false;
}

bool loadIdxPair(const DatasetInfo &info, const QString &dir, Dataset *trainPool, Dataset *test,
                 QList<DataFileRecord> *files, QString *error)
{
    const QStringList bases = {QStringLiteral("train-images-idx3-ubyte"),
                               QStringLiteral("train-labels-idx1-ubyte"),
                               QStringLiteral("t10k-images-idx3-ubyte"),
                               QStringLiteral("t10k-labels-idx1-ubyte")};
    QStringList paths, missing;
    for (const QString &b : bases) {
        paths << idxFile(dir, b);
        if (paths.last().isEmpty())
            missing << b + QStringLiteral("[.gz]");
    }
    if (!missing.isEmpty()) {
        setError(error, QStringLiteral("data set %1: %2 lacks %3; get the files: %4")
                            .arg(info.name, QDir::toNativeSeparators(dir),
                                 missing.join(QStringLiteral(", ")), info.whereToGet));
        return false;
    }
    std::optional<Dataset> train = readIdx(paths[0], paths[1], info.numClasses, error, files);
    if (!train)
        return damaged(info, error);
    std::optional<Dataset> t = readIdx(paths[2], paths[3], info.numClasses, error, files);
    if (!t)
        return damaged(info, error);
    *trainPool = std::move(*train);
    *test = std::move(*t);
    return true;
}

bool loadCifarFolder(const DatasetInfo &info, const QString &dir, Dataset *trainPool,
                     Dataset *test, QList<DataFileRecord> *files, QString *error)
{
    QStringList missing;
    for (const QString &f : info.files) {
        if (!QFileInfo::exists(dir + QLatin1Char('/') + f))
            missing << f;
    }
    if (!missing.isEmpty()) {
        setError(error, QStringLiteral("data set %1: %2 lacks %3 (expected: %4); get the files: %5")
                            .arg(info.name, QDir::toNativeSeparators(dir),
                                 missing.join(QStringLiteral(", ")),
                                 info.files.join(QStringLiteral(", ")), info.whereToGet));
        return false;
    }
    QStringList trainFiles;
    for (const QString &f : info.files.mid(0, info.files.size() - 1))
        trainFiles << dir + QLatin1Char('/') + f;
    std::optional<Dataset> train = readCifar(trainFiles, info.numClasses, error, files);
    if (!train)
        return damaged(info, error);
    std::optional<Dataset> t =
        readCifar({dir + QLatin1Char('/') + info.files.last()}, info.numClasses, error, files);
    if (!t)
        return damaged(info, error);
    *trainPool = std::move(*train);
    *test = std::move(*t);
    // CIFAR-100 names its 100 classes in a text file beside the batches (if the user kept it).
    QFile names(dir + QStringLiteral("/fine_label_names.txt"));
    if (info.numClasses == 100 && names.open(QIODevice::ReadOnly | QIODevice::Text)) {
        QStringList list;
        for (const QByteArray &line : names.readAll().split('\n')) {
            if (!line.trimmed().isEmpty())
                list << QString::fromUtf8(line.trimmed());
        }
        if (list.size() == 100)
            trainPool->classNames = test->classNames = list;
        else
            qCWarning(lcEngine) << names.fileName() << "has" << list.size()
                                << "names, expected 100: class names not used";
    }
    return true;
}

bool loadTensorFolder(const DatasetInfo &info, const QString &dir, Dataset *trainPool,
                      Dataset *test, QList<DataFileRecord> *files, QString *error)
{
    Q_UNUSED(info);
    std::optional<Dataset> train =
        readTensorFile(dir + QStringLiteral("/train.jbt"), error, files);
    if (!train)
        return false;
    std::optional<Dataset> t = readTensorFile(dir + QStringLiteral("/test.jbt"), error, files);
    if (!t)
        return false;
    *trainPool = std::move(*train);
    *test = std::move(*t);
    return true;
}

const QList<Entry> &registry()
{
    static const QList<Entry> entries = [] {
        const QStringList idx = {QStringLiteral("train-images-idx3-ubyte[.gz]"),
                                 QStringLiteral("train-labels-idx1-ubyte[.gz]"),
                                 QStringLiteral("t10k-images-idx3-ubyte[.gz]"),
                                 QStringLiteral("t10k-labels-idx1-ubyte[.gz]")};
        QList<Entry> e;
        e.append({{QStringLiteral("cifar10"),
                   QStringLiteral("CIFAR-10: 50000 + 10000 colour images 3x32x32, 10 classes "
                                  "(binary version)"),
                   {QStringLiteral("data_batch_1.bin"), QStringLiteral("data_batch_2.bin"),
                    QStringLiteral("data_batch_3.bin"), QStringLiteral("data_batch_4.bin"),
                    QStringLiteral("data_batch_5.bin"), QStringLiteral("test_batch.bin")},
                   defaultDirs(QStringLiteral("cifar-10-batches-bin"), false),
                   QStringLiteral("download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz, "
                                  "extract it and pass the cifar-10-batches-bin folder as path "
                                  "(or put it under $JOULEBENCH_DATA_DIR)"),
                   10},
                  loadCifarFolder,
                  {QStringLiteral("airplane"), QStringLiteral("automobile"), QStringLiteral("bird"),
                   QStringLiteral("cat"), QStringLiteral("deer"), QStringLiteral("dog"),
                   QStringLiteral("frog"), QStringLiteral("horse"), QStringLiteral("ship"),
                   QStringLiteral("truck")}});
        e.append({{QStringLiteral("cifar100"),
                   QStringLiteral("CIFAR-100: 50000 + 10000 colour images 3x32x32, 100 fine "
                                  "classes (binary version)"),
                   {QStringLiteral("train.bin"), QStringLiteral("test.bin")},
                   defaultDirs(QStringLiteral("cifar-100-binary"), false),
                   QStringLiteral("download https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz, "
                                  "extract it and pass the cifar-100-binary folder as path "
                                  "(or put it under $JOULEBENCH_DATA_DIR)"),
                   100},
                  loadCifarFolder,
                  {}});
        e.append({{QStringLiteral("fashion-mnist"),
                   QStringLiteral("Fashion-MNIST: 60000 + 10000 grey images 1x28x28 of clothes, "
                                  "10 classes (the default demo data set)"),
                   idx, defaultDirs(QStringLiteral("fashion-mnist"), true),
                   QStringLiteral("apt install dataset-fashion-mnist (installs "
                                  "/usr/share/datasets/fashion-mnist), or download from "
                                  "https://github.com/zalandoresearch/fashion-mnist"),
                   10},
                  loadIdxPair,
                  {QStringLiteral("T-shirt/top"), QStringLiteral("Trouser"),
                   QStringLiteral("Pullover"), QStringLiteral("Dress"), QStringLiteral("Coat"),
                   QStringLiteral("Sandal"), QStringLiteral("Shirt"), QStringLiteral("Sneaker"),
                   QStringLiteral("Bag"), QStringLiteral("Ankle boot")}});
        e.append({{QStringLiteral("mnist"),
                   QStringLiteral("MNIST: 60000 + 10000 grey images 1x28x28 of digits, 10 classes"),
                   idx, defaultDirs(QStringLiteral("mnist"), true),
                   QStringLiteral("download the four IDX files from "
                                  "http://yann.lecun.com/exdb/mnist/ (or a mirror) into the folder"),
                   10},
                  loadIdxPair,
                  {QStringLiteral("0"), QStringLiteral("1"), QStringLiteral("2"),
                   QStringLiteral("3"), QStringLiteral("4"), QStringLiteral("5"),
                   QStringLiteral("6"), QStringLiteral("7"), QStringLiteral("8"),
                   QStringLiteral("9")}});
        e.append({{QStringLiteral("tensor"),
                   QStringLiteral("Custom data: a folder with train.jbt and test.jbt in the "
                                  "JouleBench tensor-file format (docs/datasets.md)"),
                   {QStringLiteral("train.jbt"), QStringLiteral("test.jbt")},
                   {},
                   QStringLiteral("write them with jb::writeTensorFile (docs/datasets.md)"),
                   0},
                  loadTensorFolder,
                  {}});
        return e;
    }();
    return entries;
}

const Entry *findEntry(const QString &name)
{
    for (const Entry &e : registry()) {
        if (e.info.name == name)
            return &e;
    }
    return nullptr;
}

bool checkSameKind(const Dataset &a, const Dataset &b, QString *error)
{
    if (a.sampleShape() != b.sampleShape() || a.numClasses != b.numClasses) {
        auto shape = [](const Dataset &d) {
            QStringList s;
            for (int64_t v : d.sampleShape())
                s << QString::number(v);
            return s.join(QLatin1Char('x'));
        };
        setError(error, QStringLiteral("training data (%1, %2 classes) and test data (%3, %4 "
                                       "classes) differ in sample shape or class count")
                            .arg(shape(a))
                            .arg(a.numClasses)
                            .arg(shape(b))
                            .arg(b.numClasses));
        return false;
    }
    return true;
}

/// The first k of a seeded shuffle of 0..n-1, sorted (file order kept).
std::vector<int64_t> limitedIndices(int64_t n, int64_t k, quint64 seed)
{
    std::vector<int64_t> p = seededPermutation(n, seed);
    p.resize(size_t(k));
    std::sort(p.begin(), p.end());
    return p;
}

QJsonArray floatArray(const std::vector<float> &v)
{
    QJsonArray a;
    for (float f : v)
        a.append(double(f));
    return a;
}

QJsonArray shapeArray(const Dataset &d)
{
    QJsonArray a;
    for (int64_t v : d.sampleShape())
        a.append(qint64(v));
    return a;
}

} // namespace

std::vector<int64_t> seededPermutation(int64_t n, quint64 seed)
{
    std::vector<int64_t> p(size_t(std::max<int64_t>(n, 0)));
    for (int64_t i = 0; i < n; ++i)
        p[size_t(i)] = i;
    std::mt19937_64 rng(seed);
    for (int64_t i = n - 1; i > 0; --i) {
        // Unbiased draw in [0, i] by rejection; std::uniform_int_distribution differs between
        // standard libraries, this does not.
        const quint64 bound = quint64(i) + 1;
        const quint64 limit = std::numeric_limits<quint64>::max() -
                              std::numeric_limits<quint64>::max() % bound;
        quint64 r;
        do {
            r = rng();
        } while (r >= limit);
        std::swap(p[size_t(i)], p[size_t(r % bound)]);
    }
    return p;
}

QList<DatasetInfo> knownDatasets()
{
    QList<DatasetInfo> list;
    for (const Entry &e : registry())
        list << e.info;
    return list;
}

std::optional<DatasetInfo> findDataset(const QString &name)
{
    if (const Entry *e = findEntry(name))
        return e->info;
    return std::nullopt;
}

std::optional<Dataset> subset(const Dataset &d, const torch::Tensor &indices, QString *error)
{
    try {
        if (!indices.defined() || indices.dim() != 1 ||
            !(indices.scalar_type() == torch::kInt64 || indices.scalar_type() == torch::kInt32)) {
            setError(error, QStringLiteral("subset of %1: indices must be a 1-D int64 tensor")
                                .arg(d.name));
            return std::nullopt;
        }
        const torch::Tensor idx = indices.to(torch::kCPU, torch::kInt64).contiguous();
        const int64_t n = d.size();
        if (idx.numel() > 0) {
            const int64_t lo = idx.min().item<int64_t>();
            const int64_t hi = idx.max().item<int64_t>();
            if (lo < 0 || hi >= n) {
                setError(error, QStringLiteral("subset of %1: index %2 is out of range: expected "
                                               "0..%3 (%4 samples)")
                                    .arg(d.name)
                                    .arg(lo < 0 ? lo : hi)
                                    .arg(n - 1)
                                    .arg(n));
                return std::nullopt;
            }
        }
        Dataset s;
        s.name = d.name;
        s.numClasses = d.numClasses;
        s.classNames = d.classNames;
        s.inputs = d.inputs.index_select(0, idx.to(d.inputs.device()));
        s.targets = d.targets.index_select(0, idx.to(d.targets.device()));
        return s;
    } catch (const std::exception &e) {
        setError(error, QStringLiteral("subset of %1: %2").arg(d.name, QString::fromUtf8(e.what())));
        return std::nullopt;
    }
}

std::optional<Dataset> subset(const Dataset &d, const std::vector<int64_t> &indices,
                              QString *error)
{
    const torch::Tensor t =
        torch::from_blob(const_cast<int64_t *>(indices.data()), {int64_t(indices.size())},
                         torch::kInt64);
    return subset(d, t, error);
}

bool channelStats(const Dataset &d, std::vector<float> *mean, std::vector<float> *std,
                  QString *error)
{
    try {
        if (!d.inputs.defined() || d.inputs.dim() < 2 || d.size() == 0) {
            setError(error, QStringLiteral("statistics of %1: no samples").arg(d.name));
            return false;
        }
        const torch::Tensor x = d.inputs.dim() == 2 ? d.inputs.unsqueeze(1) : d.inputs;
        const int64_t n = x.size(0);
        const int64_t c = x.size(1);
        std::vector<int64_t> reduce = {0};
        for (int64_t i = 2; i < x.dim(); ++i)
            reduce.push_back(i);
        const double perChannel = double(x.numel() / c);
        constexpr int64_t chunk = 4096;
        // Two passes (mean, then squared deviations) in float per chunk of samples, chunk totals
        // in double: exact enough and no full-size temporary.
        std::vector<double> sum(size_t(c), 0.0), sq(size_t(c), 0.0);
        for (int64_t s = 0; s < n; s += chunk) {
            const torch::Tensor part =
                x.narrow(0, s, std::min(chunk, n - s)).sum(reduce).to(torch::kDouble).cpu();
            for (int64_t i = 0; i < c; ++i)
                sum[size_t(i)] += part[i].item<double>();
        }
        std::vector<float> m(static_cast<size_t>(c));
        for (int64_t i = 0; i < c; ++i)
            m[size_t(i)] = float(sum[size_t(i)] / perChannel);
        std::vector<int64_t> bshape(size_t(x.dim()), 1);
        bshape[1] = c;
        const torch::Tensor mt =
            torch::from_blob(m.data(), {c}, torch::kFloat32).to(x.device()).view(bshape);
        for (int64_t s = 0; s < n; s += chunk) {
            const torch::Tensor part = (x.narrow(0, s, std::min(chunk, n - s)) - mt)
                                           .square_()
                                           .sum(reduce)
                                           .to(torch::kDouble)
                                           .cpu();
            for (int64_t i = 0; i < c; ++i)
                sq[size_t(i)] += part[i].item<double>();
        }
        mean->assign(m.begin(), m.end());
        std->resize(size_t(c));
        for (int64_t i = 0; i < c; ++i)
            (*std)[size_t(i)] = float(std::sqrt(sq[size_t(i)] / perChannel));
        return true;
    } catch (const std::exception &e) {
        setError(error, QStringLiteral("statistics of %1: %2").arg(d.name, QString::fromUtf8(e.what())));
        return false;
    }
}

bool normalize(Dataset *d, const std::vector<float> &mean, const std::vector<float> &std,
               QString *error)
{
    if (!d->inputs.defined() || d->inputs.dim() < 2) {
        setError(error, QStringLiteral("normalising %1: no inputs").arg(d->name));
        return false;
    }
    const int64_t c = d->inputs.dim() == 2 ? 1 : d->inputs.size(1);
    if (int64_t(mean.size()) != c || int64_t(std.size()) != c) {
        setError(error, QStringLiteral("normalising %1: %2 channels but %3 means and %4 standard "
                                       "deviations")
                            .arg(d->name)
                            .arg(c)
                            .arg(mean.size())
                            .arg(std.size()));
        return false;
    }
    for (int64_t i = 0; i < c; ++i) {
        if (!(std[size_t(i)] > 0.f) || !std::isfinite(mean[size_t(i)])) {
            setError(error, QStringLiteral("normalising %1: channel %2 has mean %3 and standard "
                                           "deviation %4: expected a finite mean and std > 0 (is "
                                           "the channel constant?)")
                                .arg(d->name)
                                .arg(i)
                                .arg(mean[size_t(i)])
                                .arg(std[size_t(i)]));
            return false;
        }
    }
    try {
        std::vector<int64_t> bshape(size_t(d->inputs.dim()), 1);
        if (d->inputs.dim() > 2)
            bshape[1] = c;
        const torch::Tensor m = torch::tensor(mean).to(d->inputs.device()).view(bshape);
        const torch::Tensor s = torch::tensor(std).to(d->inputs.device()).view(bshape);
        d->inputs.sub_(m).div_(s);
        return true;
    } catch (const std::exception &e) {
        setError(error, QStringLiteral("normalising %1: %2").arg(d->name, QString::fromUtf8(e.what())));
        return false;
    }
}

bool makeSplits(Dataset trainPool, Dataset test, const DatasetConfig &config, DatasetSplits *out,
                QString *error)
{
    const QString name = config.name;
    if (!(config.validationFraction >= 0.0 && config.validationFraction < 1.0)) {
        setError(error, QStringLiteral("data set %1: validation fraction %2: expected 0 <= f < 1")
                            .arg(name)
                            .arg(config.validationFraction));
        return false;
    }
    if (trainPool.size() == 0 || test.size() == 0) {
        setError(error, QStringLiteral("data set %1: the training or test data is empty").arg(name));
        return false;
    }
    if (!checkSameKind(trainPool, test, error))
        return false;
    try {
        if (config.trainLimit > 0 && config.trainLimit < trainPool.size()) {
            auto s = subset(trainPool,
                            limitedIndices(trainPool.size(), config.trainLimit,
                                           mixSeed(config.seed, StreamTrainLimit)),
                            error);
            if (!s)
                return false;
            trainPool = std::move(*s);
        }
        if (config.testLimit > 0 && config.testLimit < test.size()) {
            auto s = subset(test,
                            limitedIndices(test.size(), config.testLimit,
                                           mixSeed(config.seed, StreamTestLimit)),
                            error);
            if (!s)
                return false;
            test = std::move(*s);
        }

        DatasetSplits splits;
        splits.config = config;
        // Stratified validation split: per class, a seeded shuffle of that class's samples gives
        // round(fraction x count) to validation. Both splits keep file order.
        if (config.validationFraction > 0.0) {
            const torch::Tensor targets = trainPool.targets.to(torch::kCPU).contiguous();
            const int64_t *t = targets.data_ptr<int64_t>();
            const int64_t n = trainPool.size();
            std::vector<std::vector<int64_t>> byClass(size_t(std::max(trainPool.numClasses, 1)));
            for (int64_t i = 0; i < n; ++i) {
                if (t[i] < 0 || t[i] >= int64_t(byClass.size())) {
                    setError(error, QStringLiteral("data set %1: label %2 of training sample %3 is "
                                                   "outside 0..%4")
                                        .arg(name)
                                        .arg(t[i])
                                        .arg(i)
                                        .arg(byClass.size() - 1));
                    return false;
                }
                byClass[size_t(t[i])].push_back(i);
            }
            std::vector<int64_t> trainIdx, valIdx;
            for (size_t c = 0; c < byClass.size(); ++c) {
                const std::vector<int64_t> &members = byClass[c];
                const std::vector<int64_t> perm = seededPermutation(
                    int64_t(members.size()), mixSeed(config.seed, StreamValidation + 16 * c));
                const auto take = size_t(std::llround(config.validationFraction * members.size()));
                for (size_t k = 0; k < perm.size(); ++k)
                    (k < take ? valIdx : trainIdx).push_back(members[size_t(perm[k])]);
            }
            if (trainIdx.empty()) {
                setError(error, QStringLiteral("data set %1: validation fraction %2 leaves no "
                                               "training samples")
                                    .arg(name)
                                    .arg(config.validationFraction));
                return false;
            }
            std::sort(trainIdx.begin(), trainIdx.end());
            std::sort(valIdx.begin(), valIdx.end());
            auto tr = subset(trainPool, trainIdx, error);
            auto va = subset(trainPool, valIdx, error);
            if (!tr || !va)
                return false;
            splits.train = std::move(*tr);
            splits.validation = std::move(*va);
        } else {
            splits.train = std::move(trainPool);
            splits.validation.numClasses = splits.train.numClasses;
            splits.validation.classNames = splits.train.classNames;
            splits.validation.inputs = splits.train.inputs.narrow(0, 0, 0).clone();
            splits.validation.targets = splits.train.targets.narrow(0, 0, 0).clone();
        }
        splits.test = std::move(test);
        splits.train.name = name + QStringLiteral("/train");
        splits.validation.name = name + QStringLiteral("/validation");
        splits.test.name = name + QStringLiteral("/test");

        if (config.normalize) {
            if (!channelStats(splits.train, &splits.mean, &splits.std, error))
                return false;
            for (Dataset *d : {&splits.train, &splits.validation, &splits.test}) {
                if (d->size() > 0 && !normalize(d, splits.mean, splits.std, error))
                    return false;
            }
        }
        *out = std::move(splits);
        return true;
    } catch (const std::exception &e) {
        setError(error, QStringLiteral("data set %1: %2").arg(name, QString::fromUtf8(e.what())));
        return false;
    }
}

bool loadDatasetSplits(const DatasetConfig &config, DatasetSplits *out, QString *error)
{
    const Entry *entry = findEntry(config.name);
    if (!entry) {
        QStringList names;
        for (const Entry &e : registry())
            names << e.info.name;
        setError(error, QStringLiteral("unknown data set '%1': expected one of %2")
                            .arg(config.name, names.join(QStringLiteral(", "))));
        return false;
    }
    QString dir = config.path;
    if (dir.isEmpty()) {
        if (entry->info.searchDirs.isEmpty()) {
            setError(error, QStringLiteral("data set %1 needs a path: %2")
                                .arg(entry->info.name, entry->info.description));
            return false;
        }
        for (const QString &d : entry->info.searchDirs) {
            if (QFileInfo(d).isDir()) {
                dir = d;
                break;
            }
        }
        if (dir.isEmpty()) {
            setError(error, QStringLiteral("data set %1 not found: looked in %2 for %3; %4")
                                .arg(entry->info.name,
                                     entry->info.searchDirs.join(QStringLiteral(", ")),
                                     entry->info.files.join(QStringLiteral(", ")),
                                     entry->info.whereToGet));
            return false;
        }
    } else if (!QFileInfo(dir).isDir()) {
        setError(error, QStringLiteral("data set %1: %2 is not a folder: expected a folder holding "
                                       "%3; %4")
                            .arg(entry->info.name, QDir::toNativeSeparators(dir),
                                 entry->info.files.join(QStringLiteral(", ")),
                                 entry->info.whereToGet));
        return false;
    }

    QElapsedTimer timer;
    timer.start();
    Dataset pool, test;
    QList<DataFileRecord> files;
    if (!entry->load(entry->info, dir, &pool, &test, &files, error))
        return false;
    if (!entry->classNames.isEmpty())
        pool.classNames = test.classNames = entry->classNames;
    const qint64 readMs = timer.elapsed();
    DatasetSplits splits;
    if (!makeSplits(std::move(pool), std::move(test), config, &splits, error))
        return false;
    splits.files = files;
    splits.source = QStringLiteral("%1 from %2: train %3, validation %4, test %5 samples")
                        .arg(config.name, QDir::toNativeSeparators(dir))
                        .arg(splits.train.size())
                        .arg(splits.validation.size())
                        .arg(splits.test.size());
    qCInfo(lcEngine).noquote() << splits.source << QStringLiteral("(read %1 ms, total %2 ms)")
                                                       .arg(readMs)
                                                       .arg(timer.elapsed());
    *out = std::move(splits);
    return true;
}

QJsonObject DatasetSplits::toJson() const
{
    QJsonObject cfg{{QStringLiteral("name"), config.name},
                    {QStringLiteral("path"), config.path},
                    {QStringLiteral("validationFraction"), config.validationFraction},
                    {QStringLiteral("seed"), QString::number(config.seed)},
                    {QStringLiteral("trainLimit"), config.trainLimit},
                    {QStringLiteral("testLimit"), config.testLimit},
                    {QStringLiteral("normalize"), config.normalize}};
    QJsonArray fileArray;
    for (const DataFileRecord &f : files) {
        fileArray.append(QJsonObject{
            {QStringLiteral("path"), f.path},
            {QStringLiteral("bytes"), f.bytes},
            {QStringLiteral("crc32"), QStringLiteral("%1").arg(f.crc32, 8, 16, QLatin1Char('0'))}});
    }
    return QJsonObject{{QStringLiteral("config"), cfg},
                       {QStringLiteral("source"), source},
                       {QStringLiteral("numClasses"), train.numClasses},
                       {QStringLiteral("sampleShape"), shapeArray(train)},
                       {QStringLiteral("trainSize"), qint64(train.size())},
                       {QStringLiteral("validationSize"), qint64(validation.size())},
                       {QStringLiteral("testSize"), qint64(test.size())},
                       {QStringLiteral("mean"), floatArray(mean)},
                       {QStringLiteral("std"), floatArray(std)},
                       {QStringLiteral("files"), fileArray}};
}

// --- BatchIterator -------------------------------------------------------------------------

BatchIterator::BatchIterator(const Dataset &data, int64_t batchSize, bool shuffle, quint64 seed,
                             bool dropLast)
    : m_data(data), m_batchSize(batchSize), m_shuffle(shuffle), m_seed(seed), m_dropLast(dropLast)
{
    if (batchSize < 1)
        throw std::invalid_argument("BatchIterator: batch size must be >= 1");
}

int64_t BatchIterator::batchesPerEpoch() const
{
    const int64_t n = m_data.size();
    return m_dropLast ? n / m_batchSize : (n + m_batchSize - 1) / m_batchSize;
}

void BatchIterator::startEpoch()
{
    ++m_epoch;
    m_pos = 0;
    m_atEnd = false;
    if (m_shuffle) {
        std::vector<int64_t> p = seededPermutation(m_data.size(), mixSeed(m_seed, StreamEpoch + m_epoch));
        m_order = torch::from_blob(p.data(), {int64_t(p.size())}, torch::kInt64)
                      .clone() // p dies here
                      .to(m_data.inputs.device());
    }
}

bool BatchIterator::next(torch::Tensor *x, torch::Tensor *y)
{
    if (m_atEnd)
        startEpoch();
    const int64_t remaining = m_data.size() - m_pos;
    if (remaining <= 0 || (m_dropLast && remaining < m_batchSize)) {
        m_atEnd = true;
        return false;
    }
    const int64_t len = std::min(m_batchSize, remaining);
    if (m_shuffle) {
        const torch::Tensor idx = m_order.narrow(0, m_pos, len);
        *x = m_data.inputs.index_select(0, idx);
        *y = m_data.targets.index_select(0, idx);
    } else {
        *x = m_data.inputs.narrow(0, m_pos, len);
        *y = m_data.targets.narrow(0, m_pos, len);
    }
    m_pos += len;
    return true;
}

} // namespace jb
