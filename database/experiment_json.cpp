// SPDX-License-Identifier: GPL-3.0-or-later
#include "experiment_json.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <cmath>

namespace jb::db {

using namespace Qt::StringLiterals;

QString experimentJsonFormat()
{
    return u"joulebench-experiment"_s;
}

namespace {

QJsonValue number(double v)
{
    return std::isfinite(v) ? QJsonValue(v) : QJsonValue(QJsonValue::Null);
}

/// A stored JSON text as a JSON value; text that is not JSON stays a string.
QJsonValue jsonText(const QByteArray &text)
{
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(text, &pe);
    if (pe.error != QJsonParseError::NoError)
        return QString::fromUtf8(text);
    return doc.isArray() ? QJsonValue(doc.array()) : QJsonValue(doc.object());
}

QJsonObject domainJson(const RunDomain &d)
{
    return {{u"name"_s, d.name}, {u"kind"_s, valueKindName(d.kind)}, {u"meterId"_s, d.meterId}};
}

QJsonObject phaseJson(const PhaseRecord &p)
{
    QJsonArray energy;
    for (const PhaseEnergyRecord &e : p.energy)
        energy.append(QJsonObject{{u"domain"_s, e.domain},
                                  {u"kind"_s, valueKindName(e.kind)},
                                  {u"grossJ"_s, number(e.grossJ)},
                                  {u"netJ"_s, number(e.netJ)},
                                  {u"avgPowerW"_s, number(e.avgPowerW)}});
    return {{u"name"_s, p.name},
            {u"ordinal"_s, p.ordinal},
            {u"tStart"_s, number(p.tStart)},
            {u"duration"_s, number(p.duration)},
            {u"energy"_s, energy}};
}

QJsonObject runJson(const RunDump &d, bool withSamples)
{
    const RunRecord &r = d.run;
    QJsonArray domains, phases, metrics, totals, artifacts, logs;
    for (const RunDomain &x : d.domains)
        domains.append(domainJson(x));
    for (const PhaseRecord &p : d.phases)
        phases.append(phaseJson(p));
    for (const MetricRecord &m : d.metrics)
        metrics.append(QJsonObject{{u"phase"_s, m.phase},
                                   {u"name"_s, m.name},
                                   {u"value"_s, number(m.value)},
                                   {u"unit"_s, m.unit},
                                   {u"kind"_s, valueKindName(m.kind)}});
    for (const RunEnergyRecord &t : d.totals)
        totals.append(QJsonObject{{u"domain"_s, t.domain},
                                  {u"kind"_s, valueKindName(t.kind)},
                                  {u"meterId"_s, t.meterId},
                                  {u"samples"_s, t.samples},
                                  {u"joules"_s, number(t.joules)},
                                  {u"durationS"_s, number(t.durationS)},
                                  {u"avgPowerW"_s, number(t.avgPowerW)},
                                  {u"peakPowerW"_s, number(t.peakPowerW)}});
    for (const ArtifactRecord &a : d.artifacts)
        artifacts.append(QJsonObject{{u"kind"_s, a.kind},
                                     {u"path"_s, a.path},
                                     {u"sha256"_s, a.sha256},
                                     {u"bytes"_s, a.bytes},
                                     {u"created"_s, a.created}});
    for (const TechniqueLogRecord &l : d.logs)
        logs.append(QJsonObject{{u"plugin"_s, l.plugin},
                                {u"message"_s, l.message},
                                {u"json"_s, jsonText(l.json)},
                                {u"created"_s, l.created}});
    QJsonObject o{{u"id"_s, r.id},
                  {u"variant"_s, r.key.variant},
                  {u"chain"_s, jsonText(r.key.chainJson)},
                  {u"backend"_s, r.key.backend},
                  {u"repetition"_s, r.key.repetition},
                  {u"configKey"_s, r.key.configKey},
                  {u"config"_s, jsonText(r.configJson)},
                  {u"environment"_s, jsonText(r.envJson)},
                  {u"status"_s, runStatusName(r.status)},
                  {u"flags"_s, QJsonArray::fromStringList(r.flags)},
                  {u"error"_s, r.error},
                  {u"started"_s, r.started},
                  {u"ended"_s, r.ended},
                  {u"owner"_s, QJsonObject{{u"pid"_s, r.owner.pid},
                                           {u"host"_s, r.owner.host},
                                           {u"token"_s, r.owner.token}}},
                  {u"domains"_s, domains},
                  {u"phases"_s, phases},
                  {u"metrics"_s, metrics},
                  {u"totals"_s, totals},
                  {u"artifacts"_s, artifacts},
                  {u"logs"_s, logs}};
    if (withSamples) {
        QJsonObject samples;
        for (auto it = d.samples.constBegin(); it != d.samples.constEnd(); ++it) {
            QJsonArray series;
            for (const EnergySample &s : it.value())
                series.append(QJsonArray{s.t, s.joules});
            samples.insert(it.key(), series);
        }
        o.insert(u"samples"_s, samples);
    }
    return o;
}

QString at(const QString &path, const QString &key)
{
    return path.isEmpty() ? key : path + u'.' + key;
}

/// Reads typed values and keeps the first error with its JSON path.
class Reader
{
public:
    explicit Reader(QString source) : m_source(std::move(source)) {}
    bool ok() const { return m_error.isEmpty(); }
    const QString &error() const { return m_error; }

