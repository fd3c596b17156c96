// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench-cli plugins check: validates one built technique plugin the way the registry does
// (it uses the registry's own checks: checkPluginMetaData, TechniqueRegistry scan/create) and
// then runs it like the runner would, on a tiny zoo model and a synthetic data set, printing
// every check as PASS or FAIL with the fix (docs/plugin-authoring.md).
#include "cmd_plugins_tools.h"
#include "command.h"

#include "engine/backend.h"
#include "engine/baseline_cache.h"
#include "engine/datasets.h"
#include "engine/evaluator.h"
#include "engine/feedback.h"
#include "engine/spec_model.h"
#include "engine/technique.h"
#include "engine/technique_registry.h"
#include "engine/trainer.h"
#include "engine/zoo.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonDocument>
#include <QLibrary>
#include <QLoggingCategory>
#include <QPluginLoader>

#include <cmath>
#include <mutex>

using namespace jb;
using namespace jb::cli;
using namespace Qt::StringLiterals;

namespace {

/// Prints the checks as they happen and remembers whether one failed.
class Report
{
public:
    void pass(const QString &check, const QString &detail)
    {
        printOut(u"PASS  %1: %2"_s.arg(check, detail));
    }
    void fail(const QString &check, const QString &problem, const QString &fix)
    {
        m_failed = true;
        printOut(u"FAIL  %1: %2\n      fix: %3"_s.arg(check, problem, fix));
    }
    void warn(const QString &check, const QString &problem, const QString &fix)
    {
        printOut(u"WARN  %1: %2\n      fix: %3"_s.arg(check, problem, fix));
    }
    void note(const QString &text) { printOut(u"      "_s + text); }
    bool failed() const { return m_failed; }

private:
    bool m_failed = false;
};

/// Progress as the technique reports it; any thread may call it (a technique may use threads).
class CheckFeedback final : public Feedback
{
public:
    void setProgress(double fraction, const QString &what) override
    {
        std::lock_guard lock(m_mutex);
        ++m_calls;
        if (!(fraction >= 0 && fraction <= 1))
            m_badFraction = u"%1 (\"%2\")"_s.arg(fraction).arg(what);
    }
    void log(const QString &message) override
    {
        std::lock_guard lock(m_mutex);
        m_lines.append(message);
    }
    int calls() const
    {
        std::lock_guard lock(m_mutex);
        return m_calls;
    }
    QString badFraction() const
    {
        std::lock_guard lock(m_mutex);
        return m_badFraction;
    }
    QStringList lines() const
    {
        std::lock_guard lock(m_mutex);
        return m_lines;
    }

private:
    mutable std::mutex m_mutex;
    int m_calls = 0;
    QString m_badFraction;
    QStringList m_lines;
};

/// What the technique told the context: phases, log lines, metrics.
struct Recorded
{
    QStringList phases;
    QStringList logs;
    QStringList metrics;
};

TechniqueContext contextFor(std::unique_ptr<Model> model, const NamedTensors &initial,
                            const DatasetSplits &data, Feedback *feedback, Recorded *rec)
{
    TechniqueContext c;
    c.model = std::move(model);
    c.initialState = initial;
    c.data = &data;
    // Two short epochs (98 samples): enough for schedules that act "after epoch 1" (growing).
    c.training.epochs = 2;
    c.training.batchSize = 32;
    c.training.seed = 1;
    c.seed = 1;
    c.feedback = feedback;
    c.beginPhase = [rec](const QString &name) { rec->phases.append(name); };
    c.log = [rec](const QString &message, const QJsonObject &) { rec->logs.append(message); };
    c.metric = [rec](const QString &name, double value, const QString &unit) {
        rec->metrics.append(u"%1 = %2 %3"_s.arg(name).arg(value).arg(unit).trimmed());
    };
    // measureEnergy stays empty, as in tests and tools without meters: a technique must then
    // report the energy as absent.
    return c;
}

/// 128 training and 64 test samples shaped like Fashion-MNIST ([1, 28, 28], 10 classes),
/// class-dependent means so that one epoch learns something; a quarter of the training pool is
/// the validation split.
bool syntheticSplits(DatasetSplits *out, QString *error)
{
    auto make = [](int64_t n, const QString &name, uint64_t seed) {
        torch::manual_seed(seed);
        Dataset d;
        d.name = name;
        d.numClasses = 10;
        d.targets = torch::arange(n, torch::kLong).remainder(10);
        d.inputs = torch::randn({n, 1, 28, 28}) +
                   d.targets.to(torch::kFloat).div(5).view({n, 1, 1, 1});
        return d;
    };
    DatasetConfig config;
    config.name = u"synthetic"_s;
    config.validationFraction = 0.25;
    config.seed = 1;
    return makeSplits(make(128, u"synthetic/train"_s, 1), make(64, u"synthetic/test"_s, 2),
                      config, out, error);
}

QString joinedOrNone(const QStringList &list)
{
    return list.isEmpty() ? u"none"_s : list.join(u", "_s);
}

/// The checks that need the library's code: run like the runner would, on a tiny model.
void runOnTinyModel(TechniqueRegistry &registry, const QString &id, const QJsonObject &params,
                    const QString &zooName, Report &report)
{
    QString error;
    DatasetSplits data;
    const auto spec = zooSpec(zooName, ZooOptions{}, &error);
    std::unique_ptr<Model> model = spec ? SpecModel::create(*spec, 1, &error) : nullptr;
    if (!model || !syntheticSplits(&data, &error)) {
        report.fail(u"tiny model"_s, error, u"--model must name a zoo entry that takes 1x28x28 "
                                            "inputs: "_s + zooModelNames().join(u", "_s));
        return;
    }
    const NamedTensors initial = cloneTensors(model->state());
    // The "trained baseline": one epoch on the synthetic samples.
    TrainOptions baselineOptions;
    baselineOptions.epochs = 1;
    baselineOptions.batchSize = 32;
    baselineOptions.seed = 1;
    if (!Trainer(baselineOptions).train(*model, data.train, nullptr, &error)) {
        report.fail(u"tiny model"_s, u"training the baseline failed: "_s + error,
                    u"this is a JouleBench problem, not the plugin's; report it"_s);
        return;
    }
    report.pass(u"tiny model"_s,
                u"zoo '%1' (%2 parameters), synthetic data: %3 train, %4 validation, %5 test "
                "samples of 1x28x28, 10 classes"_s.arg(zooName)
                    .arg(parameterCount(*model))
                    .arg(data.train.size())
                    .arg(data.validation.size())
                    .arg(data.test.size()));

    std::unique_ptr<Technique> technique = registry.create(id, params, &error);
    if (!technique) {
        report.fail(u"create"_s, error, u"see the message: a parameter named params.<name> is "
                                        "refused by configure()"_s);
        return;
    }
    const Backend cpu;
    if (!technique->checkSupported(*model, cpu, &error)) {
        report.fail(u"checkSupported"_s,
                    u"refuses zoo '%1' on backend %2: %3"_s.arg(zooName, cpu.toString(), error),
                    u"a plugin should at least handle the small CPU models; try --model "
                    "lenet5, or widen checkSupported()"_s);
        return;
    }
    report.pass(u"checkSupported"_s, u"zoo '%1' on backend %2"_s.arg(zooName, cpu.toString()));

    CheckFeedback feedback;
    Recorded rec;
    TechniqueContext context = contextFor(std::move(model), initial, data, &feedback, &rec);
    QElapsedTimer timer;
    try {
        if (technique->trainsModel()) {
            // The runner hands train() the model at its initial weights.
            QString loadError;
            if (!context.model->loadState(initial, &loadError)) {
                report.fail(u"train"_s, loadError, u"report it (JouleBench problem)"_s);
                return;
            }
            timer.start();
            if (!technique->train(context, &error)) {
                report.fail(u"train"_s, error,
                            u"trainsModel() is true, so train() must train context.model "
                            "(context.training: 2 epochs here) and return true"_s);
                return;
            }
            if (!context.model) {
                report.fail(u"train"_s, u"context.model is empty after train()"_s,
                            u"leave the trained model in context.model"_s);
                return;
            }
            report.pass(u"train"_s, u"%1 ms (2 epochs, batch 32)"_s.arg(timer.elapsed()));
        }
        timer.start();
        if (!technique->apply(context, &error)) {
            report.fail(u"apply"_s, error,
                        u"apply() must transform context.model and return true; return false "
                        "only with a message naming the problem and its fix (when the technique "
                        "needs layers the %1 lacks, check it with --model lenet5)"_s.arg(zooName));
            return;
        }
    } catch (const std::exception &e) {
        report.fail(u"apply"_s, u"threw: "_s + exceptionText(e),
                    u"catch libtorch exceptions in the plugin and return false with a message"_s);
        return;
    }
    report.pass(u"apply"_s, u"%1 ms; phases: %2; metrics: %3; %4 log lines; %5 progress "
                            "reports"_s.arg(timer.elapsed())
                                .arg(joinedOrNone(rec.phases), joinedOrNone(rec.metrics))
                                .arg(rec.logs.size())
                                .arg(feedback.calls()));
    for (const QString &line : std::as_const(rec.logs))
        report.note(u"log: "_s + line);
    for (const QString &line : feedback.lines())
        report.note(u"feedback: "_s + line);
    if (!feedback.badFraction().isEmpty())
        report.fail(u"progress"_s, u"setProgress() got "_s + feedback.badFraction(),
                    u"report progress as a fraction in [0, 1]"_s);

    if (!context.model) {
        report.fail(u"result model"_s, u"context.model is empty after apply()"_s,
                    u"leave the transformed (or the original) model in context.model"_s);
        return;
    }
    try {
        const auto result = Evaluator().evaluate(*context.model, data.test, nullptr, &error);
        if (!result) {
            report.fail(u"result model"_s, u"evaluating it failed: "_s + error,
                        u"the model left in context.model must still run a forward pass on "
                        "the data set's inputs"_s);
            return;
        }
        if (!std::isfinite(result->loss)) {
            report.fail(u"result model"_s, u"its loss on the test samples is not finite"_s,
                        u"the transformed weights contain NaN or infinity"_s);
            return;
        }
        report.pass(u"result model"_s,
                    u"'%1' runs: top-1 %2 % on the synthetic test samples (not a figure of "
                    "merit, only proof that it predicts)"_s.arg(context.model->name())
                        .arg(100.0 * result->top1, 0, 'f', 1));
    } catch (const std::exception &e) {
        report.fail(u"result model"_s, u"threw: "_s + exceptionText(e),
                    u"the model left in context.model must run on the data set's inputs"_s);
        return;
    }

    // Cancellation: a fresh instance, cancelled before it starts, should give up.
    std::unique_ptr<Technique> again = registry.create(id, params, &error);
    CheckFeedback cancelled;
    cancelled.cancel();
    Recorded rec2;
    std::unique_ptr<Model> model2 = SpecModel::create(*spec, 1, &error);
    if (again && model2) {
        TechniqueContext c2 = contextFor(std::move(model2), initial, data, &cancelled, &rec2);
        bool finished = true;
        try {
            finished = again->trainsModel() ? again->train(c2, &error) : again->apply(c2, &error);
        } catch (const std::exception &) {
            finished = false;
        }
        if (finished)
            report.warn(u"cancel"_s,
                        u"%1() finished although the run was cancelled before it started"_s.arg(
                            again->trainsModel() ? u"train"_s : u"apply"_s),
                        u"check context.feedback->isCanceled() in every long loop (at least "
                        "once per batch) and return false with \"cancelled\""_s);
        else
            report.pass(u"cancel"_s, u"stops when cancelled: "_s + error);
    }
}

} // namespace

