// SPDX-License-Identifier: GPL-3.0-or-later
#include "baseline_cache.h"

#include "database/store.h"
#include "model_io.h"
#include "spec_model.h"
#include "torchscript_model.h"
#include "zoo.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>

#include <torch/torch.h>

using namespace Qt::StringLiterals;

namespace jb {

namespace {

constexpr int kCacheVersion = 1;

// Compact JSON with keys sorted at every level (QJsonObject iterates sorted).
QByteArray canonical(const QJsonObject &o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

} // namespace

NamedTensors cloneTensors(const NamedTensors &tensors)
{
    NamedTensors out;
    out.reserve(tensors.size());
    torch::NoGradGuard noGrad;
    for (const auto &[name, t] : tensors)
        out.emplace_back(name, t.detach().clone());
    return out;
}

TrainOptions baselineTrainOptions(const PlanTraining &t, const Backend &backend)
{
    TrainOptions o;
    o.epochs = static_cast<int>(t.epochs);
    o.batchSize = t.batchSize;
    o.optimizer = t.optimizer == u"sgd"_s ? OptimizerKind::Sgd : OptimizerKind::Adam;
    o.learningRate = t.learningRate;
    o.momentum = t.momentum;
    o.weightDecay = t.weightDecay;
    o.schedule = t.schedule == u"step"_s     ? LrSchedule::Step
                 : t.schedule == u"cosine"_s ? LrSchedule::Cosine
                                             : LrSchedule::Constant;
    o.stepEpochs = static_cast<int>(t.stepSize);
    o.stepGamma = t.gamma;
    o.seed = static_cast<uint64_t>(t.seed);
    o.device = backend.device();
    return o;
}

std::unique_ptr<Model> buildBaselineModel(const Plan &plan, const QString &planFilePath,
                                          const DatasetSplits &splits, QString *error)
{
    const std::vector<int64_t> shape = splits.train.sampleShape();
    const int64_t classes = splits.train.numClasses;
    if (plan.model.isTorchScript())
        return TorchScriptModel::load(Plan::resolvePath(planFilePath, plan.model.torchScript),
                                      shape, classes, error);
    const std::optional<ArchSpec> spec =
        zooSpec(plan.model.zoo, ZooOptions{shape, classes, plan.model.width}, error);
    if (!spec)
        return nullptr;
    return SpecModel::create(*spec, static_cast<uint64_t>(plan.training.seed), error);
}

std::optional<QJsonObject> trainingIdentity(const Plan &plan, const QString &planFilePath,
                                            const DatasetSplits &splits,
                                            const QString &backendId,
                                            const QString &torchVersion, QString *error)
{
    QJsonObject model;
    if (plan.model.isTorchScript()) {
        const QString path = Plan::resolvePath(planFilePath, plan.model.torchScript);
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly)) {
            if (error)
                *error = u"cannot read the TorchScript model %1 (model.torchScript of the "
                         "plan): %2; fix the path (a relative one is relative to the plan's "
                         "folder)"_s.arg(path, f.errorString());
            return std::nullopt;
        }
        QCryptographicHash h(QCryptographicHash::Sha256);
        h.addData(&f);
        model.insert(u"torchScriptSha256"_s, QString::fromLatin1(h.result().toHex()));
    } else {
        const std::optional<ArchSpec> spec = zooSpec(
            plan.model.zoo,
            ZooOptions{splits.train.sampleShape(), splits.train.numClasses, plan.model.width},
            error);
        if (!spec)
            return std::nullopt;
        model.insert(u"spec"_s, spec->toJson());
    }
    return QJsonObject{{u"model"_s, model},
                       {u"dataset"_s, splits.toJson()},
                       {u"training"_s, plan.toJson().value(u"training"_s)},
                       {u"backend"_s, backendId},
                       {u"torch"_s, torchVersion}};
}

QJsonObject CachedTraining::toJson() const
{
    return QJsonObject{{u"joulebenchCache"_s, kCacheVersion},
                       {u"hash"_s, hash},
                       {u"sourceRunId"_s, sourceRunId},
                       {u"sourceKey"_s, sourceKey},
                       {u"planHash"_s, planHash},
                       {u"epochs"_s, epochs},
                       {u"samplesSeen"_s, samplesSeen},
                       {u"trainSeconds"_s, trainSeconds}};
}

std::optional<CachedTraining> CachedTraining::fromJson(const QJsonObject &o)
{
    if (o.value(u"joulebenchCache"_s).toInt() != kCacheVersion || !o.value(u"hash"_s).isString())
        return std::nullopt;
    CachedTraining c;
    c.hash = o.value(u"hash"_s).toString();
    c.sourceRunId = o.value(u"sourceRunId"_s).toInteger();
    c.sourceKey = o.value(u"sourceKey"_s).toString();
    c.planHash = o.value(u"planHash"_s).toString();
    c.epochs = o.value(u"epochs"_s).toInt();
    c.samplesSeen = o.value(u"samplesSeen"_s).toInteger();
    c.trainSeconds = o.value(u"trainSeconds"_s).toDouble();
    if (c.sourceRunId <= 0 || c.sourceKey.isEmpty())
        return std::nullopt;
    return c;
}

