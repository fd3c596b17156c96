// SPDX-License-Identifier: GPL-3.0-or-later
// Store: per-run results (domains, phases, metrics, artifacts, technique logs, run
// aggregates) and the comparison query.
#include "store.h"

#include <QHash>

namespace jb::db {

using sql::fail;

namespace {

double realOrNone(const QVariant &v)
{
    return v.isNull() ? NoValue : v.toDouble();
}

ValueKind kindOf(const QVariant &v)
{
    // The CHECK constraints admit only known spellings; anything else is shown as estimate.
    return valueKindFromName(v.toString()).value_or(ValueKind::Estimate);
}

bool isUniqueViolation(const QSqlError &e)
{
    return sql::sqliteCode(e) == sql::Constraint && e.databaseText().contains(u"UNIQUE");
}

MetricRecord metricFrom(const QSqlQuery &q, int c)
{
    MetricRecord m;
    m.phase = q.value(c).toString();
    m.name = q.value(c + 1).toString();
    m.value = q.value(c + 2).toDouble();
    m.unit = q.value(c + 3).toString();
    m.kind = kindOf(q.value(c + 4));
    return m;
}

RunEnergyRecord runEnergyFrom(const QSqlQuery &q, int c)
{
    RunEnergyRecord r;
    r.domain = q.value(c).toString();
    r.kind = kindOf(q.value(c + 1));
    r.meterId = q.value(c + 2).toString();
    r.samples = q.value(c + 3).toLongLong();
    r.joules = realOrNone(q.value(c + 4));
    r.durationS = realOrNone(q.value(c + 5));
    r.avgPowerW = realOrNone(q.value(c + 6));
    r.peakPowerW = realOrNone(q.value(c + 7));
    return r;
}

const QString MetricColumns = QStringLiteral("m.phase, m.name, m.value, m.unit, m.kind");
const QString RunEnergyColumns =
    QStringLiteral("d.name, d.kind, d.meter_id, e.samples, e.joules, e.duration_s, e.avg_power_w, "
                   "e.peak_power_w");
const QString PhaseColumns = QStringLiteral(
    "p.id, p.name, p.ordinal, p.t_start, p.duration, e.domain, e.kind, e.gross_j, e.net_j, "
    "e.avg_power_w");

/// Appends a phase row (one per domain, LEFT JOINed) to the list, merging rows of one phase.
void addPhaseRow(QList<PhaseRecord> *phases, const QSqlQuery &q, int c)
{
    const qint64 id = q.value(c).toLongLong();
    if (phases->isEmpty() || phases->last().id != id) {
        PhaseRecord p;
        p.id = id;
        p.name = q.value(c + 1).toString();
        p.ordinal = q.value(c + 2).toInt();
        p.tStart = q.value(c + 3).toDouble();
        p.duration = q.value(c + 4).toDouble();
        phases->append(p);
    }
    if (q.value(c + 5).isNull())
        return;
    PhaseEnergyRecord e;
    e.domain = q.value(c + 5).toString();
    e.kind = kindOf(q.value(c + 6));
    e.grossJ = q.value(c + 7).toDouble();
    e.netJ = q.value(c + 8).toDouble();
    e.avgPowerW = q.value(c + 9).toDouble();
    phases->last().energy.append(e);
}

} // namespace

// --- domains ----------------------------------------------------------------------------------

std::optional<qint64> Store::addDomain(qint64 runId, const RunDomain &domain, QString *error)
{
    const QString what =
        QStringLiteral("adding energy domain '%1' to run %2").arg(domain.name).arg(runId);
    if (!checkWritable(what, error) || !checkRunning(runId, what, error))
        return std::nullopt;
    if (domain.name.isEmpty() ||
        (domain.kind != ValueKind::Measured && domain.kind != ValueKind::Estimate)) {
        fail(error, QStringLiteral("%1 failed: a domain needs a name and the kind measured or "
                                   "estimate")
                        .arg(what));
        return std::nullopt;
    }
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q,
                        QStringLiteral("INSERT INTO run_domain (run_id, name, kind, meter_id) "
                                       "VALUES (?, ?, ?, ?)"),
                        what, error))
        return std::nullopt;
    q.addBindValue(runId);
    q.addBindValue(sql::text(domain.name));
    q.addBindValue(valueKindName(domain.kind));
    q.addBindValue(sql::text(domain.meterId));
    if (!q.exec()) {
        fail(error,
             isUniqueViolation(q.lastError())
                 ? QStringLiteral("%1 failed: the run already has a domain of that name").arg(what)
                 : m_conn.describe(q.lastError(), what));
        return std::nullopt;
    }
    return q.lastInsertId().toLongLong();
}

