// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

namespace jb::gui {

/// Measures how long the GUI event loop is blocked: a 10 ms timer notes the largest gap
/// between two of its ticks beyond the interval. The run monitor shows it; the replay test
/// asserts on it (the loop must never block more than 100 ms during a run).
///
/// Threads: GUI thread only.
class LoopProbe : public QObject
{
    Q_OBJECT
public:
    explicit LoopProbe(QObject *parent = nullptr, int intervalMs = 10);
    void start();
    void stop();
    /// Largest gap between two ticks (ms) since start(), including the interval itself.
    double maxGapMs() const { return m_maxGapMs; }
    qint64 ticks() const { return m_ticks; }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_lastNs = 0;
    double m_maxGapMs = 0;
    qint64 m_ticks = 0;
};

} // namespace jb::gui
