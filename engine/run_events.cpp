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

    // The reader's side of the field lists below (visitEvent()): each reads one required field
    // into the member of its type.
    void field(const QString &key, QString &v) { v = string(key); }
    void field(const QString &key, double &v) { v = real(key); }
    void field(const QString &key, qint64 &v) { v = integer(key); }
    void field(const QString &key, int &v) { v = smallInt(key); }
    void field(const QString &key, bool &v) { v = boolean(key); }
    void field(const QString &key, QStringList &v) { v = strings(key); }
    void field(const QString &key, MeterKind &v) { v = kind(key); }
    // A run id that only some lines carry (log): 0 when absent.
    void optionalId(const QString &key, qint64 &v) { v = integer(key, false); }
    // A member the line does not carry (a sample's net energy): NaN.
    void absent(double &v) { v = kNaN; }
    // Checks a phase event's state; true for "end" (whose line carries the phase's figures).
    bool phaseEnded(const QString &state)
    {
        if (ok() && state != u"begin"_s && state != u"end"_s)
            fail(u"%1state: \"%2\" is not a phase state, expected \"begin\" or \"end\""_s.arg(
                m_prefix, state.left(40)));
        return ok() && state == u"end"_s;
    }
    // Reads each object of the required array `key` into a new item with visit(Fields &, T &).
    template <typename T, typename F> void list(const QString &key, QList<T> &items, F visit)
    {
        objects(key, true, [&](Fields &item) {
            T value;
            visit(item, value);
            items.append(value);
        });
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

// The writer's side of the field lists below: the same calls as Fields, writing into a JSON
// object (runEventToJson()).
class FieldWriter
{
public:
    explicit FieldWriter(QJsonObject &o) : m_o(o) {}

    void field(const QString &key, const QString &v) { m_o.insert(key, v); }
    void field(const QString &key, double v) { m_o.insert(key, number(v)); }
    void field(const QString &key, qint64 v) { m_o.insert(key, v); }
    void field(const QString &key, int v) { m_o.insert(key, v); }
    void field(const QString &key, bool v) { m_o.insert(key, v); }
    void field(const QString &key, const QStringList &v)
    {
        m_o.insert(key, QJsonArray::fromStringList(v));
    }
    void field(const QString &key, MeterKind v) { m_o.insert(key, meterKindName(v)); }
    void optionalId(const QString &key, qint64 v)
    {
        if (v != 0)
            m_o.insert(key, v);
    }
    void absent(double) {}
    bool phaseEnded(const QString &state) const { return state == u"end"_s; }
    template <typename T, typename F> void list(const QString &key, const QList<T> &items, F visit)
    {
        QJsonArray a;
        for (const T &value : items) {
            QJsonObject o;
            FieldWriter item(o);
            visit(item, value);
            a.append(o);
        }
        m_o.insert(key, a);
    }

private:
    QJsonObject &m_o;
};

// The fields of each line, in the order the parser checks them (its first problem is the one
// reported). runEventToJson() visits them with a FieldWriter and a const event, parseRunEvent()
// with Fields, so the writer and the reader cannot drift apart.
template <typename V, typename D> void visitDomain(V &v, D &d)
{
    v.field(u"meter"_s, d.meter);
    v.field(u"domain"_s, d.domain);
    v.field(u"kind"_s, d.kind);
    v.field(u"method"_s, d.method);
    v.field(u"part_of"_s, d.partOf);
}

// `sample`: cumulative energy only ("energy_j"); otherwise a phase's gross and net energy.
template <typename V, typename E> void visitEnergy(V &v, E &x, bool sample)
{
    v.field(u"domain"_s, x.domain);
    v.field(u"kind"_s, x.kind);
    v.field(u"power_w"_s, x.powerW);
    if (sample) {
        v.field(u"energy_j"_s, x.grossJ);
        v.absent(x.netJ);
    } else {
        v.field(u"gross_j"_s, x.grossJ);
        v.field(u"net_j"_s, x.netJ);
    }
}

template <typename V, typename E> void visitEnergyList(V &v, E &e, bool sample)
{
    v.list(u"energy"_s, e.energy, [sample](auto &item, auto &x) { visitEnergy(item, x, sample); });
}

// Every field but "event" (the type, read first to choose the fields).
template <typename V, typename E> void visitEvent(V &v, E &e)
{
    v.field(u"t"_s, e.t);
    switch (e.type) {
    case RunEventType::ExperimentStarted:
        v.field(u"experiment"_s, e.experimentId);
        v.field(u"name"_s, e.name);
        v.field(u"plan_hash"_s, e.planHash);
        v.field(u"database"_s, e.database);
        v.field(u"shard"_s, e.shard);
        v.field(u"resumed"_s, e.resumed);
        v.field(u"runs_total"_s, e.runsTotal);
        v.field(u"runs_to_run"_s, e.runsToRun);
        v.field(u"runs_skipped"_s, e.runsSkipped);
        v.field(u"estimate_only"_s, e.estimateOnly);
        v.list(u"domains"_s, e.domains, [](auto &item, auto &d) { visitDomain(item, d); });
        v.field(u"warnings"_s, e.warnings);
        break;
    case RunEventType::RunStarted:
        v.field(u"experiment"_s, e.experimentId);
        v.field(u"run"_s, e.runId);
        v.field(u"position"_s, e.position);
        v.field(u"runs_to_run"_s, e.runsToRun);
        v.field(u"grid_index"_s, e.gridIndex);
        v.field(u"variant"_s, e.variant);
        v.field(u"backend"_s, e.backend);
        v.field(u"repetition"_s, e.repetition);
        v.field(u"config_key"_s, e.configKey);
        v.field(u"baseline"_s, e.baseline);
        break;
    case RunEventType::Phase:
        v.field(u"run"_s, e.runId);
        v.field(u"phase"_s, e.phase);
        v.field(u"state"_s, e.state);
        v.field(u"run_t"_s, e.runT);
        if (v.phaseEnded(e.state)) {
            v.field(u"duration_s"_s, e.durationS);
            v.field(u"reused"_s, e.reused);
            visitEnergyList(v, e, false);
        }
        break;
    case RunEventType::Sample:
        v.field(u"run"_s, e.runId);
        v.field(u"run_t"_s, e.runT);
        visitEnergyList(v, e, true);
        break;
    case RunEventType::Progress:
        v.field(u"run"_s, e.runId);
        v.field(u"phase"_s, e.phase);
        v.field(u"fraction"_s, e.fraction);
        v.field(u"overall"_s, e.overall);
        v.field(u"what"_s, e.what);
        break;
    case RunEventType::Log:
        v.field(u"level"_s, e.level);
        v.field(u"message"_s, e.message);
        v.optionalId(u"run"_s, e.runId);
        break;
    case RunEventType::RunFinished:
        v.field(u"run"_s, e.runId);
        v.field(u"status"_s, e.status);
        v.field(u"flags"_s, e.flags);
        v.field(u"error"_s, e.error);
        v.field(u"duration_s"_s, e.durationS);
        break;
    case RunEventType::ExperimentFinished:
        v.field(u"experiment"_s, e.experimentId);
        v.field(u"status"_s, e.status);
        v.field(u"completed"_s, e.completed);
        v.field(u"failed"_s, e.failed);
        v.field(u"cancelled"_s, e.cancelled);
        v.field(u"runs_skipped"_s, e.runsSkipped);
        v.field(u"duration_s"_s, e.durationS);
        break;
    }
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
    QJsonObject o{{u"event"_s, runEventTypeName(e.type)}};
    FieldWriter writer(o);
    visitEvent(writer, e);
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
    visitEvent(f, e);
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
