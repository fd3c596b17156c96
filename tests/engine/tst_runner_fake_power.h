// SPDX-License-Identifier: GPL-3.0-or-later
// Test helper (header only) shared by tst_runner*.cpp and the CLI run tests: one fake RAPL
// package on a fake powercap tree whose counter a thread advances at a known power that the
// test can change at any moment (e.g. from a phase event), like the hardware would.
#pragma once

#include "fake_powercap.h" // tests/measurement (jb_fake_powercap)
#include "measurement/meter.h"

#include <QTemporaryDir>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <sched.h>
#include <thread>

namespace jb::test {

/// A fake powercap tree with zone intel-rapl:0 ("package-0") driven at `watts`.
class FakePackage
{
public:
    explicit FakePackage(double watts) : m_tree(m_dir.path()), m_powerW(watts)
    {
        m_tree.addZone(QStringLiteral("intel-rapl:0"), QStringLiteral("package-0"), 0);
        m_lastS = monotonicSeconds();
        m_thread = std::thread([this] { loop(); });
    }
    ~FakePackage()
    {
        m_stop = true;
        m_thread.join();
    }
    FakePackage(const FakePackage &) = delete;
    FakePackage &operator=(const FakePackage &) = delete;

    /// Pass as JOULEBENCH_POWERCAP_ROOT / DiscoveryOptions::powercapRoot.
    QString root() const { return m_tree.root(); }
    /// From now on the counter grows at `watts` (thread-safe).
    void setPower(double watts)
    {
        std::lock_guard lock(m_mutex);
        advanceLocked();
        m_powerW = watts;
    }
    double power() const
    {
        std::lock_guard lock(m_mutex);
        return m_powerW;
    }

private:
    void advanceLocked()
    {
        const double now = monotonicSeconds();
        m_totalJ += m_powerW * (now - m_lastS);
        m_lastS = now;
        m_tree.setEnergy(QStringLiteral("intel-rapl:0"), static_cast<quint64>(m_totalJ * 1e6));
    }
    void loop()
    {
        // Best effort: a real-time writer keeps the counter fresh on a loaded test machine
        // (needs CAP_SYS_NICE; without it the thread runs at normal priority).
        sched_param sp{};
        sp.sched_priority = 1;
        pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
        while (!m_stop.load()) {
            {
                std::lock_guard lock(m_mutex);
                advanceLocked();
            }
            std::this_thread::sleep_for(std::chrono::microseconds(250));
        }
    }

    QTemporaryDir m_dir;
    FakePowercapTree m_tree;
    mutable std::mutex m_mutex;
    double m_powerW;
    double m_totalJ = 0;
    double m_lastS = 0;
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
};

} // namespace jb::test
