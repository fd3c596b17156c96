// SPDX-License-Identifier: GPL-3.0-or-later
#include "machine_probe.h"

#include "gui_log.h"
#include "measurement/meter_registry.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

namespace jb::gui {

MachineProbe::MachineProbe(QObject *parent) : QObject(parent) {}

QList<MeterChoice> MachineProbe::probeMeters()
{
    QList<MeterChoice> out;
    const QList<MeterStatus> found =
        MeterRegistry::builtIn().discover(DiscoveryOptions::fromEnvironment());
    for (const MeterStatus &s : found)
        out.append(MeterChoice{s.id, s.displayName, s.kind == MeterKind::Estimate, s.readable,
                               s.reason});
    return out;
}

bool MachineProbe::parseBackendsJson(const QByteArray &json, QString *error)
{
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &pe);
    if (!doc.isObject()) {
        *error = tr("joulebench-cli backends --json: not a JSON object (%1)").arg(pe.errorString());
        return false;
    }
    const QJsonObject o = doc.object();
    if (!o.value(QStringLiteral("backends")).isArray()) {
        *error = tr("joulebench-cli backends --json: no \"backends\" array");
        return false;
    }
    m_backends.clear();
    for (const QJsonValue &v : o.value(QStringLiteral("backends")).toArray())
        m_backends.append(v.toString());
    m_torchVersion = o.value(QStringLiteral("torchVersion")).toString();
    return true;
}

void MachineProbe::start(const QString &cliPath)
{
    m_meters = probeMeters();
    if (cliPath.isEmpty()) {
        m_backendError = tr("joulebench-cli not found next to the GUI (or in JOULEBENCH_CLI): "
                            "backends unknown, runs cannot start");
        Q_EMIT finished();
        return;
    }
    m_process = new QProcess(this);
    connect(m_process, &QProcess::finished, this, [this](int code, QProcess::ExitStatus st) {
        QString error;
        if (st != QProcess::NormalExit || code != 0)
            error = tr("'joulebench-cli backends --json' failed (exit %1): %2")
                        .arg(code)
                        .arg(QString::fromUtf8(m_process->readAllStandardError()).trimmed());
        else
            parseBackendsJson(m_process->readAllStandardOutput(), &error);
        m_backendError = error;
        if (!error.isEmpty())
            qCWarning(lcGui) << error;
        m_process->deleteLater();
        m_process = nullptr;
        Q_EMIT finished();
    });
    connect(m_process, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
        if (e != QProcess::FailedToStart)
            return;
        m_backendError = tr("could not start joulebench-cli: %1").arg(m_process->errorString());
        m_process->deleteLater();
        m_process = nullptr;
        Q_EMIT finished();
    });
    m_process->start(cliPath, {QStringLiteral("backends"), QStringLiteral("--json")});
}

} // namespace jb::gui
