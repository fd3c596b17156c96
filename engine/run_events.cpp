// SPDX-License-Identifier: GPL-3.0-or-later
#include "run_events.h"

#include "measurement/sampler.h"

#include <QFileDevice>
#include <QIODevice>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>

#include <chrono>
#include <cmath>
#include <limits>
#include <utility>

using namespace Qt::StringLiterals;

namespace jb {

namespace {

constexpr qsizetype kMaxLineBytes = 16 * 1024 * 1024;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct TypeName
{
    RunEventType type;
    const char *name;
};
constexpr TypeName kTypeNames[] = {
    {RunEventType::ExperimentStarted, "experiment-started"},
    {RunEventType::RunStarted, "run-started"},
    {RunEventType::Phase, "phase"},
    {RunEventType::Sample, "sample"},
    {RunEventType::Progress, "progress"},
    {RunEventType::Log, "log"},
    {RunEventType::RunFinished, "run-finished"},
    {RunEventType::ExperimentFinished, "experiment-finished"},
};

QJsonValue number(double v)
{
    return std::isfinite(v) ? QJsonValue(v) : QJsonValue(QJsonValue::Null);
}

bool sameDouble(double a, double b)
{
    return a == b || (std::isnan(a) && std::isnan(b));
}

// Reads typed fields of one JSON object and remembers the first problem.
class Fields
{
public:
    Fields(const QJsonObject &o, QString prefix) : m_o(o), m_prefix(std::move(prefix)) {}

    bool ok() const { return m_error.isEmpty(); }
    QString error() const { return m_error; }

    QString string(const QString &key, bool required = true)
    {
        const QJsonValue v = m_o.value(key);
        if (v.isUndefined())
            return missing(key, required, u"a string"_s), QString();
        if (!v.isString())
            return wrong(key, u"a string"_s), QString();
        return v.toString();
    }
    double real(const QString &key, bool required = true)
    {
        const QJsonValue v = m_o.value(key);
        if (v.isUndefined())
            return missing(key, required, u"a number"_s), kNaN;
        if (v.isNull())
            return kNaN; // the writer's spelling of "unknown" (non-finite)
        if (!v.isDouble())
            return wrong(key, u"a number or null"_s), kNaN;
        return v.toDouble();
    }
    qint64 integer(const QString &key, bool required = true)
    {
        const QJsonValue v = m_o.value(key);
        if (v.isUndefined())
            return missing(key, required, u"an integer"_s), 0;
        const double d = v.toDouble(kNaN);
        // |d| < 2^53: exactly representable, and safely convertible.
        if (!v.isDouble() || !std::isfinite(d) || std::floor(d) != d || std::fabs(d) > 9.0e15)
            return wrong(key, u"an integer"_s), 0;
        return static_cast<qint64>(d);
    }
    int smallInt(const QString &key, bool required = true)
    {
        const qint64 v = integer(key, required);
        if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
            wrong(key, u"an integer in the 32-bit range"_s);
            return 0;
        }
        return static_cast<int>(v);
    }
    bool boolean(const QString &key, bool required = true)
    {
        const QJsonValue v = m_o.value(key);
        if (v.isUndefined())
            return missing(key, required, u"true or false"_s), false;
        if (!v.isBool())
            return wrong(key, u"true or false"_s), false;
        return v.toBool();
    }
    QStringList strings(const QString &key, bool required = true)
    {
        const QJsonValue v = m_o.value(key);
        if (v.isUndefined())
            return missing(key, required, u"an array of strings"_s), QStringList();
        if (!v.isArray())
            return wrong(key, u"an array of strings"_s), QStringList();
        QStringList out;
        const QJsonArray a = v.toArray();
        for (qsizetype i = 0; i < a.size(); ++i) {
            if (!a.at(i).isString()) {
                fail(u"%1%2[%3]: expected a string"_s.arg(m_prefix, key).arg(i));
                return {};
            }
            out.append(a.at(i).toString());
        }
        return out;
    }
    // Calls fn(Fields &item) for each object of an array.
    template <typename F> void objects(const QString &key, bool required, F fn)
    {
        const QJsonValue v = m_o.value(key);
        if (v.isUndefined())
            return missing(key, required, u"an array of objects"_s);
        if (!v.isArray())
            return wrong(key, u"an array of objects"_s);
        const QJsonArray a = v.toArray();
        for (qsizetype i = 0; i < a.size() && ok(); ++i) {
            const QString where = u"%1%2[%3]"_s.arg(m_prefix, key).arg(i);
            if (!a.at(i).isObject()) {
                fail(where + u": expected an object"_s);
                return;
            }
            Fields item(a.at(i).toObject(), where + u'.');
            fn(item);
            if (!item.ok())
                fail(item.error());
        }
    }
    MeterKind kind(const QString &key)
    {
        const QString k = string(key);
        if (!ok())
            return MeterKind::Measured;
        if (k == meterKindName(MeterKind::Measured))
            return MeterKind::Measured;
        if (k == meterKindName(MeterKind::Estimate))
            return MeterKind::Estimate;
        fail(u"%1%2: \"%3\" is not a kind, expected \"measured\" or \"estimate\""_s.arg(
            m_prefix, key, k.left(40)));
        return MeterKind::Measured;
    }
    void fail(const QString &message)
    {
        if (m_error.isEmpty())
            m_error = message;
    }

private:
    void missing(const QString &key, bool required, const QString &expected)
    {
        if (required)
            fail(u"%1%2: missing, expected %3"_s.arg(m_prefix, key, expected));
    }
    void wrong(const QString &key, const QString &expected)
    {
        fail(u"%1%2: expected %3"_s.arg(m_prefix, key, expected));
    }