namespace jb::cli {

int runPluginsCheck(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Checks a built technique plugin library: Qt plugin metadata, interface id (%1), "
        "apiVersion (%2), the metadata and parameter schema, file permissions, loading and "
        "configure() through the plugin registry; then runs it on a tiny zoo model (trained "
        "one epoch) and 128+64 synthetic samples: checkSupported(), train() when trainsModel(), "
        "apply(), the resulting model, and cancellation. Prints PASS/FAIL per check with the "
        "fix; exit status 1 when any check failed. See docs/plugin-authoring.md."_s.arg(
            QString::fromLatin1(TechniqueIid))
            .arg(TechniqueApiVersion));
    parser.addPositionalArgument(u"file"_s, u"The plugin library (.so) to check."_s);
    const QCommandLineOption params(
        u"params"_s,
        u"Parameters as a JSON object (default {}: every default), needed for required "
        "parameters."_s,
        u"json"_s, u"{}"_s);
    const QCommandLineOption model(u"model"_s,
                                   u"The zoo model to run it on (default mlp): %1."_s.arg(
                                       zooModelNames().join(u", "_s)),
                                   u"name"_s, u"mlp"_s);
    parser.addOptions({params, model});
    int exitCode = ExitOk;
    if (!parseArguments(parser, args, &exitCode))
        return exitCode;
    if (parser.positionalArguments().size() != 1) {
        printError(u"plugins check: give one plugin library, e.g. `joulebench-cli plugins check "
                   "build/plugins/libjb_technique_demo_noise.so`"_s);
        return ExitUsage;
    }
    QJsonParseError parseError;
    const QJsonDocument paramsDoc = QJsonDocument::fromJson(parser.value(params).toUtf8(),
                                                            &parseError);
    if (parseError.error != QJsonParseError::NoError || !paramsDoc.isObject()) {
        printError(u"plugins check: --params '%1' is not a JSON object (%2); write e.g. "
                   "--params '{\"amount\": 0.5}'"_s.arg(parser.value(params),
                                                         parseError.errorString()));
        return ExitUsage;
    }
    // Library chatter (registry found/refused lines) would interleave with the report.
    QLoggingCategory::setFilterRules(
        u"joulebench.engine.debug=false\njoulebench.engine.info=false\n"
        "joulebench.engine.warning=false"_s);

