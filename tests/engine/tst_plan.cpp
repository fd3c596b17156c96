// SPDX-License-Identifier: GPL-3.0-or-later
// plan.json: the shipped plans parse, every kind of mistake gets its exact message (path,
// value, what was expected), all errors are collected, and the canonical form round-trips.
#include "engine/plan.h"

#include <QJsonDocument>
#include <QTemporaryDir>
#include <QtTest>

using namespace Qt::StringLiterals;
using jb::ParamSchema;
using jb::Plan;
using jb::PlanContext;

namespace {

QString dataFile(const QString &rel)
{
    return QStringLiteral(JB_TEST_DATA_DIR) + u'/' + rel;
}
QString defaultPlanFile()
{
    return QStringLiteral(JB_TEST_DATA_DIR) + u"/../../resources/plans/default.json"_s;
}

QJsonValue jsonValue(const QByteArray &text)
{
    QJsonParseError e;
    const QJsonDocument d = QJsonDocument::fromJson("{\"v\": " + text + "}", &e);
    if (e.error != QJsonParseError::NoError)
        qFatal("bad test JSON %s: %s", text.constData(), qPrintable(e.errorString()));
    return d.object().value(u"v"_s);
}

QJsonObject minimalPlan()
{
    return jsonValue(R"({"version": 1, "name": "t", "dataset": {"name": "mnist"},
                         "model": {"zoo": "mlp"}})")
        .toObject();
}

// Sets (or, for an undefined value, removes) a dotted path in a JSON object.
QJsonObject withValue(QJsonObject root, const QString &path, const QJsonValue &value)
{
    const qsizetype dot = path.indexOf(u'.');
    if (dot < 0) {
        if (value.isUndefined())
            root.remove(path);
        else
            root.insert(path, value);
        return root;
    }
    const QString head = path.left(dot);
    root.insert(head, withValue(root.value(head).toObject(), path.mid(dot + 1), value));
    return root;
}

QStringList errorsOf(const QJsonObject &json, const PlanContext &ctx = {})
{
    QStringList errors;
    const auto plan = Plan::fromJson(json, &errors, ctx);
    if (plan && !errors.isEmpty())
        qFatal("a plan was returned together with errors");
    if (!plan && errors.isEmpty())
        qFatal("no plan and no error");
    return errors;
}

ParamSchema schemaOf(const QByteArray &parametersJson)
{
    QStringList errors;
    const auto s = ParamSchema::fromJson(jsonValue(parametersJson).toArray(), &errors);
    if (!s)
        qFatal("test schema: %s", qPrintable(errors.join(u'\n')));
    return *s;
}

// A registry as the plugin loader will provide it.
struct FakeRegistry
{
    ParamSchema prune = schemaOf(R"([
        {"name": "sparsity", "type": "double", "default": 0.5, "min": 0.0, "max": 1.0},
        {"name": "scope", "type": "choice", "choices": ["global", "layer"], "default": "global"}
    ])");
    ParamSchema quant;

    PlanContext context() const
    {
        PlanContext c;
        c.schemaFor = [this](const QString &id) -> const ParamSchema * {
            if (id == u"prune.magnitude"_s)
                return &prune;
            if (id == u"quant.dynamic_int8"_s)
                return &quant;
            return nullptr;
        };
        c.pluginIds = {u"prune.magnitude"_s, u"quant.dynamic_int8"_s};
        return c;
    }
};

} // namespace