std::optional<QList<RunDomain>> Store::domains(qint64 runId, QString *error) const
{
    const QString what = QStringLiteral("reading the domains of run %1").arg(runId);
    if (!checkUsable(error))
        return std::nullopt;
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q,
                        QStringLiteral("SELECT id, name, kind, meter_id FROM run_domain WHERE "
                                       "run_id = ? ORDER BY id"),
                        what, error))
        return std::nullopt;
    q.addBindValue(runId);
    if (!m_conn.exec(q, what, error))
        return std::nullopt;
    QList<RunDomain> out;
    while (q.next())
        out.append({q.value(0).toLongLong(), q.value(1).toString(), kindOf(q.value(2)),
                    q.value(3).toString()});
    return out;
}

// --- phases -----------------------------------------------------------------------------------

std::optional<qint64> Store::addPhase(qint64 runId, const PhaseRecord &phase, QString *error)
{
    const QString what = QStringLiteral("storing phase '%1' (ordinal %2) of run %3")
                             .arg(phase.name)
                             .arg(phase.ordinal)
                             .arg(runId);
    if (!checkWritable(what, error))
        return std::nullopt;
    for (const PhaseEnergyRecord &e : phase.energy)
        if (e.kind != ValueKind::Measured && e.kind != ValueKind::Estimate) {
            fail(error, QStringLiteral("%1 failed: energy of domain '%2' must be measured or "
                                       "estimate")
                            .arg(what, e.domain));
            return std::nullopt;
        }
    sql::WriteTransaction txn(m_conn);
    if (!txn.begin(what, error) || !checkRunning(runId, what, error))
        return std::nullopt;
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q,
                        QStringLiteral("INSERT INTO phase (run_id, name, ordinal, t_start, "
                                       "duration) VALUES (?, ?, ?, ?, ?)"),
                        what, error))
        return std::nullopt;
    q.addBindValue(runId);
    q.addBindValue(sql::text(phase.name));
    q.addBindValue(phase.ordinal);
    q.addBindValue(phase.tStart);
    q.addBindValue(phase.duration);
    if (!q.exec()) {
        fail(error, isUniqueViolation(q.lastError())
                        ? QStringLiteral("%1 failed: the run already has a phase with ordinal "
                                         "%2; number phases uniquely")
                              .arg(what)
                              .arg(phase.ordinal)
                        : m_conn.describe(q.lastError(), what));
        return std::nullopt;
    }
    const qint64 phaseId = q.lastInsertId().toLongLong();
    QSqlQuery e = m_conn.query();
    if (!m_conn.prepare(e,
                        QStringLiteral("INSERT INTO phase_energy (phase_id, domain, kind, "
                                       "gross_j, net_j, avg_power_w) VALUES (?, ?, ?, ?, ?, ?)"),
                        what, error))
        return std::nullopt;
    for (const PhaseEnergyRecord &pe : phase.energy) {
        e.bindValue(0, phaseId);
        e.bindValue(1, sql::text(pe.domain));
        e.bindValue(2, valueKindName(pe.kind));
        e.bindValue(3, pe.grossJ);
        e.bindValue(4, pe.netJ);
        e.bindValue(5, pe.avgPowerW);
        if (!e.exec()) {
            fail(error,
                 isUniqueViolation(e.lastError())
                     ? QStringLiteral("%1 failed: domain '%2' is listed twice").arg(what, pe.domain)
                     : m_conn.describe(e.lastError(), what));
            return std::nullopt;
        }
    }
    if (!txn.commit(error))
        return std::nullopt;
    return phaseId;
}

std::optional<QList<PhaseRecord>> Store::phases(qint64 runId, QString *error) const
{
    const QString what = QStringLiteral("reading the phases of run %1").arg(runId);
    if (!checkUsable(error))
        return std::nullopt;
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q,
                        QStringLiteral("SELECT ") + PhaseColumns +
                            QStringLiteral(" FROM phase p LEFT JOIN phase_energy e ON "
                                           "e.phase_id = p.id WHERE p.run_id = ? ORDER BY "
                                           "p.ordinal, e.domain"),
                        what, error))
        return std::nullopt;
    q.addBindValue(runId);
    if (!m_conn.exec(q, what, error))
        return std::nullopt;
    QList<PhaseRecord> out;
    while (q.next())
        addPhaseRow(&out, q, 0);
    return out;
}

// --- metrics, artifacts, technique logs -------------------------------------------------------

