// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "measurement/statistics.h"

#include <QString>

#include <optional>

namespace jb::db {
class Store;
}

/// Comparison reports of one experiment, read only from the database (docs/reports.md): a
/// methods statement, the comparison tables with CIs and deltas vs the baseline, the charts of
/// the GUI's comparison views, the validity flags with their meaning, and where the raw data
/// is. Used by `joulebench-cli report` and the results browser.
namespace jb::report {

enum class Format {
    Html,     ///< one self-contained file: charts as data: PNG images, no script, no remote URL
    Pdf,      ///< Qt's PDF writer (QTextDocument printed on A4)
    Markdown, ///< the .md file plus <stem>-<chart>.png beside it
    Csv,      ///< one row per run and phase (energy per domain with its kind, duration, metrics)
};

/// "html", "pdf", "md" (or "markdown"), "csv"; std::nullopt for anything else.
std::optional<Format> formatFromName(const QString &name);
/// The spelling formatFromName() takes ("html", "pdf", "md", "csv").
QString formatName(Format format);

struct Options
{
    /// Bootstrap resamples of the tables' CIs (the same default as `compare`).
    int resamples = stats::kDefaultResamples;
    /// Chart size in pixels (PNG at device pixel ratio 1).
    int chartWidth = 800;
    int chartHeight = 450;
};

/// Writes the report of experiment `experimentId` of `store` to `outPath`.
///
/// Deterministic: the same database gives the same bytes (no generation time; the PDF's
/// creation date is the experiment's). Html, Pdf and Markdown draw charts with QCustomPlot, so
/// they must be called on the thread of a live QApplication (QT_QPA_PLATFORM=offscreen works
/// without a display); Csv needs only Qt Core. Markdown also writes its chart images as
/// `<stem>-<chart id>.png` in the folder of `outPath`. Errors (no such experiment, no
/// completed run for the charts, a file that cannot be written) return false with *error.
bool writeReport(const db::Store &store, qint64 experimentId, Format format, const QString &outPath,
                 QString *error, const Options &options = {});

} // namespace jb::report