class TestPlan : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void defaultPlanParses()
    {
        QStringList errors;
        const auto p = Plan::load(defaultPlanFile(), &errors);
        QVERIFY2(p, qPrintable(errors.join(u'\n')));
        QCOMPARE(p->name, u"default"_s);
        QCOMPARE(p->dataset.name, u"fashion-mnist"_s);
        QVERIFY(p->dataset.trainLimit > 0);
        QCOMPARE(p->model.zoo, u"cnn-small"_s);
        QCOMPARE(p->model.width, 1.0);
        QCOMPARE(p->training.optimizer, u"adam"_s);
        QCOMPARE(p->training.batchSize, 64);
        QCOMPARE(p->training.learningRate, 1e-3);
        QVERIFY(p->training.epochs >= 2 && p->training.epochs <= 3);
        QCOMPARE(p->variants.size(), 1);
        QVERIFY(p->variants.at(0).isBaseline());
        QCOMPARE(p->backends, QStringList{u"cpu"_s});
        QCOMPARE(p->repetitions, 3);
        QCOMPARE(p->inference.batchSizes, (QList<qint64>{1, 64}));
        QVERIFY(p->measurement.isAuto());
        QCOMPARE(p->measurement.idleBefore, 2.0);
        QCOMPARE(p->measurement.samplingHz, 10.0);
        QCOMPARE(p->accuracyBudget, 1.0);
        QCOMPARE(p->order, jb::PlanOrder::Interleaved);
        QVERIFY(p->cacheBaseline);
    }

    void tinyPlanParsesWithDefaults()
    {
        QStringList errors;
        const auto p = Plan::load(dataFile(u"plans/tiny.json"_s), &errors);
        QVERIFY2(p, qPrintable(errors.join(u'\n')));
        QCOMPARE(p->dataset.trainLimit, 512);
        QCOMPARE(p->dataset.testLimit, 256);
        QCOMPARE(p->training.epochs, 1);
        QCOMPARE(p->model.zoo, u"mlp"_s);
        QCOMPARE(p->repetitions, 2);
        QCOMPARE(p->measurement.idleBefore, 0.2);
        // Defaults: the seeds follow the plan seed, the baseline is implied.
        QCOMPARE(p->seed, 42);
        QCOMPARE(p->dataset.seed, 42);
        QCOMPARE(p->training.seed, 42);
        QCOMPARE(p->dataset.validationFraction, 0.1);
        QCOMPARE(p->measurement.samplingHz, 10.0);
        QCOMPARE(p->measurement.idleAfter, 0.0);
        QCOMPARE(p->variants.size(), 1);
        QCOMPARE(p->variants.at(0).label, u"baseline"_s);
        QCOMPARE(p->baselineIndex(), 0);
        QCOMPARE(p->backends, QStringList{u"cpu"_s});
    }

    void techniquesPlanParsesStructurallyWithoutRegistry()
    {
        QStringList errors;
        const auto p = Plan::load(dataFile(u"plans/techniques.json"_s), &errors);
        QVERIFY2(p, qPrintable(errors.join(u'\n')));
        QCOMPARE(p->variants.size(), 3);
        QCOMPARE(p->variants.at(0).label, u"baseline"_s); // implied, placed first
        QCOMPARE(p->variants.at(2).chain.size(), 2);
        QCOMPARE(p->variants.at(2).chain.at(1).plugin, u"quant.dynamic_int8"_s);
        // Without a registry the params stay as written (no defaults known).
        QCOMPARE(p->variants.at(1).chain.at(0).params,
                 jsonValue(R"({"sparsity": 0.5})").toObject());
        QCOMPARE(p->training.momentum, 0.9);
        QCOMPARE(p->training.gamma, 0.5);
        QCOMPARE(p->measurement.meters, (QStringList{u"rapl"_s, u"estimate"_s}));
        QCOMPARE(p->order, jb::PlanOrder::Shuffled);
        QCOMPARE(p->dataset.seed, 7);
    }

    void registryFillsParamDefaults()
    {
        FakeRegistry reg;
        QStringList errors;
        const auto p = Plan::load(dataFile(u"plans/techniques.json"_s), &errors, reg.context());
        QVERIFY2(p, qPrintable(errors.join(u'\n')));
        QCOMPARE(p->variants.at(1).chain.at(0).params,
                 jsonValue(R"({"sparsity": 0.5, "scope": "global"})").toObject());
        QCOMPARE(p->variants.at(2).chain.at(0).params,
                 jsonValue(R"({"sparsity": 0.8, "scope": "layer"})").toObject());
        QCOMPARE(p->variants.at(2).chain.at(1).params, QJsonObject());
    }

    void errors_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QByteArray>("value"); // "" removes the key
        QTest::addColumn<QStringList>("expected");
        auto row = [](const char *name, const QString &path, const QByteArray &value,
                      const QStringList &expected) {
            QTest::newRow(name) << path << value << expected;
        };
        // Wrong types.
        row("string for int", u"training.epochs"_s, R"("2")",
            {u"training.epochs: \"2\" is a string, expected an integer"_s});
        row("fraction for int", u"repetitions"_s, "2.5", {u"repetitions: 2.5 is not an integer"_s});
        row("string for bool", u"cacheBaseline"_s, R"("yes")",
            {u"cacheBaseline: \"yes\" is a string, expected true or false"_s});
        row("string for array", u"backends"_s, R"("cpu")",
            {u"backends: \"cpu\" is a string, expected an array"_s});
        row("array for object", u"training"_s, "[1, 2]",
            {u"training: [1,2] is an array, expected an object"_s});
        row("null", u"seed"_s, "null", {u"seed: null is JSON null, expected an integer"_s});
        // Ranges.
        row("int below min", u"repetitions"_s, "0",
            {u"repetitions: 0 is below 1 (allowed range 1 to 1000)"_s});
        row("double above max", u"measurement.samplingHz"_s, "2000",
            {u"measurement.samplingHz: 2000.0 is above 1000.0 (allowed range 1.0 to 1000.0)"_s});
        row("exclusive min", u"training.learningRate"_s, "0",
            {u"training.learningRate: 0.0 is not above 0.0 (expected above 0.0 and at most "
             "10.0)"_s});
        row("fraction above max", u"dataset.validationFraction"_s, "0.95",
            {u"dataset.validationFraction: 0.95 is above 0.9 (allowed range 0.0 to 0.9)"_s});
        row("negative budget", u"accuracyBudget"_s, "-1",
            {u"accuracyBudget: -1.0 is below 0.0 (allowed range 0.0 to 100.0)"_s});
        row("negative seed", u"seed"_s, "-1",
            {u"seed: -1 is below 0 (allowed range 0 to 9007199254740991)"_s});
        row("width zero", u"model.width"_s, "0",
            {u"model.width: 0.0 is not above 0.0 (expected above 0.0 and at most 16.0)"_s});
        // Unknown keys.
        row("unknown key with suggestion", u"training.epoch"_s, "3",
            {u"training.epoch: unknown key (did you mean \"epochs\"?)"_s});
        row("unknown key, wrong case", u"measurement.idlebefore"_s, "1",
            {u"measurement.idlebefore: unknown key (did you mean \"idleBefore\"?)"_s});
        row("unknown key without suggestion", u"colour"_s, R"("red")",
            {u"colour: unknown key; expected one of: accuracyBudget, backends, cacheBaseline, "
             "dataset, description, inference, measurement, model, name, order, repetitions, "
             "seed, training, variants, version"_s});
        // Missing required keys.
        row("missing dataset", u"dataset"_s, "", {u"dataset: missing, expected an object"_s});
        row("missing dataset name", u"dataset.name"_s, "",
            {u"dataset.name: missing, expected one of \"fashion-mnist\", \"mnist\", "
             "\"cifar10\", \"cifar100\", \"tensor\""_s});
        row("missing name", u"name"_s, "", {u"name: missing, expected a non-empty string"_s});
        row("empty name", u"name"_s, R"("")",
            {u"name: \"\" is empty, expected a non-empty string"_s});
        row("missing version", u"version"_s, "",
            {u"version: missing, expected 1 (the plan format version)"_s});
        // Choices.
        QCOMPARE(jb::planDatasetNames().size(), 5);
        row("data set typo", u"dataset.name"_s, R"("fashion-mnst")",
            {u"dataset.name: \"fashion-mnst\" is not one of \"fashion-mnist\", \"mnist\", "
             "\"cifar10\", \"cifar100\", \"tensor\" (did you mean \"fashion-mnist\"?)"_s});
        row("optimizer typo", u"training.optimizer"_s, R"("adamw")",
            {u"training.optimizer: \"adamw\" is not one of \"sgd\", \"adam\" (did you mean "
             "\"adam\"?)"_s});
        row("order", u"order"_s, R"("random")",
            {u"order: \"random\" is not one of \"interleaved\", \"shuffled\""_s});
        // Cross-key rules.
        row("tensor without path", u"dataset.name"_s, R"("tensor")",
            {u"dataset.path: missing, expected the folder with train.jbt and test.jbt (required "
             "for the tensor data set)"_s});
        row("momentum with adam", u"training.momentum"_s, "0.5",
            {u"training.momentum: 0.5 is used only by the sgd optimizer; remove it or set "
             "optimizer to sgd"_s});
        row("gamma without step schedule", u"training.gamma"_s, "0.5",
            {u"training.gamma: 0.5 is used only by the step schedule; remove it or set "
             "schedule to step"_s});
        row("no model", u"model"_s, "{}",
            {u"model.zoo: missing, expected a zoo model name (e.g. \"cnn-small\") or a "
             "torchScript file"_s});
        row("two models", u"model"_s, R"({"zoo": "mlp", "torchScript": "m.pt"})",
            {u"model.torchScript: a model is either a zoo model or a TorchScript file, "
             "expected only one of zoo and torchScript"_s});
        row("width of a script", u"model"_s, R"({"torchScript": "m.pt", "width": 2})",
            {u"model.width: only zoo models have a width multiplier; remove it"_s});
        row("model name syntax", u"model.zoo"_s, R"("CNN small")",
            {u"model.zoo: \"CNN small\" is not a model name, expected lower case letters, "
             "digits, - and _"_s});
        // Lists.
        row("no backends", u"backends"_s, "[]",
            {u"backends: [] is empty, expected at least one backend, e.g. [\"cpu\"]"_s});
        row("backend twice", u"backends"_s, R"(["cpu", "cpu"])",
            {u"backends[1]: \"cpu\" is listed twice"_s});
        row("bad backend", u"backends"_s, R"(["cpu:2", "gpu"])",
            {u"backends[1]: \"gpu\" is not a backend, expected cpu (all cores), "
             "cpu:<threads>, cpu:<threads>:<quantized engine> (engine: onednn, qnnpack, "
             "fbgemm, x86), cuda or cuda:<index>"_s});
        row("no batch sizes", u"inference.batchSizes"_s, "[]",
            {u"inference.batchSizes: [] is empty, expected at least one batch size, e.g. "
             "[1, 64]"_s});
        row("batch size zero", u"inference.batchSizes"_s, "[1, 0]",
            {u"inference.batchSizes[1]: 0 is below 1 (allowed range 1 to 65536)"_s});
        row("batch size twice", u"inference.batchSizes"_s, "[8, 8]",
            {u"inference.batchSizes[1]: 8 is listed twice"_s});
        row("auto mixed", u"measurement.meters"_s, R"(["auto", "rapl"])",
            {u"measurement.meters[0]: \"auto\" cannot be mixed with other meters; write "
             "\"meters\": \"auto\" alone"_s});
        row("meter string", u"measurement.meters"_s, R"("rapl")",
            {u"measurement.meters: \"rapl\" is a string, expected \"auto\" or a non-empty "
             "array of meter ids"_s});
        row("no meters", u"measurement.meters"_s, "[]",
            {u"measurement.meters: [] is empty, expected \"auto\" or a non-empty array of "
             "meter ids"_s});
        // Variants.
        row("label twice", u"variants"_s,
            R"([{"label": "a", "chain": [{"plugin": "x.y"}]}, {"label": "a", "chain": []}])",
            {u"variants[1].label: \"a\" is already the label of variants[0], expected unique "
             "labels"_s});
        row("chain twice", u"variants"_s,
            R"([{"label": "a", "chain": [{"plugin": "x.y"}]},
                {"label": "b", "chain": [{"plugin": "x.y", "params": {}}]}])",
            {u"variants[1].chain: the same steps as variants[0] (\"a\"), expected each chain "
             "once (repetitions repeat runs)"_s});
        row("baseline label taken", u"variants"_s,
            R"([{"label": "baseline", "chain": [{"plugin": "x.y"}]}])",
            {u"variants[0].label: \"baseline\" names a variant with techniques, but the "
             "baseline (the empty chain) is implied under that label; rename it or add "
             "{\"label\": \"baseline\", \"chain\": []}"_s});
        row("step typo", u"variants"_s, R"([{"label": "a", "chain": [{"plugn": "x.y"}]}])",
            {u"variants[0].chain[0].plugin: missing, expected a non-empty string"_s,
             u"variants[0].chain[0].plugn: unknown key (did you mean \"plugin\"?)"_s});
        row("step not an object", u"variants"_s, R"([{"label": "a", "chain": ["prune"]}])",
            {u"variants[0].chain[0]: \"prune\" is a string, expected an object {\"plugin\": "
             "id, \"params\": {...}}"_s});
        row("plugin id syntax", u"variants"_s,
            R"([{"label": "a", "chain": [{"plugin": "prune magnitude"}]}])",
            {u"variants[0].chain[0].plugin: \"prune magnitude\" is not a plugin id, expected "
             "e.g. \"prune.magnitude\""_s});
        row("params not an object", u"variants"_s,
            R"([{"label": "a", "chain": [{"plugin": "x.y", "params": [1]}]}])",
            {u"variants[0].chain[0].params: [1] is an array, expected an object"_s});
        row("variant without label", u"variants"_s, R"([{"chain": []}])",
            {u"variants[0].label: missing, expected a non-empty string"_s});
    }
    void errors()
    {
        QFETCH(QString, path);
        QFETCH(QByteArray, value);
        QFETCH(QStringList, expected);
        const QJsonValue v = value.isEmpty() ? QJsonValue(QJsonValue::Undefined) : jsonValue(value);
        QCOMPARE(errorsOf(withValue(minimalPlan(), path, v)), expected);
    }

    void unsupportedVersionStopsReading()
    {
        // Other mistakes are not reported: a version-2 plan may mean other things by them.
        QJsonObject json = withValue(minimalPlan(), u"version"_s, 2);
        json = withValue(json, u"repetitions"_s, 0);
        QCOMPARE(errorsOf(json), QStringList{u"version: 2 is not supported, expected 1"_s});
        QCOMPARE(errorsOf(withValue(minimalPlan(), u"version"_s, u"1"_s)),
                 QStringList{u"version: \"1\" is not supported, expected 1"_s});
    }

    void collectsEveryError()
    {
        QJsonObject json = minimalPlan();
        json = withValue(json, u"training.epochs"_s, -1);
        json = withValue(json, u"training.optimiser"_s, u"sgd"_s);
        json = withValue(json, u"repetitions"_s, u"3"_s);
        json = withValue(json, u"measurement.samplingHz"_s, 0);
        json = withValue(json, u"name"_s, QJsonValue::Undefined);
        const QStringList errors = errorsOf(json);
        QCOMPARE(errors,
                 (QStringList{u"name: missing, expected a non-empty string"_s,
                              u"training.epochs: -1 is below 0 (allowed range 0 to 10000)"_s,
                              u"training.optimiser: unknown key (did you mean \"optimizer\"?)"_s,
                              u"repetitions: \"3\" is a string, expected an integer"_s,
                              u"measurement.samplingHz: 0.0 is below 1.0 (allowed range 1.0 to "
                              "1000.0)"_s}));
    }

    void unknownPluginViaLookup()
    {
        FakeRegistry reg;
        const QJsonObject json = withValue(minimalPlan(), u"variants"_s, jsonValue(R"([
            {"label": "p", "chain": [{"plugin": "prune.magnitud"}]}])"));
        QCOMPARE(errorsOf(json, reg.context()),
                 QStringList{u"variants[0].chain[0].plugin: \"prune.magnitud\" is not a known "
                             "technique plugin (did you mean \"prune.magnitude\"?); known: "
                             "prune.magnitude, quant.dynamic_int8"_s});
        PlanContext none;
        none.schemaFor = [](const QString &) -> const ParamSchema * { return nullptr; };
        QCOMPARE(errorsOf(json, none),
                 QStringList{u"variants[0].chain[0].plugin: \"prune.magnitud\" is not a known "
                             "technique plugin; known: none (no technique plugin is loaded)"_s});
    }

    void paramErrorsViaSchema()
    {
        FakeRegistry reg;
        const QJsonObject json = withValue(minimalPlan(), u"variants"_s, jsonValue(R"([
            {"label": "ok", "chain": [{"plugin": "prune.magnitude"}]},
            {"label": "bad", "chain": [{"plugin": "prune.magnitude",
                                        "params": {"sparsity": 1.7, "scpe": "layer"}},
                                       {"plugin": "quant.dynamic_int8", "params": {"bits": 4}}]}
        ])"));
        QCOMPARE(errorsOf(json, reg.context()),
                 (QStringList{u"variants[1].chain[0].params.scpe: unknown parameter of "
                              "prune.magnitude (did you mean \"scope\"?)"_s,
                              u"variants[1].chain[0].params.sparsity: 1.7 is above 1.0 "
                              "(allowed range 0.0 to 1.0)"_s,
                              u"variants[1].chain[1].params.bits: unknown parameter of "
                              "quant.dynamic_int8, which takes no parameters"_s}));
    }

    void contextListsCheckModelsMetersBackends()
    {
        PlanContext ctx;
        ctx.modelNames = {u"mlp"_s, u"cnn-small"_s};
        ctx.meterIds = {u"rapl"_s, u"nvml"_s, u"estimate"_s};
        ctx.checkBackend = [](const QString &b, QString *why) {
            *why = u"expected cpu here"_s;
            return b == u"cpu"_s;
        };
        QJsonObject json = withValue(minimalPlan(), u"model.zoo"_s, u"cnn-smal"_s);
        json = withValue(json, u"measurement.meters"_s, jsonValue(R"(["rapl", "nvm"])"));
        json = withValue(json, u"backends"_s, jsonValue(R"(["cpu", "cpu:1"])"));
        QCOMPARE(errorsOf(json, ctx),
                 (QStringList{u"model.zoo: \"cnn-smal\" is not a zoo model (did you mean "
                              "\"cnn-small\"?); known: mlp, cnn-small"_s,
                              u"backends[1]: \"cpu:1\" is not a backend, expected cpu here"_s,
                              u"measurement.meters[1]: \"nvm\" is not a known meter (did you "
                              "mean \"nvml\"?); known: rapl, nvml, estimate, or \"auto\""_s}));
    }

    void textErrorsHaveLineAndColumn()
    {
        QStringList errors;
        QVERIFY(!Plan::fromJsonText("{\n  \"version\": 1,\n  \"name\": \"x\",,\n}", &errors, {},
                                    u"p.json"_s));
        QCOMPARE(errors.size(), 1);
        QVERIFY2(errors.at(0).startsWith(u"p.json:3:"_s), qPrintable(errors.at(0)));
        QVERIFY(errors.at(0).contains(u"invalid JSON"_s));

        errors.clear();
        QVERIFY(!Plan::fromJsonText("[1]", &errors, {}, u"p.json"_s));
        QCOMPARE(errors, QStringList{u"p.json: expected a JSON object at the top level, found "
                                     "an array"_s});
    }

    void duplicateKeysAreErrors()
    {
        const QByteArray text = R"({"version": 1, "name": "t", "dataset": {"name": "mnist"},
            "model": {"zoo": "mlp"}, "training": {"epochs": 1, "epochs": 5},
            "variants": [{"label": "a", "chain": []}, {"label": "b", "label": "c", "chain": []}]})";
        QStringList errors;
        QVERIFY(!Plan::fromJsonText(text, &errors));
        QCOMPARE(errors.at(0), u"training.epochs: key appears more than once; keep one (a JSON "
                               "reader would silently use only the last)"_s);
        QCOMPARE(errors.at(1).left(17), u"variants[1].label"_s);
    }

    void roundTrip_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<bool>("withRegistry");
        QTest::newRow("default") << defaultPlanFile() << false;
        QTest::newRow("tiny") << dataFile(u"plans/tiny.json"_s) << false;
        QTest::newRow("techniques") << dataFile(u"plans/techniques.json"_s) << false;
        QTest::newRow("techniques+registry") << dataFile(u"plans/techniques.json"_s) << true;
    }
    void roundTrip()
    {
        QFETCH(QString, file);
        QFETCH(bool, withRegistry);
        FakeRegistry reg;
        const PlanContext ctx = withRegistry ? reg.context() : PlanContext();
        QStringList errors;
        const auto p = Plan::load(file, &errors, ctx);
        QVERIFY2(p, qPrintable(errors.join(u'\n')));

        const auto again = Plan::fromJsonText(p->toJsonText(), &errors, ctx);
        QVERIFY2(again, qPrintable(errors.join(u'\n')));
        QVERIFY2(*again == *p, p->toJsonText().constData());
        QCOMPARE(again->toJsonText(), p->toJsonText());
        QCOMPARE(again->hash(), p->hash());

        QTemporaryDir dir;
        QString error;
        const QString saved = dir.filePath(u"saved.json"_s);
        QVERIFY2(p->save(saved, &error), qPrintable(error));
        const auto loaded = Plan::load(saved, &errors, ctx);
        QVERIFY2(loaded && *loaded == *p, qPrintable(errors.join(u'\n')));
    }

    void canonicalFormHasEveryKey()
    {
        QStringList errors;
        const auto p = Plan::load(dataFile(u"plans/tiny.json"_s), &errors);
        QVERIFY(p);
        const QJsonObject j = p->toJson();
        QCOMPARE(j.keys(),
                 (QStringList{u"accuracyBudget"_s, u"backends"_s, u"cacheBaseline"_s, u"dataset"_s,
                              u"description"_s, u"inference"_s, u"measurement"_s, u"model"_s,
                              u"name"_s, u"order"_s, u"repetitions"_s, u"seed"_s, u"training"_s,
                              u"variants"_s, u"version"_s}));
        QCOMPARE(j.value(u"training"_s).toObject().keys(),
                 (QStringList{u"batchSize"_s, u"epochs"_s, u"learningRate"_s, u"optimizer"_s,
                              u"schedule"_s, u"seed"_s, u"weightDecay"_s}));
        QCOMPARE(j.value(u"measurement"_s).toObject().value(u"meters"_s).toString(), u"auto"_s);
        QCOMPARE(j.value(u"variants"_s).toArray().size(), 1);
        QCOMPARE(j.value(u"order"_s).toString(), u"interleaved"_s);
        // Compact canonical text: sorted keys, so the hash does not depend on the file's layout.
        QVERIFY(p->toJsonText(false).startsWith("{\"accuracyBudget\":1,\"backends\":[\"cpu\"]"));
    }

    void hashFollowsContentNotLayout()
    {
        QStringList errors;
        const auto a = Plan::fromJsonText(
            R"({"version": 1, "name": "t", "dataset": {"name": "mnist"}, "model": {"zoo": "mlp"}})",
            &errors);
        const auto b = Plan::fromJsonText(R"({ "model": { "zoo": "mlp", "width": 1.0 },
            "dataset": {"name": "mnist", "seed": 42}, "name": "t", "version": 1, "seed": 42,
            "repetitions": 3 })",
                                          &errors);
        QVERIFY2(a && b, qPrintable(errors.join(u'\n')));
        QVERIFY(*a == *b);
        QCOMPARE(a->hash(), b->hash());
        QCOMPARE(a->hash().size(), 64);
        Plan c = *a;
        c.repetitions = 4;
        QVERIFY(c.hash() != a->hash());
    }

    void resolvesPathsAgainstThePlanFolder()
    {
        QCOMPARE(Plan::resolvePath(u"/data/plans/p.json"_s, u"models/m.pt"_s),
                 u"/data/plans/models/m.pt"_s);
        QCOMPARE(Plan::resolvePath(u"/data/plans/p.json"_s, u"/abs/m.pt"_s), u"/abs/m.pt"_s);
        QCOMPARE(Plan::resolvePath(QString(), u"m.pt"_s), u"m.pt"_s);
        QCOMPARE(Plan::resolvePath(u"/data/p.json"_s, QString()), QString());
    }

    void unreadableFileIsOneError()
    {
        QStringList errors;
        QVERIFY(!Plan::load(u"/nonexistent/plan.json"_s, &errors));
        QCOMPARE(errors.size(), 1);
        QVERIFY2(errors.at(0).startsWith(u"/nonexistent/plan.json: cannot read the plan file"_s),
                 qPrintable(errors.at(0)));
    }
};

QTEST_GUILESS_MAIN(TestPlan)
#include "tst_plan.moc"
