// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench-cli import: an experiment written by 'export --format json'.
#include "command.h"

#include "database/experiment_json.h"
#include "database/store.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>

using namespace jb;
using namespace jb::cli;
using namespace Qt::StringLiterals;

namespace {

int runImport(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Imports an experiment written by 'joulebench-cli export --format json' as a new "
        "experiment (new ids; records, times, flags, environment, aggregates and samples as "
        "exported). Existing rows are never changed. See docs/interop.md."_s);
    parser.addPositionalArgument(u"FILE"_s, u"The JSON export."_s);
    const QCommandLineOption dbOpt(u"db"_s, u"The database (created when missing)."_s, u"file"_s);
    parser.addOptions({dbOpt});
    int exitCode = ExitOk;
    if (!parseArguments(parser, args, &exitCode))
        return exitCode;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1 || !parser.isSet(dbOpt)) {
        printError(u"import needs one FILE and --db FILE"_s);
        return ExitUsage;
    }
    const QString path = positional.first();
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        printError(u"cannot read %1: %2"_s.arg(path, file.errorString()));
        return ExitFailure;
    }
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &pe);
    if (pe.error != QJsonParseError::NoError || !doc.isObject()) {
        printError(u"%1 is not a JSON object (%2 at byte %3); write it with joulebench-cli "
                   "export --format json"_s.arg(path, pe.errorString())
                       .arg(pe.offset));
        return ExitFailure;
    }
    QString error;
    const std::optional<db::ExperimentDump> dump =
        db::experimentDumpFromJson(doc.object(), path, &error);
    if (!dump) {
        printError(error + u"; nothing was imported"_s);
        return ExitFailure;
    }
    db::Store store;
    if (!store.open(parser.value(dbOpt), db::Store::OpenMode::ReadWrite, &error)) {
        printError(error);
        return ExitFailure;
    }
    const auto same = store.experimentsByPlanHash(dump->experiment.planHash, &error);
    if (!same) {
        printError(error);
        return ExitFailure;
    }
    const std::optional<db::ImportCounts> counts =
        store.importExperiment(*dump, std::nullopt, &error);
    if (!counts) {
        printError(error);
        return ExitFailure;
    }
    QString text = u"Imported experiment '%1' from %2 as experiment %3 in %4: %5 run(s), %6 "
                   "sample(s)."_s.arg(dump->experiment.name, path)
                       .arg(counts->experimentId)
                       .arg(store.path())
                       .arg(counts->runIds.size())
                       .arg(counts->samples);
    if (!same->isEmpty())
        text += u"\nNote: experiment %1 in this database has the same plan; 'merge' would "
                "treat both as one experiment."_s.arg(same->first().id);
    printOut(text);
    return ExitOk;
}

} // namespace

JB_CLI_COMMAND(import, "import", "Import an experiment from JouleBench JSON (export --format json)",
               runImport);
