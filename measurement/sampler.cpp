// SPDX-License-Identifier: GPL-3.0-or-later
#include "sampler.h"

#include "measurement_log.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <pthread.h>
#include <time.h>

namespace jb {

namespace {

double threadCpuNow()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// Reads every meter into `row` (one value per domain, meters in order, `firstColumn[m]` the
/// first column of meter m); a failed meter's columns become NaN and `onError(m, message)` is
/// called.
template<typename OnError>
void readMetersInto(const QList<std::shared_ptr<Meter>> &meters,
                    const std::vector<int> &firstColumn, size_t columns, double *row,
                    OnError onError)
{
    for (qsizetype m = 0; m < meters.size(); ++m) {
        const size_t first = static_cast<size_t>(firstColumn[static_cast<size_t>(m)]);
        const size_t next = m + 1 < meters.size()
                                ? static_cast<size_t>(firstColumn[static_cast<size_t>(m + 1)])
                                : columns;
        std::span<double> out(row + first, next - first);
        QString error;
        if (!meters[m]->read(out, &error)) {
            std::fill(out.begin(), out.end(), std::numeric_limits<double>::quiet_NaN());
            onError(m, error);
        }
    }
}

} // namespace

Sampler::Sampler() = default;

Sampler::~Sampler()
{
    stop();
}

void Sampler::setMeters(const QList<std::shared_ptr<Meter>> &meters)
{
    Q_ASSERT(!isRunning());
    std::lock_guard lock(m_mutex);
    m_meters = meters;
    m_domains.clear();
    m_firstColumn.clear();
    for (const auto &meter : meters) {
        m_firstColumn.push_back(static_cast<int>(m_domains.size()));
        for (const DomainInfo &d : meter->domains())
            m_domains.append({meter->id(), d, meter->counterUpdateIntervalS()});
    }
}

bool Sampler::setRate(double hz, QString *error)
{
    if (!(hz >= 1.0 && hz <= kMaxRateHz)) {
        if (error)
            *error =
                QStringLiteral("sampling rate %1 Hz is outside 1..%2 Hz").arg(hz).arg(kMaxRateHz);
        return false;
    }
    m_rateHz = hz;
    return true;
}

QList<SamplerDomain> Sampler::domains() const
{
    std::lock_guard lock(m_mutex);
    return m_domains;
}

bool Sampler::start(QString *error)
{
    if (isRunning()) {
        if (error)
            *error = QStringLiteral("the sampler is already running");
        return false;
    }
    if (m_meters.isEmpty()) {
        if (error)
            *error = QStringLiteral("no meter to sample: call setMeters() first");
        return false;
    }
    std::unique_lock lock(m_mutex);
    m_times.clear();
    m_values.clear();
    m_taken = 0;
    m_phases.clear();
    m_openPhase.clear();
    m_openPhaseRow = -1;
    m_errorFirst = QStringList(m_meters.size(), QString());
    m_errorCount.assign(static_cast<size_t>(m_meters.size()), 0);
    m_warnings.clear();
    m_overruns = 0;
    m_threadCpuS = 0;
    m_threadClockValid = false;
    m_stopRequested = false;

    // Read often enough that no counter wraps twice between two reads.
    double needed = 0;
    for (const auto &meter : std::as_const(m_meters)) {
        const double maxInterval = meter->maxReadIntervalS();
        if (std::isfinite(maxInterval) && maxInterval > 0)
            needed = std::max(needed, 1.0 / maxInterval);
    }
    m_effectiveRateHz = m_rateHz;
    if (needed > m_rateHz) {
        m_effectiveRateHz = std::min(std::ceil(needed), kMaxRateHz);
        m_warnings.append(QStringLiteral("sampling rate raised from %1 Hz to %2 Hz so that no "
                                         "counter wrap is missed")
                              .arg(m_rateHz)
                              .arg(m_effectiveRateHz));
        if (needed > kMaxRateHz)
            m_warnings.append(QStringLiteral("a counter may wrap faster than %1 reads per second "
                                             "can follow: energy may be undercounted")
                                  .arg(kMaxRateHz));
        for (const QString &w : std::as_const(m_warnings))
            qCWarning(lcMeasurement).noquote() << w;
    }

    for (const auto &meter : std::as_const(m_meters)) {
        if (!meter->start(error)) {
            if (error)
                *error = QStringLiteral("%1: %2").arg(meter->id(), *error);
            return false;
        }
    }
    m_startS = monotonicSeconds();
    readAllLocked();
    m_running = true;
    m_thread = std::thread([this] { run(); });
    return true;
}

void Sampler::readAllLocked()
{
    const size_t columns = static_cast<size_t>(m_domains.size());
    const size_t offset = m_values.size();
    m_values.resize(offset + columns);
    const double t0 = monotonicSeconds();
    readMetersInto(m_meters, m_firstColumn, columns, m_values.data() + offset,
                   [this](qsizetype m, const QString &error) {
                       if (m_errorCount[static_cast<size_t>(m)]++ == 0) {
                           m_errorFirst[m] = error;
                           qCWarning(lcMeasurement).noquote() << "read failed:" << error;
                       }
                   });
    const double t1 = monotonicSeconds();
    m_times.push_back(0.5 * (t0 + t1) - m_startS);
}

void Sampler::run()
{
    pthread_setname_np(pthread_self(), "jb-sampler");
    using clock = std::chrono::steady_clock;
    const auto period = std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double>(1.0 / m_effectiveRateHz));
    std::unique_lock lock(m_mutex);
    m_threadCpuStartS = threadCpuNow();
    clockid_t cpuClock;
    m_threadClockValid = pthread_getcpuclockid(pthread_self(), &cpuClock) == 0;
    m_threadClock = cpuClock;
    auto next = clock::now() + period;
    while (!m_stopRequested) {
        if (m_wake.wait_until(lock, next, [this] { return m_stopRequested; }))
            break;
        readAllLocked();
        next += period;
        const auto now = clock::now();
        if (next <= now) {
            // Fell behind (a slow meter or a busy machine): skip the missed ticks.
            ++m_overruns;
            while (next <= now)
                next += period;
        }
    }
    // Read once here rather than per iteration: the clock costs a system call (~1 us).
    m_threadCpuS = threadCpuNow() - m_threadCpuStartS;
    m_threadClockValid = false;
}

