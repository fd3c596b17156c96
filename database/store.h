// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sql_util.h"
#include "store_types.h"

#include <QList>
#include <QSet>
#include <QString>

#include <chrono>
#include <memory>
#include <optional>

class QThread;

namespace jb::db {

class SampleWriter;

/// The JouleBench SQLite database: experiments, runs, phases with per-domain energy, metrics,
/// chunked energy samples, artifacts and technique logs.
///
/// - Schema versioned with PRAGMA user_version, upgraded by forward migrations at a
///   read-write open (schema.h); a newer version than this build knows is refused.
/// - WAL journal, foreign keys on, busy timeout for concurrent writers.
/// - Run life cycle running -> completed | failed | cancelled; a read-write open marks runs
///   whose owner process is gone as interrupted (and computes their aggregates). Reads always
///   report such runs as Interrupted, also in read-only mode where nothing is written.
/// - Aggregates (phase energy, run energy per domain) are stored when a phase / run ends, so
///   comparison() never reads samples.
///
/// Errors: every call that can fail returns false / std::nullopt and sets *error (may be
/// null) to a sentence naming the file, what failed and the fix.
///
/// Threads: a Store belongs to the thread that called open(); use it and the SampleWriters it
/// hands out only there (Qt Sql's rule: one connection per thread). Open one Store per thread
/// to use the same file from several threads or processes. Calls from another thread fail
/// with an error instead of touching the connection.
class Store
{
public:
    enum class OpenMode {
        ReadWrite, ///< creates the file if missing, upgrades the schema, recovers dead runs
        ReadOnly,  ///< viewers: never modifies the file; refuses writes with a clear error
    };
    static constexpr std::chrono::milliseconds DefaultBusyTimeout{5000};

    Store();
    ~Store();
    Store(const Store &) = delete;
    Store &operator=(const Store &) = delete;

    /// The schema version this build writes.
    static int currentSchemaVersion();

    /// Opens (ReadWrite: creates) the database at path. Refuses, with a message: an empty
    /// or non-SQLite file, an SQLite file that is not JouleBench's, a newer schema, an older
    /// schema in ReadOnly mode, a missing file in ReadOnly mode. busyTimeout is how long a
    /// write waits for another writer before failing with the "locked" message.
    bool open(const QString &path, OpenMode mode, QString *error,
              std::chrono::milliseconds busyTimeout = DefaultBusyTimeout);
    /// Flushes live SampleWriters (errors logged) and closes. Safe to call twice.
    void close();
    bool isOpen() const;
    bool isReadOnly() const { return m_mode == OpenMode::ReadOnly; }
    /// Absolute path of the open file.
    QString path() const { return m_conn.path; }
    /// Runs marked interrupted by the last open().
    int recoveredAtOpen() const { return m_recoveredAtOpen; }

    // --- experiments ------------------------------------------------------------------------
    std::optional<qint64> createExperiment(const QString &name, const QByteArray &planJson,
                                           const QString &planHash, QString *error);
    std::optional<QList<ExperimentRecord>> listExperiments(QString *error) const;
    std::optional<ExperimentRecord> experiment(qint64 experimentId, QString *error) const;
    /// The most recently created experiment; an error when there is none.
    std::optional<ExperimentRecord> lastExperiment(QString *error) const;
    /// Experiments with this plan hash, oldest first (empty list when none).
    std::optional<QList<ExperimentRecord>> experimentsByPlanHash(const QString &planHash,
                                                                 QString *error) const;

    // --- runs -------------------------------------------------------------------------------
    /// A new run in status Running, owned by the calling process (pid, host, start token).
    std::optional<qint64> createRun(qint64 experimentId, const RunKey &key,
                                    const QByteArray &configJson, const QByteArray &envJson,
                                    QString *error);
    /// Moves a Running run to status (Completed, Failed, Cancelled or Interrupted), keeping
    /// its flags and error text. Same as finishRun() with the stored flags and error.
    bool setRunStatus(qint64 runId, RunStatus status, QString *error);
    /// Ends a Running run: flushes its SampleWriters, stores status, flags, error text and
    /// end time, and computes the run aggregates (run_energy) in one transaction. A run ends
    /// once; ending it again is an error.
    bool finishRun(qint64 runId, RunStatus status, const QStringList &flags,
                   const QString &errorText, QString *error);
    std::optional<QList<RunRecord>> listRuns(qint64 experimentId, QString *error) const;
    std::optional<RunRecord> run(qint64 runId, QString *error) const;
    /// Keys of the experiment's completed runs (for `run --resume`: skip these).
    std::optional<QList<RunKey>> completedRunKeys(qint64 experimentId, QString *error) const;
    /// Marks runs whose owner process is dead as Interrupted and computes their aggregates.
    /// open() calls it in ReadWrite mode. Returns how many were marked.
    std::optional<int> recoverInterruptedRuns(QString *error);

