// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench-cli run: runs an experiment plan (or one shard of it) and stores every run.
#include "command.h"

#include "cli_tables.h"
#include "engine/plan.h"
#include "engine/run_events.h"
#include "engine/runner.h"
#include "engine/technique.h"
#include "engine/technique_registry.h"
#include "engine/zoo.h"
#include "measurement/meter_registry.h"

#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QTextStream>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <unistd.h>

using namespace jb;
using namespace jb::cli;
using namespace Qt::StringLiterals;

namespace {

std::atomic<ExperimentRunner *> g_runner{nullptr};
std::atomic<int> g_signals{0};

extern "C" void onStopSignal(int sig)
{
    if (g_signals.fetch_add(1) > 0) {
        // Second signal: stop at once, like an unhandled one.
        std::signal(sig, SIG_DFL);
        std::raise(sig);
        return;
    }
    if (ExperimentRunner *r = g_runner.load())
        r->cancel();
    static const char msg[] = "\njoulebench-cli: cancelling: the current batch finishes, the run "
                              "is stored as cancelled (signal again to stop at once)\n";
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
}

void installSignalHandlers()
{
    struct sigaction sa = {};
    sa.sa_handler = onStopSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    // A reader (the GUI) that goes away must not kill the worker in the middle of a run: the
    // writes fail instead, the events are dropped and the runs are still stored.
    std::signal(SIGPIPE, SIG_IGN);
}

/// Human progress on stderr, and the JSONL stream on stdout with --jsonl.
class CliEventSink final : public RunEventSink
{
public:
    explicit CliEventSink(JsonlEventWriter *jsonl) : m_jsonl(jsonl), m_tty(::isatty(STDERR_FILENO))
    {
    }

    void event(const RunEvent &e) override
    {
        if (m_jsonl)
            m_jsonl->event(e);
        std::lock_guard lock(m_mutex);
        switch (e.type) {
        case RunEventType::ExperimentStarted: {
            QStringList domains;
            for (const EventDomain &d : e.domains)
                domains.append(u"%1 (%2, %3)"_s.arg(d.domain, d.meter, meterKindName(d.kind)));
            line(u"experiment %1 '%2'%3: %4 run(s) to run of %5 in shard %6%7"_s
                     .arg(e.experimentId)
                     .arg(e.name, e.resumed ? u" (resumed)"_s : QString())
                     .arg(e.runsToRun)
                     .arg(e.runsTotal)
                     .arg(e.shard,
                          e.runsSkipped ? u", %1 already completed"_s.arg(e.runsSkipped)
                                        : QString()));
            line(u"  energy domains: "_s + domains.join(u", "_s));
            if (e.estimateOnly)
                line(u"  NOTE: no hardware energy counter is readable here: every energy figure "
                     "of this experiment is an ESTIMATE (CPU time x TDP), labelled as such."_s);
            break;
        }
        case RunEventType::RunStarted:
            line(u"[%1/%2] run %3: %4 on %5, repetition %6"_s.arg(e.position)
                     .arg(e.runsToRun)
                     .arg(e.runId)
                     .arg(e.variant, e.backend)
                     .arg(e.repetition));
            break;
        case RunEventType::Phase: {
            if (e.state != u"end"_s)
                break;
            QStringList parts;
            for (const EventEnergy &x : e.energy)
                parts.append(u"%1 %2 J gross, %3 J net%4"_s.arg(
                    x.domain, formatNumber(x.grossJ), formatNumber(x.netJ),
                    x.kind == MeterKind::Estimate ? u" (estimate)"_s : QString()));
            line(u"    %1 %2 s%3  %4"_s.arg(e.phase, -16)
                     .arg(formatNumber(e.durationS), 8)
                     .arg(e.reused ? u" (reused)"_s : QString())
                     .arg(parts.join(u"; "_s)));
            break;
        }
        case RunEventType::Progress:
            if (m_tty) {
                QString text = u"    [%1%] %2"_s.arg(int(e.overall * 100), 3).arg(e.what);
                text.truncate(110);
                QTextStream(stderr) << '\r' << text.leftJustified(110) << '\r';
                m_progressShown = true;
            }
            break;
        case RunEventType::Log:
            line(u"    %1%2"_s.arg(e.level == u"info"_s ? QString() : e.level + u": "_s, e.message));
            break;
        case RunEventType::RunFinished:
            line(u"    -> %1 in %2 s%3%4"_s.arg(e.status, formatNumber(e.durationS))
                     .arg(e.flags.isEmpty() ? QString() : u", flags: "_s + e.flags.join(u", "_s))
                     .arg(e.error.isEmpty() ? QString() : u"\n       "_s + e.error));
            break;
        case RunEventType::ExperimentFinished:
            line(u"experiment %1 %2: %3 completed, %4 failed, %5 cancelled, %6 skipped, %7 s"_s
                     .arg(e.experimentId)
                     .arg(e.status)
                     .arg(e.completed)
                     .arg(e.failed)
                     .arg(e.cancelled)
                     .arg(e.runsSkipped)
                     .arg(formatNumber(e.durationS)));
            break;
        case RunEventType::Sample:
            break;
        }
    }

private:
    void line(const QString &text)
    {
        QTextStream err(stderr);
        if (m_progressShown)
            err << '\r' << QString(110, u' ') << '\r';
        m_progressShown = false;
        err << text << '\n';
    }