    QJsonObject m_o;
    QString m_prefix;
    QString m_error;
};

QJsonArray energyArray(const QList<EventEnergy> &energy, bool sample)
{
    QJsonArray a;
    for (const EventEnergy &e : energy) {
        QJsonObject o{{u"domain"_s, e.domain},
                      {u"kind"_s, meterKindName(e.kind)},
                      {u"power_w"_s, number(e.powerW)}};
        if (sample) {
            o.insert(u"energy_j"_s, number(e.grossJ));
        } else {
            o.insert(u"gross_j"_s, number(e.grossJ));
            o.insert(u"net_j"_s, number(e.netJ));
        }
        a.append(o);
    }
    return a;
}

QList<EventEnergy> readEnergy(Fields &f, bool sample)
{
    QList<EventEnergy> out;
    f.objects(u"energy"_s, true, [&](Fields &item) {
        EventEnergy e;
        e.domain = item.string(u"domain"_s);
        e.kind = item.kind(u"kind"_s);
        e.powerW = item.real(u"power_w"_s);
        if (sample) {
            e.grossJ = item.real(u"energy_j"_s);
            e.netJ = kNaN;
        } else {
            e.grossJ = item.real(u"gross_j"_s);
            e.netJ = item.real(u"net_j"_s);
        }
        out.append(e);
    });
    return out;
}

} // namespace

bool EventEnergy::operator==(const EventEnergy &o) const
{
    return domain == o.domain && kind == o.kind && sameDouble(grossJ, o.grossJ) &&
           sameDouble(netJ, o.netJ) && sameDouble(powerW, o.powerW);
}

bool RunEvent::operator==(const RunEvent &o) const
{
    // Two events are equal when they say the same thing: the same line.
    return runEventToJson(*this) == runEventToJson(o);
}

QString runEventTypeName(RunEventType type)
{
    for (const TypeName &t : kTypeNames)
        if (t.type == type)
            return QString::fromLatin1(t.name);
    return {};
}

std::optional<RunEventType> runEventTypeFromName(QStringView name)
{
    for (const TypeName &t : kTypeNames)
        if (name == QLatin1StringView(t.name))
            return t.type;
    return std::nullopt;
}

