// SPDX-License-Identifier: GPL-3.0-or-later
#include "schema.h"

#include "database_log.h"

#include <functional>

namespace jb::db {

namespace {

struct Step
{
    int toVersion;
    const char *description;
    /// Table rebuilds (the SQLite 12-step ALTER procedure) need foreign keys off.
    bool rebuildsTables;
    QString sql;
    /// Optional data migration in C++ after the SQL, inside the same transaction.
    std::function<bool(const sql::Connection &, QString *)> code;
};

// Schema 1: the first released layout. Frozen: a copy lives in tests/data/db/schema_v1.sql.
const char *const SchemaV1 = R"sql(
PRAGMA application_id = 1245857102;
CREATE TABLE experiment (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    plan_json TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX experiment_plan_hash ON experiment(plan_hash);
CREATE TABLE run (
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiment(id) ON DELETE CASCADE,
    variant TEXT NOT NULL,
    chain_json TEXT NOT NULL DEFAULT '[]',
    backend TEXT NOT NULL,
    repetition INTEGER NOT NULL,
    config_key TEXT NOT NULL,
    config_json TEXT NOT NULL DEFAULT '{}',
    env_json TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
    flags TEXT NOT NULL DEFAULT '[]',
    error TEXT NOT NULL DEFAULT '',
    started TEXT NOT NULL,
    ended TEXT
);
CREATE INDEX run_experiment ON run(experiment_id);
CREATE TABLE run_domain (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('measured', 'estimate')),
    meter_id TEXT NOT NULL DEFAULT '',
    UNIQUE (run_id, name)
);
CREATE TABLE phase (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    t_start REAL NOT NULL,
    duration REAL NOT NULL,
    UNIQUE (run_id, ordinal)
);
CREATE TABLE phase_energy (
    phase_id INTEGER NOT NULL REFERENCES phase(id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('measured', 'estimate')),
    gross_j REAL NOT NULL,
    net_j REAL NOT NULL,
    avg_power_w REAL NOT NULL,
    PRIMARY KEY (phase_id, domain)
) WITHOUT ROWID;
CREATE TABLE metric (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    phase TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    value REAL NOT NULL,
    unit TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL CHECK (kind IN ('measured', 'estimate', 'proxy', 'computed')),
    UNIQUE (run_id, phase, name)
);
CREATE TABLE sample_chunk (
    id INTEGER PRIMARY KEY,
    domain_id INTEGER NOT NULL REFERENCES run_domain(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    n INTEGER NOT NULL,
    t0 REAL NOT NULL,
    t1 REAL NOT NULL,
    j0 REAL NOT NULL,
    j1 REAL NOT NULL,
    prev_t REAL,
    prev_j REAL,
    p_min REAL,
    p_max REAL,
    codec INTEGER NOT NULL,
    blocks BLOB NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (domain_id, seq)
);
CREATE INDEX sample_chunk_time ON sample_chunk(domain_id, t1);
CREATE TABLE artifact (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX artifact_run ON artifact(run_id);
)sql";

// Schema 2: runs record their owner process (pid, host, start token) and may be
// 'interrupted'; technique logs; run aggregates per domain (run_energy).
const char *const SchemaV2 = R"sql(
CREATE TABLE run_new (
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiment(id) ON DELETE CASCADE,
    variant TEXT NOT NULL,
    chain_json TEXT NOT NULL DEFAULT '[]',
    backend TEXT NOT NULL,
    repetition INTEGER NOT NULL,
    config_key TEXT NOT NULL,
    config_json TEXT NOT NULL DEFAULT '{}',
    env_json TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL
        CHECK (status IN ('running', 'completed', 'failed', 'cancelled', 'interrupted')),
    flags TEXT NOT NULL DEFAULT '[]',
    error TEXT NOT NULL DEFAULT '',
    started TEXT NOT NULL,
    ended TEXT,
    owner_pid INTEGER NOT NULL DEFAULT 0,
    owner_host TEXT NOT NULL DEFAULT '',
    owner_token TEXT NOT NULL DEFAULT ''
);
INSERT INTO run_new (id, experiment_id, variant, chain_json, backend, repetition, config_key,
                     config_json, env_json, status, flags, error, started, ended)
SELECT id, experiment_id, variant, chain_json, backend, repetition, config_key, config_json,
       env_json,
       CASE status WHEN 'running' THEN 'interrupted' ELSE status END,
       flags,
       CASE status WHEN 'running'
           THEN 'found running when the database was upgraded from schema 1, which does not '
                || 'record the owning process; the run did not finish'
           ELSE error END,
       started,
       CASE status WHEN 'running' THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') ELSE ended END
FROM run;
DROP TABLE run;
ALTER TABLE run_new RENAME TO run;
CREATE INDEX run_experiment ON run(experiment_id);
CREATE INDEX run_status ON run(status);
CREATE TABLE technique_log (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    plugin TEXT NOT NULL,
    message TEXT NOT NULL,
    json TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL
);
CREATE INDEX technique_log_run ON technique_log(run_id);
CREATE TABLE run_energy (
    domain_id INTEGER PRIMARY KEY REFERENCES run_domain(id) ON DELETE CASCADE,
    samples INTEGER NOT NULL,
    joules REAL,
    duration_s REAL,
    avg_power_w REAL,
    peak_power_w REAL
);
)sql";

bool backfillRunEnergyV2(const sql::Connection &c, QString *error)
{
    return c.execSql(Schema::runEnergySql(QStringLiteral(
                         "d.run_id IN (SELECT id FROM run WHERE status <> 'running')")),
                     QStringLiteral("computing run aggregates during the upgrade to schema 2"),
                     error);
}

const QList<Step> &steps()
{
    static const QList<Step> all = {
        {1, "initial schema", false, QString::fromUtf8(SchemaV1), {}},
        {2, "run owner and interrupted status, technique_log, run_energy", true,
         QString::fromUtf8(SchemaV2), backfillRunEnergyV2},
    };
    return all;
}

} // namespace

QString Schema::runEnergySql(const QString &runFilter)
{
    // Chunk metadata only (first/last chunk and per-chunk peak): never the sample blobs.
    return QStringLiteral(
               "INSERT OR REPLACE INTO run_energy "
               "(domain_id, samples, joules, duration_s, avg_power_w, peak_power_w) "
               "SELECT id, samples, j_last - j_first, t_last - t_first, "
               "CASE WHEN t_last > t_first THEN (j_last - j_first) / (t_last - t_first) END, "
               "peak FROM (SELECT d.id AS id, "
               "(SELECT COALESCE(SUM(n), 0) FROM sample_chunk c WHERE c.domain_id = d.id) "
               "AS samples, "
               "(SELECT j0 FROM sample_chunk c WHERE c.domain_id = d.id ORDER BY seq LIMIT 1) "
               "AS j_first, "
               "(SELECT j1 FROM sample_chunk c WHERE c.domain_id = d.id ORDER BY seq DESC "
               "LIMIT 1) AS j_last, "
               "(SELECT t0 FROM sample_chunk c WHERE c.domain_id = d.id ORDER BY seq LIMIT 1) "
               "AS t_first, "
               "(SELECT t1 FROM sample_chunk c WHERE c.domain_id = d.id ORDER BY seq DESC "
               "LIMIT 1) AS t_last, "
               "(SELECT MAX(p_max) FROM sample_chunk c WHERE c.domain_id = d.id) AS peak "
               "FROM run_domain d WHERE ") +
           runFilter + u')';
}

bool Schema::migrate(const sql::Connection &c, int from, QString *error)
{
    for (const Step &step : steps()) {
        if (step.toVersion <= from)
            continue;
        const QString what = QStringLiteral("upgrading the schema from version %1 to %2 (%3)")
                                 .arg(step.toVersion - 1)
                                 .arg(step.toVersion)
                                 .arg(QString::fromUtf8(step.description));
        if (step.rebuildsTables &&
            !c.execSql(QStringLiteral("PRAGMA foreign_keys = OFF"), what, error))
            return false;
        const auto restoreForeignKeys = [&] {
            QString ignored;
            if (step.rebuildsTables)
                c.execSql(QStringLiteral("PRAGMA foreign_keys = ON"), what, &ignored);
        };
        sql::WriteTransaction txn(c);
        if (!txn.begin(what, error)) {
            restoreForeignKeys();
            return false;
        }
        // Another process may have upgraded the file between our check and the lock.
        qint64 version = 0;
        if (!c.queryInt(QStringLiteral("PRAGMA user_version"), what, &version, error)) {
            restoreForeignKeys();
            return false;
        }
        if (version >= step.toVersion) {
            txn.rollback();
            restoreForeignKeys();
            continue;
        }
        bool ok = sql::execScript(c, step.sql, what, error);
        if (ok && step.code)
            ok = step.code(c, error);
        if (ok && step.rebuildsTables) {
            QSqlQuery check = c.query();
            if (!check.exec(QStringLiteral("PRAGMA foreign_key_check"))) {
                ok = sql::fail(error, c.describe(check.lastError(), what));
            } else if (check.next()) {
                ok = sql::fail(
                    error,
                    QStringLiteral("database %1: %2 found a broken reference in "
                                   "table %3 (row %4); the upgrade was rolled back "
                                   "and the file is unchanged; repair the row (e.g. "
                                   "with sqlite3) or restore the file from a copy")
                        .arg(c.path, what, check.value(0).toString(), check.value(1).toString()));
            }
        }
        if (ok)
            ok = c.execSql(QStringLiteral("PRAGMA user_version = %1").arg(step.toVersion), what,
                           error);
        if (ok)
            ok = txn.commit(error);
        restoreForeignKeys();
        if (!ok)
            return false;
        if (from > 0) // upgrades are worth a line; creating a new file is not
            qCInfo(lcDatabase).noquote()
                << "database" << c.path << "upgraded to schema" << step.toVersion;
    }
    return true;
}

} // namespace jb::db
