// SPDX-License-Identifier: GPL-3.0-or-later
// Store::mergeFrom() and mergeDatabases(): copying runs between JouleBench databases.
#include "merge.h"

#include "database_log.h"
#include "process_identity.h"
#include "store.h"

#include <QFileInfo>
#include <QHash>
#include <QUrl>

namespace jb::db {

using sql::fail;

namespace {

/// Detaches the shard when the merge of one input ends, however it ends.
class Attachment
{
public:
    explicit Attachment(const sql::Connection &c) : m_c(c) {}
    ~Attachment()
    {
        if (!m_attached)
            return;
        QString ignored;
        if (!m_c.execSql(QStringLiteral("DETACH DATABASE src"), QStringLiteral("detaching"),
                         &ignored))
            qCWarning(lcDatabase).noquote() << ignored;
    }
    bool attach(const QString &absPath, const QString &what, QString *error)
    {
        // mode=ro: the shard is only read, and BEGIN IMMEDIATE does not lock it.
        const QString uri =
            QUrl::fromLocalFile(absPath).toString(QUrl::FullyEncoded) + QStringLiteral("?mode=ro");
        QSqlQuery q = m_c.query();
        if (!m_c.prepare(q, QStringLiteral("ATTACH DATABASE ? AS src"), what, error))
            return false;
        q.addBindValue(uri);
        if (!m_c.exec(q, what, error))
            return false;
        m_attached = true;
        return true;
    }

private:
    const sql::Connection &m_c;
    bool m_attached = false;
};

} // namespace

bool Store::copyRun(qint64 srcRunId, qint64 dstExperimentId, RunStatus status,
                    const QString &errorText, MergeCounts *counts, QString *error)
{
    const QString what = QStringLiteral("copying run %1").arg(srcRunId);
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(
            q,
            QStringLiteral("INSERT INTO main.run (experiment_id, variant, chain_json, backend, "
                           "repetition, config_key, config_json, env_json, status, flags, "
                           "error, started, ended, owner_pid, owner_host, owner_token) "
                           "SELECT ?, variant, chain_json, backend, repetition, config_key, "
                           "config_json, env_json, ?, flags, ?, started, COALESCE(ended, ?), "
                           "owner_pid, owner_host, owner_token FROM src.run WHERE id = ?"),
            what, error))
        return false;
    q.addBindValue(dstExperimentId);
    q.addBindValue(runStatusName(status));
    q.addBindValue(sql::text(errorText));
    q.addBindValue(sql::nowUtc());
    q.addBindValue(srcRunId);
    if (!m_conn.exec(q, what, error))
        return false;
    const qint64 newRun = q.lastInsertId().toLongLong();

