// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "database/store_types.h"
#include "engine/run_statistics.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace jb::cli {

/// A plain-text table for the terminal: a header row, rows of cells, columns padded to their
/// widest cell; columns marked numeric are right-aligned. Main thread.
class TextTable
{
public:
    /// `numeric[i]` right-aligns column i (missing entries: left-aligned).
    explicit TextTable(QStringList header, QList<bool> numeric = {});
    void addRow(QStringList cells);
    bool isEmpty() const { return m_rows.isEmpty(); }
    /// The table, each line indented by `indent` spaces, with a rule under the header.
    QString render(int indent = 2) const;

private:
    QStringList m_header;
    QList<bool> m_numeric;
    QList<QStringList> m_rows;
};

/// A number with `significant` significant digits, no exponent for ordinary magnitudes
/// ("12.3", "0.00412", "1.23e+06"); "n/a" for NaN or infinity.
QString formatNumber(double value, int significant = 3);
/// "12.3 [11.9, 12.7]" (mean and bootstrap CI), "12.3" for n = 1, "-" for n = 0.
QString formatMeanCi(const FigureStats &stats, int significant = 3, double scale = 1.0);
/// "+1.2 [0.4, 2.0]" for a paired difference (scaled), "-" when absent or without pairs.
QString formatDelta(const std::optional<PairedDelta> &delta, int significant = 3,
                    double scale = 1.0);

/// "measured", "estimate", "proxy", "computed".
QString kindLabel(db::ValueKind kind);

} // namespace jb::cli