    Report report;
    const QFileInfo info(parser.positionalArguments().first());
    const QString file = info.canonicalFilePath();
    if (!info.isFile() || !QLibrary::isLibrary(info.fileName())) {
        report.fail(u"file"_s,
                    u"'%1' is %2"_s.arg(info.filePath(),
                                        !info.exists()  ? u"missing"_s
                                        : !info.isFile() ? u"not a file"_s
                                                         : u"not a shared library name"_s),
                    u"pass the built library, e.g. <build>/plugins/libjb_technique_<id>.so"_s);
        return ExitFailure;
    }
    report.pass(u"file"_s, file);

    // 1. What the registry checks before loading anything, with the registry's own function.
    const PluginMetaDataCheck checked = checkPluginMetaData(QPluginLoader(file).metaData());
    const QString iid = QPluginLoader(file).metaData().value(u"IID"_s).toString();
    switch (checked.metadata ? PluginRejection::BadMetadata : checked.rejection) {
    case PluginRejection::NotAPlugin:
        report.fail(u"Qt plugin metadata"_s, u"none in the file"_s,
                    u"the plugin class needs Q_OBJECT and Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID "
                    "FILE \"<x>.json\"), the .cpp must end with #include \"<x>.moc\", and the "
                    "JSON file must be a valid object (moc only warns and drops it otherwise)"_s);
        return ExitFailure;
    case PluginRejection::WrongIid:
        report.fail(u"interface id"_s,
                    u"'%1', this JouleBench needs '%2'"_s.arg(iid, QString::fromLatin1(
                                                                       TechniqueIid)),
                    u"declare Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID ...) and rebuild against "
                    "this JouleBench's SDK"_s);
        return ExitFailure;
    case PluginRejection::WrongApiVersion:
        report.pass(u"interface id"_s, iid);
        report.fail(u"apiVersion"_s, checked.errors.join(u"; "_s),
                    u"set \"apiVersion\": %1 in the metadata JSON and adapt the plugin to this "
                    "API (engine/technique.h)"_s.arg(TechniqueApiVersion));
        return ExitFailure;
    default:
        break;
    }
    report.pass(u"interface id"_s, iid);
    if (!checked.metadata) {
        report.pass(u"apiVersion"_s, QString::number(TechniqueApiVersion));
        report.fail(u"metadata"_s, checked.errors.join(u"; "_s),
                    u"fix the keys named in the metadata JSON (format: docs/plugins.md), then "
                    "rebuild (moc embeds the JSON)"_s);
        return ExitFailure;
    }
    const TechniqueMetadata &m = *checked.metadata;
    report.pass(u"apiVersion"_s, QString::number(m.apiVersion));
    report.pass(u"metadata"_s, u"%1 \"%2\", family %3, version %4"_s.arg(m.id, m.name, m.family,
                                                                          m.version));
    QString error;
    QJsonObject filled;
    QStringList paramErrors;
    if (!m.parameters.validate(paramsDoc.object(), u"params"_s, &filled, &paramErrors, m.id)) {
        report.fail(u"parameter schema"_s, paramErrors.join(u"; "_s),
                    m.parameters.specs().isEmpty()
                        ? u"this plugin has no parameters: drop --params"_s
                        : u"give valid values for these parameters with --params '{...}' (names "
                          "and ranges: joulebench-cli plugins --plugin-dir <folder> --describe "
                          "%1)"_s.arg(m.id));
        return ExitFailure;
    }
    report.pass(u"parameter schema"_s,
                u"%1 parameter(s): %2"_s.arg(m.parameters.specs().size())
                    .arg(joinedOrNone(m.parameters.names())));

