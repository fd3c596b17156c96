// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench-cli import-codecarbon: CodeCarbon's emissions.csv rows as external estimate runs.
#include "command.h"

#include "database/codecarbon_csv.h"
#include "database/store.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>

using namespace jb;
using namespace jb::cli;
using namespace Qt::StringLiterals;

namespace {

int runImportCodecarbon(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Imports a CodeCarbon emissions.csv as external runs of kind ESTIMATE (CodeCarbon's "
        "figures are model-based): one run per row, variants by project_name (and "
        "experiment_id), energy domains codecarbon:cpu/gpu/ram/total, flagged estimate, "
        "imported and no-idle-baseline. By default into a new experiment; with "
        "--into-experiment added to an existing one so they appear beside measured runs in "
        "compare. Existing rows are never changed; a file is imported once. See "
        "docs/interop.md."_s);
    parser.addPositionalArgument(u"FILE"_s, u"CodeCarbon's emissions.csv."_s);
    const QCommandLineOption dbOpt(u"db"_s, u"The database (created when missing)."_s, u"file"_s);
    const QCommandLineOption name(u"experiment-name"_s,
                                  u"Name of the new experiment (default: 'codecarbon FILE')."_s,
                                  u"name"_s);
    const QCommandLineOption into(u"into-experiment"_s,
                                  u"Add the runs to this existing experiment instead."_s, u"id"_s);
    const QCommandLineOption phase(
        u"phase"_s,
        u"Phase the tracked energy is stored as: train (default), prepare, evaluate or any "
        "name (compare shows train, prepare, evaluate and inference:b<N>)."_s,
        u"name"_s, u"train"_s);
    parser.addOptions({dbOpt, name, into, phase});
    int exitCode = ExitOk;
    if (!parseArguments(parser, args, &exitCode))
        return exitCode;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1 || !parser.isSet(dbOpt)) {
        printError(u"import-codecarbon needs one FILE and --db FILE"_s);
        return ExitUsage;
    }
    if (parser.isSet(name) && parser.isSet(into)) {
        printError(u"--experiment-name names a new experiment; it cannot be combined with "
                   "--into-experiment"_s);
        return ExitUsage;
    }
    std::optional<qint64> intoId;
    if (parser.isSet(into)) {
        bool ok = false;
        intoId = parser.value(into).toLongLong(&ok);
        if (!ok) {
            printError(
                u"--into-experiment must be an experiment id, got '%1'"_s.arg(parser.value(into)));
            return ExitUsage;
        }
    }
    const QString path = positional.first();
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        printError(u"cannot read %1: %2"_s.arg(path, file.errorString()));
        return ExitFailure;
    }
    const QByteArray data = file.readAll();
    QString error;
    db::codecarbon::ImportOptions options;
    options.experimentName = parser.value(name);
    options.phase = parser.value(phase);
    const std::optional<db::ExperimentDump> dump =
        db::codecarbon::importCsv(data, path, options, &error);
    if (!dump) {
        printError(error);
        return ExitFailure;
    }
    db::Store store;
    if (!store.open(parser.value(dbOpt), db::Store::OpenMode::ReadWrite, &error)) {
        printError(error);
        return ExitFailure;
    }
    // A file is imported once: its hash is the experiment's plan hash and is in every run.
    const QString hash = db::codecarbon::fileHash(data);
    const auto same = store.experimentsByPlanHash(dump->experiment.planHash, &error);
    if (!same) {
        printError(error);
        return ExitFailure;
    }
    if (!same->isEmpty()) {
        printError(u"%1 was already imported into %2 as experiment %3; nothing was written"_s.arg(
            path, store.path(), QString::number(same->first().id)));
        return ExitFailure;
    }
    const auto experiments = store.listExperiments(&error);
    if (!experiments) {
        printError(error);
        return ExitFailure;
    }
    for (const db::ExperimentRecord &e : *experiments) {
        const auto runs = store.listRuns(e.id, &error);
        if (!runs) {
            printError(error);
            return ExitFailure;
        }
        for (const db::RunRecord &r : *runs)
            if (QJsonDocument::fromJson(r.configJson).object().value(u"fileSha256"_s).toString() ==
                hash) {
                printError(u"%1 was already imported into %2 (run %3 of experiment %4); nothing "
                           "was written"_s.arg(path, store.path(), QString::number(r.id),
                                               QString::number(e.id)));
                return ExitFailure;
            }
    }
    const std::optional<db::ImportCounts> counts = store.importExperiment(*dump, intoId, &error);
    if (!counts) {
        printError(error);
        return ExitFailure;
    }
    printOut(u"Imported %1 CodeCarbon row(s) from %2 as ESTIMATE runs %3 of %4 experiment %5 "
             "'%6' in %7."_s.arg(counts->runIds.size())
                 .arg(path)
                 .arg(counts->runIds.isEmpty()
                          ? QString()
                          : u"%1-%2"_s.arg(counts->runIds.first()).arg(counts->runIds.last()))
                 .arg(counts->experimentCreated ? u"new"_s : u"existing"_s)
                 .arg(counts->experimentId)
                 .arg(counts->experimentCreated ? dump->experiment.name
                                                : store.experiment(counts->experimentId, &error)
                                                      .value_or(db::ExperimentRecord{})
                                                      .name,
                      store.path()));
    return ExitOk;
}

} // namespace

JB_CLI_COMMAND(import_codecarbon, "import-codecarbon",
               "Import CodeCarbon's emissions.csv as external estimate runs", runImportCodecarbon);
