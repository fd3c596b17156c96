// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/run_events.h"

#include <QProcess>
#include <QStringList>
#include <QTimer>
#include <QWidget>

class QLabel;
class QPlainTextEdit;
class QProgressBar;

namespace jb::gui {

class LivePowerChart;
class LoopProbe;

/// Runs an experiment in the worker process `joulebench-cli run --plan P --db D --jsonl` and
/// shows its event stream: overall and per-phase progress, the current run and phase, a log,
/// and the live power chart. The worker owns the database; the GUI only reads its stdout.
///
/// Cancel asks the worker to stop (SIGTERM, QProcess::terminate(): it ends the current phase,
/// stores the run as cancelled) and kills it when it has not exited after killTimeoutMs().
/// A crash (signal, non-zero exit) is reported with what it means for the database.
///
/// Threads: GUI thread only. Stream bytes go through feed(), the same path for the worker and
/// for a replayed recording.
class RunMonitor : public QWidget
{
    Q_OBJECT
public:
    explicit RunMonitor(QWidget *parent = nullptr);
    ~RunMonitor() override;

    /// Starts the worker; false with *error when one is running or the CLI is missing.
    bool start(const QString &cliPath, const QString &planPath, const QString &dbPath,
               QString *error);
    /// Graceful cancel (SIGTERM), then a forced kill after killTimeoutMs().
    void cancel();
    bool isRunning() const;
    void setKillTimeoutMs(int ms) { m_killTimer.setInterval(ms); }
    int killTimeoutMs() const { return m_killTimer.interval(); }

    /// Feeds bytes of a JSON Lines stream (from the worker, or a recording) and handles the
    /// events in them. Cheap per event: the chart and the log are drawn on timers.
    void feed(QByteArrayView bytes);
    /// Ends the stream (parses a last line without newline).
    void finishStream();

    // What the view shows (tests and the main window).
    QStringList phasesSeen() const { return m_phasesSeen; }
    QString currentPhase() const { return m_phase; }
    double overallProgress() const { return m_overall; }
    int eventsHandled() const { return m_events; }
    int badLines() const { return m_reader.badLines(); }
    QString experimentStatus() const { return m_experimentStatus; }
    QString lastMessage() const { return m_message; }
    QString dbPath() const { return m_dbPath; }
    LivePowerChart *chart() const { return m_chart; }
    LoopProbe *loopProbe() const { return m_probe; }
    QList<EventDomain> domains() const { return m_domains; }

Q_SIGNALS:
    void runningChanged(bool running);
    /// The worker ended; `ok` when the experiment completed. `message` says what happened.
    void finished(bool ok, const QString &message);

private:
    void handle(const RunEvent &e);
    void appendLog(const QString &line);
    void flushLog();
    void onProcessFinished(int exitCode, QProcess::ExitStatus status);
    /// After a crash: marks the dead worker's unfinished runs interrupted; the sentence to show.
    QString recordCrash();

    QProcess *m_process = nullptr;
    QTimer m_killTimer;
    QTimer m_logTimer;
    RunEventReader m_reader;
    QString m_dbPath;
    QStringList m_pendingLog;
    QStringList m_phasesSeen;
    QList<EventDomain> m_domains;
    QString m_phase;
    QString m_experimentStatus;
    QString m_message;
    double m_overall = 0;
    int m_events = 0;
    int m_runsToRun = 0;
    bool m_cancelRequested = false;

    QProgressBar *m_overallBar = nullptr;
    QProgressBar *m_phaseBar = nullptr;
    QLabel *m_runLabel = nullptr;
    QLabel *m_phaseLabel = nullptr;
    QLabel *m_statusLabel = nullptr;
    QLabel *m_probeLabel = nullptr;
    QPlainTextEdit *m_log = nullptr;
    LivePowerChart *m_chart = nullptr;
    LoopProbe *m_probe = nullptr;
};

} // namespace jb::gui