    // 2. The registry's view of the file in its folder: permissions, duplicate ids, loading.
    TechniqueRegistry registry;
    registry.setSearchPaths({{info.absolutePath(), u"command line"_s}});
    registry.scan();
    for (const RejectedPlugin &r : registry.rejected()) {
        if (r.file != file && r.file != info.absolutePath() &&
            QFileInfo(r.file).canonicalFilePath() != file)
            continue;
        const bool perms = r.reason == PluginRejection::InsecurePermissions;
        report.fail(u"registry"_s, u"[%1] %2"_s.arg(pluginRejectionName(r.reason), r.message),
                    perms ? u"chmod go-w the file and its folder, or check it in a folder of your own"_s
                    : r.reason == PluginRejection::DuplicateId
                        ? u"another plugin in the folder has the same id; give this one a new "
                          "\"id\" or check it in a folder of its own"_s
                        : u"see the message"_s);
        return ExitFailure;
    }
    if (!registry.plugin(m.id)) {
        report.fail(u"registry"_s, u"the registry did not list %1 from %2"_s.arg(m.id, file),
                    u"check the plugin in a folder of its own"_s);
        return ExitFailure;
    }
    std::unique_ptr<Technique> technique = registry.create(m.id, paramsDoc.object(), &error);
    if (!technique) {
        report.fail(u"load and configure"_s, error,
                    u"a load failure names the missing symbol or library: link what the plugin "
                    "uses (LIBS of joulebench_add_technique_plugin) and build against this "
                    "JouleBench; a configure() failure should name params.<name> and the fix"_s);
        return ExitFailure;
    }
    report.pass(u"load and configure"_s,
                u"library loaded, factory created a technique, configure() accepted %1; "
                "trainsModel() %2"_s.arg(QString::fromUtf8(
                                             QJsonDocument(paramsDoc.object())
                                                 .toJson(QJsonDocument::Compact)))
                    .arg(technique->trainsModel() ? u"true"_s : u"false"_s));
    technique.reset();

    // 3. Run it.
    runOnTinyModel(registry, m.id, paramsDoc.object(), parser.value(model), report);
    printOut(report.failed() ? u"\n%1: check FAILED"_s.arg(m.id)
                             : u"\n%1: all checks passed"_s.arg(m.id));
    return report.failed() ? ExitFailure : ExitOk;
}

} // namespace jb::cli
