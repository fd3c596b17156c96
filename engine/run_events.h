// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "measurement/meter.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QString>
#include <QStringList>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

class QIODevice;

namespace jb {

class Sampler;
struct SampleRow;

/// The machine-readable events of an experiment, one JSON object per line (JSON Lines) on the
/// worker's stdout with `joulebench-cli run --jsonl`. The GUI and scripts read the same
/// stream. Every field is documented in docs/jsonl-events.md.
enum class RunEventType {
    ExperimentStarted, ///< "experiment-started"
    RunStarted,        ///< "run-started"
    Phase,             ///< "phase" (state "begin" or "end")
    Sample,            ///< "sample": power per domain, a few times per second
    Progress,          ///< "progress"
    Log,               ///< "log"
    RunFinished,       ///< "run-finished"
    ExperimentFinished ///< "experiment-finished"
};

/// The event name used in the "event" field.
QString runEventTypeName(RunEventType type);
std::optional<RunEventType> runEventTypeFromName(QStringView name);

/// An energy domain of the experiment, announced in experiment-started.
struct EventDomain
{
    QString meter;  ///< meter id, e.g. "rapl-powercap"
    QString domain; ///< e.g. "package-0"
    MeterKind kind = MeterKind::Measured;
    QString method; ///< counter, power-integration, cpu-time-x-tdp
    QString partOf; ///< the domain that already includes this one, empty when none
    bool operator==(const EventDomain &) const = default;
};

/// One domain's figures in a phase-end or sample event. NaN where unknown (JSON null).
struct EventEnergy
{
    QString domain;
    MeterKind kind = MeterKind::Measured;
    double grossJ = 0; ///< phase: gross energy; sample: cumulative energy since run start
    double netJ = 0;   ///< phase: gross minus idle power x duration; sample: unused (NaN)
    double powerW = 0; ///< phase: mean power; sample: power over the last interval
    bool operator==(const EventEnergy &) const;
};

/// One event. A flat value type: the members that belong to `type` are set (see the comments
/// and docs/jsonl-events.md), the others keep their defaults and are not written.
struct RunEvent
{
    RunEventType type = RunEventType::Log;
    double t = 0;            ///< seconds since the experiment started (monotonic), every event
    qint64 experimentId = 0; ///< experiment-started/-finished, run-started
    qint64 runId = 0;        ///< run events; 0 for experiment-level events (log: optional)

    // experiment-started
    QString name;     ///< the plan's name
    QString planHash; ///< sha256 of the canonical plan
    QString database; ///< the database file
    QString shard;    ///< "I/N"
    bool resumed = false;
    int runsTotal = 0;   ///< runs of this shard of the grid
    int runsToRun = 0;   ///< of those, not completed before (resume)
    int runsSkipped = 0; ///< completed before, skipped
    bool estimateOnly = false; ///< no hardware counter: every energy figure is an estimate
    QList<EventDomain> domains;
    QStringList warnings;

    // run-started (also: runsToRun)
    int position = 0;  ///< 1-based among the runs to run
    int gridIndex = 0; ///< position in the whole grid's run order
    QString variant;
    QString backend;
    int repetition = 0;
    QString configKey;
    bool baseline = false;

    // phase (also: runT, durationS, energy)
    QString phase;      ///< phase, progress
    QString state;      ///< phase: "begin" or "end"
    double runT = 0;    ///< phase, sample: seconds since the run's sampler started
    double durationS = 0; ///< phase end, run-finished, experiment-finished
    bool reused = false;  ///< phase end: a train phase whose figures come from a cached run
    QList<EventEnergy> energy; ///< phase end, sample

    // progress
    double fraction = 0; ///< of the current phase, [0, 1]
    double overall = 0;  ///< of the experiment (runs to run), [0, 1]
    QString what;

    // log
    QString level; ///< "info", "warning", "error"
    QString message;

    // run-finished (also: flags), experiment-finished (status)
    QString status; ///< run: completed|failed|cancelled; experiment: completed|failed|cancelled
    QStringList flags;
    QString error;

