// SPDX-License-Identifier: GPL-3.0-or-later
#include "run_monitor.h"

#include "gui_log.h"
#include "live_power_chart.h"
#include "loop_probe.h"

#include "database/store.h"

#include <QFileInfo>
#include <QFormLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QSplitter>
#include <QVBoxLayout>

namespace jb::gui {

RunMonitor::RunMonitor(QWidget *parent) : QWidget(parent)
{
    auto *layout = new QVBoxLayout(this);
    auto *form = new QFormLayout;
    m_statusLabel = new QLabel(tr("No experiment running."));
    m_statusLabel->setObjectName(QStringLiteral("monitorStatus"));
    m_statusLabel->setWordWrap(true);
    m_runLabel = new QLabel(QStringLiteral("—"));
    m_phaseLabel = new QLabel(QStringLiteral("—"));
    m_phaseLabel->setObjectName(QStringLiteral("currentPhase"));
    m_overallBar = new QProgressBar;
    m_overallBar->setRange(0, 1000);
    m_overallBar->setFormat(QStringLiteral("%p%"));
    m_phaseBar = new QProgressBar;
    m_phaseBar->setRange(0, 1000);
    m_probeLabel = new QLabel;
    m_probeLabel->setToolTip(tr("Longest time the GUI event loop was blocked during this run "
                                "(10 ms probe timer)."));
    form->addRow(tr("Status"), m_statusLabel);
    form->addRow(tr("Experiment"), m_overallBar);
    form->addRow(tr("Run"), m_runLabel);
    form->addRow(tr("Phase"), m_phaseLabel);
    form->addRow(tr("Phase progress"), m_phaseBar);
    form->addRow(tr("Event loop"), m_probeLabel);
    layout->addLayout(form);
    auto *split = new QSplitter(Qt::Vertical);
    m_chart = new LivePowerChart;
    m_log = new QPlainTextEdit;
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(5000);
    m_log->setObjectName(QStringLiteral("runLog"));
    split->addWidget(m_chart);
    split->addWidget(m_log);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);
    layout->addWidget(split, 1);

    m_probe = new LoopProbe(this);
    m_killTimer.setSingleShot(true);
    m_killTimer.setInterval(10000);
    connect(&m_killTimer, &QTimer::timeout, this, [this] {
        if (isRunning()) {
            appendLog(tr("[gui] the worker did not stop within %1 s after SIGTERM: killing it")
                          .arg(m_killTimer.interval() / 1000.0));
            m_process->kill();
        }
    });
    m_logTimer.setInterval(100);
    connect(&m_logTimer, &QTimer::timeout, this, &RunMonitor::flushLog);
    m_logTimer.start();
}

RunMonitor::~RunMonitor()
{
    if (isRunning()) {
        m_process->kill();
        m_process->waitForFinished(2000);
    }
}

bool RunMonitor::isRunning() const
{
    return m_process && m_process->state() != QProcess::NotRunning;
}