    void fail(const QString &path, const QString &message)
    {
        if (m_error.isEmpty())
            m_error = u"%1: %2: %3"_s.arg(m_source, path, message);
    }
    QJsonValue value(const QJsonObject &o, const QString &key, const QString &path)
    {
        const auto it = o.constFind(key);
        if (it == o.constEnd()) {
            fail(at(path, key), u"missing; the file is not a complete JouleBench export"_s);
            return {};
        }
        return *it;
    }
    QString str(const QJsonObject &o, const QString &key, const QString &path)
    {
        const QJsonValue v = value(o, key, path);
        if (!v.isString() && ok())
            fail(at(path, key), u"expected a string"_s);
        return v.toString();
    }
    double real(const QJsonObject &o, const QString &key, const QString &path)
    {
        const QJsonValue v = value(o, key, path);
        if (v.isNull() && o.contains(key))
            return NoValue;
        if (!v.isDouble() && ok())
            fail(at(path, key), u"expected a number or null"_s);
        return v.toDouble();
    }
    qint64 integer(const QJsonObject &o, const QString &key, const QString &path)
    {
        const QJsonValue v = value(o, key, path);
        const double d = v.toDouble();
        if ((!v.isDouble() || d != std::floor(d)) && ok())
            fail(at(path, key), u"expected an integer"_s);
        return v.toInteger();
    }
    QJsonArray array(const QJsonObject &o, const QString &key, const QString &path)
    {
        const QJsonValue v = value(o, key, path);
        if (!v.isArray() && ok())
            fail(at(path, key), u"expected an array"_s);
        return v.toArray();
    }
    QJsonObject object(const QJsonValue &v, const QString &path)
    {
        if (!v.isObject() && ok())
            fail(path, u"expected an object"_s);
        return v.toObject();
    }
    ValueKind kind(const QJsonObject &o, const QString &path)
    {
        const QString k = str(o, u"kind"_s, path);
        const std::optional<ValueKind> kind = valueKindFromName(k);
        if (!kind && ok())
            fail(path + u".kind"_s,
                 u"'%1' is not one of measured, estimate, proxy, computed"_s.arg(k));
        return kind.value_or(ValueKind::Estimate);
    }
    /// A JSON value stored as JSON text: strings verbatim, objects and arrays compact.
    QByteArray text(const QJsonObject &o, const QString &key, const QString &path)
    {
        const QJsonValue v = value(o, key, path);
        if (v.isString())
            return v.toString().toUtf8();
        if (v.isObject())
            return QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact);
        if (v.isArray())
            return QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact);
        if (ok())
            fail(at(path, key), u"expected an object, an array or a string"_s);
        return {};
    }

    /// Calls each(element, elementPath) for every element of the array `key` of `o`, read as an
    /// object at "<path>.<key>[i]", until an error is kept.
    template <typename Each>
    void objects(const QJsonObject &o, const QString &key, const QString &path, Each &&each)
    {
        const QJsonArray a = array(o, key, path);
        for (qsizetype i = 0; i < a.size() && ok(); ++i) {
            const QString p = at(path, key) + u"[%1]"_s.arg(i);
            each(object(a.at(i), p), p);
        }
    }

private:
    QString m_source;
    QString m_error;
};

