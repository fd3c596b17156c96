// SPDX-License-Identifier: GPL-3.0-or-later
#include "plan.h"

#include "plan_json.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSaveFile>
#include <QSet>

using namespace Qt::StringLiterals;

namespace jb {

using planjson::formatValue;
using planjson::indexPath;
using planjson::NumberRange;
using planjson::ObjectReader;

namespace {

constexpr double kMaxSeed = 9007199254740991.0; // 2^53 - 1: survives JSON doubles

const QStringList &datasetNames()
{
    static const QStringList n{u"fashion-mnist"_s, u"mnist"_s, u"cifar10"_s, u"cifar100"_s,
                               u"tensor"_s};
    return n;
}

const QStringList &quantizedEngines()
{
    static const QStringList n{u"onednn"_s, u"qnnpack"_s, u"fbgemm"_s, u"x86"_s};
    return n;
}

bool isSimpleId(const QString &s)
{
    static const QRegularExpression re(u"^[a-z0-9][a-z0-9_-]*$"_s);
    return re.match(s).hasMatch();
}

bool builtinBackendCheck(const QString &backend, QString *why)
{
    static const QRegularExpression re(u"^(cpu(:[1-9][0-9]{0,3}(:("_s +
                                       quantizedEngines().join(u'|') +
                                       u"))?)?|cuda(:[0-9]{1,2})?)$"_s);
    if (re.match(backend).hasMatch())
        return true;
    *why = u"expected cpu (all cores), cpu:<threads>, cpu:<threads>:<quantized engine> "
           "(engine: "_s +
           quantizedEngines().join(u", "_s) + u"), cuda or cuda:<index>"_s;
    return false;
}

/// Reads an array of unique non-empty strings; each element checked by `check` (which
/// returns an error text or "").
std::optional<QStringList> readStringList(const QJsonArray &a, const QString &path,
                                          QStringList *errors,
                                          const std::function<QString(const QString &)> &check)
{
    const qsizetype before = errors->size();
    QStringList out;
    for (qsizetype i = 0; i < a.size(); ++i) {
        const QString p = indexPath(path, i);
        const QJsonValue v = a.at(i);
        if (!v.isString() || v.toString().isEmpty()) {
            errors->append(p + u": "_s + formatValue(v) + u" is "_s + planjson::describeType(v) +
                           u", expected a non-empty string"_s);
            continue;
        }
        const QString s = v.toString();
        if (out.contains(s)) {
            errors->append(p + u": "_s + formatValue(v) + u" is listed twice"_s);
            continue;
        }
        const QString problem = check(s);
        if (!problem.isEmpty()) {
            errors->append(p + u": "_s + formatValue(v) + u' ' + problem);
            continue;
        }
        out.append(s);
    }
    if (errors->size() != before)
        return std::nullopt;
    return out;
}

template <typename T, typename U> void assign(T &field, const std::optional<U> &value)
{
    if (value)
        field = *value;
}

void readDataset(ObjectReader &r, qint64 planSeed, PlanDataset *d)
{
    assign(d->name, r.choice(u"name"_s, std::nullopt, datasetNames()));
    assign(d->path, r.string(u"path"_s, QString(), true));
    if (d->name == u"tensor"_s && d->path.isEmpty())
        r.error(u"path"_s, u"missing, expected the folder with train.jbt and test.jbt (required "
                           "for the tensor data set)"_s);
    assign(d->validationFraction, r.number(u"validationFraction"_s, 0.1, {0.0, 0.9}));
    assign(d->seed, r.integer(u"seed"_s, planSeed, {0.0, kMaxSeed}));
    assign(d->trainLimit, r.integer(u"trainLimit"_s, 0, {0.0, 1e9}));
    assign(d->testLimit, r.integer(u"testLimit"_s, 0, {0.0, 1e9}));
    assign(d->normalize, r.boolean(u"normalize"_s, true));
    r.finish();
}

void readModel(ObjectReader &r, const PlanContext &ctx, PlanModel *m)
{
    const bool hasZoo = r.contains(u"zoo"_s);
    const bool hasScript = r.contains(u"torchScript"_s);
    r.declare(u"zoo"_s);
    r.declare(u"torchScript"_s);
    r.declare(u"width"_s);
    if (hasZoo && hasScript) {
        r.error(u"torchScript"_s, u"a model is either a zoo model or a TorchScript file, "
                                  "expected only one of zoo and torchScript"_s);
    } else if (!hasZoo && !hasScript) {
        r.error(u"zoo"_s, u"missing, expected a zoo model name (e.g. \"cnn-small\") or a "
                          "torchScript file"_s);
    } else if (hasZoo) {
        if (const auto zoo = r.string(u"zoo"_s, std::nullopt)) {
            if (!ctx.modelNames.isEmpty() && !ctx.modelNames.contains(*zoo))
                r.error(u"zoo"_s, formatValue(*zoo) + u" is not a zoo model"_s +
                                      planjson::didYouMean(*zoo, ctx.modelNames) + u"; known: "_s +
                                      ctx.modelNames.join(u", "_s));
            else if (ctx.modelNames.isEmpty() && !isSimpleId(*zoo))
                r.error(u"zoo"_s, formatValue(*zoo) + u" is not a model name, expected lower "
                                                      "case letters, digits, - and _"_s);
            else
                m->zoo = *zoo;
        }
        assign(m->width, r.number(u"width"_s, 1.0, {0.0, 16.0, true}));
    } else {
        assign(m->torchScript, r.string(u"torchScript"_s, std::nullopt));
        if (r.contains(u"width"_s))
            r.error(u"width"_s, u"only zoo models have a width multiplier; remove it"_s);
    }
    r.finish();
}

void readTraining(ObjectReader &r, qint64 planSeed, PlanTraining *t)
{
    assign(t->epochs, r.integer(u"epochs"_s, 2, {0.0, 10000.0}));
    assign(t->batchSize, r.integer(u"batchSize"_s, 64, {1.0, 65536.0}));
    const auto optimizer = r.choice(u"optimizer"_s, u"adam"_s, {u"sgd"_s, u"adam"_s});
    assign(t->optimizer, optimizer);
    assign(t->learningRate, r.number(u"learningRate"_s, 1e-3, {0.0, 10.0, true}));
    assign(t->weightDecay, r.number(u"weightDecay"_s, 0.0, {0.0, 1.0}));
    const auto schedule =
        r.choice(u"schedule"_s, u"constant"_s, {u"constant"_s, u"step"_s, u"cosine"_s});
    assign(t->schedule, schedule);
    assign(t->seed, r.integer(u"seed"_s, planSeed, {0.0, kMaxSeed}));

    // A key that only another optimizer or schedule uses is an error: a value that is
    // silently ignored would make a plan look like an experiment it is not.
    auto unused = [&r](const QString &key, const QString &why) {
        if (r.contains(key))
            r.error(key, formatValue(r.value(key)) + u" is used only by "_s + why);
        r.declare(key);
    };
    if (optimizer && *optimizer == u"sgd"_s)
        assign(t->momentum, r.number(u"momentum"_s, 0.9, {0.0, 1.0}));
    else if (optimizer)
        unused(u"momentum"_s, u"the sgd optimizer; remove it or set optimizer to sgd"_s);
    else
        r.declare(u"momentum"_s);
    if (schedule && *schedule == u"step"_s) {
        assign(t->stepSize, r.integer(u"stepSize"_s, 1, {1.0, 10000.0}));
        assign(t->gamma, r.number(u"gamma"_s, 0.1, {0.0, 1.0, true}));
    } else if (schedule) {
        for (const QString &key : {u"stepSize"_s, u"gamma"_s})
            unused(key, u"the step schedule; remove it or set schedule to step"_s);
    } else {
        r.declare(u"stepSize"_s);
        r.declare(u"gamma"_s);
    }
    r.finish();
}

std::optional<PlanStep> readStep(const QJsonValue &v, const QString &path, const PlanContext &ctx,
                                 QStringList *errors)
{
    if (!v.isObject()) {
        errors->append(path + u": "_s + formatValue(v) + u" is "_s + planjson::describeType(v) +
                       u", expected an object {\"plugin\": id, \"params\": {...}}"_s);
        return std::nullopt;
    }
    const qsizetype before = errors->size();
    ObjectReader r(v.toObject(), path, errors);
    PlanStep step;
    const auto plugin = r.string(u"plugin"_s, std::nullopt);
    const auto params = r.object(u"params"_s, false);
    r.finish();
    if (!plugin)
        return std::nullopt;
    step.plugin = *plugin;
    if (ctx.schemaFor) {
        const ParamSchema *schema = ctx.schemaFor(step.plugin);
        if (!schema) {
            r.error(u"plugin"_s,
                    formatValue(step.plugin) + u" is not a known technique plugin"_s +
                        planjson::didYouMean(step.plugin, ctx.pluginIds) + u"; known: "_s +
                        (ctx.pluginIds.isEmpty() ? u"none (no technique plugin is loaded)"_s
                                                 : ctx.pluginIds.join(u", "_s)));
        } else if (params) {
            schema->validate(*params, r.pathOf(u"params"_s), &step.params, errors, step.plugin);
        }
    } else {
        static const QRegularExpression re(u"^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$"_s);
        if (!re.match(step.plugin).hasMatch())
            r.error(u"plugin"_s, formatValue(step.plugin) +
                                     u" is not a plugin id, expected e.g. \"prune.magnitude\""_s);
        if (params)
            step.params = *params;
    }
    if (errors->size() != before)
        return std::nullopt;
    return step;
}

void readVariants(ObjectReader &root, const PlanContext &ctx, QStringList *errors,
                  QList<PlanVariant> *variants)
{
    const QString path = root.pathOf(u"variants"_s);
    const auto array = root.array(u"variants"_s, false);
    QList<qsizetype> sourceIndex; // variants[i] of the file, for messages
    if (array) {
        for (qsizetype i = 0; i < array->size(); ++i) {
            const QString vp = indexPath(path, i);
            const QJsonValue v = array->at(i);
            if (!v.isObject()) {
                errors->append(vp + u": "_s + formatValue(v) + u" is "_s +
                               planjson::describeType(v) +
                               u", expected an object {\"label\": ..., \"chain\": [...]}"_s);
                continue;
            }
            ObjectReader r(v.toObject(), vp, errors);
            PlanVariant variant;
            const auto label = r.string(u"label"_s, std::nullopt);
            const auto chain = r.array(u"chain"_s, false);
            r.finish();
            bool ok = bool(label);
            if (label) {
                variant.label = *label;
                for (qsizetype j = 0; j < variants->size(); ++j) {
                    if (variants->at(j).label == *label) {
                        r.error(u"label"_s, formatValue(*label) + u" is already the label of "_s +
                                                indexPath(path, sourceIndex.at(j)) +
                                                u", expected unique labels"_s);
                        ok = false;
                    }
                }
            }
            if (chain) {
                for (qsizetype j = 0; j < chain->size(); ++j) {
                    const auto step =
                        readStep(chain->at(j), indexPath(r.pathOf(u"chain"_s), j), ctx, errors);
                    if (step)
                        variant.chain.append(*step);
                    else
                        ok = false;
                }
            }
            if (!ok)
                continue;
            for (qsizetype j = 0; j < variants->size(); ++j) {
                if (variants->at(j).chain == variant.chain) {
                    errors->append(r.pathOf(u"chain"_s) + u": the same steps as "_s +
                                   indexPath(path, sourceIndex.at(j)) + u" ("_s +
                                   formatValue(variants->at(j).label) +
                                   u"), expected each chain once (repetitions repeat runs)"_s);
                    ok = false;
                    break;
                }
            }
            if (!ok)
                continue;
            variants->append(variant);
            sourceIndex.append(i);
        }
    }
    // The baseline is always measured: add it when the plan does not list it.
    const bool hasBaseline = std::any_of(variants->cbegin(), variants->cend(),
                                         [](const PlanVariant &v) { return v.isBaseline(); });
    if (!hasBaseline) {
        for (qsizetype j = 0; j < variants->size(); ++j) {
            if (variants->at(j).label == u"baseline"_s)
                errors->append(indexPath(path, sourceIndex.at(j)) +
                               u".label: \"baseline\" names a variant with techniques, but the "
                               "baseline (the empty chain) is implied under that label; rename "
                               "it or add {\"label\": \"baseline\", \"chain\": []}"_s);
        }
        variants->prepend(PlanVariant{u"baseline"_s, {}});
    }
}

void readInference(ObjectReader &r, QStringList *errors, PlanInference *inf)
{
    if (const auto sizes = r.array(u"batchSizes"_s, false)) {
        const qsizetype before = errors->size();
        if (sizes->isEmpty())
            r.error(u"batchSizes"_s, u"[] is empty, expected at least one batch size, e.g. "
                                     "[1, 64]"_s);
        QList<qint64> out;
        for (qsizetype i = 0; i < sizes->size(); ++i) {
            const QString p = indexPath(r.pathOf(u"batchSizes"_s), i);
            const auto b = planjson::checkInteger(sizes->at(i), p, {1.0, 65536.0}, errors);
            if (b && out.contains(*b))
                errors->append(p + u": "_s + QString::number(*b) + u" is listed twice"_s);
            else if (b)
                out.append(*b);
        }
        if (errors->size() == before)
            inf->batchSizes = out;
    }
    assign(inf->batches, r.integer(u"batches"_s, 100, {1.0, 1e7}));
    assign(inf->warmupBatches, r.integer(u"warmupBatches"_s, 10, {0.0, 1e6}));
    r.finish();
}

void readMeasurement(ObjectReader &r, const PlanContext &ctx, QStringList *errors,
                     PlanMeasurement *m)
{
    const QJsonValue meters = r.value(u"meters"_s);
    const QString mp = r.pathOf(u"meters"_s);
    if (meters.isString() && meters.toString() == u"auto"_s) {
        m->meters = QStringList{u"auto"_s};
    } else if (meters.isArray() && !meters.toArray().isEmpty()) {
        const auto list =
            readStringList(meters.toArray(), mp, errors, [&](const QString &id) -> QString {
                if (id == u"auto"_s)
                    return u"cannot be mixed with other meters; write \"meters\": \"auto\" alone"_s;
                if (!ctx.meterIds.isEmpty() && !ctx.meterIds.contains(id))
                    return u"is not a known meter"_s + planjson::didYouMean(id, ctx.meterIds) +
                           u"; known: "_s + ctx.meterIds.join(u", "_s) + u", or \"auto\""_s;
                if (ctx.meterIds.isEmpty() && !isSimpleId(id))
                    return u"is not a meter id, expected lower case letters, digits, - and _"_s;
                return QString();
            });
        if (list)
            m->meters = *list;
    } else if (!meters.isUndefined()) {
        errors->append(mp + u": "_s + formatValue(meters) + u" is "_s +
                       (meters.isArray() ? u"empty"_s : planjson::describeType(meters)) +
                       u", expected \"auto\" or a non-empty array of meter ids"_s);
    }
    assign(m->idleBefore, r.number(u"idleBefore"_s, 2.0, {0.0, 600.0}));
    assign(m->idleAfter, r.number(u"idleAfter"_s, 0.0, {0.0, 600.0}));
    assign(m->samplingHz, r.number(u"samplingHz"_s, 10.0, {1.0, 1000.0}));
    r.finish();
}

} // namespace

QString planOrderName(PlanOrder order)
{
    return order == PlanOrder::Shuffled ? u"shuffled"_s : u"interleaved"_s;
}

QStringList planDatasetNames()
{
    return datasetNames();
}

qsizetype Plan::baselineIndex() const
{
    for (qsizetype i = 0; i < variants.size(); ++i) {
        if (variants.at(i).isBaseline())
            return i;
    }
    return -1;
}

std::optional<Plan> Plan::fromJson(const QJsonObject &json, QStringList *errors,
                                   const PlanContext &ctx)
{
    const qsizetype before = errors->size();
    ObjectReader root(json, QString(), errors);
    Plan plan;

    // A plan of another version may mean something else by the same keys: stop there.
    if (json.contains(u"version"_s)) {
        const QJsonValue v = root.value(u"version"_s);
        if (!v.isDouble() || v.toDouble() != double(kPlanVersion)) {
            errors->append(u"version: "_s + formatValue(v) + u" is not supported, expected "_s +
                           QString::number(kPlanVersion));
            return std::nullopt;
        }
    } else {
        root.error(u"version"_s, u"missing, expected "_s + QString::number(kPlanVersion) +
                                     u" (the plan format version)"_s);
    }

    assign(plan.name, root.string(u"name"_s, std::nullopt));
    assign(plan.description, root.string(u"description"_s, QString(), true));
    assign(plan.seed, root.integer(u"seed"_s, 42, {0.0, kMaxSeed}));

    if (const auto o = root.object(u"dataset"_s, true)) {
        ObjectReader r(*o, root.pathOf(u"dataset"_s), errors);
        readDataset(r, plan.seed, &plan.dataset);
    }
    if (const auto o = root.object(u"model"_s, true)) {
        ObjectReader r(*o, root.pathOf(u"model"_s), errors);
        readModel(r, ctx, &plan.model);
    }
    plan.training.seed = plan.seed;
    if (const auto o = root.object(u"training"_s, false)) {
        ObjectReader r(*o, root.pathOf(u"training"_s), errors);
        readTraining(r, plan.seed, &plan.training);
    }
    readVariants(root, ctx, errors, &plan.variants);

    if (const auto a = root.array(u"backends"_s, false)) {
        if (a->isEmpty())
            root.error(u"backends"_s, u"[] is empty, expected at least one backend, e.g. "
                                      "[\"cpu\"]"_s);
        const auto list =
            readStringList(*a, root.pathOf(u"backends"_s), errors, [&](const QString &b) {
                QString why;
                const bool ok =
                    ctx.checkBackend ? ctx.checkBackend(b, &why) : builtinBackendCheck(b, &why);
                return ok ? QString() : u"is not a backend, "_s + why;
            });
        if (list && !list->isEmpty())
            plan.backends = *list;
    }
    assign(plan.repetitions, root.integer(u"repetitions"_s, 3, {1.0, 1000.0}));

    if (const auto o = root.object(u"inference"_s, false)) {
        ObjectReader r(*o, root.pathOf(u"inference"_s), errors);
        readInference(r, errors, &plan.inference);
    }
    if (const auto o = root.object(u"measurement"_s, false)) {
        ObjectReader r(*o, root.pathOf(u"measurement"_s), errors);
        readMeasurement(r, ctx, errors, &plan.measurement);
    }
    assign(plan.accuracyBudget, root.number(u"accuracyBudget"_s, 1.0, {0.0, 100.0}));
    if (const auto order =
            root.choice(u"order"_s, u"interleaved"_s, {u"interleaved"_s, u"shuffled"_s}))
        plan.order = (*order == u"shuffled"_s) ? PlanOrder::Shuffled : PlanOrder::Interleaved;
    assign(plan.cacheBaseline, root.boolean(u"cacheBaseline"_s, true));
    root.finish();

    if (errors->size() != before)
        return std::nullopt;
    return plan;
}

std::optional<Plan> Plan::fromJsonText(const QByteArray &text, QStringList *errors,
                                       const PlanContext &context, const QString &source)
{
    const qsizetype before = errors->size();
    const auto object = planjson::parseObject(text, source, errors);
    if (!object)
        return std::nullopt;
    auto plan = fromJson(*object, errors, context);
    if (errors->size() != before)
        return std::nullopt;
    return plan;
}

std::optional<Plan> Plan::load(const QString &filePath, QStringList *errors,
                               const PlanContext &context)
{
    QFile f(filePath);
    if (!f.open(QIODevice::ReadOnly)) {
        errors->append(filePath + u": cannot read the plan file: "_s + f.errorString());
        return std::nullopt;
    }
    return fromJsonText(f.readAll(), errors, context, filePath);
}

QJsonObject Plan::toJson() const
{
    QJsonObject d{{u"name"_s, dataset.name},
                  {u"path"_s, dataset.path},
                  {u"validationFraction"_s, dataset.validationFraction},
                  {u"seed"_s, dataset.seed},
                  {u"trainLimit"_s, dataset.trainLimit},
                  {u"testLimit"_s, dataset.testLimit},
                  {u"normalize"_s, dataset.normalize}};

    QJsonObject m;
    if (model.isTorchScript()) {
        m.insert(u"torchScript"_s, model.torchScript);
    } else {
        m.insert(u"zoo"_s, model.zoo);
        m.insert(u"width"_s, model.width);
    }

    QJsonObject t{{u"epochs"_s, training.epochs},
                  {u"batchSize"_s, training.batchSize},
                  {u"optimizer"_s, training.optimizer},
                  {u"learningRate"_s, training.learningRate},
                  {u"weightDecay"_s, training.weightDecay},
                  {u"schedule"_s, training.schedule},
                  {u"seed"_s, training.seed}};
    if (training.optimizer == u"sgd"_s)
        t.insert(u"momentum"_s, training.momentum);
    if (training.schedule == u"step"_s) {
        t.insert(u"stepSize"_s, training.stepSize);
        t.insert(u"gamma"_s, training.gamma);
    }

    QJsonArray vs;
    for (const PlanVariant &v : variants) {
        QJsonArray chain;
        for (const PlanStep &s : v.chain)
            chain.append(QJsonObject{{u"plugin"_s, s.plugin}, {u"params"_s, s.params}});
        vs.append(QJsonObject{{u"label"_s, v.label}, {u"chain"_s, chain}});
    }

    QJsonArray sizes;
    for (qint64 b : inference.batchSizes)
        sizes.append(b);
    const QJsonObject inf{{u"batchSizes"_s, sizes},
                          {u"batches"_s, inference.batches},
                          {u"warmupBatches"_s, inference.warmupBatches}};

    const QJsonObject meas{
        {u"meters"_s, measurement.isAuto()
                          ? QJsonValue(u"auto"_s)
                          : QJsonValue(QJsonArray::fromStringList(measurement.meters))},
        {u"idleBefore"_s, measurement.idleBefore},
        {u"idleAfter"_s, measurement.idleAfter},
        {u"samplingHz"_s, measurement.samplingHz}};

    return QJsonObject{{u"version"_s, version},
                       {u"name"_s, name},
                       {u"description"_s, description},
                       {u"seed"_s, seed},
                       {u"dataset"_s, d},
                       {u"model"_s, m},
                       {u"training"_s, t},
                       {u"variants"_s, vs},
                       {u"backends"_s, QJsonArray::fromStringList(backends)},
                       {u"repetitions"_s, repetitions},
                       {u"inference"_s, inf},
                       {u"measurement"_s, meas},
                       {u"accuracyBudget"_s, accuracyBudget},
                       {u"order"_s, planOrderName(order)},
                       {u"cacheBaseline"_s, cacheBaseline}};
}

QByteArray Plan::toJsonText(bool indented) const
{
    return QJsonDocument(toJson()).toJson(indented ? QJsonDocument::Indented
                                                   : QJsonDocument::Compact);
}

QString Plan::hash() const
{
    return QString::fromLatin1(
        QCryptographicHash::hash(toJsonText(false), QCryptographicHash::Sha256).toHex());
}

bool Plan::save(const QString &filePath, QString *error) const
{
    QSaveFile f(filePath);
    if (!f.open(QIODevice::WriteOnly) || f.write(toJsonText(true)) < 0 || !f.commit()) {
        *error = filePath + u": cannot write the plan file: "_s + f.errorString();
        return false;
    }
    return true;
}

QString Plan::resolvePath(const QString &planFilePath, const QString &path)
{
    if (path.isEmpty() || planFilePath.isEmpty() || QDir::isAbsolutePath(path))
        return path;
    return QDir::cleanPath(QFileInfo(planFilePath).absoluteDir().filePath(path));
}

} // namespace jb
