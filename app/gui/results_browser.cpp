// SPDX-License-Identifier: GPL-3.0-or-later
#include "results_browser.h"

#include "chart_export.h"
#include "comparison_charts.h"
#include "report/report.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QTimer>
#include <QTreeWidget>
#include <QVBoxLayout>

#include "gui/qcp.h"

namespace jb::gui {

namespace {

QColor statusColor(db::RunStatus s)
{
    switch (s) {
    case db::RunStatus::Completed: return QColor(0x2e, 0x7d, 0x32);
    case db::RunStatus::Failed: return QColor(0xc6, 0x28, 0x28);
    case db::RunStatus::Cancelled: return QColor(0xef, 0x6c, 0x00);
    case db::RunStatus::Interrupted: return QColor(0x6a, 0x1b, 0x9a);
    case db::RunStatus::Running: return QColor(0x15, 0x65, 0xc0);
    }
    return Qt::black;
}

QString num(const Figure &f, double scale = 1.0)
{
    return f.valid() ? QString::number(f.mean * scale, 'g', 5) : QString();
}

QString ci(const Figure &f, double scale = 1.0)
{
    return f.lower ? QStringLiteral("[%1, %2]").arg(*f.lower * scale, 0, 'g', 4).arg(*f.upper * scale, 0, 'g', 4)
                   : QString();
}

} // namespace

ResultsBrowser::ResultsBrowser(QWidget *parent) : QWidget(parent)
{
    auto *layout = new QHBoxLayout(this);
    auto *split = new QSplitter(Qt::Horizontal);
    layout->addWidget(split);
    m_tree = new QTreeWidget;
    m_tree->setObjectName(QStringLiteral("resultsTree"));
    m_tree->setHeaderLabels({tr("Experiment / run"), tr("Backend"), tr("Rep"), tr("Status"), tr("Flags")});
    m_tree->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_tree->setRootIsDecorated(true);
    split->addWidget(m_tree);

    auto *right = new QWidget;
    auto *rl = new QVBoxLayout(right);
    auto *controls = new QHBoxLayout;
    m_domain = new QComboBox;
    m_batch = new QComboBox;
    m_net = new QCheckBox(tr("net (idle subtracted)"));
    m_net->setChecked(true);
    m_proxy = new QComboBox;
    m_proxy->addItems({tr("MACs"), tr("parameters")});
    m_align = new QComboBox;
    auto *copy = new QPushButton(tr("Copy table as CSV"));
    auto *save = new QPushButton(tr("Save chart…"));
    auto *exportButton = new QPushButton(tr("Export report…"));
    exportButton->setObjectName(QStringLiteral("exportReport"));
    controls->addWidget(new QLabel(tr("Domain")));
    controls->addWidget(m_domain);
    controls->addWidget(new QLabel(tr("Batch")));
    controls->addWidget(m_batch);
    controls->addWidget(m_net);
    controls->addWidget(new QLabel(tr("Proxy")));
    controls->addWidget(m_proxy);
    controls->addWidget(new QLabel(tr("Align at")));
    controls->addWidget(m_align);
    controls->addStretch(1);
    controls->addWidget(copy);
    controls->addWidget(save);
    controls->addWidget(exportButton);
    rl->addLayout(controls);
    m_info = new QLabel;
    m_info->setWordWrap(true);
    rl->addWidget(m_info);
    m_tabs = new QTabWidget;
    const QStringList titles{tr("Energy per phase"), tr("Accuracy vs energy"), tr("Proxy vs measured"),
                             tr("Break-even"), tr("Power overlay")};
    for (const QString &t : titles) {
        auto *p = new QCustomPlot;
        p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
        m_plots.append(p);
        m_tabs->addTab(p, t);
    }
    // Zooming or dragging the power overlay re-reads the visible window at full detail,
    // 100 ms after the last range change (never per mouse-wheel step).
    m_refineTimer = new QTimer(this);
    m_refineTimer->setSingleShot(true);
    m_refineTimer->setInterval(100);
    connect(m_plots[4]->xAxis, qOverload<const QCPRange &>(&QCPAxis::rangeChanged), this,
            [this] {
                if (!m_redrawing && !m_overlayRuns.isEmpty())
                    m_refineTimer->start();
            });
    connect(m_refineTimer, &QTimer::timeout, this, [this] {
        QString error;
        if (!ComparisonCharts::refineOverlay(m_plots[4], m_store, m_overlayRuns, m_overlayDomain,
                                             m_overlayAlign, 1500, &error))
            Q_EMIT message(error);
    });
    m_table = new QTableWidget;
    m_table->setObjectName(QStringLiteral("figureTable"));
    m_tabs->addTab(m_table, tr("Table"));
    rl->addWidget(m_tabs, 1);
    split->addWidget(right);
    split->setStretchFactor(1, 3);
    split->setSizes({460, 1000});

    connect(m_tree, &QTreeWidget::itemSelectionChanged, this, [this] {
        const QList<QTreeWidgetItem *> sel = m_tree->selectedItems();
        if (sel.isEmpty())
            return;
        QTreeWidgetItem *top = sel.first();
        while (top->parent())
            top = top->parent();
        const qint64 id = top->data(0, Qt::UserRole).toLongLong();
        QString error;
        if (id != m_experiment) {
            if (!selectExperiment(id, &error))
                Q_EMIT message(error);
        } else {
            redraw(); // the run selection feeds the overlay
        }
    });
    for (QComboBox *c : {m_domain, m_batch, m_proxy, m_align})
        connect(c, &QComboBox::currentIndexChanged, this, [this] { redraw(); });
    connect(m_net, &QCheckBox::toggled, this, [this] { redraw(); });
    connect(copy, &QPushButton::clicked, this, [this] {
        QApplication::clipboard()->setText(tableCsv());
        Q_EMIT message(tr("Table copied as CSV."));
    });
    connect(save, &QPushButton::clicked, this, [this] {
        if (QCustomPlot *p = currentPlot())
            ChartExport::saveWithDialog(this, p);
    });
    connect(exportButton, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(
            this, tr("Export report"), QString(),
            tr("HTML (*.html);;PDF (*.pdf);;Markdown, images beside it (*.md);;CSV, one row per "
               "run and phase (*.csv)"));
        if (path.isEmpty())
            return;
        QString error;
        if (exportReport(path, &error))
            Q_EMIT message(tr("Report written to %1.").arg(path));
        else
            QMessageBox::warning(this, tr("Export report"), error);
    });
}