bool RunMonitor::start(const QString &cliPath, const QString &planPath, const QString &dbPath,
                       QString *error)
{
    if (isRunning()) {
        *error = tr("an experiment is already running; cancel it first");
        return false;
    }
    if (cliPath.isEmpty() || !QFileInfo(cliPath).isExecutable()) {
        *error = tr("the worker joulebench-cli was not found next to the GUI executable; build "
                    "it (target joulebench-cli) or set JOULEBENCH_CLI");
        return false;
    }
    delete m_process;
    m_process = new QProcess(this);
    m_reader = RunEventReader{};
    m_dbPath = dbPath;
    m_phasesSeen.clear();
    m_experimentStatus.clear();
    m_cancelRequested = false;
    m_overall = 0;
    m_events = 0;
    m_log->clear();
    m_chart->setDomains({});
    connect(m_process, &QProcess::readyReadStandardOutput, this,
            [this] { feed(m_process->readAllStandardOutput()); });
    connect(m_process, &QProcess::readyReadStandardError, this, [this] {
        const QString text = QString::fromUtf8(m_process->readAllStandardError());
        for (const QString &line : text.split(QLatin1Char('\n'), Qt::SkipEmptyParts))
            appendLog(QStringLiteral("[worker stderr] ") + line);
    });
    connect(m_process, &QProcess::finished, this, &RunMonitor::onProcessFinished);
    connect(m_process, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
        if (e == QProcess::FailedToStart) {
            m_message = tr("could not start the worker: %1").arg(m_process->errorString());
            m_statusLabel->setText(m_message);
            Q_EMIT runningChanged(false);
            Q_EMIT finished(false, m_message);
        }
    });
    const QStringList args{QStringLiteral("run"), QStringLiteral("--plan"), planPath,
                           QStringLiteral("--db"), dbPath, QStringLiteral("--jsonl")};
    appendLog(QStringLiteral("[gui] %1 %2").arg(cliPath, args.join(QLatin1Char(' '))));
    m_statusLabel->setText(tr("Starting the worker…"));
    m_probe->start();
    m_process->start(cliPath, args);
    Q_EMIT runningChanged(true);
    return true;
}

void RunMonitor::cancel()
{
    if (!isRunning())
        return;
    m_cancelRequested = true;
    appendLog(tr("[gui] cancel: SIGTERM sent; the worker ends the current phase and stores the "
                 "run as cancelled (forced kill after %1 s)")
                  .arg(m_killTimer.interval() / 1000.0));
    m_statusLabel->setText(tr("Cancelling…"));
    m_process->terminate();
    m_killTimer.start();
}

void RunMonitor::feed(QByteArrayView bytes)
{
    const QList<RunEvent> events = m_reader.feed(bytes);
    for (const RunEvent &e : events)
        handle(e);
}

void RunMonitor::finishStream()
{
    for (const RunEvent &e : m_reader.finish())
        handle(e);
    for (const QString &err : m_reader.errors())
        appendLog(QStringLiteral("[gui] unreadable event: ") + err);
}

void RunMonitor::handle(const RunEvent &e)
{
    ++m_events;
    switch (e.type) {
    case RunEventType::ExperimentStarted: {
        m_domains = e.domains;
        m_runsToRun = e.runsToRun;
        m_chart->setDomains(e.domains);
        QString text = tr("Experiment '%1' (id %2): %3 runs to run, %4 skipped")
                           .arg(e.name)
                           .arg(e.experimentId)
                           .arg(e.runsToRun)
                           .arg(e.runsSkipped);
        if (e.estimateOnly)
            text += tr(" — no hardware counter: every energy figure is an ESTIMATE");
        m_statusLabel->setText(text);
        for (const QString &w : e.warnings)
            appendLog(QStringLiteral("[warning] ") + w);
        break;
    }
    case RunEventType::RunStarted:
        m_runLabel->setText(tr("%1/%2: %3 on %4, repetition %5")
                                .arg(e.position)
                                .arg(m_runsToRun)
                                .arg(e.variant, e.backend)
                                .arg(e.repetition + 1));
        m_chart->addPhaseMark(e.t, tr("run %1").arg(e.runId));
        break;
    case RunEventType::Phase:
        if (e.state == QLatin1String("begin")) {
            m_phase = e.phase;
            m_phaseLabel->setText(e.phase);
            m_phaseBar->setValue(0);
            if (m_phasesSeen.isEmpty() || m_phasesSeen.constLast() != e.phase)
                m_phasesSeen.append(e.phase);
            m_chart->addPhaseMark(e.t, e.phase);
        } else {
            m_phaseBar->setValue(1000);
        }
        break;
    case RunEventType::Sample:
        m_chart->addSample(e.t, e.energy);
        break;
    case RunEventType::Progress:
        m_overall = e.overall;
        m_overallBar->setValue(int(e.overall * 1000));
        m_phaseBar->setValue(int(e.fraction * 1000));
        if (!e.what.isEmpty())
            m_phaseLabel->setText(m_phase + QStringLiteral(" — ") + e.what);
        break;
    case RunEventType::Log:
        appendLog(QStringLiteral("[%1] %2").arg(e.level, e.message));
        break;
    case RunEventType::RunFinished:
        appendLog(tr("[gui] run %1 %2%3%4")
                      .arg(e.runId)
                      .arg(e.status)
                      .arg(e.flags.isEmpty() ? QString()
                                             : QStringLiteral(" (flags: %1)")
                                                   .arg(e.flags.join(QStringLiteral(", "))))
                      .arg(e.error.isEmpty() ? QString() : QStringLiteral(": ") + e.error));
        break;
    case RunEventType::ExperimentFinished:
        m_experimentStatus = e.status;
        m_overallBar->setValue(1000);
        m_message = tr("Experiment %1: %2 completed, %3 failed, %4 cancelled, in %5 s")
                        .arg(e.status)
                        .arg(e.completed)
                        .arg(e.failed)
                        .arg(e.cancelled)
                        .arg(e.durationS, 0, 'f', 1);
        m_statusLabel->setText(m_message);
        break;
    }
}

