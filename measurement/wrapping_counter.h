// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QtGlobal>

namespace jb {

/// Turns a counter that wraps to zero after `range` (RAPL energy_uj, which wraps after
/// max_energy_range_uj) into a total that only grows.
///
/// Between two updates the counter may wrap at most once, and this cannot be detected
/// afterwards: updates must come more often than range / (highest power), see
/// docs/measurement.md. For a raw value below the previous one the increment is
/// `range - previous + raw` (the counter ran up to range, restarted at 0 and reached raw).
/// Not thread-safe.
class WrappingCounter
{
public:
    /// range: the wrap point in counter units; 0 means unknown (a decrease is then an error).
    explicit WrappingCounter(quint64 range = 0) : m_range(range) {}

    /// Starts counting from raw: total and wrap count become 0.
    void reset(quint64 raw)
    {
        m_last = raw;
        m_total = 0;
        m_wraps = 0;
    }
    /// Accounts for a new raw value. Returns false (state unchanged) when the value decreased
    /// and the range is unknown, or when the previous value lies beyond the range.
    bool update(quint64 raw)
    {
        if (raw >= m_last) {
            m_total += raw - m_last;
        } else {
            if (m_range == 0 || m_last > m_range)
                return false;
            m_total += (m_range - m_last) + raw;
            ++m_wraps;
        }
        m_last = raw;
        return true;
    }

    quint64 total() const { return m_total; }
    quint64 wraps() const { return m_wraps; }
    quint64 range() const { return m_range; }
    quint64 last() const { return m_last; }

private:
    quint64 m_range = 0;
    quint64 m_last = 0;
    quint64 m_total = 0;
    quint64 m_wraps = 0;
};

} // namespace jb
