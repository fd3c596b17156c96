// SPDX-License-Identifier: GPL-3.0-or-later
#include "environment_mix.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>

namespace jb::db {

using namespace Qt::StringLiterals;

namespace {

QJsonObject pick(const QJsonObject &o, const QStringList &keys)
{
    QJsonObject out;
    for (const QString &k : keys)
        if (o.contains(k))
            out.insert(k, o.value(k));
    return out;
}

QJsonArray meters(const QJsonArray &in)
{
    QJsonArray out;
    for (const QJsonValue &m : in) {
        const QJsonObject mo = m.toObject();
        QJsonArray domains;
        for (const QJsonValue &d : mo.value(u"domains"_s).toArray())
            domains.append(pick(d.toObject(), {u"name"_s, u"kind"_s, u"method"_s}));
        QJsonObject meter = pick(mo, {u"id"_s, u"kind"_s});
        meter.insert(u"domains"_s, domains);
        out.append(meter);
    }
    return out;
}

/// Leaves of a JSON value as dotted key -> compact JSON text (arrays are one leaf).
void flatten(const QJsonValue &v, const QString &prefix, QHash<QString, QByteArray> *out)
{
    if (v.isObject()) {
        const QJsonObject o = v.toObject();
        for (auto it = o.constBegin(); it != o.constEnd(); ++it)
            flatten(it.value(), prefix.isEmpty() ? it.key() : prefix + u'.' + it.key(), out);
        return;
    }
    const QJsonDocument doc =
        v.isArray() ? QJsonDocument(v.toArray()) : QJsonDocument(QJsonArray{v});
    out->insert(prefix, doc.toJson(QJsonDocument::Compact));
}

} // namespace

EnvironmentIdentity environmentIdentity(const QByteArray &envJson)
{
    const QJsonObject env = QJsonDocument::fromJson(envJson).object();
    EnvironmentIdentity id;
    id.host = env.value(u"host"_s).toString();
    QJsonObject c =
        pick(env, {u"kernel"_s, u"os"_s, u"memoryBytes"_s, u"cpu"_s, u"software"_s, u"blas"_s});
    if (env.contains(u"cpufreq"_s))
        c.insert(u"cpufreq"_s, pick(env.value(u"cpufreq"_s).toObject(),
                                    {u"governors"_s, u"driver"_s, u"minMHz"_s, u"maxMHz"_s}));
    if (env.contains(u"meters"_s))
        c.insert(u"meters"_s, meters(env.value(u"meters"_s).toArray()));
    id.fingerprint = QString::fromLatin1(
        QCryptographicHash::hash(QJsonDocument(c).toJson(QJsonDocument::Compact),
                                 QCryptographicHash::Sha256)
            .toHex()
            .left(16));
    c.insert(u"host"_s, id.host);
    id.comparable = c;
    return id;
}

QStringList EnvironmentMix::flags() const
{
    QStringList f;
    if (mixedHosts())
        f << u"mixed-hosts"_s;
    if (mixedEnvironments())
        f << u"mixed-environment"_s;
    return f;
}

QString EnvironmentMix::describe() const
{
    QStringList parts;
    if (mixedHosts()) {
        QStringList shown;
        for (const QString &h : hosts)
            shown << (h.isEmpty() ? u"unknown"_s : h);
        parts << u"hosts "_s + shown.join(u", "_s);
    }
    if (!differingKeys.isEmpty())
        parts << u"differs: "_s + differingKeys.join(u", "_s);
    return parts.join(u"; "_s);
}

EnvironmentMix environmentMix(const QList<QByteArray> &envJsons)
{
    EnvironmentMix mix;
    QSet<QString> hosts, prints;
    QList<QHash<QString, QByteArray>> leaves;
    for (const QByteArray &e : envJsons) {
        const EnvironmentIdentity id = environmentIdentity(e);
        hosts.insert(id.host);
        prints.insert(id.fingerprint);
        QJsonObject c = id.comparable;
        c.remove(u"host"_s);
        QHash<QString, QByteArray> l;
        flatten(c, QString(), &l);
        leaves.append(l);
    }
    mix.hosts = QStringList(hosts.cbegin(), hosts.cend());
    mix.hosts.sort();
    mix.fingerprints = QStringList(prints.cbegin(), prints.cend());
    mix.fingerprints.sort();
    QSet<QString> keys;
    for (const auto &l : std::as_const(leaves))
        for (auto it = l.constBegin(); it != l.constEnd(); ++it)
            keys.insert(it.key());
    for (const QString &k : std::as_const(keys)) {
        for (qsizetype i = 1; i < leaves.size(); ++i)
            if (leaves.at(i).value(k) != leaves.at(0).value(k)) {
                mix.differingKeys.append(k);
                break;
            }
    }
    mix.differingKeys.sort();
    return mix;
}

EnvironmentMix environmentMix(const ExperimentComparison &comparison, const QList<qint64> &runIds)
{
    QList<QByteArray> envs;
    for (const RunComparison &rc : comparison.runs)
        if (rc.run.status == RunStatus::Completed && runIds.contains(rc.run.id))
            envs.append(rc.run.envJson);
    return environmentMix(envs);
}

} // namespace jb::db
