// SPDX-License-Identifier: GPL-3.0-or-later
#include "store_types.h"

namespace jb::db {

QString valueKindName(ValueKind kind)
{
    switch (kind) {
    case ValueKind::Measured:
        return QStringLiteral("measured");
    case ValueKind::Estimate:
        return QStringLiteral("estimate");
    case ValueKind::Proxy:
        return QStringLiteral("proxy");
    case ValueKind::Computed:
        return QStringLiteral("computed");
    }
    return QStringLiteral("computed");
}

std::optional<ValueKind> valueKindFromName(const QString &name)
{
    for (ValueKind k :
         {ValueKind::Measured, ValueKind::Estimate, ValueKind::Proxy, ValueKind::Computed})
        if (name == valueKindName(k))
            return k;
    return std::nullopt;
}

QString runStatusName(RunStatus status)
{
    switch (status) {
    case RunStatus::Running:
        return QStringLiteral("running");
    case RunStatus::Completed:
        return QStringLiteral("completed");
    case RunStatus::Failed:
        return QStringLiteral("failed");
    case RunStatus::Cancelled:
        return QStringLiteral("cancelled");
    case RunStatus::Interrupted:
        return QStringLiteral("interrupted");
    }
    return QStringLiteral("failed");
}

std::optional<RunStatus> runStatusFromName(const QString &name)
{
    for (RunStatus s : {RunStatus::Running, RunStatus::Completed, RunStatus::Failed,
                        RunStatus::Cancelled, RunStatus::Interrupted})
        if (name == runStatusName(s))
            return s;
    return std::nullopt;
}

} // namespace jb::db