    JsonlEventWriter *m_jsonl;
    bool m_tty;
    bool m_progressShown = false;
    std::mutex m_mutex;
};

int runRun(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Runs an experiment plan: for every run of the grid (or of one shard) an idle "
        "baseline, training (or a recorded reuse of a cached baseline), the technique chain, "
        "evaluation and the inference workload, each phase bracketed by energy meter reads, "
        "all stored in the database. Progress goes to stderr; with --jsonl machine-readable "
        "events go to stdout (docs/jsonl-events.md). SIGINT/SIGTERM stop after the current "
        "batch; the run is stored as cancelled."_s);
    const QCommandLineOption plan(u"plan"_s, u"The experiment plan (JSON)."_s, u"file"_s);
    const QCommandLineOption dbOpt(u"db"_s, u"The database (created when missing)."_s, u"file"_s);
    const QCommandLineOption shard(u"shard"_s,
                                   u"Run only shard I of N (I counts from 0), e.g. 0/4."_s,
                                   u"I/N"_s);
    const QCommandLineOption jsonl(u"jsonl"_s, u"Write JSON Lines events to stdout."_s);
    const QCommandLineOption resume(
        u"resume"_s, u"Continue the experiment with the same plan hash in the database: skip "
                     "its completed runs."_s);
    const QCommandLineOption meters(
        u"meters"_s,
        u"Comma-separated meters replacing the plan's measurement.meters: rapl, "
        "rapl-powercap, rapl-perf, nvml, estimate (changes the plan hash)."_s,
        u"list"_s);
    const QCommandLineOption noDiskCache(
        u"no-disk-cache"_s,
        u"Keep trained baselines in memory only (default: also in <db>.cache/)."_s);
    const QCommandLineOption threshold(
        u"background-threshold"_s,
        u"CPU load of other processes, in cores, above which a run is flagged "
        "background-load (default 0.1)."_s,
        u"cores"_s, u"0.1"_s);
    const QCommandLineOption pluginDir(
        u"plugin-dir"_s,
        u"Also search this folder for technique plugins (may be repeated; see 'plugins')."_s,
        u"dir"_s);
    const QCommandLineOption verbose(u"verbose"_s,
                                     u"Also print the libraries' informational log lines."_s);
    parser.addOptions({plan, dbOpt, shard, jsonl, resume, meters, noDiskCache, threshold,
                       pluginDir, verbose});
    int exitCode = ExitOk;
    if (!parseArguments(parser, args, &exitCode))
        return exitCode;
    if (!parser.isSet(plan) || !parser.isSet(dbOpt)) {
        printError(u"run needs --plan FILE and --db FILE"_s);
        return ExitUsage;
    }
    if (!parser.isSet(verbose)) // progress comes from the runner's events instead
        QLoggingCategory::setFilterRules(u"joulebench.*.debug=false\njoulebench.*.info=false"_s);
    RunnerOptions options;
    options.databasePath = parser.value(dbOpt);
    options.planFilePath = parser.value(plan);
    options.resume = parser.isSet(resume);
    options.diskCache = !parser.isSet(noDiskCache);
    QString error;
    if (parser.isSet(shard)) {
        const std::optional<ShardSpec> s = parseShardSpec(parser.value(shard), &error);
        if (!s) {
            printError(error);
            return ExitUsage;
        }
        options.shard = *s;
    }
    bool ok = false;
    options.backgroundLoadThresholdCores = parser.value(threshold).toDouble(&ok);
    if (!ok || options.backgroundLoadThresholdCores < 0) {
        printError(u"--background-threshold must be a number of cores >= 0, got '%1'"_s.arg(
            parser.value(threshold)));
        return ExitUsage;
    }
    const MeterRegistry registry = MeterRegistry::builtIn();
    if (parser.isSet(meters)) {
        options.meters = parser.value(meters).split(u',', Qt::SkipEmptyParts);
        for (const QString &m : options.meters)
            if (!registry.selectableIds().contains(m)) {
                printError(u"--meters: unknown meter '%1' (known: %2)"_s.arg(
                    m, registry.selectableIds().join(u", "_s)));
                return ExitUsage;
            }
    }

