// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QString>

#include <atomic>

namespace jb {

/// The one object through which long work (training, evaluation, a technique's apply(), a whole
/// run) reports progress and log lines and learns that it should stop.
///
/// Threads: the working thread calls setProgress()/log()/isCanceled(); any thread may call
/// cancel(). Subclasses that forward to a UI or a JSONL stream must be thread-safe.
class Feedback
{
public:
    virtual ~Feedback() = default;

    /// Progress of the current task in [0, 1], with a short description ("epoch 2/5").
    virtual void setProgress(double fraction, const QString &what)
    {
        Q_UNUSED(fraction);
        Q_UNUSED(what);
    }
    /// A human-readable log line.
    virtual void log(const QString &message) { Q_UNUSED(message); }

    /// Long loops check this at least once per batch and stop cleanly when true.
    bool isCanceled() const { return m_canceled.load(std::memory_order_relaxed); }
    void cancel() { m_canceled.store(true, std::memory_order_relaxed); }

private:
    std::atomic<bool> m_canceled{false};
};

} // namespace jb
