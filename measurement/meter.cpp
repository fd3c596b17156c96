// SPDX-License-Identifier: GPL-3.0-or-later
#include "meter.h"

#include <chrono>
#include <limits>

namespace jb {

QString meterKindName(MeterKind kind)
{
    return kind == MeterKind::Measured ? QStringLiteral("measured") : QStringLiteral("estimate");
}

double monotonicSeconds()
{
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

Meter::~Meter() = default;

double Meter::maxReadIntervalS() const
{
    double best = std::numeric_limits<double>::infinity();
    for (const DomainInfo &d : domains()) {
        if (d.wrapRangeJ > 0)
            best = std::min(best, d.wrapRangeJ / kAssumedMaxDomainPowerW / 2.0);
    }
    return best;
}

std::optional<MeterReading> Meter::sample(QString *error)
{
    MeterReading r;
    r.joules.resize(domains().size());
    if (!read(r.joules, error))
        return std::nullopt;
    r.timeS = monotonicSeconds();
    return r;
}

} // namespace jb