bool Sampler::markPhase(const QString &name)
{
    std::lock_guard lock(m_mutex);
    if (!m_running.load())
        return false;
    readAllLocked();
    const qsizetype row = static_cast<qsizetype>(m_times.size()) - 1;
    closePhaseLocked(row);
    m_openPhase = name;
    m_openPhaseRow = row;
    return true;
}

bool Sampler::endPhase()
{
    std::lock_guard lock(m_mutex);
    if (!m_running.load())
        return false;
    readAllLocked();
    closePhaseLocked(static_cast<qsizetype>(m_times.size()) - 1);
    return true;
}

std::optional<SampleRow> Sampler::readNow(QString *error)
{
    std::lock_guard lock(m_mutex);
    if (!m_running.load()) {
        if (error)
            *error = QStringLiteral("the sampler is not running");
        return std::nullopt;
    }
    const size_t columns = static_cast<size_t>(m_domains.size());
    std::vector<double> values(columns);
    const double t0 = monotonicSeconds();
    readMetersInto(m_meters, m_firstColumn, columns, values.data(),
                   [&](qsizetype m, const QString &readError) {
                       if (error)
                           *error = QStringLiteral("%1: %2").arg(m_meters[m]->id(), readError);
                   });
    const double t1 = monotonicSeconds();
    SampleRow row;
    row.timeS = 0.5 * (t0 + t1) - m_startS;
    row.joules = QList<double>(values.begin(), values.end());
    return row;
}

