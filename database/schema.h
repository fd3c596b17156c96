// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sql_util.h"

namespace jb::db {

/// The versioned schema. PRAGMA user_version holds the version; PRAGMA application_id marks
/// the file as JouleBench's. A new database is created by replaying every migration from
/// version 0, so a fresh database and an upgraded one always have the same schema.
///
/// To change the schema: append a Step to steps() in schema.cpp (never edit a released one),
/// bump CurrentVersion, keep an SQL fixture of the old version in tests/data/db/ and extend
/// tst_database_schema.
/// Threads: called by Store::open() on the Store's thread.
class Schema
{
public:
    static constexpr int CurrentVersion = 2;
    static constexpr qint64 ApplicationId = 0x4A42454E; // "JBEN"

    /// Brings the database from version `from` to CurrentVersion, one write transaction per
    /// step (a step that rebuilds tables runs with foreign keys off and checks them before
    /// committing). On failure nothing of the failed step remains.
    static bool migrate(const sql::Connection &connection, int from, QString *error);

    /// SQL that fills run_energy (the run aggregates) for the runs selected by `runFilter`,
    /// an SQL condition on run_domain d (e.g. "d.run_id = :run").
    static QString runEnergySql(const QString &runFilter);
};

} // namespace jb::db