    // --- energy domains and samples ---------------------------------------------------------
    /// Registers an energy domain of a run (kind Measured or Estimate). Names are unique per
    /// run.
    std::optional<qint64> addDomain(qint64 runId, const RunDomain &domain, QString *error);
    std::optional<QList<RunDomain>> domains(qint64 runId, QString *error) const;
    /// A writer that buffers the run's samples and stores them in chunks (sample_writer.h).
    /// The run must be Running. The writer must not outlive this Store.
    std::unique_ptr<SampleWriter> sampleWriter(qint64 runId, QString *error);
    /// Power (W, from dJ/dt) of a domain within [t0, t1] as a min/max envelope of at most
    /// maxPoints buckets. Pass -inf/+inf for the whole run. Zooming in (a smaller window)
    /// reads finer levels down to every sample interval.
    std::optional<PowerSeries> readSeries(qint64 runId, const QString &domain, double t0, double t1,
                                          int maxPoints, QString *error) const;
    /// The stored (t, cumulative J) samples with t in [t0, t1], bit-exact.
    std::optional<QList<EnergySample>> readRaw(qint64 runId, const QString &domain, double t0,
                                               double t1, QString *error) const;

    // --- phases, metrics, artifacts, technique logs ----------------------------------------
    /// Stores a phase with its per-domain energies (ordinal unique per run).
    std::optional<qint64> addPhase(qint64 runId, const PhaseRecord &phase, QString *error);
    std::optional<QList<PhaseRecord>> phases(qint64 runId, QString *error) const;
    /// Sets (inserts or replaces) a metric; phase empty for run-level metrics.
    bool setMetric(qint64 runId, const QString &phase, const QString &name, double value,
                   const QString &unit, ValueKind kind, QString *error);
    std::optional<QList<MetricRecord>> metrics(qint64 runId, QString *error) const;
    std::optional<qint64> addArtifact(qint64 runId, const QString &kind, const QString &path,
                                      const QString &sha256, qint64 bytes, QString *error);
    std::optional<QList<ArtifactRecord>> artifacts(qint64 runId, QString *error) const;
    std::optional<qint64> addTechniqueLog(qint64 runId, const QString &plugin,
                                          const QString &message, const QByteArray &json,
                                          QString *error);
    std::optional<QList<TechniqueLogRecord>> techniqueLogs(qint64 runId, QString *error) const;
    /// Run aggregates per domain (empty until the run has ended).
    std::optional<QList<RunEnergyRecord>> runEnergy(qint64 runId, QString *error) const;

    // --- queries ----------------------------------------------------------------------------
    /// Everything needed to compare the runs of an experiment, from stored aggregates only:
    /// per run its key, status, flags, phases with per-domain net/gross energy and duration,
    /// metrics and run totals. Never reads samples.
    std::optional<ExperimentComparison> comparison(qint64 experimentId, QString *error) const;

    /// Copies the runs of another JouleBench database (a shard) into this one (see
    /// mergeDatabases() in merge.h for the rules). Read-write only.
    std::optional<MergeCounts> mergeFrom(const QString &inPath, QString *error);

    // --- interchange (store_import.cpp) -----------------------------------------------------
    /// Everything stored about an experiment and its runs (record, domains, phases, metrics,
    /// run aggregates, artifacts, technique logs, and with withSamples the raw samples), for
    /// the JSON and CodeCarbon exports. Reads only.
    std::optional<ExperimentDump> dumpExperiment(qint64 experimentId, bool withSamples,
                                                 QString *error) const;
    /// Writes the runs of a dump as new runs: into a new experiment (name, plan, plan hash and
    /// creation time of dump.experiment) when intoExperiment is empty, else added to that
    /// existing experiment. Run records keep status, flags, error, times and owner (a dumped
    /// "running" run becomes interrupted); aggregates are stored as dumped; samples are stored
    /// when present. Ids are new; a metric "reused_from_run" naming a dumped run is renumbered.
    /// Existing rows are never changed; a failed import removes what it wrote (a crash half-way
    /// leaves its runs interrupted). Read-write only.
    std::optional<ImportCounts> importExperiment(const ExperimentDump &dump,
                                                 std::optional<qint64> intoExperiment,
                                                 QString *error);

private:
    friend class SampleWriter;
    friend class SeriesReader;

    bool checkUsable(QString *error) const;
    bool checkWritable(const QString &what, QString *error) const;
    bool initialise(const QString &absPath, QString *error);
    bool checkRunning(qint64 runId, const QString &what, QString *error) const;
    bool computeRunEnergy(qint64 runId, QString *error);
    bool flushWriters(qint64 runId, QString *error);
    RunRecord runFromQuery(const QSqlQuery &q) const;
    std::optional<QList<RunRecord>> queryRuns(const QString &where, qint64 arg,
                                              QString *error) const;
    std::optional<ExperimentRecord> queryExperiment(const QString &where, const QVariant &arg,
                                                    const QString &what, QString *error) const;
    std::optional<qint64> domainId(qint64 runId, const QString &domain, ValueKind *kind,
                                   QString *error) const;
    bool copyRun(qint64 srcRunId, qint64 dstExperimentId, RunStatus status,
                 const QString &errorText, MergeCounts *counts, QString *error);

    sql::Connection m_conn;
    QString m_connectionName;
    OpenMode m_mode = OpenMode::ReadOnly;
    QThread *m_thread = nullptr;
    int m_recoveredAtOpen = 0;
    QList<SampleWriter *> m_writers;
};

} // namespace jb::db
