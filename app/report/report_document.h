// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "report.h"

#include "database/store_types.h"
#include "engine/run_statistics.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace jb::db {
class Store;
}

namespace jb::report {

/// A table of the report. Cells are plain text (the writers escape them).
struct Table
{
    QString title;
    QString note;          ///< one sentence under the title (units, what delta means)
    bool estimate = false; ///< holds estimated figures (the writers add the estimate marker)
    QStringList header;
    QList<bool> numeric; ///< right-align column i
    QList<QStringList> rows;
};

/// One rendered chart.
struct Chart
{
    QString id;      ///< file-name safe ("energy-package-0"), unique in a report
    QString title;   ///< alt text and caption
    QString caption; ///< what to read from it
    bool estimate = false;
    QByteArray png; ///< deterministic PNG bytes
};

struct FlagRow
{
    QString flag;
    QString meaning;
    QString runs; ///< "2/3 baseline, 1/3 prune-50" (over completed runs)
};

/// Everything a report shows, independent of the format. Built on one thread; plain data.
struct Document
{
    QString title;
    QList<std::pair<QString, QString>> facts; ///< experiment, plan hash, runs, ...
    QStringList methods;                      ///< paragraphs of the methods statement
    QList<Table> tables;
    QList<Chart> charts;
    QList<FlagRow> flags;
    QStringList notes;   ///< caveats (from the comparison and the report)
    QStringList rawData; ///< where the raw data is, one line each
    bool anyEstimate = false;
};

/// Reads the experiment from the store and builds the document. `withCharts` renders the
/// charts (QApplication thread only). Errors: no such experiment, no runs.
std::optional<Document> buildDocument(const db::Store &store, qint64 experimentId,
                                      const Options &options, bool withCharts, QString *error);

/// The methods statement (methods_statement.cpp): hardware, OS, meters and their kinds,
/// sampling rate, idle baseline, repetitions and order, CI method, software versions, project
/// revision, as paragraphs of plain text a paper can quote. From the stored plan, the runs'
/// environment and configuration records and the summary.
QStringList methodsStatement(const db::ExperimentComparison &comparison,
                             const ComparisonSummary &summary);

/// The comparison tables (report_tables.cpp): accuracy and budget, net energy per phase and
/// per inference per domain, latency; mean [95 % CI] and paired deltas as `compare` computes
/// them (summarizeComparison).
QList<Table> comparisonTables(const ComparisonSummary &summary);
/// The flags seen in the completed runs, with their meaning and counts per variant.
QList<FlagRow> flagRows(const ComparisonSummary &summary);
/// What a validity flag means (docs/methodology.md, section 5); empty for an unknown flag.
QString flagMeaning(const QString &flag);
/// A number with `significant` digits, without exponent for ordinary magnitudes; "n/a" for
/// NaN/inf.
QString formatNumber(double value, int significant = 3);

/// The words of the estimate marker, used by every writer.
QString estimateMarker();
/// The legend sentence for estimated figures.
QString estimateLegend();

/// Writers (report_writers): pure text except the PDF. `embedImages` false is the PDF's
/// variant: charts linked as pdfImageName(chart) (added as QTextDocument resources) and a
/// style sheet QTextDocument understands.
QByteArray renderHtml(const Document &doc, bool embedImages = true);
inline QString pdfImageName(const Chart &chart)
{
    return QStringLiteral("chart-") + chart.id + QStringLiteral(".png");
}
/// Width of a chart in the PDF's layout pixels (A4 less 2 x 2 cm at 96 dpi is ~640).
inline constexpr int kPdfImageWidth = 620;
/// `imageName(chart)` gives the file name a chart is linked under.
QByteArray renderMarkdown(const Document &doc, const QString &imagePrefix);
bool writePdf(const Document &doc, const QString &path, const QString &creationDate,
              QString *error);
/// One row per run and phase, plus one "run" row per run with its totals and run-level
/// metrics.
QByteArray renderCsv(const db::ExperimentComparison &comparison);

/// HTML-escapes user text (& < > " ').
QString escapeHtml(const QString &text);

} // namespace jb::report