PhaseRecord phaseFrom(Reader &rd, const QJsonObject &o, const QString &path)
{
    PhaseRecord p;
    p.name = rd.str(o, u"name"_s, path);
    p.ordinal = int(rd.integer(o, u"ordinal"_s, path));
    p.tStart = rd.real(o, u"tStart"_s, path);
    p.duration = rd.real(o, u"duration"_s, path);
    rd.objects(o, u"energy"_s, path, [&](const QJsonObject &e, const QString &ep) {
        PhaseEnergyRecord r;
        r.domain = rd.str(e, u"domain"_s, ep);
        r.kind = rd.kind(e, ep);
        r.grossJ = rd.real(e, u"grossJ"_s, ep);
        r.netJ = rd.real(e, u"netJ"_s, ep);
        r.avgPowerW = rd.real(e, u"avgPowerW"_s, ep);
        p.energy.append(r);
    });
    return p;
}

RunDump runFrom(Reader &rd, const QJsonObject &o, const QString &path)
{
    RunDump d;
    RunRecord &r = d.run;
    r.id = rd.integer(o, u"id"_s, path);
    r.key.variant = rd.str(o, u"variant"_s, path);
    r.key.chainJson = rd.text(o, u"chain"_s, path);
    r.key.backend = rd.str(o, u"backend"_s, path);
    r.key.repetition = int(rd.integer(o, u"repetition"_s, path));
    r.key.configKey = rd.str(o, u"configKey"_s, path);
    r.configJson = rd.text(o, u"config"_s, path);
    r.envJson = rd.text(o, u"environment"_s, path);
    const QString status = rd.str(o, u"status"_s, path);
    const std::optional<RunStatus> st = runStatusFromName(status);
    if (!st && rd.ok())
        rd.fail(
            path + u".status"_s,
            u"'%1' is not one of running, completed, failed, cancelled, interrupted"_s.arg(status));
    r.status = st.value_or(RunStatus::Interrupted);
    for (const QJsonValue &f : rd.array(o, u"flags"_s, path))
        r.flags.append(f.toString());
    r.error = rd.str(o, u"error"_s, path);
    r.started = rd.str(o, u"started"_s, path);
    r.ended = rd.str(o, u"ended"_s, path);
    const QJsonObject owner = rd.object(rd.value(o, u"owner"_s, path), path + u".owner"_s);
    if (rd.ok()) {
        r.owner.pid = rd.integer(owner, u"pid"_s, path + u".owner"_s);
        r.owner.host = rd.str(owner, u"host"_s, path + u".owner"_s);
        r.owner.token = rd.str(owner, u"token"_s, path + u".owner"_s);
    }

    rd.objects(o, u"domains"_s, path, [&](const QJsonObject &x, const QString &p) {
        RunDomain dom;
        dom.name = rd.str(x, u"name"_s, p);
        dom.kind = rd.kind(x, p);
        dom.meterId = rd.str(x, u"meterId"_s, p);
        d.domains.append(dom);
    });
    rd.objects(o, u"phases"_s, path, [&](const QJsonObject &x, const QString &p) {
        d.phases.append(phaseFrom(rd, x, p));
    });
    rd.objects(o, u"metrics"_s, path, [&](const QJsonObject &x, const QString &p) {
        MetricRecord m;
        m.phase = rd.str(x, u"phase"_s, p);
        m.name = rd.str(x, u"name"_s, p);
        m.value = rd.real(x, u"value"_s, p);
        m.unit = rd.str(x, u"unit"_s, p);
        m.kind = rd.kind(x, p);
        if (!std::isfinite(m.value) && rd.ok())
            rd.fail(p + u".value"_s, u"a metric needs a number"_s);
        d.metrics.append(m);
    });
    rd.objects(o, u"totals"_s, path, [&](const QJsonObject &x, const QString &p) {
        RunEnergyRecord t;
        t.domain = rd.str(x, u"domain"_s, p);
        t.kind = rd.kind(x, p);
        t.meterId = rd.str(x, u"meterId"_s, p);
        t.samples = rd.integer(x, u"samples"_s, p);
        t.joules = rd.real(x, u"joules"_s, p);
        t.durationS = rd.real(x, u"durationS"_s, p);
        t.avgPowerW = rd.real(x, u"avgPowerW"_s, p);
        t.peakPowerW = rd.real(x, u"peakPowerW"_s, p);
        d.totals.append(t);
    });
    rd.objects(o, u"artifacts"_s, path, [&](const QJsonObject &x, const QString &p) {
        ArtifactRecord a;
        a.kind = rd.str(x, u"kind"_s, p);
        a.path = rd.str(x, u"path"_s, p);
        a.sha256 = rd.str(x, u"sha256"_s, p);
        a.bytes = rd.integer(x, u"bytes"_s, p);
        a.created = rd.str(x, u"created"_s, p);
        d.artifacts.append(a);
    });
    rd.objects(o, u"logs"_s, path, [&](const QJsonObject &x, const QString &p) {
        TechniqueLogRecord l;
        l.plugin = rd.str(x, u"plugin"_s, p);
        l.message = rd.str(x, u"message"_s, p);
        l.json = rd.text(x, u"json"_s, p);
        l.created = rd.str(x, u"created"_s, p);
        d.logs.append(l);
    });
    if (o.contains(u"samples"_s)) {
        const QJsonObject samples = rd.object(o.value(u"samples"_s), path + u".samples"_s);
        for (auto it = samples.constBegin(); it != samples.constEnd() && rd.ok(); ++it) {
            const QString p = path + u".samples."_s + it.key();
            QList<EnergySample> series;
            const QJsonArray a = it.value().toArray();
            series.reserve(a.size());
            for (qsizetype i = 0; i < a.size(); ++i) {
                const QJsonArray pair = a.at(i).toArray();
                if (pair.size() != 2 || !pair.at(0).isDouble() || !pair.at(1).isDouble()) {
                    rd.fail(p + u"[%1]"_s.arg(i), u"expected [seconds, joules]"_s);
                    break;
                }
                series.append({pair.at(0).toDouble(), pair.at(1).toDouble()});
            }
            d.samples.insert(it.key(), series);
        }
    }
    return d;
}

} // namespace