bool ResultsBrowser::exportReport(const QString &path, QString *error) const
{
    const auto format = report::formatFromName(QFileInfo(path).suffix());
    if (!format) {
        *error = tr("%1: unknown report format '%2'; use .html, .pdf, .md or .csv")
                     .arg(path, QFileInfo(path).suffix());
        return false;
    }
    if (m_experiment == 0) {
        *error = tr("no experiment selected; select one in the tree first");
        return false;
    }
    return report::writeReport(m_store, m_experiment, *format, path, error);
}

bool ResultsBrowser::openDatabase(const QString &path, QString *error)
{
    m_store.close();
    m_comparison.reset();
    m_data.reset();
    m_experiment = 0;
    if (!m_store.open(path, db::Store::OpenMode::ReadOnly, error))
        return false;
    reloadTree();
    return true;
}

QString ResultsBrowser::databasePath() const
{
    return m_store.isOpen() ? m_store.path() : QString();
}

void ResultsBrowser::reloadTree()
{
    m_tree->clear();
    QString error;
    const auto experiments = m_store.listExperiments(&error);
    if (!experiments) {
        Q_EMIT message(error);
        return;
    }
    for (const db::ExperimentRecord &e : *experiments) {
        auto *top = new QTreeWidgetItem(m_tree, {QStringLiteral("#%1 %2").arg(e.id).arg(e.name)});
        top->setData(0, Qt::UserRole, e.id);
        top->setToolTip(0, tr("created %1, plan %2").arg(e.created, e.planHash.left(12)));
        const auto runs = m_store.listRuns(e.id, &error);
        if (!runs)
            continue;
        for (const db::RunRecord &r : *runs) {
            QStringList flags = r.flags;
            if (const auto domains = m_store.domains(r.id, &error))
                for (const db::RunDomain &d : *domains)
                    if (d.kind == db::ValueKind::Estimate && !flags.contains(QStringLiteral("estimate")))
                        flags.prepend(QStringLiteral("estimate"));
            QString status = db::runStatusName(r.status);
            if (r.statusDerived)
                status += tr(" (owner gone)");
            auto *item = new QTreeWidgetItem(top, {QStringLiteral("run %1: %2").arg(r.id).arg(r.key.variant),
                                                   r.key.backend, QString::number(r.key.repetition + 1),
                                                   status, flags.join(QStringLiteral(", "))});
            item->setData(0, Qt::UserRole, r.id);
            item->setForeground(3, statusColor(r.status));
            item->setIcon(3, QIcon(QPixmap::fromImage([&] {
                QImage img(10, 10, QImage::Format_ARGB32);
                img.fill(statusColor(r.status));
                return img;
            }())));
            if (!flags.isEmpty())
                item->setBackground(4, flags.contains(QStringLiteral("estimate"))
                                           ? QColor(0xff, 0xf3, 0xe0)
                                           : QColor(0xff, 0xf9, 0xc4));
            if (!r.error.isEmpty())
                item->setToolTip(3, r.error);
        }
    }
    m_tree->expandAll();
    for (int c = 0; c < m_tree->columnCount(); ++c)
        m_tree->resizeColumnToContents(c);
}

