// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench-cli measure: energy of the machine over a fixed time or over a command's lifetime.
#include "command.h"

#include "measurement/meter_registry.h"
#include "measurement/sampler.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTextStream>

#include <chrono>
#include <cmath>
#include <thread>
#include <unistd.h>

using namespace jb;
using namespace jb::cli;

namespace {

void printWarning(const QString &message)
{
    QTextStream err(stderr);
    err << "joulebench-cli: warning: " << message << '\n';
}

QString figure(double value, int decimals, const QString &unit, MeterKind kind)
{
    if (!std::isfinite(value))
        return QStringLiteral("n/a");
    QString text = QStringLiteral("%1 %2").arg(value, 0, 'f', decimals).arg(unit);
    if (kind == MeterKind::Estimate)
        text += QStringLiteral(" (estimate)");
    return text;
}

QJsonValue number(double v)
{
    return std::isfinite(v) ? QJsonValue(v) : QJsonValue();
}

int runMeasure(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Measures the energy of this machine for --duration seconds, or for the lifetime of "
        "COMMAND (its exit code is passed on), and prints energy per domain, duration and average "
        "power. Estimates are labelled and never added to measured values."));
    parser.addPositionalArgument(QStringLiteral("-- COMMAND ARGS"),
                                 QStringLiteral("Command to run and measure."));
    const QCommandLineOption duration(QStringLiteral("duration"),
                                      QStringLiteral("Measure for this many seconds."),
                                      QStringLiteral("seconds"));
    const QCommandLineOption json(
        QStringLiteral("json"),
        QStringLiteral("Print JSON (the command's stdout then goes to stderr)."));
    const QCommandLineOption rate(QStringLiteral("rate"),
                                  QStringLiteral("Sampling rate in Hz, 1 to 1000 (default 10)."),
                                  QStringLiteral("hz"), QStringLiteral("10"));
    const QCommandLineOption meters(QStringLiteral("meters"),
                                    QStringLiteral("Comma-separated meters: rapl, rapl-powercap, "
                                                   "rapl-perf, nvml, estimate (default: every "
                                                   "readable measured meter)."),
                                    QStringLiteral("list"));
    const QCommandLineOption tdp(QStringLiteral("tdp"),
                                 QStringLiteral("TDP in watts for the CPU-time estimate "
                                                "(default: JOULEBENCH_ESTIMATE_TDP_W or 65)."),
                                 QStringLiteral("watts"));
    parser.addOptions({duration, json, rate, meters, tdp});
    int exitCode = ExitOk;
    if (!parseArguments(parser, args, &exitCode))
        return exitCode;

    const QStringList command = parser.positionalArguments();
    bool ok = false;
    double durationS = 0;
    if (parser.isSet(duration)) {
        durationS = parser.value(duration).toDouble(&ok);
        if (!ok || durationS <= 0 || durationS > 7 * 86400) {
            printError(QStringLiteral("--duration must be a positive number of seconds, got '%1'")
                           .arg(parser.value(duration)));
            return ExitUsage;
        }
    }
    if (parser.isSet(duration) == !command.isEmpty()) {
        printError(QStringLiteral("give either --duration S or -- COMMAND ARGS (not both)"));
        return ExitUsage;
    }
    const double rateHz = parser.value(rate).toDouble(&ok);
    Sampler sampler;
    QString error;
    if (!ok || !sampler.setRate(rateHz, &error)) {
        printError(
            ok ? error
               : QStringLiteral("--rate must be a number, got '%1'").arg(parser.value(rate)));
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

    const MeterRegistry registry = MeterRegistry::builtIn();
    const QList<MeterStatus> found = registry.discover(options);
    const std::optional<MeterSelection> selection =
        parser.isSet(meters)
            ? registry.select(
                  found, parser.value(meters).split(QLatin1Char(','), Qt::SkipEmptyParts), &error)
            : registry.selectDefault(found, &error);
    if (!selection) {
        printError(error);
        return ExitFailure;
    }
    for (const QString &w : selection->warnings)
        printWarning(w);

    sampler.setMeters(selection->meters);
    if (!sampler.start(&error)) {
        printError(error);
        return ExitFailure;
    }
    for (const QString &w : sampler.warnings())
        printWarning(w);

    int commandExit = -1;
    QString commandProblem;
    sampler.markPhase(command.isEmpty() ? QStringLiteral("window") : QStringLiteral("command"));
    if (command.isEmpty()) {
        std::this_thread::sleep_for(
            std::chrono::microseconds(static_cast<qint64>(durationS * 1e6)));
    } else {
        QProcess process;
        process.setProcessChannelMode(QProcess::ForwardedChannels);
        process.setInputChannelMode(QProcess::ForwardedInputChannel);
        if (parser.isSet(json)) // keep stdout for the JSON document
            process.setChildProcessModifier([] { ::dup2(STDERR_FILENO, STDOUT_FILENO); });
        process.start(command.first(), command.mid(1));
        if (!process.waitForStarted(-1)) {
            sampler.stop();
            printError(QStringLiteral("cannot start '%1': %2")
                           .arg(command.first(), process.errorString()));
            return 127;
        }
        process.waitForFinished(-1);
        if (process.exitStatus() == QProcess::CrashExit)
            commandProblem = QStringLiteral("'%1' crashed").arg(command.first());
        else
            commandExit = process.exitCode();
    }
    sampler.stop();
    for (const QString &e : sampler.errors())
        printWarning(e);

    const QList<PhaseResult> phases = sampler.phases();
    if (phases.isEmpty()) {
        printError(QStringLiteral("the sampler recorded no interval"));
        return ExitFailure;
    }
    const PhaseResult &p = phases.first();
    const int finalExit = !commandProblem.isEmpty() ? ExitFailure
                          : command.isEmpty()       ? ExitOk
                                                    : commandExit;

    if (parser.isSet(json)) {
        QJsonArray domains;
        for (const DomainEnergy &d : p.domains)
            domains.append(QJsonObject{{QStringLiteral("meter"), d.meterId},
                                       {QStringLiteral("domain"), d.domain},
                                       {QStringLiteral("kind"), meterKindName(d.kind)},
                                       {QStringLiteral("method"), d.method},
                                       {QStringLiteral("energy_j"), number(d.joules)},
                                       {QStringLiteral("average_power_w"), number(d.averagePowerW)},
                                       {QStringLiteral("too_short"), d.tooShort}});
        QJsonArray meterList;
        for (const auto &m : selection->meters)
            meterList.append(QJsonObject{{QStringLiteral("id"), m->id()},
                                         {QStringLiteral("name"), m->displayName()},
                                         {QStringLiteral("kind"), meterKindName(m->kind())}});
        QJsonObject o{{QStringLiteral("duration_s"), p.durationS},
                      {QStringLiteral("rate_hz"), sampler.effectiveRate()},
                      {QStringLiteral("samples"), static_cast<qint64>(sampler.sampleCount())},
                      {QStringLiteral("estimate_only"), selection->estimateOnly()},
                      {QStringLiteral("meters"), meterList},
                      {QStringLiteral("domains"), domains},
                      {QStringLiteral("warnings"),
                       QJsonArray::fromStringList(selection->warnings + sampler.warnings())},
                      {QStringLiteral("errors"), QJsonArray::fromStringList(sampler.errors())}};
        if (!command.isEmpty()) {
            o.insert(QStringLiteral("command"), QJsonArray::fromStringList(command));
            o.insert(QStringLiteral("exit_code"),
                     commandProblem.isEmpty() ? QJsonValue(commandExit) : QJsonValue());
        }
        printOut(QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Indented)));
    } else {
        QString text;
        if (!command.isEmpty())
            text +=
                QStringLiteral("Command: %1 (%2)\n")
                    .arg(command.join(QLatin1Char(' ')),
                         commandProblem.isEmpty() ? QStringLiteral("exit code %1").arg(commandExit)
                                                  : commandProblem);
        text += QStringLiteral("Measured %1 s at %2 Hz (%3 samples)\n\n")
                    .arg(p.durationS, 0, 'f', 3)
                    .arg(sampler.effectiveRate())
                    .arg(sampler.sampleCount());
        text += QStringLiteral("%1 %2 %3 %4 %5 %6\n")
                    .arg(QStringLiteral("meter"), -14)
                    .arg(QStringLiteral("domain"), -22)
                    .arg(QStringLiteral("kind"), -9)
                    .arg(QStringLiteral("method"), -18)
                    .arg(QStringLiteral("energy"), -24)
                    .arg(QStringLiteral("average power"));
        bool anyTooShort = false;
        for (const DomainEnergy &d : p.domains) {
            anyTooShort = anyTooShort || d.tooShort;
            text += QStringLiteral("%1 %2 %3 %4 %5 %6%7\n")
                        .arg(d.meterId, -14)
                        .arg(d.domain, -22)
                        .arg(meterKindName(d.kind), -9)
                        .arg(d.method, -18)
                        .arg(figure(d.joules, 3, QStringLiteral("J"), d.kind), -24)
                        .arg(figure(d.averagePowerW, 2, QStringLiteral("W"), d.kind))
                        .arg(d.tooShort ? QStringLiteral(" *") : QString());
        }
        if (anyTooShort)
            text +=
                QStringLiteral("\n* shorter than 10x the meter's update interval: unreliable\n");
        if (selection->estimateOnly())
            text += QStringLiteral(
                "\nNo hardware counter was read: every figure above is an estimate.\n");
        text += QStringLiteral("\nDomains are listed separately and not summed: a core or uncore "
                               "domain is part of its package; estimates are never added to "
                               "measurements.\n");
        printOut(text);
    }
    if (!commandProblem.isEmpty())
        printError(commandProblem);
    return finalExit;
}

} // namespace

JB_CLI_COMMAND(measure, "measure", "Measure energy for S seconds or for a command's lifetime",
               runMeasure);
