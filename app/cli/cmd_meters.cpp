// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench-cli meters: every meter and domain this machine offers, readable or not and why,
// with the current power over a short window.
#include "command.h"

#include "measurement/meter_registry.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <chrono>
#include <cmath>
#include <thread>

using namespace jb;
using namespace jb::cli;

namespace {

QString statusWord(const MeterStatus &s)
{
    if (s.readable)
        return QStringLiteral("readable");
    return s.present ? QStringLiteral("not readable") : QStringLiteral("not present");
}

QString powerText(double watts, MeterKind kind)
{
    if (!std::isfinite(watts))
        return QStringLiteral("n/a");
    QString text = QStringLiteral("%1 W").arg(watts, 0, 'f', 2);
    if (kind == MeterKind::Estimate)
        text += QStringLiteral(" (estimate)");
    return text;
}

int runMeters(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Lists every energy meter (rapl-powercap, rapl-perf, nvml, estimate) and its domains, "
        "whether each can be read and why not, and the current power over a short window."));
    const QCommandLineOption window(
        QStringLiteral("window"),
        QStringLiteral("Seconds over which power is measured (default 0.5)."),
        QStringLiteral("seconds"), QStringLiteral("0.5"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print JSON."));
    const QCommandLineOption tdp(QStringLiteral("tdp"),
                                 QStringLiteral("TDP in watts for the CPU-time estimate "
                                                "(default: JOULEBENCH_ESTIMATE_TDP_W or 65)."),
                                 QStringLiteral("watts"));
    parser.addOptions({window, json, tdp});
    int exitCode = ExitOk;
    if (!parseArguments(parser, args, &exitCode))
        return exitCode;

    bool ok = false;
    const double windowS = parser.value(window).toDouble(&ok);
    if (!ok || windowS < 0 || windowS > 60) {
        printError(QStringLiteral("--window must be between 0 and 60 seconds, got '%1'")
                       .arg(parser.value(window)));
        return ExitUsage;
    }
    DiscoveryOptions options = DiscoveryOptions::fromEnvironment();
    if (parser.isSet(tdp)) {
        options.estimateTdpW = parser.value(tdp).toDouble(&ok);
        if (!ok || options.estimateTdpW <= 0) {
            printError(QStringLiteral("--tdp must be a positive number of watts, got '%1'")
                           .arg(parser.value(tdp)));
            return ExitUsage;
        }
    }

    const QList<MeterStatus> found = MeterRegistry::builtIn().discover(options);

    // Power over one window, all meters at once.
    QList<std::vector<double>> power; // per meter, per readable domain
    QList<double> startTimes;
    for (const MeterStatus &s : found) {
        QString error;
        startTimes.append(monotonicSeconds());
        if (s.meter && !s.meter->start(&error))
            printError(QStringLiteral("%1: %2").arg(s.id, error));
    }
    if (windowS > 0)
        std::this_thread::sleep_for(std::chrono::microseconds(static_cast<qint64>(windowS * 1e6)));
    for (qsizetype i = 0; i < found.size(); ++i) {
        const MeterStatus &s = found[i];
        std::vector<double> watts;
        if (s.meter) {
            QString error;
            const std::optional<MeterReading> r = s.meter->sample(&error);
            const double elapsed = monotonicSeconds() - startTimes[i];
            watts.assign(static_cast<size_t>(s.meter->domains().size()), NAN);
            if (r && windowS > 0) {
                for (size_t d = 0; d < watts.size(); ++d)
                    watts[d] = r->joules[d] / elapsed;
            } else if (!r) {
                printError(QStringLiteral("%1: %2").arg(s.id, error));
            }
        }
        power.append(watts);
    }

    if (parser.isSet(json)) {
        QJsonArray meters;
        for (qsizetype i = 0; i < found.size(); ++i) {
            const MeterStatus &s = found[i];
            QJsonArray domains;
            size_t readableIndex = 0;
            for (const DomainStatus &d : s.domains) {
                QJsonObject o{{QStringLiteral("name"), d.info.name},
                              {QStringLiteral("kind"), meterKindName(d.info.kind)},
                              {QStringLiteral("method"), d.info.method},
                              {QStringLiteral("source"), d.info.source},
                              {QStringLiteral("part_of"), d.info.partOf},
                              {QStringLiteral("readable"), d.readable},
                              {QStringLiteral("problem"), d.problem}};
                if (d.readable && readableIndex < power[i].size()) {
                    const double w = power[i][readableIndex++];
                    o.insert(QStringLiteral("power_w"),
                             std::isfinite(w) ? QJsonValue(w) : QJsonValue());
                }
                domains.append(o);
            }
            meters.append(QJsonObject{{QStringLiteral("id"), s.id},
                                      {QStringLiteral("name"), s.displayName},
                                      {QStringLiteral("kind"), meterKindName(s.kind)},
                                      {QStringLiteral("present"), s.present},
                                      {QStringLiteral("readable"), s.readable},
                                      {QStringLiteral("reason"), s.reason},
                                      {QStringLiteral("domains"), domains}});
        }
        printOut(QString::fromUtf8(QJsonDocument(QJsonObject{{QStringLiteral("window_s"), windowS},
                                                             {QStringLiteral("meters"), meters}})
                                       .toJson(QJsonDocument::Indented)));
        return ExitOk;
    }

    QString text = QStringLiteral("Energy meters on this machine (power over %1 s):\n")
                       .arg(windowS, 0, 'f', 2);
    for (qsizetype i = 0; i < found.size(); ++i) {
        const MeterStatus &s = found[i];
        text += QStringLiteral("\n%1 %2 %3 %4\n")
                    .arg(s.id, -14)
                    .arg(meterKindName(s.kind), -9)
                    .arg(statusWord(s), -13)
                    .arg(s.displayName);
        if (!s.readable) {
            text += QStringLiteral("    %1\n").arg(s.reason);
            QStringList names;
            for (const DomainStatus &d : s.domains)
                names.append(d.info.name);
            if (!names.isEmpty())
                text +=
                    QStringLiteral("    domains found: %1\n").arg(names.join(QStringLiteral(", ")));
            continue;
        }
        size_t readableIndex = 0;
        for (const DomainStatus &d : s.domains) {
            if (d.readable) {
                const double w = readableIndex < power[i].size() ? power[i][readableIndex] : NAN;
                ++readableIndex;
                text += QStringLiteral("    %1 %2 %3\n")
                            .arg(d.info.name, -22)
                            .arg(d.info.method, -18)
                            .arg(powerText(w, d.info.kind));
                if (!d.problem.isEmpty())
                    text += QStringLiteral("        note: %1\n").arg(d.problem);
            } else {
                text += QStringLiteral("    %1 not readable: %2\n")
                            .arg(d.info.name, -22)
                            .arg(d.problem);
            }
        }
    }
    printOut(text);
    return ExitOk;
}

} // namespace

JB_CLI_COMMAND(meters, "meters",
               "List energy meters and domains, readable or not, with current power", runMeters);