bool ResultsBrowser::selectExperiment(qint64 experimentId, QString *error)
{
    m_comparison = m_store.comparison(experimentId, error);
    if (!m_comparison)
        return false;
    m_experiment = experimentId;
    m_redrawing = true;
    m_domain->clear();
    for (const QString &d : ComparisonData::domainsOf(*m_comparison)) {
        bool estimate = false;
        for (const db::RunComparison &r : m_comparison->runs)
            for (const db::RunEnergyRecord &t : r.totals)
                estimate = estimate || (t.domain == d && t.kind == db::ValueKind::Estimate);
        m_domain->addItem(estimate ? d + tr(" (estimate)") : d, d);
    }
    m_batch->clear();
    const QList<qint64> sizes = ComparisonData::batchSizesOf(*m_comparison);
    for (auto it = sizes.crbegin(); it != sizes.crend(); ++it)
        m_batch->addItem(QString::number(*it), *it);
    m_align->clear();
    QStringList phases;
    for (const db::RunComparison &r : m_comparison->runs)
        for (const db::PhaseRecord &p : r.phases)
            if (!phases.contains(p.name))
                phases.append(p.name);
    m_align->addItems(phases);
    m_align->setCurrentText(QStringLiteral("train"));
    m_redrawing = false;
    redraw();
    if (!m_data && error)
        *error = m_info->text();
    return m_data.has_value();
}

void ResultsBrowser::redraw()
{
    if (m_redrawing || !m_comparison)
        return;
    QString error;
    m_data = ComparisonData::build(*m_comparison, m_domain->currentData().toString(),
                                   m_batch->currentData().toLongLong(), &error);
    if (!m_data) {
        m_info->setText(error);
        for (QCustomPlot *p : m_plots) {
            p->clearPlottables();
            p->clearItems();
            p->replot();
        }
        return;
    }
    const ComparisonData &d = *m_data;
    ComparisonCharts::energyBars(m_plots[0], d, m_net->isChecked());
    ComparisonCharts::pareto(m_plots[1], d);
    double r = 0, rho = 0;
    ComparisonCharts::proxyVsMeasured(m_plots[2], d, m_proxy->currentIndex() == 0, &r, &rho);
    ComparisonCharts::breakEven(m_plots[3], d);
    QList<qint64> runs;
    for (QTreeWidgetItem *item : m_tree->selectedItems())
        if (item->parent())
            runs.append(item->data(0, Qt::UserRole).toLongLong());
    if (runs.isEmpty())
        for (const VariantFigures &v : d.variants)
            if (!v.runIds.isEmpty())
                runs.append(v.runIds.first());
    m_overlayRuns = runs.mid(0, 8);
    m_overlayDomain = d.domain;
    m_overlayAlign = m_align->currentText();
    m_redrawing = true; // the overlay's own rescale is not a zoom to refine
    const int overlaid = ComparisonCharts::powerOverlay(m_plots[4], m_store, m_overlayRuns,
                                                        d.domain, m_overlayAlign, 1500, &error);
    m_redrawing = false;
    if (overlaid < 0) {
        m_overlayRuns.clear();
        Q_EMIT message(error);
    }
    m_info->setText(tr("%1 variants; energies of domain %2%3; per-inference figures at batch %4. "
                       "Overlay: select runs in the tree (default: first run of each variant).")
                        .arg(d.variants.size())
                        .arg(d.domain)
                        .arg(d.estimate ? tr(" (ESTIMATE, not measured)") : QString())
                        .arg(d.batchSize));
    fillTable();
}

