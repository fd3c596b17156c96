// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench-cli show: every stored figure of one run.
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

QJsonValue number(double v)
{
    return std::isfinite(v) ? QJsonValue(v) : QJsonValue(QJsonValue::Null);
}

QJsonValue parsed(const QByteArray &json)
{
    const QJsonDocument d = QJsonDocument::fromJson(json);
    return d.isArray() ? QJsonValue(d.array()) : QJsonValue(d.object());
}

QString environmentText(const QJsonObject &env)
{
    const QJsonObject cpu = env.value(u"cpu"_s).toObject();
    const QJsonObject sw = env.value(u"software"_s).toObject();
    const QJsonObject blas = env.value(u"blas"_s).toObject();
    const QJsonObject freq = env.value(u"cpufreq"_s).toObject();
    QString text;
    auto row = [&](const QString &k, const QString &v) {
        text += u"  %1 %2\n"_s.arg(k, -14).arg(v);
    };
    row(u"host"_s, env.value(u"host"_s).toString());
    row(u"cpu"_s, u"%1 (%2 physical cores, %3 logical, %4 usable)"_s
                      .arg(cpu.value(u"model"_s).toString())
                      .arg(cpu.value(u"physicalCores"_s).toInt())
                      .arg(cpu.value(u"logicalCpus"_s).toInt())
                      .arg(cpu.value(u"usableCpus"_s).toInt()));
    row(u"cpufreq"_s,
        freq.value(u"readable"_s).toBool()
            ? u"governor %1, %2-%3 MHz"_s
                  .arg(freq.value(u"governors"_s).toVariant().toStringList().join(u", "_s))
                  .arg(freq.value(u"minMHz"_s).toDouble())
                  .arg(freq.value(u"maxMHz"_s).toDouble())
            : u"not readable (%1)"_s.arg(freq.value(u"note"_s).toString()));
    row(u"kernel"_s, env.value(u"kernel"_s).toString());
    row(u"os"_s, env.value(u"os"_s).toString());
    row(u"software"_s, u"JouleBench %1 (revision %2), Qt %3, libtorch %4"_s.arg(
                           sw.value(u"joulebench"_s).toString(), sw.value(u"revision"_s).toString(),
                           sw.value(u"qtRuntime"_s).toString(), sw.value(u"torch"_s).toString()));
    row(u"blas"_s, u"%1 %2 (%3 threads)"_s.arg(blas.value(u"kind"_s).toString(),
                                               blas.value(u"library"_s).toString())
                        .arg(blas.value(u"threads"_s).toInt()));
    const QJsonObject applied = env.value(u"backendApplied"_s).toObject();
    if (!applied.isEmpty())
        row(u"threads"_s, u"intra-op %1, inter-op %2, quantized engine %3"_s
                              .arg(applied.value(u"intraOpThreads"_s).toInt())
                              .arg(applied.value(u"interOpThreads"_s).toInt())
                              .arg(applied.value(u"quantizedEngine"_s).toString()));
    for (const QJsonValue &m : env.value(u"meters"_s).toArray()) {
        const QJsonObject o = m.toObject();
        QStringList domains;
        for (const QJsonValue &d : o.value(u"domains"_s).toArray())
            domains.append(u"%1 [%2, %3]"_s.arg(d.toObject().value(u"name"_s).toString(),
                                                d.toObject().value(u"kind"_s).toString(),
                                                d.toObject().value(u"method"_s).toString()));
        row(u"meter"_s, u"%1 (%2): %3"_s.arg(o.value(u"name"_s).toString(),
                                             o.value(u"kind"_s).toString(),
                                             domains.join(u", "_s)));
    }
    for (const QJsonValue &w : env.value(u"meterWarnings"_s).toArray())
        row(u"meter warning"_s, w.toString());
    return text;
}