    // Techniques come only from the plugin folders (never from a path in the plan).
    for (const QString &dir : parser.values(pluginDir))
        if (!QFileInfo(dir).isDir()) {
            printError(u"--plugin-dir '%1': no such folder"_s.arg(dir));
            return ExitUsage;
        }
    TechniqueRegistry techniques;
    techniques.setSearchPaths(TechniqueRegistry::searchPathsWith(parser.values(pluginDir)));
    techniques.scan();
    PlanContext base;
    base.modelNames = zooModelNames();
    base.meterIds = registry.selectableIds();
    const PlanContext context = techniques.planContext(base);
    options.techniqueFactory = [&techniques](const PlanStep &step, QString *why) {
        return techniques.create(step.plugin, step.params, why);
    };
    QStringList errors;
    const std::optional<Plan> p = Plan::load(options.planFilePath, &errors, context);
    if (!p) {
        printError(u"the plan %1 is not valid:\n  %2"_s.arg(options.planFilePath,
                                                           errors.join(u"\n  "_s)));
        return ExitFailure;
    }

    QFile out;
    std::unique_ptr<JsonlEventWriter> writer;
    if (parser.isSet(jsonl)) {
        if (!out.open(stdout, QIODevice::WriteOnly)) {
            printError(u"cannot write to stdout"_s);
            return ExitFailure;
        }
        writer = std::make_unique<JsonlEventWriter>(&out);
    }
    CliEventSink sink(writer.get());
    options.events = &sink;

    ExperimentRunner runner(*p, options);
    g_runner.store(&runner);
    installSignalHandlers();
    const std::optional<ExperimentOutcome> outcome = runner.run(&error);
    g_runner.store(nullptr);
    if (!outcome) {
        printError(error);
        return ExitFailure;
    }
    if (!parser.isSet(jsonl)) {
        printOut(u"Experiment %1 in %2: %3 completed, %4 failed, %5 cancelled, %6 skipped.\n"
                 "Compare: joulebench-cli compare --db %2 --experiment %1"_s
                     .arg(outcome->experimentId)
                     .arg(options.databasePath)
                     .arg(outcome->completed)
                     .arg(outcome->failed)
                     .arg(outcome->cancelled)
                     .arg(outcome->runsSkipped));
    }
    for (const QString &f : outcome->failures)
        printError(f);
    if (outcome->canceled || outcome->cancelled > 0)
        return ExitCancelled;
    return outcome->failed > 0 ? ExitFailure : ExitOk;
}

} // namespace

JB_CLI_COMMAND(run, "run", "Run an experiment plan (or a shard of it) and store the runs",
               runRun);