    // Child rows, matched to their new parents by name / ordinal within the new run.
    const QStringList statements = {
        QStringLiteral("INSERT INTO main.run_domain (run_id, name, kind, meter_id) SELECT :new, "
                       "name, kind, meter_id FROM src.run_domain WHERE run_id = :old ORDER BY id"),
        QStringLiteral("INSERT INTO main.sample_chunk (domain_id, seq, n, t0, t1, j0, j1, prev_t, "
                       "prev_j, p_min, p_max, codec, blocks, data) SELECT nd.id, c.seq, c.n, "
                       "c.t0, c.t1, c.j0, c.j1, c.prev_t, c.prev_j, c.p_min, c.p_max, c.codec, "
                       "c.blocks, c.data FROM src.run_domain od JOIN src.sample_chunk c ON "
                       "c.domain_id = od.id JOIN main.run_domain nd ON nd.run_id = :new AND "
                       "nd.name = od.name WHERE od.run_id = :old ORDER BY c.domain_id, c.seq"),
        QStringLiteral("INSERT INTO main.run_energy (domain_id, samples, joules, duration_s, "
                       "avg_power_w, peak_power_w) SELECT nd.id, e.samples, e.joules, "
                       "e.duration_s, e.avg_power_w, e.peak_power_w FROM src.run_domain od "
                       "JOIN src.run_energy e ON e.domain_id = od.id JOIN main.run_domain nd ON "
                       "nd.run_id = :new AND nd.name = od.name WHERE od.run_id = :old"),
        QStringLiteral("INSERT INTO main.phase (run_id, name, ordinal, t_start, duration) SELECT "
                       ":new, name, ordinal, t_start, duration FROM src.phase WHERE run_id = "
                       ":old ORDER BY ordinal"),
        QStringLiteral("INSERT INTO main.phase_energy (phase_id, domain, kind, gross_j, net_j, "
                       "avg_power_w) SELECT np.id, e.domain, e.kind, e.gross_j, e.net_j, "
                       "e.avg_power_w FROM src.phase op JOIN src.phase_energy e ON e.phase_id = "
                       "op.id JOIN main.phase np ON np.run_id = :new AND np.ordinal = "
                       "op.ordinal WHERE op.run_id = :old"),
        QStringLiteral("INSERT INTO main.metric (run_id, phase, name, value, unit, kind) SELECT "
                       ":new, phase, name, value, unit, kind FROM src.metric WHERE run_id = "
                       ":old"),
        QStringLiteral("INSERT INTO main.artifact (run_id, kind, path, sha256, bytes, created) "
                       "SELECT :new, kind, path, sha256, bytes, created FROM src.artifact WHERE "
                       "run_id = :old ORDER BY id"),
        QStringLiteral("INSERT INTO main.technique_log (run_id, plugin, message, json, created) "
                       "SELECT :new, plugin, message, json, created FROM src.technique_log "
                       "WHERE run_id = :old ORDER BY id"),
    };
    for (qsizetype i = 0; i < statements.size(); ++i) {
        QSqlQuery s = m_conn.query();
        if (!m_conn.prepare(s, statements[i], what, error))
            return false;
        s.bindValue(QStringLiteral(":new"), newRun);
        s.bindValue(QStringLiteral(":old"), srcRunId);
        if (!m_conn.exec(s, what, error))
            return false;
        if (i == 1)
            counts->chunksCopied += s.numRowsAffected();
    }
    qint64 samples = 0;
    if (!m_conn.queryInt(QStringLiteral("SELECT COALESCE(SUM(c.n), 0) FROM main.run_domain d "
                                        "JOIN main.sample_chunk c ON c.domain_id = d.id WHERE "
                                        "d.run_id = %1")
                             .arg(newRun),
                         what, &samples, error))
        return false;
    counts->samplesCopied += samples;
    // A run that never ended in the shard has no aggregates there: compute them now.
    qint64 aggregates = 0;
    if (!m_conn.queryInt(QStringLiteral("SELECT COUNT(*) FROM main.run_energy e JOIN "
                                        "main.run_domain d ON d.id = e.domain_id WHERE "
                                        "d.run_id = %1")
                             .arg(newRun),
                         what, &aggregates, error))
        return false;
    if (aggregates == 0 && !computeRunEnergy(newRun, error))
        return false;
    return true;
}