void RunMonitor::appendLog(const QString &line)
{
    m_pendingLog.append(line);
}

void RunMonitor::flushLog()
{
    if (!m_pendingLog.isEmpty()) {
        m_log->appendPlainText(m_pendingLog.join(QLatin1Char('\n')));
        m_pendingLog.clear();
    }
    if (m_probe->ticks() > 0)
        m_probeLabel->setText(tr("longest block %1 ms").arg(m_probe->maxGapMs(), 0, 'f', 1));
}

QString RunMonitor::recordCrash()
{
    if (!QFileInfo(m_dbPath).isFile())
        return tr(" It stored nothing in %1, so no run is left to mark 'interrupted'.")
            .arg(m_dbPath);
    // The worker is gone, so a read-write open marks its unfinished run interrupted now (a
    // quick update of a few rows) instead of leaving it 'running' until some later open. A
    // short busy timeout: the GUI thread must not wait long for another writer.
    db::Store store;
    QString error;
    if (!store.open(m_dbPath, db::Store::OpenMode::ReadWrite, &error,
                    std::chrono::milliseconds(300)))
        return tr(" Its unfinished run could not be marked 'interrupted' in %1 (%2); the next "
                  "read-write open does it, viewers already show it as interrupted.")
            .arg(m_dbPath, error);
    const int n = store.recoveredAtOpen();
    return n > 0 ? tr(" %n unfinished run(s) marked 'interrupted' in %1; completed runs are kept.",
                      nullptr, n)
                       .arg(m_dbPath)
                 : tr(" No run was in progress in %1 (nothing to mark 'interrupted').")
                       .arg(m_dbPath);
}

void RunMonitor::onProcessFinished(int exitCode, QProcess::ExitStatus status)
{
    m_killTimer.stop();
    feed(m_process->readAllStandardOutput());
    finishStream();
    m_probe->stop();
    bool ok = false;
    if (status == QProcess::CrashExit) {
        m_message = m_cancelRequested
                        ? tr("The worker was killed after it did not stop on SIGTERM.")
                        : tr("The worker crashed (killed by a signal).");
        m_message += recordCrash();
    } else if (m_experimentStatus.isEmpty()) {
        m_message = tr("The worker exited with code %1 before the experiment finished. A run it "
                       "had started is failed or interrupted in %2; see the log.")
                        .arg(exitCode)
                        .arg(m_dbPath);
    } else {
        ok = m_experimentStatus == QLatin1String("completed") && exitCode == 0;
        if (exitCode != 0)
            m_message += tr(" (worker exit code %1)").arg(exitCode);
    }
    m_statusLabel->setText(m_message);
    appendLog(QStringLiteral("[gui] ") + m_message);
    flushLog();
    qCInfo(lcGui) << m_message;
    Q_EMIT runningChanged(false);
    Q_EMIT finished(ok, m_message);
}

} // namespace jb::gui