void ResultsBrowser::fillTable()
{
    const ComparisonData &d = *m_data;
    const QString e = d.estimate ? tr(", estimate") : QString();
    QStringList headers{tr("variant"), tr("n"), tr("flags"), tr("accuracy %"), tr("accuracy 95% CI"),
                        tr("energy/inference mJ%1").arg(e), tr("energy/inference 95% CI%1").arg(e),
                        tr("technique cost J%1").arg(e), tr("MACs (proxy)"), tr("params (proxy)")};
    for (const QString &p : d.phases)
        headers.append(tr("%1 net J%2").arg(p, e));
    m_table->clear();
    m_table->setColumnCount(int(headers.size()));
    m_table->setHorizontalHeaderLabels(headers);
    m_table->setRowCount(int(d.variants.size()));
    for (qsizetype i = 0; i < d.variants.size(); ++i) {
        const VariantFigures &v = d.variants.at(i);
        QStringList cells{v.label, QString::number(v.runIds.size()), v.flags.join(QStringLiteral(" ")),
                          num(v.accuracyPct), ci(v.accuracyPct), num(v.energyPerInferenceJ, 1e3),
                          ci(v.energyPerInferenceJ, 1e3), num(v.techniqueCostJ), num(v.macs),
                          num(v.params)};
        for (const Figure &f : v.phaseNet)
            cells.append(num(f));
        for (qsizetype c = 0; c < cells.size(); ++c)
            m_table->setItem(int(i), int(c), new QTableWidgetItem(cells.at(c)));
    }
    m_table->resizeColumnsToContents();
}

QString ResultsBrowser::tableCsv() const
{
    auto quote = [](QString s) {
        if (s.contains(QLatin1Char(',')) || s.contains(QLatin1Char('"')))
            s = QLatin1Char('"') + s.replace(QLatin1Char('"'), QStringLiteral("\"\"")) + QLatin1Char('"');
        return s;
    };
    QStringList lines;
    QStringList row;
    for (int c = 0; c < m_table->columnCount(); ++c)
        row.append(quote(m_table->horizontalHeaderItem(c)->text()));
    lines.append(row.join(QLatin1Char(',')));
    for (int r = 0; r < m_table->rowCount(); ++r) {
        row.clear();
        for (int c = 0; c < m_table->columnCount(); ++c)
            row.append(quote(m_table->item(r, c) ? m_table->item(r, c)->text() : QString()));
        lines.append(row.join(QLatin1Char(',')));
    }
    return lines.join(QLatin1Char('\n')) + QLatin1Char('\n');
}

QCustomPlot *ResultsBrowser::plot(View view) const
{
    return m_plots.value(int(view));
}

QCustomPlot *ResultsBrowser::currentPlot() const
{
    return qobject_cast<QCustomPlot *>(m_tabs->currentWidget());
}

void ResultsBrowser::setNet(bool net)
{
    m_net->setChecked(net);
}

void ResultsBrowser::showView(View view)
{
    m_tabs->setCurrentIndex(int(view));
}

} // namespace jb::gui
