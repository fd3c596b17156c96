// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench-cli report: an experiment's comparison report as HTML, PDF, Markdown or CSV
// (app/report, docs/reports.md).
#include "command.h"

#include "database/store.h"
#include "report/report.h"

#include <QApplication>

using namespace jb;
using namespace jb::cli;
using namespace Qt::StringLiterals;

namespace {

/// Charts are drawn with QCustomPlot (widgets), so this command runs in a QApplication; it
/// never shows a window, so the offscreen platform is used unless QT_QPA_PLATFORM says
/// otherwise (works on a cluster node without a display).
QCoreApplication *createReportApplication(int &argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    return new QApplication(argc, argv);
}

int runReport(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Writes the comparison report of an experiment, from the database alone: a methods "
        "statement (hardware, OS, meters and their kinds, sampling, idle baseline, repetitions, "
        "order, CI method, software, revision), the comparison tables with bootstrap 95 % CIs "
        "and paired deltas vs the baseline (as `compare`), the charts of the results browser, "
        "the validity flags with their meaning and where the raw data is. Estimates are marked "
        "in every table and chart. The same database gives the same bytes.\n"
        "Formats: html (one self-contained file), pdf, md (the .md plus <name>-<chart>.png "
        "beside it), csv (one row per run and phase)."_s);
    const QCommandLineOption dbOpt(u"db"_s, u"The database."_s, u"file"_s);
    const QCommandLineOption experimentOpt(u"experiment"_s, u"Experiment id or 'last'."_s, u"id"_s,
                                           u"last"_s);
    const QCommandLineOption formatOpt(u"format"_s, u"html, pdf, md or csv (default html)."_s,
                                       u"format"_s, u"html"_s);
    const QCommandLineOption outOpt(u"out"_s, u"The report file to write."_s, u"file"_s);
    const QCommandLineOption resamples(u"resamples"_s,
                                       u"Bootstrap resamples of the tables (default 10000)."_s,
                                       u"n"_s, u"10000"_s);
    parser.addOptions({dbOpt, experimentOpt, formatOpt, outOpt, resamples});
    int exitCode = ExitOk;
    if (!parseArguments(parser, args, &exitCode))
        return exitCode;
    if (!parser.isSet(dbOpt) || !parser.isSet(outOpt)) {
        printError(u"report needs --db FILE and --out FILE"_s);
        return ExitUsage;
    }
    const std::optional<report::Format> format = report::formatFromName(parser.value(formatOpt));
    if (!format) {
        printError(
            u"--format must be html, pdf, md or csv, got '%1'"_s.arg(parser.value(formatOpt)));
        return ExitUsage;
    }
    bool ok = false;
    report::Options options;
    options.resamples = parser.value(resamples).toInt(&ok);
    if (!ok || options.resamples < 100 || options.resamples > 1000000) {
        printError(u"--resamples must be an integer from 100 to 1000000, got '%1'"_s.arg(
            parser.value(resamples)));
        return ExitUsage;
    }
    const QString which = parser.value(experimentOpt);
    const qint64 id = which.toLongLong(&ok);
    if (which != u"last"_s && !ok) {
        printError(u"--experiment must be an id or 'last', got '%1'"_s.arg(which));
        return ExitUsage;
    }
    db::Store store;
    QString error;
    if (!store.open(parser.value(dbOpt), db::Store::OpenMode::ReadOnly, &error)) {
        printError(error);
        return ExitFailure;
    }
    const auto experiment =
        which == u"last"_s ? store.lastExperiment(&error) : store.experiment(id, &error);
    if (!experiment || !report::writeReport(store, experiment->id, *format, parser.value(outOpt),
                                            &error, options)) {
        printError(error);
        return ExitFailure;
    }
    printOut(u"Report of experiment %1 written to %2 (%3)."_s.arg(experiment->id)
                 .arg(parser.value(outOpt), report::formatName(*format)));
    return ExitOk;
}

} // namespace

JB_CLI_COMMAND_WITH_APP(report, "report",
                        "Write an experiment's comparison report (html, pdf, md, csv)", runReport,
                        createReportApplication);
