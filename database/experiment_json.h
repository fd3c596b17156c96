// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "store_types.h"

#include <QJsonObject>
#include <QString>

#include <optional>

/// The JSON interchange form of a whole experiment (`joulebench-cli export --format json`,
/// `joulebench-cli import`), documented in docs/interop.md. Pure functions on plain data,
/// callable from any thread.
namespace jb::db {

/// "joulebench-experiment": the value of the "format" key.
QString experimentJsonFormat();
/// The format version this build writes (and the newest it reads).
inline constexpr int ExperimentJsonVersion = 1;

/// The dump as JSON: plan, runs with configuration, environment, status, flags, phases with
/// per-domain energy, metrics, run totals, artifacts, technique logs and (when dumped with
/// samples) raw samples. Stored JSON texts (plan, chain, configuration, environment, log
/// payloads) appear as JSON values. Non-finite numbers are null. No export time: the same
/// database gives the same file.
QJsonObject experimentDumpToJson(const ExperimentDump &dump);

/// Reads the JSON form back. `source` names the file in messages. Errors name the JSON path
/// ("runs[3].phases[0].energy[1].netJ") and what was expected.
std::optional<ExperimentDump> experimentDumpFromJson(const QJsonObject &json, const QString &source,
                                                     QString *error);

} // namespace jb::db