QByteArray runEventToJson(const RunEvent &e)
{
    QJsonObject o{{u"event"_s, runEventTypeName(e.type)}, {u"t"_s, number(e.t)}};
    switch (e.type) {
    case RunEventType::ExperimentStarted: {
        QJsonArray domains;
        for (const EventDomain &d : e.domains)
            domains.append(QJsonObject{{u"meter"_s, d.meter},
                                       {u"domain"_s, d.domain},
                                       {u"kind"_s, meterKindName(d.kind)},
                                       {u"method"_s, d.method},
                                       {u"part_of"_s, d.partOf}});
        o.insert(u"experiment"_s, e.experimentId);
        o.insert(u"name"_s, e.name);
        o.insert(u"plan_hash"_s, e.planHash);
        o.insert(u"database"_s, e.database);
        o.insert(u"shard"_s, e.shard);
        o.insert(u"resumed"_s, e.resumed);
        o.insert(u"runs_total"_s, e.runsTotal);
        o.insert(u"runs_to_run"_s, e.runsToRun);
        o.insert(u"runs_skipped"_s, e.runsSkipped);
        o.insert(u"estimate_only"_s, e.estimateOnly);
        o.insert(u"domains"_s, domains);
        o.insert(u"warnings"_s, QJsonArray::fromStringList(e.warnings));
        break;
    }
    case RunEventType::RunStarted:
        o.insert(u"experiment"_s, e.experimentId);
        o.insert(u"run"_s, e.runId);
        o.insert(u"position"_s, e.position);
        o.insert(u"runs_to_run"_s, e.runsToRun);
        o.insert(u"grid_index"_s, e.gridIndex);
        o.insert(u"variant"_s, e.variant);
        o.insert(u"backend"_s, e.backend);
        o.insert(u"repetition"_s, e.repetition);
        o.insert(u"config_key"_s, e.configKey);
        o.insert(u"baseline"_s, e.baseline);
        break;
    case RunEventType::Phase:
        o.insert(u"run"_s, e.runId);
        o.insert(u"phase"_s, e.phase);
        o.insert(u"state"_s, e.state);
        o.insert(u"run_t"_s, number(e.runT));
        if (e.state == u"end"_s) {
            o.insert(u"duration_s"_s, number(e.durationS));
            o.insert(u"reused"_s, e.reused);
            o.insert(u"energy"_s, energyArray(e.energy, false));
        }
        break;
    case RunEventType::Sample:
        o.insert(u"run"_s, e.runId);
        o.insert(u"run_t"_s, number(e.runT));
        o.insert(u"energy"_s, energyArray(e.energy, true));
        break;
    case RunEventType::Progress:
        o.insert(u"run"_s, e.runId);
        o.insert(u"phase"_s, e.phase);
        o.insert(u"fraction"_s, number(e.fraction));
        o.insert(u"overall"_s, number(e.overall));
        o.insert(u"what"_s, e.what);
        break;
    case RunEventType::Log:
        o.insert(u"level"_s, e.level);
        o.insert(u"message"_s, e.message);
        if (e.runId != 0)
            o.insert(u"run"_s, e.runId);
        break;
    case RunEventType::RunFinished:
        o.insert(u"run"_s, e.runId);
        o.insert(u"status"_s, e.status);
        o.insert(u"flags"_s, QJsonArray::fromStringList(e.flags));
        o.insert(u"error"_s, e.error);
        o.insert(u"duration_s"_s, number(e.durationS));
        break;
    case RunEventType::ExperimentFinished:
        o.insert(u"experiment"_s, e.experimentId);
        o.insert(u"status"_s, e.status);
        o.insert(u"completed"_s, e.completed);
        o.insert(u"failed"_s, e.failed);
        o.insert(u"cancelled"_s, e.cancelled);
        o.insert(u"runs_skipped"_s, e.runsSkipped);
        o.insert(u"duration_s"_s, number(e.durationS));
        break;
    }
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

std::optional<RunEvent> parseRunEvent(QByteArrayView line, QString *error)
{
    auto fail = [&](const QString &message) -> std::optional<RunEvent> {
        if (error)
            *error = message;
        return std::nullopt;
    };
    while (!line.isEmpty() && (line.back() == '\n' || line.back() == '\r'))
        line.chop(1);
    if (line.isEmpty())
        return fail(u"empty line, expected a JSON object"_s);
    if (line.size() > kMaxLineBytes)
        return fail(u"line of %1 bytes is longer than the limit of %2"_s.arg(line.size())
                        .arg(kMaxLineBytes));
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(line.toByteArray(), &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return fail(u"invalid JSON at offset %1: %2"_s.arg(parseError.offset)
                        .arg(parseError.errorString()));
    if (!doc.isObject())
        return fail(u"expected a JSON object with an \"event\" field"_s);
    const QJsonObject o = doc.object();
    Fields f(o, QString());
    const QString name = f.string(u"event"_s);
    if (!f.ok())
        return fail(f.error());
    const std::optional<RunEventType> type = runEventTypeFromName(name);
    if (!type)
        return fail(u"event: \"%1\" is not a known event"_s.arg(name.left(60)));

    RunEvent e;
    e.type = *type;
    e.t = f.real(u"t"_s);
    switch (e.type) {
    case RunEventType::ExperimentStarted:
        e.experimentId = f.integer(u"experiment"_s);
        e.name = f.string(u"name"_s);
        e.planHash = f.string(u"plan_hash"_s);
        e.database = f.string(u"database"_s);
        e.shard = f.string(u"shard"_s);
        e.resumed = f.boolean(u"resumed"_s);
        e.runsTotal = f.smallInt(u"runs_total"_s);
        e.runsToRun = f.smallInt(u"runs_to_run"_s);
        e.runsSkipped = f.smallInt(u"runs_skipped"_s);
        e.estimateOnly = f.boolean(u"estimate_only"_s);
        f.objects(u"domains"_s, true, [&](Fields &item) {
            EventDomain d;
            d.meter = item.string(u"meter"_s);
            d.domain = item.string(u"domain"_s);
            d.kind = item.kind(u"kind"_s);
            d.method = item.string(u"method"_s);
            d.partOf = item.string(u"part_of"_s);
            e.domains.append(d);
        });
        e.warnings = f.strings(u"warnings"_s);
        break;
    case RunEventType::RunStarted:
        e.experimentId = f.integer(u"experiment"_s);
        e.runId = f.integer(u"run"_s);
        e.position = f.smallInt(u"position"_s);
        e.runsToRun = f.smallInt(u"runs_to_run"_s);
        e.gridIndex = f.smallInt(u"grid_index"_s);
        e.variant = f.string(u"variant"_s);
        e.backend = f.string(u"backend"_s);
        e.repetition = f.smallInt(u"repetition"_s);
        e.configKey = f.string(u"config_key"_s);
        e.baseline = f.boolean(u"baseline"_s);
        break;
    case RunEventType::Phase:
        e.runId = f.integer(u"run"_s);
        e.phase = f.string(u"phase"_s);
        e.state = f.string(u"state"_s);
        e.runT = f.real(u"run_t"_s);
        if (f.ok() && e.state != u"begin"_s && e.state != u"end"_s)
            f.fail(u"state: \"%1\" is not a phase state, expected \"begin\" or \"end\""_s.arg(
                e.state.left(40)));
        if (f.ok() && e.state == u"end"_s) {
            e.durationS = f.real(u"duration_s"_s);
            e.reused = f.boolean(u"reused"_s);
            e.energy = readEnergy(f, false);
        }
        break;
    case RunEventType::Sample:
        e.runId = f.integer(u"run"_s);
        e.runT = f.real(u"run_t"_s);
        e.energy = readEnergy(f, true);
        break;
    case RunEventType::Progress:
        e.runId = f.integer(u"run"_s);
        e.phase = f.string(u"phase"_s);
        e.fraction = f.real(u"fraction"_s);
        e.overall = f.real(u"overall"_s);
        e.what = f.string(u"what"_s);
        break;
    case RunEventType::Log:
        e.level = f.string(u"level"_s);
        e.message = f.string(u"message"_s);
        e.runId = f.integer(u"run"_s, false);
        break;
    case RunEventType::RunFinished:
        e.runId = f.integer(u"run"_s);
        e.status = f.string(u"status"_s);
        e.flags = f.strings(u"flags"_s);
        e.error = f.string(u"error"_s);
        e.durationS = f.real(u"duration_s"_s);
        break;
    case RunEventType::ExperimentFinished:
        e.experimentId = f.integer(u"experiment"_s);
        e.status = f.string(u"status"_s);
        e.completed = f.smallInt(u"completed"_s);
        e.failed = f.smallInt(u"failed"_s);
        e.cancelled = f.smallInt(u"cancelled"_s);
        e.runsSkipped = f.smallInt(u"runs_skipped"_s);
        e.durationS = f.real(u"duration_s"_s);
        break;
    }
    if (!f.ok())
        return fail(u"%1 event: %2"_s.arg(name, f.error()));
    return e;
}

// --- JsonlEventWriter ---------------------------------------------------------------------------

JsonlEventWriter::JsonlEventWriter(QIODevice *device) : m_device(device) {}

void JsonlEventWriter::event(const RunEvent &event)
{
    QByteArray line = runEventToJson(event);
    line.append('\n');
    std::lock_guard lock(m_mutex);
    if (!m_ok || !m_device)
        return;
    if (m_device->write(line) != line.size())
        m_ok = false;
    // QFile on stdout buffers; a reader must see each event when it happens.
    if (auto *file = qobject_cast<QFileDevice *>(m_device))
        file->flush();
}

bool JsonlEventWriter::ok() const
{
    std::lock_guard lock(m_mutex);
    return m_ok;
}

// --- SampleStream -------------------------------------------------------------------------------

SampleStream::SampleStream(Sampler &sampler, QStringList names, QList<MeterKind> kinds,
                           qint64 runId, std::function<void(const RunEvent &)> emit,
                           double intervalS, bool emitEvents)
    : m_sampler(sampler), m_names(std::move(names)), m_kinds(std::move(kinds)), m_runId(runId),
      m_emit(std::move(emit)), m_intervalS(intervalS > 0 ? intervalS : 0.25),
      m_emitEvents(emitEvents && m_emit)
{
}

SampleStream::~SampleStream()
{
    stop();
}

void SampleStream::start()
{
    m_stop = false;
    m_thread = std::thread([this] { loop(); });
}

void SampleStream::stop()
{
    if (m_thread.joinable()) {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_wake.notify_all();
        m_thread.join();
    }
    const QList<SampleRow> rest = m_sampler.takeNewSamples();
    std::lock_guard lock(m_mutex);
    m_rows.append(rest);
}

QList<SampleRow> SampleStream::takeRows()
{
    std::lock_guard lock(m_mutex);
    return std::exchange(m_rows, {});
}

void SampleStream::loop()
{
    std::optional<SampleRow> previous;
    std::unique_lock lock(m_mutex);
    while (!m_stop) {
        m_wake.wait_for(lock, std::chrono::duration<double>(m_intervalS));
        lock.unlock();
        const QList<SampleRow> rows = m_sampler.takeNewSamples();
        lock.lock();
        if (rows.isEmpty())
            continue;
        m_rows.append(rows);
        if (!m_emitEvents)
            continue;
        const SampleRow &last = rows.last();
        const SampleRow first = previous ? *previous : rows.first();
        previous = last;
        const double dt = last.timeS - first.timeS;
        if (!(dt > 0))
            continue;
        RunEvent e;
        e.type = RunEventType::Sample;
        e.runId = m_runId;
        e.runT = last.timeS;
        for (qsizetype c = 0; c < last.joules.size() && c < m_names.size(); ++c)
            e.energy.append({m_names.at(c), m_kinds.value(c), last.joules.at(c), kNaN,
                             (last.joules.at(c) - first.joules.value(c)) / dt});
        lock.unlock(); // the sink may block on its own output
        m_emit(e);
        lock.lock();
    }
}

// --- RunEventReader -----------------------------------------------------------------------------

QList<RunEvent> RunEventReader::feed(QByteArrayView bytes)
{
    QList<RunEvent> out;
    m_pending.append(bytes.data(), bytes.size());
    qsizetype start = 0;
    for (;;) {
        const qsizetype nl = m_pending.indexOf('\n', start);
        if (nl < 0)
            break;
        parseLine(QByteArrayView(m_pending).sliced(start, nl - start), &out);
        start = nl + 1;
    }
    m_pending.remove(0, start);
    return out;
}

QList<RunEvent> RunEventReader::finish()
{
    QList<RunEvent> out;
    if (!m_pending.trimmed().isEmpty())
        parseLine(m_pending, &out);
    m_pending.clear();
    return out;
}

void RunEventReader::parseLine(QByteArrayView line, QList<RunEvent> *out)
{
    ++m_lineNumber;
    if (line.trimmed().isEmpty())
        return;
    QString error;
    if (std::optional<RunEvent> e = parseRunEvent(line, &error)) {
        out->append(std::move(*e));
        return;
    }
    ++m_badLines;
    if (m_errors.size() < 100)
        m_errors.append(u"line %1: %2"_s.arg(m_lineNumber).arg(error));
}

} // namespace jb
