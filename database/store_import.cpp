// SPDX-License-Identifier: GPL-3.0-or-later
// Store::dumpExperiment() and Store::importExperiment(): a whole experiment as plain records,
// for the JSON and CodeCarbon interchange (experiment_json.h, codecarbon_csv.h).
#include "store.h"

#include "database_log.h"
#include "sample_writer.h"

#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>

#include <cmath>

#include <limits>

namespace jb::db {

using sql::fail;

std::optional<ExperimentDump> Store::dumpExperiment(qint64 experimentId, bool withSamples,
                                                    QString *error) const
{
    ExperimentDump dump;
    dump.withSamples = withSamples;
    const std::optional<ExperimentRecord> exp = experiment(experimentId, error);
    if (!exp)
        return std::nullopt;
    dump.experiment = *exp;
    const std::optional<QList<RunRecord>> runs = listRuns(experimentId, error);
    if (!runs)
        return std::nullopt;
    constexpr double inf = std::numeric_limits<double>::infinity();
    for (const RunRecord &r : *runs) {
        RunDump d;
        d.run = r;
        auto domains = this->domains(r.id, error);
        auto phases = this->phases(r.id, error);
        auto metrics = this->metrics(r.id, error);
        auto totals = runEnergy(r.id, error);
        auto artifacts = this->artifacts(r.id, error);
        auto logs = techniqueLogs(r.id, error);
        if (!domains || !phases || !metrics || !totals || !artifacts || !logs)
            return std::nullopt;
        d.domains = *domains;
        d.phases = *phases;
        d.metrics = *metrics;
        d.totals = *totals;
        d.artifacts = *artifacts;
        d.logs = *logs;
        if (withSamples) {
            for (const RunDomain &dom : std::as_const(d.domains)) {
                auto samples = readRaw(r.id, dom.name, -inf, inf, error);
                if (!samples)
                    return std::nullopt;
                if (!samples->isEmpty())
                    d.samples.insert(dom.name, *samples);
            }
        }
        dump.runs.append(d);
    }
    return dump;
}

namespace {

/// Removes what a failed import wrote (runs, and the experiment when it created one).
class ImportRollback
{
public:
    ImportRollback(const sql::Connection &c) : m_c(c) {}
    ~ImportRollback()
    {
        if (m_committed)
            return;
        QString ignored;
        for (qint64 run : std::as_const(runs))
            m_c.execSql(QStringLiteral("DELETE FROM run WHERE id = %1").arg(run),
                        QStringLiteral("removing a half-imported run"), &ignored);
        if (experiment > 0)
            m_c.execSql(QStringLiteral("DELETE FROM experiment WHERE id = %1").arg(experiment),
                        QStringLiteral("removing a half-imported experiment"), &ignored);
        if (!ignored.isEmpty())
            qCWarning(lcDatabase).noquote() << ignored;
    }
    void commit() { m_committed = true; }
    QList<qint64> runs;
    qint64 experiment = 0;

private:
    const sql::Connection &m_c;
    bool m_committed = false;
};

} // namespace

std::optional<ImportCounts> Store::importExperiment(const ExperimentDump &dump,
                                                    std::optional<qint64> intoExperiment,
                                                    QString *error)
{
    const QString what = QStringLiteral("importing experiment '%1'").arg(dump.experiment.name);
    if (!checkWritable(what, error))
        return std::nullopt;
    ImportCounts counts;
    ImportRollback rollback(m_conn);
    if (intoExperiment) {
        if (!experiment(*intoExperiment, error))
            return std::nullopt;
        counts.experimentId = *intoExperiment;
    } else {
        const std::optional<qint64> id = createExperiment(
            dump.experiment.name, dump.experiment.planJson, dump.experiment.planHash, error);
        if (!id)
            return std::nullopt;
        counts.experimentId = *id;
        counts.experimentCreated = true;
        rollback.experiment = *id;
    }

    // Runs are created as running (owned by this process) so the ordinary calls store their
    // domains, samples and phases; one transaction at the end sets the dumped run records.
    QHash<qint64, qint64> newIds;
    for (const RunDump &d : dump.runs) {
        const std::optional<qint64> run =
            createRun(counts.experimentId, d.run.key, d.run.configJson, d.run.envJson, error);
        if (!run)
            return std::nullopt;
        rollback.runs.append(*run);
        counts.runIds.append(*run);
        newIds.insert(d.run.id, *run);
        {
            std::unique_ptr<SampleWriter> writer = sampleWriter(*run, error);
            if (!writer)
                return std::nullopt;
            for (const RunDomain &dom : d.domains) {
                const std::optional<int> channel = writer->addDomain(dom, error);
                if (!channel)
                    return std::nullopt;
                const QList<EnergySample> samples = d.samples.value(dom.name);
                if (!samples.isEmpty() &&
                    !writer->append(*channel, samples.constData(), samples.size(), error))
                    return std::nullopt;
                counts.samples += samples.size();
            }
            for (auto it = d.samples.constBegin(); it != d.samples.constEnd(); ++it) {
                bool known = false;
                for (const RunDomain &dom : d.domains)
                    known = known || dom.name == it.key();
                if (!known) {
                    fail(error, QStringLiteral("%1 failed: run %2 has samples of domain '%3', "
                                               "which is not among its domains")
                                    .arg(what)
                                    .arg(d.run.id)
                                    .arg(it.key()));
                    return std::nullopt;
                }
            }
            if (!writer->flush(error))
                return std::nullopt;
        }
        for (const PhaseRecord &p : d.phases)
            if (!addPhase(*run, p, error))
                return std::nullopt;
    }

    sql::WriteTransaction txn(m_conn);
    if (!txn.begin(what, error))
        return std::nullopt;
    if (counts.experimentCreated && !dump.experiment.created.isEmpty()) {
        QSqlQuery q = m_conn.query();
        if (!m_conn.prepare(q, QStringLiteral("UPDATE experiment SET created = ? WHERE id = ?"),
                            what, error))
            return std::nullopt;
        q.addBindValue(dump.experiment.created);
        q.addBindValue(counts.experimentId);
        if (!m_conn.exec(q, what, error))
            return std::nullopt;
    }
    for (qsizetype i = 0; i < dump.runs.size(); ++i) {
        const RunDump &d = dump.runs.at(i);
        const qint64 run = counts.runIds.at(i);
        RunStatus status = d.run.status;
        QString errorText = d.run.error;
        if (status == RunStatus::Running) {
            status = RunStatus::Interrupted;
            if (errorText.isEmpty())
                errorText = QStringLiteral("the run was still running when it was exported; "
                                           "its import holds what was stored until then");
        }
        QSqlQuery q = m_conn.query();
        if (!m_conn.prepare(
                q,
                QStringLiteral("UPDATE run SET status = ?, flags = ?, error = ?, started = ?, "
                               "ended = ?, owner_pid = ?, owner_host = ?, owner_token = ? "
                               "WHERE id = ?"),
                what, error))
            return std::nullopt;
        q.addBindValue(runStatusName(status));
        q.addBindValue(QString::fromUtf8(
            QJsonDocument(QJsonArray::fromStringList(d.run.flags)).toJson(QJsonDocument::Compact)));
        q.addBindValue(sql::text(errorText));
        q.addBindValue(d.run.started.isEmpty() ? sql::nowUtc() : d.run.started);
        q.addBindValue(d.run.ended.isEmpty() ? sql::nowUtc() : d.run.ended);
        q.addBindValue(d.run.owner.pid);
        q.addBindValue(sql::text(d.run.owner.host));
        q.addBindValue(sql::text(d.run.owner.token));
        q.addBindValue(run);
        if (!m_conn.exec(q, what, error))
            return std::nullopt;

        // Aggregates exactly as dumped (a dump without samples could not recompute them).
        if (!m_conn.execSql(QStringLiteral("DELETE FROM run_energy WHERE domain_id IN (SELECT "
                                           "id FROM run_domain WHERE run_id = %1)")
                                .arg(run),
                            what, error))
            return std::nullopt;
        for (const RunEnergyRecord &e : d.totals) {
            QSqlQuery ins = m_conn.query();
            if (!m_conn.prepare(ins,
                                QStringLiteral("INSERT INTO run_energy (domain_id, samples, "
                                               "joules, duration_s, avg_power_w, peak_power_w) "
                                               "SELECT id, ?, ?, ?, ?, ? FROM run_domain WHERE "
                                               "run_id = ? AND name = ?"),
                                what, error))
                return std::nullopt;
            const auto real = [](double v) { return std::isfinite(v) ? QVariant(v) : QVariant(); };
            ins.addBindValue(e.samples);
            ins.addBindValue(real(e.joules));
            ins.addBindValue(real(e.durationS));
            ins.addBindValue(real(e.avgPowerW));
            ins.addBindValue(real(e.peakPowerW));
            ins.addBindValue(run);
            ins.addBindValue(e.domain);
            if (!m_conn.exec(ins, what, error))
                return std::nullopt;
            if (ins.numRowsAffected() != 1) {
                fail(error, QStringLiteral("%1 failed: run %2 has a total for domain '%3', "
                                           "which is not among its domains")
                                .arg(what)
                                .arg(d.run.id)
                                .arg(e.domain));
                return std::nullopt;
            }
        }
        for (const MetricRecord &m : d.metrics) {
            double value = m.value;
            if (m.name == QLatin1String("reused_from_run") && newIds.contains(qint64(value)))
                value = double(newIds.value(qint64(value)));
            QSqlQuery ins = m_conn.query();
            if (!m_conn.prepare(ins,
                                QStringLiteral("INSERT OR REPLACE INTO metric (run_id, phase, "
                                               "name, value, unit, kind) VALUES (?, ?, ?, ?, ?, "
                                               "?)"),
                                what, error))
                return std::nullopt;
            ins.addBindValue(run);
            ins.addBindValue(sql::text(m.phase));
            ins.addBindValue(m.name);
            ins.addBindValue(value);
            ins.addBindValue(sql::text(m.unit));
            ins.addBindValue(valueKindName(m.kind));
            if (!m_conn.exec(ins, what, error))
                return std::nullopt;
        }
        for (const ArtifactRecord &a : d.artifacts) {
            QSqlQuery ins = m_conn.query();
            if (!m_conn.prepare(ins,
                                QStringLiteral("INSERT INTO artifact (run_id, kind, path, sha256, "
                                               "bytes, created) VALUES (?, ?, ?, ?, ?, ?)"),
                                what, error))
                return std::nullopt;
            ins.addBindValue(run);
            ins.addBindValue(sql::text(a.kind));
            ins.addBindValue(sql::text(a.path));
            ins.addBindValue(sql::text(a.sha256));
            ins.addBindValue(a.bytes);
            ins.addBindValue(a.created.isEmpty() ? sql::nowUtc() : a.created);
            if (!m_conn.exec(ins, what, error))
                return std::nullopt;
        }
        for (const TechniqueLogRecord &l : d.logs) {
            QSqlQuery ins = m_conn.query();
            if (!m_conn.prepare(ins,
                                QStringLiteral("INSERT INTO technique_log (run_id, plugin, "
                                               "message, json, created) VALUES (?, ?, ?, ?, ?)"),
                                what, error))
                return std::nullopt;
            ins.addBindValue(run);
            ins.addBindValue(sql::text(l.plugin));
            ins.addBindValue(sql::text(l.message));
            ins.addBindValue(
                QString::fromUtf8(l.json.isEmpty() ? QByteArrayLiteral("{}") : l.json));
            ins.addBindValue(l.created.isEmpty() ? sql::nowUtc() : l.created);
            if (!m_conn.exec(ins, what, error))
                return std::nullopt;
        }
    }
    if (!txn.commit(error))
        return std::nullopt;
    rollback.commit();
    return counts;
}

} // namespace jb::db
