// SPDX-License-Identifier: GPL-3.0-or-later
#include "live_power_chart.h"

#include <QVBoxLayout>

#include "gui/qcp.h"

namespace jb::gui {

namespace {
const QList<QColor> kColors{QColor(0x1e, 0x88, 0xe5), QColor(0xe5, 0x39, 0x35),
                            QColor(0x43, 0xa0, 0x47), QColor(0xfb, 0x8c, 0x00),
                            QColor(0x8e, 0x24, 0xaa), QColor(0x00, 0x89, 0x7b)};
}

LivePowerChart::LivePowerChart(QWidget *parent) : QWidget(parent)
{
    auto *l = new QVBoxLayout(this);
    l->setContentsMargins(0, 0, 0, 0);
    m_plot = new QCustomPlot;
    m_plot->setObjectName(QStringLiteral("livePowerChart"));
    m_plot->xAxis->setLabel(tr("time since experiment start (s)"));
    m_plot->yAxis->setLabel(tr("power (W)"));
    m_plot->legend->setVisible(true);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    l->addWidget(m_plot);
    m_timer.setInterval(40); // ~25 fps
    connect(&m_timer, &QTimer::timeout, this, &LivePowerChart::flush);
    m_timer.start();
}

void LivePowerChart::setDomains(const QList<EventDomain> &domains)
{
    m_plot->clearGraphs();
    m_plot->clearItems();
    m_domainNames.clear();
    m_pending.clear();
    m_pendingMarks.clear();
    m_marks = 0;
    bool anyEstimate = false;
    for (const EventDomain &d : domains) {
        QCPGraph *g = m_plot->addGraph();
        const bool est = d.kind == MeterKind::Estimate;
        anyEstimate = anyEstimate || est;
        g->setName(d.domain + (est ? tr(" (estimate)") : QString()));
        g->setPen(QPen(kColors.at(m_domainNames.size() % kColors.size()), 1.5));
        g->setAdaptiveSampling(true);
        m_domainNames.append(d.domain);
        m_pending.append(Pending{});
    }
    m_plot->yAxis->setLabel(anyEstimate ? tr("power (W, estimate where marked)") : tr("power (W)"));
    m_dirty = true;
}

void LivePowerChart::addSample(double t, const QList<EventEnergy> &energy)
{
    for (const EventEnergy &e : energy) {
        const qsizetype i = m_domainNames.indexOf(e.domain);
        if (i < 0 || !std::isfinite(e.powerW))
            continue;
        m_pending[i].t.append(t);
        m_pending[i].w.append(e.powerW);
    }
    m_dirty = true;
}

void LivePowerChart::addPhaseMark(double t, const QString &label)
{
    m_pendingMarks.append({t, label});
    m_dirty = true;
}

void LivePowerChart::flush()
{
    if (!m_dirty)
        return;
    for (qsizetype i = 0; i < m_pending.size(); ++i) {
        if (m_pending.at(i).t.isEmpty())
            continue;
        m_plot->graph(int(i))->addData(m_pending.at(i).t, m_pending.at(i).w, true);
        m_pending[i] = Pending{};
    }
    for (const auto &[t, label] : std::as_const(m_pendingMarks)) {
        auto *line = new QCPItemStraightLine(m_plot);
        line->point1->setCoords(t, 0);
        line->point2->setCoords(t, 1);
        line->setPen(QPen(QColor(0x75, 0x75, 0x75), 1, Qt::DashLine));
        auto *text = new QCPItemText(m_plot);
        text->position->setTypeX(QCPItemPosition::ptPlotCoords);
        text->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
        text->position->setCoords(t, 0.02 + 0.05 * (m_marks % 3));
        text->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
        text->setText(label);
        text->setFont(QFont(font().family(), 8));
        text->setColor(QColor(0x42, 0x42, 0x42));
        ++m_marks;
    }
    m_pendingMarks.clear();
    m_plot->rescaleAxes();
    QCPRange y = m_plot->yAxis->range();
    m_plot->yAxis->setRange(std::min(0.0, y.lower), y.upper * 1.1 + 1e-9);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
    ++m_replots;
    m_dirty = false;
}

} // namespace jb::gui
