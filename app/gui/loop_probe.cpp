// SPDX-License-Identifier: GPL-3.0-or-later
#include "loop_probe.h"

namespace jb::gui {

LoopProbe::LoopProbe(QObject *parent, int intervalMs) : QObject(parent)
{
    m_timer.setInterval(intervalMs);
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, [this] {
        const qint64 now = m_clock.nsecsElapsed();
        m_maxGapMs = std::max(m_maxGapMs, double(now - m_lastNs) / 1e6);
        m_lastNs = now;
        ++m_ticks;
    });
}

void LoopProbe::start()
{
    m_maxGapMs = 0;
    m_ticks = 0;
    m_clock.start();
    m_lastNs = 0;
    m_timer.start();
}

void LoopProbe::stop()
{
    m_timer.stop();
}

} // namespace jb::gui