namespace {
/// "the run exists" check with a message, for tables whose rows may be added after the end.
bool runExists(const sql::Connection &c, qint64 runId, const QString &what, QString *error)
{
    qint64 n = 0;
    if (!c.queryInt(QStringLiteral("SELECT COUNT(*) FROM run WHERE id = %1").arg(runId), what, &n,
                    error))
        return false;
    return n > 0 ||
           fail(
               error,
               QStringLiteral("%1 failed: database %2 has no run %3").arg(what, c.path).arg(runId));
}
} // namespace

bool Store::setMetric(qint64 runId, const QString &phase, const QString &name, double value,
                      const QString &unit, ValueKind kind, QString *error)
{
    const QString what = QStringLiteral("storing metric '%1' of run %2").arg(name).arg(runId);
    if (!checkWritable(what, error) || !runExists(m_conn, runId, what, error))
        return false;
    if (name.isEmpty())
        return fail(error, QStringLiteral("%1 failed: the metric has no name").arg(what));
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q,
                        QStringLiteral("INSERT INTO metric (run_id, phase, name, value, unit, "
                                       "kind) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, "
                                       "phase, name) DO UPDATE SET value = excluded.value, "
                                       "unit = excluded.unit, kind = excluded.kind"),
                        what, error))
        return false;
    q.addBindValue(runId);
    q.addBindValue(sql::text(phase));
    q.addBindValue(sql::text(name));
    q.addBindValue(value);
    q.addBindValue(sql::text(unit));
    q.addBindValue(valueKindName(kind));
    return m_conn.exec(q, what, error);
}

std::optional<QList<MetricRecord>> Store::metrics(qint64 runId, QString *error) const
{
    const QString what = QStringLiteral("reading the metrics of run %1").arg(runId);
    if (!checkUsable(error))
        return std::nullopt;
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q,
                        QStringLiteral("SELECT ") + MetricColumns +
                            QStringLiteral(" FROM metric m WHERE m.run_id = ? ORDER BY "
                                           "m.phase, m.name"),
                        what, error))
        return std::nullopt;
    q.addBindValue(runId);
    if (!m_conn.exec(q, what, error))
        return std::nullopt;
    QList<MetricRecord> out;
    while (q.next())
        out.append(metricFrom(q, 0));
    return out;
}

std::optional<qint64> Store::addArtifact(qint64 runId, const QString &kind, const QString &path,
                                         const QString &sha256, qint64 bytes, QString *error)
{
    const QString what = QStringLiteral("storing artifact %1 of run %2").arg(path).arg(runId);
    if (!checkWritable(what, error) || !runExists(m_conn, runId, what, error))
        return std::nullopt;
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q,
                        QStringLiteral("INSERT INTO artifact (run_id, kind, path, sha256, "
                                       "bytes, created) VALUES (?, ?, ?, ?, ?, ?)"),
                        what, error))
        return std::nullopt;
    q.addBindValue(runId);
    q.addBindValue(sql::text(kind));
    q.addBindValue(sql::text(path));
    q.addBindValue(sql::text(sha256));
    q.addBindValue(bytes);
    q.addBindValue(sql::nowUtc());
    if (!m_conn.exec(q, what, error))
        return std::nullopt;
    return q.lastInsertId().toLongLong();
}

std::optional<QList<ArtifactRecord>> Store::artifacts(qint64 runId, QString *error) const
{
    const QString what = QStringLiteral("reading the artifacts of run %1").arg(runId);
    if (!checkUsable(error))
        return std::nullopt;
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q,
                        QStringLiteral("SELECT id, kind, path, sha256, bytes, created FROM "
                                       "artifact WHERE run_id = ? ORDER BY id"),
                        what, error))
        return std::nullopt;
    q.addBindValue(runId);
    if (!m_conn.exec(q, what, error))
        return std::nullopt;
    QList<ArtifactRecord> out;
    while (q.next())
        out.append({q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(),
                    q.value(3).toString(), q.value(4).toLongLong(), q.value(5).toString()});
    return out;
}

std::optional<qint64> Store::addTechniqueLog(qint64 runId, const QString &plugin,
                                             const QString &message, const QByteArray &json,
                                             QString *error)
{
    const QString what =
        QStringLiteral("storing a log line of plugin '%1' for run %2").arg(plugin).arg(runId);
    if (!checkWritable(what, error) || !runExists(m_conn, runId, what, error))
        return std::nullopt;
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q,
                        QStringLiteral("INSERT INTO technique_log (run_id, plugin, message, "
                                       "json, created) VALUES (?, ?, ?, ?, ?)"),
                        what, error))
        return std::nullopt;
    q.addBindValue(runId);
    q.addBindValue(sql::text(plugin));
    q.addBindValue(sql::text(message));
    q.addBindValue(QString::fromUtf8(json.isEmpty() ? QByteArrayLiteral("{}") : json));
    q.addBindValue(sql::nowUtc());
    if (!m_conn.exec(q, what, error))
        return std::nullopt;
    return q.lastInsertId().toLongLong();
}

