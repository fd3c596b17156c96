// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "comparison_data.h"
#include "database/store.h"

#include <QWidget>

class QTimer;

#include <optional>

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QLabel;
class QTabWidget;
class QTableWidget;
class QTreeWidget;

namespace jb::gui {

/// Opens any JouleBench .sqlite read-only and shows its experiments and runs (status and
/// flags at a glance), and the comparison views of the selected experiment: energy per phase,
/// accuracy vs energy (Pareto), proxy vs measured, break-even, power overlay; plus the table
/// of figures (copy as CSV) and chart export. Reads stored aggregates; only the overlay reads
/// (downsampled) samples.
///
/// Threads: GUI thread only (the Store belongs to it).
class ResultsBrowser : public QWidget
{
    Q_OBJECT
public:
    enum class View { Energy, Pareto, Proxy, BreakEven, Overlay };

    explicit ResultsBrowser(QWidget *parent = nullptr);

    /// Opens the database read-only (never modifies it); false with *error.
    bool openDatabase(const QString &path, QString *error);
    QString databasePath() const;
    /// Shows the comparison of an experiment; false with *error.
    bool selectExperiment(qint64 experimentId, QString *error);

    const std::optional<ComparisonData> &data() const { return m_data; }
    QCustomPlot *plot(View view) const;
    /// The chart of the current tab.
    QCustomPlot *currentPlot() const;
    void setNet(bool net);
    void showView(View view);
    /// The table of figures as CSV (what "Copy table as CSV" puts on the clipboard).
    QString tableCsv() const;
    /// Writes the report of the shown experiment (app/report; format by the suffix: .html,
    /// .pdf, .md, .csv), what "Export report…" does; false with *error.
    bool exportReport(const QString &path, QString *error) const;
    QTreeWidget *tree() const { return m_tree; }

Q_SIGNALS:
    void message(const QString &text);

private:
    void reloadTree();
    void redraw();
    void fillTable();

    db::Store m_store;
    std::optional<db::ExperimentComparison> m_comparison;
    std::optional<ComparisonData> m_data;
    qint64 m_experiment = 0;
    bool m_redrawing = false;

    QTreeWidget *m_tree = nullptr;
    QTabWidget *m_tabs = nullptr;
    QList<QCustomPlot *> m_plots;
    QTableWidget *m_table = nullptr;
    QComboBox *m_domain = nullptr, *m_batch = nullptr, *m_proxy = nullptr, *m_align = nullptr;
    QCheckBox *m_net = nullptr;
    QLabel *m_info = nullptr;

    // Zoom refinement of the power overlay: what it shows, re-read (debounced) on zoom/drag.
    QList<qint64> m_overlayRuns;
    QString m_overlayDomain, m_overlayAlign;
    QTimer *m_refineTimer = nullptr;
};

} // namespace jb::gui