BaselineCache::BaselineCache(QString dir) : m_dir(std::move(dir)) {}

BaselineCache::~BaselineCache() = default;

QString BaselineCache::key(const QJsonObject &identity)
{
    QJsonObject o = identity;
    o.insert(u"cacheVersion"_s, kCacheVersion);
    return QString::fromLatin1(
        QCryptographicHash::hash(canonical(o), QCryptographicHash::Sha256).toHex());
}

QString BaselineCache::fileFor(const QString &hash) const
{
    return m_dir.isEmpty() ? QString() : QDir(m_dir).filePath(hash + u".jbm"_s);
}

std::optional<BaselineCache::Checkout> BaselineCache::checkout(const QString &hash, QString *note)
{
    auto copy = [](const Entry &e, bool fromDisk, QString *why) -> std::optional<Checkout> {
        Checkout c;
        c.info = e.info;
        c.fromDisk = fromDisk;
        c.model = e.model->clone(why);
        if (!c.model)
            return std::nullopt;
        c.initialState = cloneTensors(e.initialState);
        return c;
    };
    if (const auto it = m_entries.constFind(hash); it != m_entries.constEnd())
        return copy(**it, false, note);
    if (m_dir.isEmpty())
        return std::nullopt;
    const QString file = fileFor(hash);
    const QString initFile = QDir(m_dir).filePath(hash + u".init.jbm"_s);
    if (!QFileInfo::exists(file))
        return std::nullopt;
    QString error;
    QJsonObject metadata;
    std::unique_ptr<Model> model = loadModel(file, &error, &metadata);
    if (!model) {
        if (note)
            *note = u"cached baseline %1 is not usable (%2); training again"_s.arg(file, error);
        return std::nullopt;
    }
    std::optional<CachedTraining> info = CachedTraining::fromJson(metadata);
    if (!info || info->hash != hash) {
        if (note)
            *note = u"cached baseline %1 has no valid cache record for hash %2; training again"_s
                        .arg(file, hash);
        return std::nullopt;
    }
    std::unique_ptr<Model> initial = loadModel(initFile, &error);
    if (!initial) {
        if (note)
            *note = u"initial weights of cached baseline %1 are not usable (%2); training "
                    "again"_s
                        .arg(file, error);
        return std::nullopt;
    }
    info->file = file;
    auto entry = std::make_shared<Entry>();
    entry->info = *info;
    entry->model = std::move(model);
    entry->initialState = cloneTensors(initial->state());
    m_entries.insert(hash, entry);
    return copy(*entry, true, note);
}

std::optional<BaselineCache::Checkout> BaselineCache::checkoutRecorded(const QString &hash,
                                                                      const db::Store &store,
                                                                      db::PhaseRecord *sourceTrain,
                                                                      QString *note)
{
    std::optional<Checkout> co = checkout(hash, note);
    if (!co)
        return std::nullopt;
    QString error;
    const auto src = store.run(co->info.sourceRunId, &error);
    const auto phases = src ? store.phases(src->id, &error) : std::nullopt;
    if (src && phases &&
        src->key.configKey + u'#' + QString::number(src->key.repetition) == co->info.sourceKey) {
        for (const db::PhaseRecord &p : *phases)
            if (p.name == u"train"_s) {
                *sourceTrain = p;
                return co;
            }
    }
    if (note)
        *note = u"cached baseline %1 was trained by run %2, whose measured train phase the "
                "database %3 does not hold; training again"_s
                    .arg(hash.left(12))
                    .arg(co->info.sourceRunId)
                    .arg(store.path());
    forget(hash);
    return std::nullopt;
}

bool BaselineCache::put(const CachedTraining &info, const Model &trained,
                        const NamedTensors &initialState, QString *error)
{
    auto entry = std::make_shared<Entry>();
    entry->info = info;
    entry->model = trained.clone(error);
    if (!entry->model)
        return false;
    entry->initialState = cloneTensors(initialState);
    if (m_dir.isEmpty()) {
        m_entries.insert(info.hash, entry);
        return true;
    }
    const QString file = fileFor(info.hash);
    entry->info.file = file;
    m_entries.insert(info.hash, entry);
    if (!QDir().mkpath(m_dir)) {
        if (error)
            *error = u"cannot create the baseline cache folder %1; check its permissions"_s.arg(
                m_dir);
        entry->info.file.clear();
        return false;
    }
    QString why;
    std::unique_ptr<Model> initial = trained.clone(&why);
    if (!initial || !initial->loadState(initialState, &why) ||
        !saveModel(*initial, QDir(m_dir).filePath(info.hash + u".init.jbm"_s), &why,
                   info.toJson()) ||
        !saveModel(trained, file, &why, info.toJson())) {
        if (error)
            *error = u"cannot write the cached baseline %1: %2"_s.arg(file, why);
        entry->info.file.clear();
        return false;
    }
    return true;
}

void BaselineCache::forget(const QString &hash)
{
    m_entries.remove(hash);
}

} // namespace jb