QJsonObject experimentDumpToJson(const ExperimentDump &dump)
{
    const ExperimentRecord &e = dump.experiment;
    QJsonArray runs;
    for (const RunDump &r : dump.runs)
        runs.append(runJson(r, dump.withSamples));
    return {{u"format"_s, experimentJsonFormat()},
            {u"formatVersion"_s, ExperimentJsonVersion},
            {u"withSamples"_s, dump.withSamples},
            {u"experiment"_s, QJsonObject{{u"id"_s, e.id},
                                          {u"name"_s, e.name},
                                          {u"planHash"_s, e.planHash},
                                          {u"created"_s, e.created},
                                          {u"plan"_s, jsonText(e.planJson)}}},
            {u"runs"_s, runs}};
}

std::optional<ExperimentDump> experimentDumpFromJson(const QJsonObject &json, const QString &source,
                                                     QString *error)
{
    Reader rd(source);
    const auto failed = [&]() -> std::optional<ExperimentDump> {
        if (error)
            *error = rd.error();
        return std::nullopt;
    };
    if (json.value(u"format"_s).toString() != experimentJsonFormat()) {
        rd.fail(u"format"_s, u"is not \"%1\"; this is not a JouleBench experiment export "
                             "(write one with joulebench-cli export --format json)"_s.arg(
                                 experimentJsonFormat()));
        return failed();
    }
    const qint64 version = rd.integer(json, u"formatVersion"_s, QString());
    if (rd.ok() && (version < 1 || version > ExperimentJsonVersion))
        rd.fail(u"formatVersion"_s,
                u"version %1 is not known to this build (it reads 1 to %2); update JouleBench"_s
                    .arg(version)
                    .arg(ExperimentJsonVersion));
    if (!rd.ok())
        return failed();
    ExperimentDump dump;
    dump.withSamples = json.value(u"withSamples"_s).toBool();
    const QJsonObject e = rd.object(rd.value(json, u"experiment"_s, QString()), u"experiment"_s);
    if (!rd.ok())
        return failed();
    dump.experiment.id = rd.integer(e, u"id"_s, u"experiment"_s);
    dump.experiment.name = rd.str(e, u"name"_s, u"experiment"_s);
    dump.experiment.planHash = rd.str(e, u"planHash"_s, u"experiment"_s);
    dump.experiment.created = rd.str(e, u"created"_s, u"experiment"_s);
    dump.experiment.planJson = rd.text(e, u"plan"_s, u"experiment"_s);
    if (rd.ok() && dump.experiment.planHash.isEmpty())
        rd.fail(u"experiment.planHash"_s, u"is empty"_s);
    rd.objects(json, u"runs"_s, QString(), [&](const QJsonObject &r, const QString &p) {
        dump.runs.append(runFrom(rd, r, p));
    });
    if (!rd.ok())
        return failed();
    return dump;
}

} // namespace jb::db
