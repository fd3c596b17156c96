// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "meter.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <time.h>
#include <vector>

namespace jb {

/// One column of the Sampler's series: a domain of one of its meters.
struct SamplerDomain
{
    QString meterId;
    DomainInfo info;
    double updateIntervalS = 0; ///< the meter's counterUpdateIntervalS()
};

/// One read of every meter. joules[i] is the cumulative energy of domains()[i] since start(),
/// NaN where that meter's read failed (see Sampler::errors()).
struct SampleRow
{
    double timeS = 0; ///< seconds since Sampler::start(), monotonic clock
    QList<double> joules;
};

/// One point of one domain's series.
struct SeriesPoint
{
    double timeS = 0;
    double joules = 0;
};

/// Energy of one domain over one phase.
struct DomainEnergy
{
    QString meterId;
    QString domain;
    MeterKind kind = MeterKind::Measured;
    QString method;
    double joules = 0;        ///< gross energy, NaN if a boundary read failed
    double averagePowerW = 0; ///< joules / duration
    /// The phase is shorter than 10x the meter's update interval: the figure is unreliable.
    bool tooShort = false;
};

/// A named interval between two markPhase() calls (or markPhase() and endPhase()/stop()).
struct PhaseResult
{
    QString name;
    double startS = 0; ///< seconds since Sampler::start()
    double endS = 0;
    double durationS = 0;
    QList<DomainEnergy> domains; ///< in Sampler::domains() order
};

/// Reads all chosen meters on its own thread at a fixed rate (default 10 Hz, 1 to 1000 Hz),
/// plus once exactly at each markPhase() call, and turns the reads into per-phase energy.
///
/// Threads: configure (setMeters, setRate) and start()/stop() from one controlling thread.
/// markPhase(), endPhase(), takeNewSamples(), samples(), phases(), series(), errors() may be
/// called from any thread while it runs. Meter reads are serialised by one mutex, so a
/// markPhase() read happens on the calling thread at the moment of the call.
///
/// If a meter's counters could wrap between two periodic reads (Meter::maxReadIntervalS()),
/// start() raises the rate to what they need (at most 1000 Hz) and says so in warnings().
class Sampler
{
public:
    static constexpr double kDefaultRateHz = 10.0;
    static constexpr double kMaxRateHz = 1000.0;

    Sampler();
    ~Sampler(); ///< stops the thread if running
    Sampler(const Sampler &) = delete;
    Sampler &operator=(const Sampler &) = delete;

    /// The meters to read; only while stopped. A meter must not be used elsewhere meanwhile.
    void setMeters(const QList<std::shared_ptr<Meter>> &meters);
    /// Periodic read rate in Hz, within [1, 1000]; only while stopped.
    bool setRate(double hz, QString *error);
    double rate() const { return m_rateHz; }
    /// The rate actually used by the last start() (see the class comment).
    double effectiveRate() const { return m_effectiveRateHz; }

    /// Zeroes every meter (Meter::start), takes the first read (t = 0) and starts the thread.
    /// Clears the results of a previous run.
    bool start(QString *error);
    /// Reads every meter now, ends the current phase (if any) there and begins phase `name`.
    /// Returns false when the sampler is not running.
    bool markPhase(const QString &name);
    /// Reads every meter now and ends the current phase without beginning another.
    bool endPhase();
    /// Stops the thread, takes a last read and ends the current phase there.
    void stop();
    bool isRunning() const { return m_running.load(); }
    /// Reads every meter now, on the calling thread, without storing a row or touching the
    /// phases: cumulative joules per domain since start() (in domains() order) and the time.
    /// For bracketing a workload inside a phase (TechniqueContext::measureEnergy). A domain
    /// whose meter read failed is NaN and *error names the meter. nullopt when not running.
    std::optional<SampleRow> readNow(QString *error);

    /// The series' columns: every domain of every meter, in setMeters() order.
    QList<SamplerDomain> domains() const;
    /// Rows read since the previous call (all rows on the first call), for streaming.
    QList<SampleRow> takeNewSamples();
    /// All rows so far (during or after the run).
    QList<SampleRow> samples() const;
    qsizetype sampleCount() const;
    /// One domain's series: (time since start, cumulative joules).
    QList<SeriesPoint> series(int column) const;
    /// Completed phases, in order.
    QList<PhaseResult> phases() const;
    /// Read failures (first message per meter, with a count) and rate adjustments.
    QStringList errors() const;
    QStringList warnings() const;
    /// Periodic reads that came later than one period after the previous one.
    quint64 overruns() const { return m_overruns.load(); }
    /// CPU time used by the sampling thread (CLOCK_THREAD_CPUTIME_ID), in seconds: live while
    /// running, final after stop(). Reads from markPhase() count for the calling thread.
    double threadCpuSeconds() const;

private:
    void run();
    void readAllLocked();
    void closePhaseLocked(qsizetype endRow);
    SampleRow rowLocked(qsizetype index) const;

    QList<std::shared_ptr<Meter>> m_meters;
    QList<SamplerDomain> m_domains;
    std::vector<int> m_firstColumn; // first column of each meter
    double m_rateHz = kDefaultRateHz;
    double m_effectiveRateHz = kDefaultRateHz;

    mutable std::mutex m_mutex; // meters, series, phases, errors
    std::condition_variable m_wake;
    std::thread m_thread;
    std::atomic<bool> m_running{false};
    bool m_stopRequested = false;

    double m_startS = 0;
    std::vector<double> m_times;  // per row, seconds since start
    std::vector<double> m_values; // row-major, domains().size() per row
    qsizetype m_taken = 0;        // rows already returned by takeNewSamples()
    QList<PhaseResult> m_phases;
    QString m_openPhase;
    qsizetype m_openPhaseRow = -1;
    QStringList m_errorFirst;
    std::vector<quint64> m_errorCount; // per meter
    QStringList m_warnings;
    std::atomic<quint64> m_overruns{0};
    // CPU time of the sampling thread: its clock while it runs, the final value after.
    double m_threadCpuS = 0;
    double m_threadCpuStartS = 0;
    clockid_t m_threadClock{};
    bool m_threadClockValid = false;
};

} // namespace jb