std::optional<MergeCounts> Store::mergeFrom(const QString &inPath, QString *error)
{
    const QFileInfo inInfo(inPath);
    const QString inAbs = inInfo.absoluteFilePath();
    const QString what = QStringLiteral("merging %1 into %2").arg(inAbs, m_conn.path);
    if (!checkWritable(what, error))
        return std::nullopt;
    if (inInfo.exists() &&
        inInfo.canonicalFilePath() == QFileInfo(m_conn.path).canonicalFilePath()) {
        fail(
            error,
            QStringLiteral("cannot merge %1 into itself; give a different output file").arg(inAbs));
        return std::nullopt;
    }
    // Validates the shard (JouleBench file, same schema) and reads runs with live statuses.
    QList<ExperimentRecord> experiments;
    QList<QList<RunRecord>> runsPerExperiment;
    {
        Store in;
        QString inError;
        if (!in.open(inAbs, OpenMode::ReadOnly, &inError,
                     std::chrono::milliseconds(m_conn.busyTimeoutMs))) {
            fail(error, QStringLiteral("cannot merge: %1").arg(inError));
            return std::nullopt;
        }
        const auto list = in.listExperiments(error);
        if (!list)
            return std::nullopt;
        experiments = *list;
        for (const ExperimentRecord &e : experiments) {
            const auto runs = in.listRuns(e.id, error);
            if (!runs)
                return std::nullopt;
            runsPerExperiment << *runs;
        }
    }

    MergeCounts counts;
    counts.inputs = 1;
    Attachment attachment(m_conn);
    if (!attachment.attach(inAbs, what, error))
        return std::nullopt;
    sql::WriteTransaction txn(m_conn);
    if (!txn.begin(what, error))
        return std::nullopt;

    // Run ids of the input -> ids in OUT (copied runs and the copies kept instead of a
    // duplicate), to renumber "reused_from_run" metrics, which name a run by id.
    QHash<qint64, qint64> idInOut;
    QList<qint64> copiedRuns;
    for (qsizetype ei = 0; ei < experiments.size(); ++ei) {
        const ExperimentRecord &e = experiments[ei];
        qint64 dstExperiment = 0;
        {
            QSqlQuery q = m_conn.query();
            if (!m_conn.prepare(q,
                                QStringLiteral("SELECT id FROM main.experiment WHERE plan_hash = "
                                               "? ORDER BY id LIMIT 1"),
                                what, error))
                return std::nullopt;
            q.addBindValue(e.planHash);
            if (!m_conn.exec(q, what, error))
                return std::nullopt;
            if (q.next())
                dstExperiment = q.value(0).toLongLong();
        }
        if (dstExperiment == 0) {
            QSqlQuery q = m_conn.query();
            if (!m_conn.prepare(q,
                                QStringLiteral("INSERT INTO main.experiment (name, plan_json, "
                                               "plan_hash, created) VALUES (?, ?, ?, ?)"),
                                what, error))
                return std::nullopt;
            q.addBindValue(sql::text(e.name));
            q.addBindValue(QString::fromUtf8(e.planJson));
            q.addBindValue(e.planHash);
            q.addBindValue(sql::text(e.created));
            if (!m_conn.exec(q, what, error))
                return std::nullopt;
            dstExperiment = q.lastInsertId().toLongLong();
            ++counts.experimentsAdded;
        }

        for (const RunRecord &r : std::as_const(runsPerExperiment[ei])) {
            RunStatus status = r.status;
            QString errorText = r.error;
            const QString label = QStringLiteral("run %1 ('%2', repetition %3) of %4")
                                      .arg(r.id)
                                      .arg(r.key.variant)
                                      .arg(r.key.repetition)
                                      .arg(inAbs);
            if (status == RunStatus::Running) {
                if (ProcessIdentity::liveness(r.owner) == ProcessIdentity::Liveness::Alive) {
                    ++counts.runsSkippedRunning;
                    counts.notes << QStringLiteral("%1 is still running (pid %2); merge again "
                                                   "when it has ended")
                                        .arg(label)
                                        .arg(r.owner.pid);
                    continue;
                }
                // Owner on another host: it cannot be checked. A later merge replaces this
                // copy when the run completes there.
                status = RunStatus::Interrupted;
                errorText = QStringLiteral("interrupted: found running on host %1 when it was "
                                           "merged; its process could not be checked")
                                .arg(r.owner.host);
            }
            if (status == RunStatus::Interrupted) {
                ++counts.runsInterrupted;
                counts.notes << QStringLiteral("%1 copied as interrupted").arg(label);
            }

            // Existing copies of the same key in OUT.
            QList<QPair<qint64, QString>> existing;
            {
                QSqlQuery q = m_conn.query();
                if (!m_conn.prepare(q,
                                    QStringLiteral("SELECT r.id, r.status FROM main.run r JOIN "
                                                   "main.experiment x ON x.id = r.experiment_id "
                                                   "WHERE x.plan_hash = ? AND r.config_key = ? "
                                                   "AND r.repetition = ?"),
                                    what, error))
                    return std::nullopt;
                q.addBindValue(e.planHash);
                q.addBindValue(r.key.configKey);
                q.addBindValue(r.key.repetition);
                if (!m_conn.exec(q, what, error))
                    return std::nullopt;
                while (q.next())
                    existing.append({q.value(0).toLongLong(), q.value(1).toString()});
            }
            if (!existing.isEmpty()) {
                bool keep = status != RunStatus::Completed;
                for (const auto &[id, st] : std::as_const(existing))
                    if (st == QLatin1String("completed") || st == QLatin1String("running"))
                        keep = true;
                if (keep) {
                    ++counts.runsSkippedDuplicate;
                    idInOut.insert(r.id, existing.first().first);
                    for (const auto &[id, st] : std::as_const(existing))
                        if (st == QLatin1String("completed"))
                            idInOut.insert(r.id, id);
                    continue;
                }
                for (const auto &[id, st] : std::as_const(existing))
                    if (!m_conn.execSql(
                            QStringLiteral("DELETE FROM main.run WHERE id = %1").arg(id), what,
                            error))
                        return std::nullopt;
                ++counts.runsReplaced;
            } else {
                ++counts.runsAdded;
            }
            if (!copyRun(r.id, dstExperiment, status, errorText, &counts, error))
                return std::nullopt;
            qint64 newId = 0;
            if (!m_conn.queryInt(QStringLiteral("SELECT MAX(id) FROM main.run"), what, &newId,
                                 error))
                return std::nullopt;
            idInOut.insert(r.id, newId);
            copiedRuns.append(newId);
        }
    }
    for (const qint64 run : std::as_const(copiedRuns)) {
        QSqlQuery q = m_conn.query();
        if (!m_conn.prepare(q,
                            QStringLiteral("SELECT phase, value FROM main.metric WHERE run_id = ? "
                                           "AND name = 'reused_from_run'"),
                            what, error))
            return std::nullopt;
        q.addBindValue(run);
        if (!m_conn.exec(q, what, error))
            return std::nullopt;
        QList<QPair<QString, qint64>> renumber;
        while (q.next()) {
            const qint64 source = q.value(1).toLongLong();
            if (idInOut.contains(source) && idInOut.value(source) != source)
                renumber.append({q.value(0).toString(), idInOut.value(source)});
        }
        for (const auto &[phase, target] : std::as_const(renumber)) {
            QSqlQuery u = m_conn.query();
            if (!m_conn.prepare(u,
                                QStringLiteral("UPDATE main.metric SET value = ? WHERE run_id = ? "
                                               "AND phase = ? AND name = 'reused_from_run'"),
                                what, error))
                return std::nullopt;
            u.addBindValue(double(target));
            u.addBindValue(run);
            u.addBindValue(phase);
            if (!m_conn.exec(u, what, error))
                return std::nullopt;
        }
    }
    if (!txn.commit(error))
        return std::nullopt;
    qCInfo(lcDatabase).noquote() << "merged" << inAbs << "into" << m_conn.path << ":"
                                 << counts.runsAdded << "runs added," << counts.runsReplaced
                                 << "replaced," << counts.runsSkippedDuplicate
                                 << "duplicates skipped";
    return counts;
}

std::optional<MergeCounts> mergeDatabases(const QString &outPath, const QStringList &inPaths,
                                          QString *error)
{
    if (inPaths.isEmpty()) {
        fail(error, QStringLiteral("nothing to merge into %1: give at least one input database")
                        .arg(outPath));
        return std::nullopt;
    }
    Store out;
    if (!out.open(outPath, Store::OpenMode::ReadWrite, error))
        return std::nullopt;
    MergeCounts total;
    for (const QString &in : inPaths) {
        const std::optional<MergeCounts> c = out.mergeFrom(in, error);
        if (!c)
            return std::nullopt;
        total.inputs += c->inputs;
        total.experimentsAdded += c->experimentsAdded;
        total.runsAdded += c->runsAdded;
        total.runsReplaced += c->runsReplaced;
        total.runsSkippedDuplicate += c->runsSkippedDuplicate;
        total.runsSkippedRunning += c->runsSkippedRunning;
        total.runsInterrupted += c->runsInterrupted;
        total.chunksCopied += c->chunksCopied;
        total.samplesCopied += c->samplesCopied;
        total.notes << c->notes;
    }
    return total;
}

} // namespace jb::db
