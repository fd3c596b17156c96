// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>

class QProcess;

namespace jb::gui {

/// A meter as the designer offers it.
struct MeterChoice
{
    QString id;          ///< "rapl-powercap", "estimate", ...
    QString displayName;
    bool estimate = false; ///< an estimate, not a hardware counter
    bool readable = false;
    QString reason; ///< why not readable, with the fix (from the meter's probe)
};

/// What this machine offers to a plan: backends (from `joulebench-cli backends --json`, run
/// as a child process so that torch never loads in the GUI) and meters (probed in-process by
/// the measurement library, which has no torch).
///
/// Threads: GUI thread; the CLI runs asynchronously, finished() tells when.
class MachineProbe : public QObject
{
    Q_OBJECT
public:
    explicit MachineProbe(QObject *parent = nullptr);

    /// Probes the meters now (reads sysfs, opens perf events; milliseconds) and starts the CLI.
    void start(const QString &cliPath);

    QStringList backends() const { return m_backends; }
    QList<MeterChoice> meters() const { return m_meters; }
    QString torchVersion() const { return m_torchVersion; }
    /// Why the backends are unknown (no CLI, CLI failed), empty when they are known.
    QString backendError() const { return m_backendError; }

    /// Parses the JSON of `joulebench-cli backends --json`; false with *error naming the key.
    bool parseBackendsJson(const QByteArray &json, QString *error);
    /// Probes the built-in meters (MeterRegistry::builtIn().discover()).
    static QList<MeterChoice> probeMeters();

Q_SIGNALS:
    void finished();

private:
    QStringList m_backends;
    QList<MeterChoice> m_meters;
    QString m_torchVersion;
    QString m_backendError;
    QProcess *m_process = nullptr;
};

} // namespace jb::gui
