// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/run_events.h"

#include <QList>
#include <QTimer>
#include <QVector>
#include <QWidget>

class QCustomPlot;
class QCPGraph;

namespace jb::gui {

/// The run monitor's live power chart: one line per energy domain over the experiment's
/// clock, phase boundaries as vertical lines with their names. Samples are buffered and drawn
/// by a timer at ~25 fps (replot at most once per tick, never per sample).
///
/// Threads: GUI thread only.
class LivePowerChart : public QWidget
{
    Q_OBJECT
public:
    explicit LivePowerChart(QWidget *parent = nullptr);

    /// Starts a new experiment: one graph per domain (estimates labelled "estimate").
    void setDomains(const QList<EventDomain> &domains);
    /// Buffers the powers of one sample event at time t (seconds since experiment start).
    void addSample(double t, const QList<EventEnergy> &energy);
    /// Buffers a phase boundary line labelled `label` at time t.
    void addPhaseMark(double t, const QString &label);
    /// Draws what is buffered (the timer calls it; tests may too).
    void flush();

    QCustomPlot *plot() const { return m_plot; }
    int replots() const { return m_replots; }
    int phaseMarks() const { return m_marks; }

private:
    struct Pending
    {
        QVector<double> t, w;
    };
    QCustomPlot *m_plot = nullptr;
    QList<QString> m_domainNames;
    QList<Pending> m_pending;
    QList<QPair<double, QString>> m_pendingMarks;
    QTimer m_timer;
    bool m_dirty = false;
    int m_replots = 0;
    int m_marks = 0;
};

} // namespace jb::gui