int runShow(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Shows every stored figure of one run: environment, configuration, phases with "
        "per-domain gross and net energy and their kind, metrics, flags and technique log."_s);
    const QCommandLineOption dbOpt(u"db"_s, u"The database."_s, u"file"_s);
    const QCommandLineOption runOpt(u"run"_s, u"The run id (see list)."_s, u"id"_s);
    const QCommandLineOption json(u"json"_s, u"Print JSON."_s);
    parser.addOptions({dbOpt, runOpt, json});
    int exitCode = ExitOk;
    if (!parseArguments(parser, args, &exitCode))
        return exitCode;
    bool ok = false;
    const qint64 runId = parser.value(runOpt).toLongLong(&ok);
    if (!parser.isSet(dbOpt) || !ok) {
        printError(u"show needs --db FILE and --run ID (a number)"_s);
        return ExitUsage;
    }
    db::Store store;
    QString error;
    if (!store.open(parser.value(dbOpt), db::Store::OpenMode::ReadOnly, &error)) {
        printError(error);
        return ExitFailure;
    }
    const auto run = store.run(runId, &error);
    const auto experiment = run ? store.experiment(run->experimentId, &error) : std::nullopt;
    const auto domains = run ? store.domains(runId, &error) : std::nullopt;
    const auto phases = domains ? store.phases(runId, &error) : std::nullopt;
    const auto metrics = phases ? store.metrics(runId, &error) : std::nullopt;
    const auto logs = metrics ? store.techniqueLogs(runId, &error) : std::nullopt;
    const auto totals = logs ? store.runEnergy(runId, &error) : std::nullopt;
    if (!totals) {
        printError(error);
        return ExitFailure;
    }
    const QJsonObject env = QJsonDocument::fromJson(run->envJson).object();
    const QJsonObject config = QJsonDocument::fromJson(run->configJson).object();

    if (parser.isSet(json)) {
        QJsonArray phaseArray;
        for (const db::PhaseRecord &p : *phases) {
            QJsonArray energy;
            for (const db::PhaseEnergyRecord &e : p.energy)
                energy.append(QJsonObject{{u"domain"_s, e.domain},
                                          {u"kind"_s, db::valueKindName(e.kind)},
                                          {u"grossJ"_s, number(e.grossJ)},
                                          {u"netJ"_s, number(e.netJ)},
                                          {u"avgPowerW"_s, number(e.avgPowerW)}});
            phaseArray.append(QJsonObject{{u"name"_s, p.name},
                                          {u"ordinal"_s, p.ordinal},
                                          {u"tStart"_s, number(p.tStart)},
                                          {u"duration"_s, number(p.duration)},
                                          {u"energy"_s, energy}});
        }
        QJsonArray metricArray;
        for (const db::MetricRecord &m : *metrics)
            metricArray.append(QJsonObject{{u"phase"_s, m.phase},
                                           {u"name"_s, m.name},
                                           {u"value"_s, number(m.value)},
                                           {u"unit"_s, m.unit},
                                           {u"kind"_s, db::valueKindName(m.kind)}});
        QJsonArray domainArray;
        for (const db::RunDomain &d : *domains)
            domainArray.append(QJsonObject{{u"name"_s, d.name},
                                           {u"kind"_s, db::valueKindName(d.kind)},
                                           {u"meter"_s, d.meterId}});
        QJsonArray logArray;
        for (const db::TechniqueLogRecord &l : *logs)
            logArray.append(QJsonObject{{u"plugin"_s, l.plugin},
                                        {u"message"_s, l.message},
                                        {u"data"_s, parsed(l.json)},
                                        {u"created"_s, l.created}});
        QJsonArray totalArray;
        for (const db::RunEnergyRecord &t : *totals)
            totalArray.append(QJsonObject{{u"domain"_s, t.domain},
                                          {u"kind"_s, db::valueKindName(t.kind)},
                                          {u"samples"_s, t.samples},
                                          {u"joules"_s, number(t.joules)},
                                          {u"durationS"_s, number(t.durationS)},
                                          {u"avgPowerW"_s, number(t.avgPowerW)},
                                          {u"peakPowerW"_s, number(t.peakPowerW)}});
        printOut(QString::fromUtf8(
            QJsonDocument(
                QJsonObject{{u"run"_s, run->id},
                            {u"experiment"_s, QJsonObject{{u"id"_s, experiment->id},
                                                          {u"name"_s, experiment->name},
                                                          {u"planHash"_s, experiment->planHash}}},
                            {u"variant"_s, run->key.variant},
                            {u"chain"_s, parsed(run->key.chainJson)},
                            {u"backend"_s, run->key.backend},
                            {u"repetition"_s, run->key.repetition},
                            {u"configKey"_s, run->key.configKey},
                            {u"status"_s, db::runStatusName(run->status)},
                            {u"flags"_s, QJsonArray::fromStringList(run->flags)},
                            {u"error"_s, run->error},
                            {u"started"_s, run->started},
                            {u"ended"_s, run->ended},
                            {u"config"_s, config},
                            {u"environment"_s, env},
                            {u"domains"_s, domainArray},
                            {u"phases"_s, phaseArray},
                            {u"metrics"_s, metricArray},
                            {u"techniqueLog"_s, logArray},
                            {u"totals"_s, totalArray}})
                .toJson(QJsonDocument::Indented)));
        return ExitOk;
    }

    QString text = u"Run %1 of experiment %2 '%3'\n"_s.arg(run->id)
                       .arg(experiment->id)
                       .arg(experiment->name);
    auto row = [&](const QString &k, const QString &v) {
        text += u"  %1 %2\n"_s.arg(k, -14).arg(v);
    };
    row(u"variant"_s, u"%1 (chain %2)"_s.arg(run->key.variant,
                                              QString::fromUtf8(run->key.chainJson)));
    row(u"backend"_s, run->key.backend);
    row(u"repetition"_s, QString::number(run->key.repetition));
    row(u"config key"_s, run->key.configKey);
    row(u"status"_s, db::runStatusName(run->status) +
                         (run->statusDerived ? u" (owner process gone)"_s : QString()));
    row(u"started"_s, run->started);
    row(u"ended"_s, run->ended);
    row(u"flags"_s, run->flags.isEmpty() ? u"none"_s : run->flags.join(u", "_s));
    if (!run->error.isEmpty())
        row(u"error"_s, run->error);
    const QJsonObject cache = config.value(u"trainCache"_s).toObject();
    if (cache.value(u"reused"_s).toBool())
        row(u"train"_s, u"REUSED from run %1 (cache %2, %3): the train figures below are that "
                        "run's measured figures"_s
                            .arg(cache.value(u"sourceRunId"_s).toInteger())
                            .arg(cache.value(u"hash"_s).toString().left(12),
                                 cache.value(u"file"_s).toString()));
    text += u"\nEnvironment\n"_s + environmentText(env);

    text += u"\nPhases (net = gross - idle power x duration; kinds never mixed)\n"_s;
    TextTable pt({u"#"_s, u"phase"_s, u"start s"_s, u"duration s"_s, u"domain"_s, u"kind"_s,
                  u"gross J"_s, u"net J"_s, u"mean W"_s},
                 {true, false, true, true, false, false, true, true, true});
    for (const db::PhaseRecord &p : *phases) {
        if (p.energy.isEmpty())
            pt.addRow({QString::number(p.ordinal), p.name, formatNumber(p.tStart, 4),
                       formatNumber(p.duration, 4)});
        for (qsizetype i = 0; i < p.energy.size(); ++i) {
            const db::PhaseEnergyRecord &e = p.energy.at(i);
            pt.addRow({i == 0 ? QString::number(p.ordinal) : QString(), i == 0 ? p.name : QString(),
                       i == 0 ? formatNumber(p.tStart, 4) : QString(),
                       i == 0 ? formatNumber(p.duration, 4) : QString(), e.domain,
                       kindLabel(e.kind), formatNumber(e.grossJ, 4), formatNumber(e.netJ, 4),
                       formatNumber(e.avgPowerW, 4)});
        }
    }
    text += pt.isEmpty() ? u"  none\n"_s : pt.render(2);

    text += u"\nMetrics\n"_s;
    TextTable mt({u"phase"_s, u"metric"_s, u"value"_s, u"unit"_s, u"kind"_s},
                 {false, false, true});
    for (const db::MetricRecord &m : *metrics)
        mt.addRow({m.phase.isEmpty() ? u"(run)"_s : m.phase, m.name, formatNumber(m.value, 5),
                   m.unit, kindLabel(m.kind)});
    text += mt.isEmpty() ? u"  none\n"_s : mt.render(2);

    text += u"\nRun totals from the samples\n"_s;
    TextTable tt({u"domain"_s, u"meter"_s, u"kind"_s, u"samples"_s, u"energy J"_s,
                  u"duration s"_s, u"mean W"_s, u"peak W"_s},
                 {false, false, false, true, true, true, true, true});
    for (const db::RunEnergyRecord &t : *totals)
        tt.addRow({t.domain, t.meterId, kindLabel(t.kind), QString::number(t.samples),
                   formatNumber(t.joules, 4), formatNumber(t.durationS, 4),
                   formatNumber(t.avgPowerW, 4), formatNumber(t.peakPowerW, 4)});
    text += tt.isEmpty() ? u"  none\n"_s : tt.render(2);

    if (!logs->isEmpty()) {
        text += u"\nTechnique log\n"_s;
        for (const db::TechniqueLogRecord &l : *logs)
            text += u"  %1 %2: %3 %4\n"_s.arg(l.created, l.plugin, l.message,
                                             QString::fromUtf8(l.json));
    }
    printOut(text);
    return ExitOk;
}

} // namespace

JB_CLI_COMMAND(show, "show", "Show every stored figure of one run", runShow);
