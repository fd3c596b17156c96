// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench-cli export: an experiment as CodeCarbon's emissions.csv or as JouleBench JSON.
#include "command.h"

#include "database/codecarbon_csv.h"
#include "database/experiment_json.h"
#include "database/store.h"

#include <QFile>
#include <QJsonDocument>
#include <QSaveFile>

#include <cmath>
#include <cstdio>

using namespace jb;
using namespace jb::cli;
using namespace Qt::StringLiterals;

namespace {

bool writeOut(const QString &path, const QByteArray &data, QString *error)
{
    if (path == u"-"_s) {
        QFile out;
        if (!out.open(stdout, QIODevice::WriteOnly) || out.write(data) != data.size()) {
            *error = u"writing to standard output failed"_s;
            return false;
        }
        return true;
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(data) != data.size() || !file.commit()) {
        *error = u"cannot write %1: %2; check the folder exists and is writable"_s.arg(
            path, file.errorString());
        return false;
    }
    return true;
}

int runExport(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Writes an experiment for other tools. --format codecarbon: CodeCarbon's "
        "emissions.csv columns (release %1), one row per completed run (or per run and phase), "
        "energy in kWh, duration in s, cpu/gpu/ram energy from the matching domains, plus "
        "joulebench_* columns (joulebench_energy_kind says measured, estimate or mixed). "
        "Emissions only with --carbon-intensity. --format json: the whole experiment (plan, "
        "runs, phases, energy, metrics, environment, logs; samples with --samples), readable "
        "by 'joulebench-cli import'. See docs/interop.md."_s.arg(
            QString::fromLatin1(db::codecarbon::ColumnsVersion)));
    const QCommandLineOption dbOpt(u"db"_s, u"The database."_s, u"file"_s);
    const QCommandLineOption experimentOpt(u"experiment"_s, u"Experiment id or 'last'."_s, u"id"_s,
                                           u"last"_s);
    const QCommandLineOption format(u"format"_s, u"codecarbon or json."_s, u"format"_s);
    const QCommandLineOption outOpt(u"out"_s, u"Output file ('-' for standard output)."_s,
                                    u"file"_s);
    const QCommandLineOption samples(u"samples"_s, u"json: include the raw energy samples."_s);
    const QCommandLineOption carbon(
        u"carbon-intensity"_s,
        u"codecarbon: grid carbon intensity in g CO2eq/kWh; without it emissions stay empty."_s,
        u"g-per-kwh"_s);
    const QCommandLineOption project(u"project-name"_s,
                                     u"codecarbon: project_name (default: the experiment name)."_s,
                                     u"name"_s);
    const QCommandLineOption country(u"country-name"_s, u"codecarbon: country_name."_s, u"name"_s);
    const QCommandLineOption iso(u"country-iso-code"_s,
                                 u"codecarbon: country_iso_code (3 letters)."_s, u"code"_s);
    const QCommandLineOption region(u"region"_s, u"codecarbon: region."_s, u"name"_s);
    const QCommandLineOption perPhase(u"per-phase"_s, u"codecarbon: one row per run and phase."_s);
    const QCommandLineOption net(
        u"net"_s, u"codecarbon: idle-subtracted (net) energy instead of gross energy."_s);
    const QCommandLineOption allRuns(u"all-runs"_s,
                                     u"codecarbon: also failed, cancelled and interrupted runs."_s);
    parser.addOptions({dbOpt, experimentOpt, format, outOpt, samples, carbon, project, country, iso,
                       region, perPhase, net, allRuns});
    int exitCode = ExitOk;
    if (!parseArguments(parser, args, &exitCode))
        return exitCode;
    if (!parser.isSet(dbOpt) || !parser.isSet(format) || !parser.isSet(outOpt)) {
        printError(u"export needs --db FILE, --format codecarbon|json and --out FILE"_s);
        return ExitUsage;
    }
    const QString fmt = parser.value(format);
    if (fmt != u"codecarbon"_s && fmt != u"json"_s) {
        printError(u"--format must be codecarbon or json, got '%1'"_s.arg(fmt));
        return ExitUsage;
    }
    const bool codecarbon = fmt == u"codecarbon"_s;
    for (const QCommandLineOption *o :
         {&carbon, &project, &country, &iso, &region, &perPhase, &net, &allRuns})
        if (!codecarbon && parser.isSet(*o)) {
            printError(u"--%1 applies to --format codecarbon only"_s.arg(o->names().first()));
            return ExitUsage;
        }
    if (codecarbon && parser.isSet(samples)) {
        printError(u"--samples applies to --format json only"_s);
        return ExitUsage;
    }
    db::codecarbon::ExportOptions options;
    if (parser.isSet(carbon)) {
        bool ok = false;
        options.carbonIntensityGPerKWh = parser.value(carbon).toDouble(&ok);
        if (!ok || !(options.carbonIntensityGPerKWh >= 0)) {
            printError(u"--carbon-intensity must be a non-negative number of g CO2eq per kWh, "
                       "got '%1'"_s.arg(parser.value(carbon)));
            return ExitUsage;
        }
    }
    options.projectName = parser.value(project);
    options.countryName = parser.value(country);
    options.countryIsoCode = parser.value(iso);
    options.region = parser.value(region);
    options.perPhase = parser.isSet(perPhase);
    options.netEnergy = parser.isSet(net);
    options.allRuns = parser.isSet(allRuns);

    db::Store store;
    QString error;
    if (!store.open(parser.value(dbOpt), db::Store::OpenMode::ReadOnly, &error)) {
        printError(error);
        return ExitFailure;
    }
    const QString which = parser.value(experimentOpt);
    bool ok = false;
    const qint64 id = which.toLongLong(&ok);
    if (which != u"last"_s && !ok) {
        printError(u"--experiment must be an id or 'last', got '%1'"_s.arg(which));
        return ExitUsage;
    }
    const auto experiment =
        which == u"last"_s ? store.lastExperiment(&error) : store.experiment(id, &error);
    const auto dump =
        experiment
            ? store.dumpExperiment(experiment->id, !codecarbon && parser.isSet(samples), &error)
            : std::nullopt;
    if (!dump) {
        printError(error);
        return ExitFailure;
    }
    QByteArray data;
    if (codecarbon) {
        const std::optional<QByteArray> csv = db::codecarbon::exportCsv(*dump, options, &error);
        if (!csv) {
            printError(error);
            return ExitUsage;
        }
        data = *csv;
    } else {
        data = QJsonDocument(db::experimentDumpToJson(*dump)).toJson(QJsonDocument::Indented);
    }
    const QString out = parser.value(outOpt);
    if (!writeOut(out, data, &error)) {
        printError(error);
        return ExitFailure;
    }
    if (out != u"-"_s)
        std::fprintf(
            stderr, "%s\n",
            qPrintable(
                u"Wrote experiment %1 '%2' (%3 run(s)) to %4 as %5"_s.arg(dump->experiment.id)
                    .arg(dump->experiment.name)
                    .arg(dump->runs.size())
                    .arg(out, codecarbon ? u"CodeCarbon emissions.csv"_s : u"JouleBench JSON"_s)));
    return ExitOk;
}

} // namespace

JB_CLI_COMMAND(export_, "export", "Export an experiment (CodeCarbon emissions.csv or JSON)",
               runExport);