    // experiment-finished
    int completed = 0;
    int failed = 0;
    int cancelled = 0;

    bool operator==(const RunEvent &) const;
};

/// The event as one line of compact JSON, without the trailing newline. Non-finite numbers
/// are written as null. Reentrant.
QByteArray runEventToJson(const RunEvent &event);

/// Parses one line of the stream (a trailing "\n" or "\r\n" is allowed). A pure function of
/// its input, safe on any bytes: returns std::nullopt with *error naming the field and what
/// was expected for malformed JSON, an unknown event, a missing required field or a field of
/// the wrong type. Unknown extra fields are ignored (newer writers may add some). Reentrant.
std::optional<RunEvent> parseRunEvent(QByteArrayView line, QString *error);

/// Receives the events of an experiment. Implementations must be thread-safe: the runner
/// calls event() from its own thread and from its sample-monitor thread.
class RunEventSink
{
public:
    virtual ~RunEventSink() = default;
    virtual void event(const RunEvent &event) = 0;
};

/// Writes each event as one JSON line to a device (stdout, a file, a QBuffer) and flushes it
/// at once, so a reader sees every event when it happens. Thread-safe (one mutex).
class JsonlEventWriter final : public RunEventSink
{
public:
    /// `device` must be open for writing and outlive the writer.
    explicit JsonlEventWriter(QIODevice *device);
    void event(const RunEvent &event) override;
    /// False once a write failed (e.g. the reader closed the pipe); later events are dropped.
    bool ok() const;

private:
    QIODevice *m_device;
    mutable std::mutex m_mutex;
    bool m_ok = true;
};

/// Moves a running Sampler's rows out while a run is measured: a thread takes them every
/// `intervalS`, queues them for the database and emits a "sample" event (cumulative energy
/// and power over the interval, per domain) through `emit`. The run's thread collects the
/// queued rows with takeRows() and stores them (the database belongs to it).
///
/// Threads: start(), stop() and takeRows() on the run's thread; `emit` is called from the
/// stream's thread and must be thread-safe.
class SampleStream
{
public:
    /// `names` and `kinds` describe the sampler's columns. With emitEvents false only rows are
    /// moved (no events).
    SampleStream(Sampler &sampler, QStringList names, QList<MeterKind> kinds, qint64 runId,
                 std::function<void(const RunEvent &)> emit, double intervalS, bool emitEvents);
    ~SampleStream(); ///< stops
    SampleStream(const SampleStream &) = delete;
    SampleStream &operator=(const SampleStream &) = delete;

    void start();
    /// Joins the thread and queues every row the sampler still has (call after
    /// Sampler::stop() to get its last read too; calling it again takes newer rows).
    void stop();
    /// The rows queued since the last call, in order.
    QList<SampleRow> takeRows();

private:
    void loop();

    Sampler &m_sampler;
    QStringList m_names;
    QList<MeterKind> m_kinds;
    qint64 m_runId;
    std::function<void(const RunEvent &)> m_emit;
    double m_intervalS;
    bool m_emitEvents;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stop = false;
    QList<SampleRow> m_rows;
    std::thread m_thread;
};

/// Splits a byte stream (a QProcess's stdout, read in arbitrary chunks) into lines and parses
/// them. Used by the GUI. One thread at a time.
class RunEventReader
{
public:
    /// Appends bytes and returns the events of every line completed by them. Lines that do
    /// not parse are skipped and counted; their errors are in errors().
    QList<RunEvent> feed(QByteArrayView bytes);
    /// Parses what is left without a final newline (call at end of stream).
    QList<RunEvent> finish();
    /// "line N: <error>" for every line that did not parse (at most the first 100).
    QStringList errors() const { return m_errors; }
    int badLines() const { return m_badLines; }

private:
    void parseLine(QByteArrayView line, QList<RunEvent> *out);

    QByteArray m_pending;
    int m_lineNumber = 0;
    int m_badLines = 0;
    QStringList m_errors;
};

} // namespace jb
