// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench-cli list: the experiments of a database and their runs with status.
#include "command.h"

#include "cli_tables.h"
#include "database/store.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace jb;
using namespace jb::cli;
using namespace Qt::StringLiterals;

namespace {

int runList(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Lists the experiments of a database and their runs with status and flags."_s);
    const QCommandLineOption dbOpt(u"db"_s, u"The database."_s, u"file"_s);
    const QCommandLineOption experimentOpt(u"experiment"_s,
                                           u"Only this experiment (an id or 'last')."_s, u"id"_s);
    const QCommandLineOption json(u"json"_s, u"Print JSON."_s);
    parser.addOptions({dbOpt, experimentOpt, json});
    int exitCode = ExitOk;
    if (!parseArguments(parser, args, &exitCode))
        return exitCode;
    if (!parser.isSet(dbOpt)) {
        printError(u"list needs --db FILE"_s);
        return ExitUsage;
    }
    db::Store store;
    QString error;
    if (!store.open(parser.value(dbOpt), db::Store::OpenMode::ReadOnly, &error)) {
        printError(error);
        return ExitFailure;
    }
    std::optional<QList<db::ExperimentRecord>> experiments = store.listExperiments(&error);
    if (!experiments) {
        printError(error);
        return ExitFailure;
    }
    if (parser.isSet(experimentOpt)) {
        const QString which = parser.value(experimentOpt);
        bool ok = false;
        const qint64 id = which.toLongLong(&ok);
        const auto e = which == u"last"_s ? store.lastExperiment(&error)
                       : ok               ? store.experiment(id, &error)
                                          : std::nullopt;
        if (!e) {
            printError(ok || which == u"last"_s
                           ? error
                           : u"--experiment must be an id or 'last', got '%1'"_s.arg(which));
            return ok || which == u"last"_s ? ExitFailure : ExitUsage;
        }
        experiments = QList<db::ExperimentRecord>{*e};
    }

    QJsonArray jsonExperiments;
    QString text;
    if (experiments->isEmpty())
        text = u"No experiments in %1.\n"_s.arg(store.path());
    for (const db::ExperimentRecord &e : *experiments) {
        const auto runs = store.listRuns(e.id, &error);
        if (!runs) {
            printError(error);
            return ExitFailure;
        }
        QMap<QString, int> byStatus;
        TextTable table({u"run"_s, u"variant"_s, u"backend"_s, u"rep"_s, u"status"_s,
                         u"started"_s, u"flags"_s},
                        {true, false, false, true});
        QJsonArray jsonRuns;
        for (const db::RunRecord &r : *runs) {
            const QString status = db::runStatusName(r.status);
            byStatus[status] += 1;
            table.addRow({QString::number(r.id), r.key.variant, r.key.backend,
                          QString::number(r.key.repetition), status, r.started,
                          r.flags.join(u", "_s)});
            jsonRuns.append(QJsonObject{{u"id"_s, r.id},
                                        {u"variant"_s, r.key.variant},
                                        {u"backend"_s, r.key.backend},
                                        {u"repetition"_s, r.key.repetition},
                                        {u"configKey"_s, r.key.configKey},
                                        {u"status"_s, status},
                                        {u"flags"_s, QJsonArray::fromStringList(r.flags)},
                                        {u"error"_s, r.error},
                                        {u"started"_s, r.started},
                                        {u"ended"_s, r.ended}});
        }
        QStringList counts;
        for (auto it = byStatus.constBegin(); it != byStatus.constEnd(); ++it)
            counts.append(u"%1 %2"_s.arg(it.value()).arg(it.key()));
        text += u"Experiment %1 '%2' (created %3, plan %4): %5 run(s)%6\n"_s.arg(e.id)
                    .arg(e.name, e.created, e.planHash.left(12))
                    .arg(runs->size())
                    .arg(counts.isEmpty() ? QString() : u": "_s + counts.join(u", "_s));
        if (!table.isEmpty())
            text += table.render(2);
        text += u'\n';
        jsonExperiments.append(QJsonObject{{u"id"_s, e.id},
                                           {u"name"_s, e.name},
                                           {u"created"_s, e.created},
                                           {u"planHash"_s, e.planHash},
                                           {u"runs"_s, jsonRuns}});
    }
    if (parser.isSet(json))
        printOut(QString::fromUtf8(
            QJsonDocument(QJsonObject{{u"database"_s, store.path()},
                                      {u"experiments"_s, jsonExperiments}})
                .toJson(QJsonDocument::Indented)));
    else
        printOut(text);
    return ExitOk;
}

} // namespace

JB_CLI_COMMAND(list, "list", "List the experiments and runs of a database", runList);