std::optional<QList<TechniqueLogRecord>> Store::techniqueLogs(qint64 runId, QString *error) const
{
    const QString what = QStringLiteral("reading the technique log of run %1").arg(runId);
    if (!checkUsable(error))
        return std::nullopt;
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q,
                        QStringLiteral("SELECT id, plugin, message, json, created FROM "
                                       "technique_log WHERE run_id = ? ORDER BY id"),
                        what, error))
        return std::nullopt;
    q.addBindValue(runId);
    if (!m_conn.exec(q, what, error))
        return std::nullopt;
    QList<TechniqueLogRecord> out;
    while (q.next())
        out.append({q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(),
                    q.value(3).toString().toUtf8(), q.value(4).toString()});
    return out;
}

std::optional<QList<RunEnergyRecord>> Store::runEnergy(qint64 runId, QString *error) const
{
    const QString what = QStringLiteral("reading the energy totals of run %1").arg(runId);
    if (!checkUsable(error))
        return std::nullopt;
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q,
                        QStringLiteral("SELECT ") + RunEnergyColumns +
                            QStringLiteral(" FROM run_energy e JOIN run_domain d ON d.id = "
                                           "e.domain_id WHERE d.run_id = ? ORDER BY d.name"),
                        what, error))
        return std::nullopt;
    q.addBindValue(runId);
    if (!m_conn.exec(q, what, error))
        return std::nullopt;
    QList<RunEnergyRecord> out;
    while (q.next())
        out.append(runEnergyFrom(q, 0));
    return out;
}

// --- comparison -------------------------------------------------------------------------------

std::optional<ExperimentComparison> Store::comparison(qint64 experimentId, QString *error) const
{
    const QString what = QStringLiteral("comparing the runs of experiment %1").arg(experimentId);
    ExperimentComparison out;
    const std::optional<ExperimentRecord> exp = experiment(experimentId, error);
    if (!exp)
        return std::nullopt;
    out.experiment = *exp;
    const std::optional<QList<RunRecord>> runs = listRuns(experimentId, error);
    if (!runs)
        return std::nullopt;
    QHash<qint64, qsizetype> index;
    for (const RunRecord &r : *runs) {
        index.insert(r.id, out.runs.size());
        out.runs.append({r, {}, {}, {}});
    }
    // Three queries over the aggregates, each in run order; rows are routed by run id.
    const auto forEachRow = [&](const QString &sqlText, auto &&handle) {
        QSqlQuery q = m_conn.query();
        if (!m_conn.prepare(q, sqlText, what, error))
            return false;
        q.addBindValue(experimentId);
        if (!m_conn.exec(q, what, error))
            return false;
        while (q.next()) {
            const auto it = index.constFind(q.value(0).toLongLong());
            if (it != index.constEnd())
                handle(out.runs[*it], q);
        }
        return !q.lastError().isValid() || fail(error, m_conn.describe(q.lastError(), what));
    };
    const bool ok =
        forEachRow(QStringLiteral("SELECT p.run_id, ") + PhaseColumns +
                       QStringLiteral(" FROM run r JOIN phase p ON p.run_id = r.id LEFT JOIN "
                                      "phase_energy e ON e.phase_id = p.id WHERE "
                                      "r.experiment_id = ? ORDER BY p.run_id, p.ordinal, "
                                      "e.domain"),
                   [](RunComparison &rc, const QSqlQuery &q) { addPhaseRow(&rc.phases, q, 1); }) &&
        forEachRow(
            QStringLiteral("SELECT m.run_id, ") + MetricColumns +
                QStringLiteral(" FROM run r JOIN metric m ON m.run_id = r.id WHERE "
                               "r.experiment_id = ? ORDER BY m.run_id, m.phase, "
                               "m.name"),
            [](RunComparison &rc, const QSqlQuery &q) { rc.metrics.append(metricFrom(q, 1)); }) &&
        forEachRow(
            QStringLiteral("SELECT d.run_id, ") + RunEnergyColumns +
                QStringLiteral(" FROM run r JOIN run_domain d ON d.run_id = r.id "
                               "JOIN run_energy e ON e.domain_id = d.id WHERE "
                               "r.experiment_id = ? ORDER BY d.run_id, d.name"),
            [](RunComparison &rc, const QSqlQuery &q) { rc.totals.append(runEnergyFrom(q, 1)); });
    if (!ok)
        return std::nullopt;
    return out;
}

} // namespace jb::db