void Sampler::closePhaseLocked(qsizetype endRow)
{
    if (m_openPhaseRow < 0)
        return;
    const size_t columns = static_cast<size_t>(m_domains.size());
    PhaseResult p;
    p.name = m_openPhase;
    p.startS = m_times[static_cast<size_t>(m_openPhaseRow)];
    p.endS = m_times[static_cast<size_t>(endRow)];
    p.durationS = p.endS - p.startS;
    for (size_t c = 0; c < columns; ++c) {
        const SamplerDomain &d = m_domains[static_cast<qsizetype>(c)];
        DomainEnergy e;
        e.meterId = d.meterId;
        e.domain = d.info.name;
        e.kind = d.info.kind;
        e.method = d.info.method;
        e.joules = m_values[static_cast<size_t>(endRow) * columns + c] -
                   m_values[static_cast<size_t>(m_openPhaseRow) * columns + c];
        e.averagePowerW =
            p.durationS > 0 ? e.joules / p.durationS : std::numeric_limits<double>::quiet_NaN();
        e.tooShort = p.durationS < 10.0 * d.updateIntervalS;
        p.domains.append(e);
    }
    m_phases.append(p);
    m_openPhase.clear();
    m_openPhaseRow = -1;
}

void Sampler::stop()
{
    if (!m_running.load())
        return;
    {
        std::lock_guard lock(m_mutex);
        m_stopRequested = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable())
        m_thread.join();
    std::lock_guard lock(m_mutex);
    readAllLocked();
    closePhaseLocked(static_cast<qsizetype>(m_times.size()) - 1);
    m_running = false;
}

SampleRow Sampler::rowLocked(qsizetype index) const
{
    const size_t columns = static_cast<size_t>(m_domains.size());
    SampleRow row;
    row.timeS = m_times[static_cast<size_t>(index)];
    row.joules.reserve(static_cast<qsizetype>(columns));
    const double *v = m_values.data() + static_cast<size_t>(index) * columns;
    for (size_t c = 0; c < columns; ++c)
        row.joules.append(v[c]);
    return row;
}

QList<SampleRow> Sampler::takeNewSamples()
{
    std::lock_guard lock(m_mutex);
    QList<SampleRow> rows;
    const qsizetype n = static_cast<qsizetype>(m_times.size());
    rows.reserve(n - m_taken);
    for (qsizetype i = m_taken; i < n; ++i)
        rows.append(rowLocked(i));
    m_taken = n;
    return rows;
}

QList<SampleRow> Sampler::samples() const
{
    std::lock_guard lock(m_mutex);
    QList<SampleRow> rows;
    const qsizetype n = static_cast<qsizetype>(m_times.size());
    rows.reserve(n);
    for (qsizetype i = 0; i < n; ++i)
        rows.append(rowLocked(i));
    return rows;
}

qsizetype Sampler::sampleCount() const
{
    std::lock_guard lock(m_mutex);
    return static_cast<qsizetype>(m_times.size());
}

QList<SeriesPoint> Sampler::series(int column) const
{
    std::lock_guard lock(m_mutex);
    QList<SeriesPoint> points;
    const size_t columns = static_cast<size_t>(m_domains.size());
    if (column < 0 || static_cast<size_t>(column) >= columns)
        return points;
    points.reserve(static_cast<qsizetype>(m_times.size()));
    for (size_t i = 0; i < m_times.size(); ++i)
        points.append({m_times[i], m_values[i * columns + static_cast<size_t>(column)]});
    return points;
}

QList<PhaseResult> Sampler::phases() const
{
    std::lock_guard lock(m_mutex);
    return m_phases;
}

QStringList Sampler::errors() const
{
    std::lock_guard lock(m_mutex);
    QStringList list;
    for (qsizetype m = 0; m < m_errorFirst.size(); ++m) {
        const quint64 count = m_errorCount[static_cast<size_t>(m)];
        if (count > 0)
            list.append(QStringLiteral("%1: %2 read(s) failed, first: %3")
                            .arg(m_meters[m]->id())
                            .arg(count)
                            .arg(m_errorFirst[m]));
    }
    return list;
}

QStringList Sampler::warnings() const
{
    std::lock_guard lock(m_mutex);
    return m_warnings;
}

double Sampler::threadCpuSeconds() const
{
    std::lock_guard lock(m_mutex);
    if (m_threadClockValid) {
        timespec ts{};
        if (clock_gettime(m_threadClock, &ts) == 0)
            return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9 -
                   m_threadCpuStartS;
    }
    return m_threadCpuS;
}

} // namespace jb
