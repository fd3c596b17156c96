// SPDX-License-Identifier: GPL-3.0-or-later
#include "meter_registry.h"

#include "estimate_meter.h"
#include "nvml_meter.h"
#include "rapl_perf_meter.h"
#include "rapl_powercap_meter.h"

#include <QSet>

namespace jb {

namespace {

const MeterStatus *findStatus(const QList<MeterStatus> &found, const QString &id)
{
    for (const MeterStatus &s : found) {
        if (s.id == id)
            return &s;
    }
    return nullptr;
}

// Domains that discovery left out of a readable meter, as warnings.
void addDomainWarnings(const MeterStatus &s, QStringList *warnings)
{
    for (const DomainStatus &d : s.domains) {
        if (!d.readable)
            warnings->append(
                QStringLiteral("%1: domain %2 left out: %3").arg(s.id, d.info.name, d.problem));
    }
}

} // namespace

DiscoveryOptions DiscoveryOptions::fromEnvironment()
{
    DiscoveryOptions o;
    o.powercapRoot = RaplPowercapMeter::defaultRoot();
    o.perfEventRoot = RaplPerfMeter::defaultRoot();
    o.nvmlLibrary = NvmlMeter::defaultLibrary();
    o.estimateTdpW = EstimateMeter::defaultTdpW();
    o.procStat = EstimateMeter::defaultProcStat();
    return o;
}

bool MeterSelection::estimateOnly() const
{
    for (const auto &m : meters) {
        if (m->kind() == MeterKind::Measured)
            return false;
    }
    return true;
}

MeterRegistry MeterRegistry::builtIn()
{
    MeterRegistry r;
    r.add({QStringLiteral("rapl-powercap"), QStringLiteral("rapl"),
           [](const DiscoveryOptions &o) { return RaplPowercapMeter::probe(o.powercapRoot); }});
    r.add({QStringLiteral("rapl-perf"), QStringLiteral("rapl"),
           [](const DiscoveryOptions &o) { return RaplPerfMeter::probe(o.perfEventRoot); }});
    r.add({QStringLiteral("nvml"), QString(),
           [](const DiscoveryOptions &o) { return NvmlMeter::probe(o.nvmlLibrary); }});
    r.add({QStringLiteral("estimate"), QString(), [](const DiscoveryOptions &o) {
               return EstimateMeter::probe(o.estimateTdpW, o.procStat);
           }});
    return r;
}

void MeterRegistry::add(Entry entry)
{
    m_entries.append(std::move(entry));
}

QStringList MeterRegistry::selectableIds() const
{
    QStringList ids;
    for (const Entry &e : m_entries) {
        if (!e.group.isEmpty() && !ids.contains(e.group))
            ids.append(e.group);
        ids.append(e.id);
    }
    return ids;
}

QString MeterRegistry::groupOf(const QString &id) const
{
    for (const Entry &e : m_entries) {
        if (e.id == id)
            return e.group.isEmpty() ? e.id : e.group;
    }
    return id;
}

QList<MeterStatus> MeterRegistry::discover(const DiscoveryOptions &options) const
{
    QList<MeterStatus> found;
    for (const Entry &e : m_entries) {
        MeterStatus s = e.probe(options);
        s.id = e.id;
        found.append(std::move(s));
    }
    return found;
}

std::optional<MeterSelection> MeterRegistry::select(const QList<MeterStatus> &found,
                                                    const QStringList &ids, QString *error) const
{
    MeterSelection selection;
    QSet<const Meter *> taken;
    for (const QString &rawId : ids) {
        const QString id = rawId.trimmed();
        if (id.isEmpty())
            continue;
        QList<const MeterStatus *> candidates;
        for (const Entry &e : m_entries) {
            if (e.id == id || (!e.group.isEmpty() && e.group == id)) {
                if (const MeterStatus *s = findStatus(found, e.id))
                    candidates.append(s);
            }
        }
        if (candidates.isEmpty()) {
            *error = QStringLiteral("unknown meter '%1'; known meters: %2")
                         .arg(id, selectableIds().join(QStringLiteral(", ")));
            return std::nullopt;
        }
        const MeterStatus *chosen = nullptr;
        for (const MeterStatus *s : candidates) {
            if (s->readable) {
                chosen = s;
                break;
            }
        }
        if (!chosen) {
            QStringList reasons;
            for (const MeterStatus *s : candidates)
                reasons.append(s->id + QStringLiteral(": ") + s->reason);
            *error = QStringLiteral("meter '%1' cannot be used: %2")
                         .arg(id, reasons.join(QStringLiteral("; ")));
            return std::nullopt;
        }
        if (taken.contains(chosen->meter.get()))
            continue;
        taken.insert(chosen->meter.get());
        selection.meters.append(chosen->meter);
        addDomainWarnings(*chosen, &selection.warnings);
    }
    if (selection.meters.isEmpty()) {
        *error = QStringLiteral("no meter chosen; known meters: %1")
                     .arg(selectableIds().join(QStringLiteral(", ")));
        return std::nullopt;
    }
    return selection;
}

std::optional<MeterSelection> MeterRegistry::selectDefault(const QList<MeterStatus> &found,
                                                           QString *error) const
{
    MeterSelection selection;
    QSet<QString> groupsTaken;
    QStringList reasons;
    const MeterStatus *estimate = nullptr;
    for (const MeterStatus &s : found) {
        if (s.kind == MeterKind::Estimate) {
            if (!estimate)
                estimate = &s;
            continue;
        }
        if (!s.readable) {
            reasons.append(s.id + QStringLiteral(": ") + s.reason);
            continue;
        }
        const QString group = groupOf(s.id);
        if (groupsTaken.contains(group))
            continue; // e.g. rapl-perf when rapl-powercap already reads the same counters
        groupsTaken.insert(group);
        selection.meters.append(s.meter);
        addDomainWarnings(s, &selection.warnings);
    }
    if (!selection.meters.isEmpty())
        return selection;

    if (!estimate || !estimate->readable) {
        *error = QStringLiteral("no meter readable: %1%2")
                     .arg(reasons.join(QStringLiteral("; ")),
                          estimate ? QStringLiteral("; estimate: ") + estimate->reason : QString());
        return std::nullopt;
    }
    selection.meters.append(estimate->meter);
    selection.warnings.append(
        QStringLiteral("no hardware energy counter readable: %1; using the %2 instead, every "
                       "figure labelled 'estimate'")
            .arg(reasons.join(QStringLiteral("; ")), estimate->displayName));
    return selection;
}

} // namespace jb
