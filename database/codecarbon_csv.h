// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "store_types.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

/// CodeCarbon's emissions.csv (https://github.com/mlco2/codecarbon, columns of release
/// v3.2.9): export of JouleBench runs for tools that read it, and import of CodeCarbon rows
/// as external runs of kind estimate. The mapping is documented in docs/interop.md.
/// Pure functions on plain data, callable from any thread.
namespace jb::db::codecarbon {

/// The CodeCarbon release whose column set is written.
inline constexpr const char *ColumnsVersion = "3.2.9";
/// CodeCarbon's columns, in its order.
QStringList columns();
/// JouleBench's own columns, appended after CodeCarbon's (joulebench_energy_kind, ...).
QStringList extraColumns();

struct ExportOptions
{
    /// Grid carbon intensity in g CO2eq per kWh; emissions are left empty without it.
    double carbonIntensityGPerKWh = NoValue;
    QString projectName; ///< default: the experiment's name
    QString countryName, countryIsoCode, region;
    bool perPhase = false;  ///< one row per run and phase instead of one per run
    bool netEnergy = false; ///< idle-subtracted energy instead of gross (CodeCarbon's kind)
    bool allRuns = false;   ///< also failed, cancelled and interrupted runs
};

/// The experiment as emissions.csv text (header + rows, '\n' line ends). Errors: an option
/// out of range.
std::optional<QByteArray> exportCsv(const ExperimentDump &dump, const ExportOptions &options,
                                    QString *error);

/// A parsed CSV file: header and rows, with the file line where each row starts.
struct CsvTable
{
    QStringList header;
    QList<QStringList> rows;
    QList<int> lines; ///< 1-based line of each row
};
/// RFC 4180 CSV (quotes, doubled quotes, CRLF or LF, UTF-8 with or without BOM). Errors name
/// `source` and the line: an unterminated quote, a row with another number of fields than
/// the header, a duplicate or empty column name.
std::optional<CsvTable> parseCsv(const QByteArray &data, const QString &source, QString *error);

struct ImportOptions
{
    QString experimentName;                  ///< default "codecarbon <file name>"
    QString phase = QStringLiteral("train"); ///< the phase the tracked energy is stored as
};

/// CodeCarbon rows as an experiment of external runs: one run per row, grouped into
/// variants by (project_name, experiment_id), domains codecarbon:cpu/gpu/ram/total of kind
/// estimate, flags estimate, imported, no-idle-baseline. `source` is the file path (recorded
/// with each run), `data` its bytes (their hash identifies the import). Errors name the file,
/// the line and the column; up to 10 are reported, nothing is returned when there is one.
std::optional<ExperimentDump> importCsv(const QByteArray &data, const QString &source,
                                        const ImportOptions &options, QString *error);

/// The hash that identifies an imported file (the experiment's plan hash and each run's
/// config "fileSha256").
QString fileHash(const QByteArray &data);

} // namespace jb::db::codecarbon
