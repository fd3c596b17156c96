// SPDX-License-Identifier: GPL-3.0-or-later
#include "codecarbon_csv.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QFileInfo>
#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSet>
#include <QUuid>

#include <cmath>

namespace jb::db::codecarbon {

using namespace Qt::StringLiterals;

namespace {

constexpr double JoulesPerKWh = 3.6e6;
const QString Source = u"codecarbon"_s;

// Fixed namespace for the run_id / experiment_id UUIDs (version 5: same run, same id).
const QUuid IdNamespace(u"3f6f1c2e-9b5a-4d8e-a7c1-52e0b4d9f613"_s);

QString num(double v)
{
    return std::isfinite(v) ? QString::number(v, 'g', QLocale::FloatingPointShortest) : QString();
}

QString csvField(const QString &f)
{
    static const QRegularExpression needsQuotes(u"[,\"\r\n]|^\\s|\\s$"_s);
    if (!f.contains(needsQuotes))
        return f;
    QString q = f;
    q.replace(u'"', u"\"\""_s);
    return u'"' + q + u'"';
}

enum class Part { Cpu, Gpu, Ram, Total, Other };

/// Which CodeCarbon column a stored domain feeds. A "meter:" prefix is ignored.
Part partOf(const QString &domain)
{
    const QString base = domain.mid(domain.lastIndexOf(u':') + 1);
    static const QRegularExpression package(u"^package-\\d+$"_s);
    static const QRegularExpression dram(u"^(package-\\d+/)?dram$"_s);
    static const QRegularExpression gpu(u"^gpu(-\\d+)?$"_s);
    if (base == u"cpu"_s || package.match(base).hasMatch())
        return Part::Cpu;
    if (base == u"ram"_s || dram.match(base).hasMatch())
        return Part::Ram;
    if (gpu.match(base).hasMatch())
        return Part::Gpu;
    if (base == u"total"_s)
        return Part::Total;
    return Part::Other;
}

/// Phases whose energy is the run's own work: not idle windows, not the parts of prepare
/// (the "prepare" record spans them), not a training reused from another run.
QList<PhaseRecord> workPhases(const RunDump &d)
{
    bool reusedTrain = false;
    for (const MetricRecord &m : d.metrics)
        reusedTrain = reusedTrain || (m.phase == u"train"_s && m.name == u"reused_from_run"_s);
    QList<PhaseRecord> out;
    for (const PhaseRecord &p : d.phases) {
        if (p.name == u"idle"_s || p.name == u"baseline"_s || p.name.startsWith(u"prepare:"_s))
            continue;
        if (p.name == u"train"_s && reusedTrain)
            continue;
        out.append(p);
    }
    return out;
}

QString timestampOf(const QString &iso)
{
    QDateTime t = QDateTime::fromString(iso, Qt::ISODateWithMs);
    if (!t.isValid())
        return QString();
    return t.toUTC().toString(u"yyyy-MM-ddTHH:mm:ss"_s);
}

QStringList exportRow(const ExperimentDump &dump, const RunDump &d,
                      const QList<PhaseRecord> &phases, const ExportOptions &o)
{
    const QJsonObject env = QJsonDocument::fromJson(d.run.envJson).object();
    const QJsonObject raw = QJsonDocument::fromJson(d.run.configJson)
                                .object()
                                .value(u"codecarbon"_s)
                                .toObject(); // the row of an imported CodeCarbon run
    double duration = 0;
    // Per part, measured [0] and estimated [1] energy apart: a part with a measured domain
    // ignores estimates of the same hardware (e.g. --meters rapl,estimate), never sums them.
    double sum[4][2] = {};
    bool seen[4][2] = {};
    QStringList names;
    int gpus = 0;
    for (const RunDomain &dom : d.domains)
        gpus += partOf(dom.name) == Part::Gpu ? 1 : 0;
    for (const PhaseRecord &p : phases) {
        duration += p.duration;
        names << p.name;
        for (const PhaseEnergyRecord &e : p.energy) {
            const Part pt = partOf(e.domain);
            if (pt == Part::Other)
                continue;
            const double j = o.netEnergy ? e.netJ : e.grossJ;
            if (!std::isfinite(j))
                continue;
            const int k = e.kind == ValueKind::Measured ? 0 : 1;
            sum[int(pt)][k] += j;
            seen[int(pt)][k] = true;
        }
    }
    double part[4] = {0, 0, 0, 0};
    bool has[4] = {false, false, false, false};
    QSet<ValueKind> kinds;
    for (int i = 0; i < 4; ++i) {
        const int k = seen[i][0] ? 0 : 1;
        has[i] = seen[i][k];
        part[i] = sum[i][k];
        if (has[i])
            kinds.insert(k == 0 ? ValueKind::Measured : ValueKind::Estimate);
    }
    double total = NoValue;
    if (has[int(Part::Total)])
        total = part[int(Part::Total)];
    else if (has[0] || has[1] || has[2])
        total = part[0] + part[1] + part[2];
    const auto kwh = [&](Part p) { return has[int(p)] ? part[int(p)] / JoulesPerKWh : NoValue; };
    const auto watts = [&](Part p) {
        return has[int(p)] && duration > 0 ? part[int(p)] / duration : NoValue;
    };
    const double totalKWh = total / JoulesPerKWh;
    double emissionsKg = NoValue, rate = NoValue;
    if (std::isfinite(o.carbonIntensityGPerKWh) && std::isfinite(totalKWh)) {
        emissionsKg = totalKWh * o.carbonIntensityGPerKWh / 1000.0;
        rate = duration > 0 ? emissionsKg / duration : NoValue;
    }
    QString kind = u"none"_s;
    if (kinds.size() > 1)
        kind = u"mixed"_s;
    else if (kinds.size() == 1)
        kind = valueKindName(*kinds.cbegin());

    const auto rawOr = [&](const char *column, const QString &fallback) {
        const QString key = QString::fromLatin1(column);
        return raw.contains(key) ? raw.value(key).toString() : fallback;
    };
    const auto opt = [&](const QString &given, const char *column) {
        return given.isEmpty() ? rawOr(column, QString()) : given;
    };
    const QString idBase = dump.experiment.planHash + u'/' + d.run.key.configKey + u'/' +
                           QString::number(d.run.key.repetition) +
                           (o.perPhase ? u'/' + names.join(u'+') : QString());
    const QString runId =
        !o.perPhase && raw.contains(u"run_id"_s)
            ? raw.value(u"run_id"_s).toString()
            : QUuid::createUuidV5(IdNamespace, idBase.toUtf8()).toString(QUuid::WithoutBraces);
    const QString experimentId =
        rawOr("experiment_id", QUuid::createUuidV5(IdNamespace, dump.experiment.planHash.toUtf8())
                                   .toString(QUuid::WithoutBraces));
    const QJsonObject cpu = env.value(u"cpu"_s).toObject();
    const double memory = env.value(u"memoryBytes"_s).toDouble(NoValue);

    QHash<QString, QString> v;
    v.insert(u"timestamp"_s, timestampOf(d.run.ended.isEmpty() ? d.run.started : d.run.ended));
    v.insert(u"project_name"_s,
             o.projectName.isEmpty() ? rawOr("project_name", dump.experiment.name) : o.projectName);
    v.insert(u"run_id"_s, runId);
    v.insert(u"experiment_id"_s, experimentId);
    v.insert(u"duration"_s, num(duration));
    v.insert(u"emissions"_s, num(emissionsKg));
    v.insert(u"emissions_rate"_s, num(rate));
    v.insert(u"cpu_power"_s, num(watts(Part::Cpu)));
    v.insert(u"gpu_power"_s, num(watts(Part::Gpu)));
    v.insert(u"ram_power"_s, num(watts(Part::Ram)));
    v.insert(u"cpu_energy"_s, num(kwh(Part::Cpu)));
    v.insert(u"gpu_energy"_s, num(kwh(Part::Gpu)));
    v.insert(u"ram_energy"_s, num(kwh(Part::Ram)));
    v.insert(u"energy_consumed"_s, num(totalKWh));
    v.insert(u"water_consumed"_s, rawOr("water_consumed", QString()));
    v.insert(u"country_name"_s, opt(o.countryName, "country_name"));
    v.insert(u"country_iso_code"_s, opt(o.countryIsoCode, "country_iso_code"));
    v.insert(u"region"_s, opt(o.region, "region"));
    for (const char *c :
         {"cloud_provider", "cloud_region", "python_version", "codecarbon_version", "gpu_model",
          "longitude", "latitude", "cpu_utilization_percent", "gpu_utilization_percent",
          "ram_utilization_percent", "ram_used_gb", "on_cloud", "wue"})
        v.insert(QString::fromLatin1(c), rawOr(c, QString()));
    v.insert(u"os"_s, rawOr("os", env.value(u"os"_s).toString()));
    v.insert(u"cpu_count"_s, rawOr("cpu_count", cpu.contains(u"logicalCpus"_s)
                                                    ? num(cpu.value(u"logicalCpus"_s).toDouble())
                                                    : QString()));
    v.insert(u"cpu_model"_s, rawOr("cpu_model", cpu.value(u"model"_s).toString()));
    v.insert(u"gpu_count"_s, rawOr("gpu_count", gpus > 0 ? QString::number(gpus) : QString()));
    v.insert(u"ram_total_size"_s, rawOr("ram_total_size", std::isfinite(memory) && memory > 0
                                                              ? num(memory / (1024.0 * 1024 * 1024))
                                                              : QString()));
    v.insert(u"tracking_mode"_s, rawOr("tracking_mode", u"machine"_s));
    v.insert(u"pue"_s, rawOr("pue", u"1"_s));

    v.insert(u"joulebench_energy_kind"_s, kind);
    v.insert(u"joulebench_energy_basis"_s, o.netEnergy ? u"net"_s : u"gross"_s);
    v.insert(u"joulebench_experiment"_s, QString::number(dump.experiment.id));
    v.insert(u"joulebench_run"_s, QString::number(d.run.id));
    v.insert(u"joulebench_variant"_s, d.run.key.variant);
    v.insert(u"joulebench_backend"_s, d.run.key.backend);
    v.insert(u"joulebench_repetition"_s, QString::number(d.run.key.repetition));
    v.insert(u"joulebench_status"_s, runStatusName(d.run.status));
    v.insert(u"joulebench_phases"_s, names.join(u'+'));
    v.insert(u"joulebench_flags"_s, d.run.flags.join(u';'));

    QStringList row;
    for (const QString &c : columns() + extraColumns())
        row << v.value(c);
    return row;
}

// --- import -----------------------------------------------------------------------------------

struct Errors
{
    QStringList list;
    int total = 0;
    void add(const QString &message)
    {
        if (++total <= 10)
            list << message;
    }
};

QDateTime parseTimestamp(const QString &text)
{
    const QString t = text.trimmed();
    for (const Qt::DateFormat f : {Qt::ISODateWithMs, Qt::ISODate}) {
        QDateTime d = QDateTime::fromString(t, f);
        if (!d.isValid())
            d = QDateTime::fromString(QString(t).replace(u' ', u'T'), f);
        if (d.isValid()) {
            if (d.timeSpec() == Qt::LocalTime)
                d.setTimeSpec(Qt::UTC); // CodeCarbon writes no zone: taken as UTC
            return d.toUTC();
        }
    }
    return {};
}

} // namespace

QStringList columns()
{
    return {u"timestamp"_s,
            u"project_name"_s,
            u"run_id"_s,
            u"experiment_id"_s,
            u"duration"_s,
            u"emissions"_s,
            u"emissions_rate"_s,
            u"cpu_power"_s,
            u"gpu_power"_s,
            u"ram_power"_s,
            u"cpu_energy"_s,
            u"gpu_energy"_s,
            u"ram_energy"_s,
            u"energy_consumed"_s,
            u"water_consumed"_s,
            u"country_name"_s,
            u"country_iso_code"_s,
            u"region"_s,
            u"cloud_provider"_s,
            u"cloud_region"_s,
            u"os"_s,
            u"python_version"_s,
            u"codecarbon_version"_s,
            u"cpu_count"_s,
            u"cpu_model"_s,
            u"gpu_count"_s,
            u"gpu_model"_s,
            u"longitude"_s,
            u"latitude"_s,
            u"ram_total_size"_s,
            u"tracking_mode"_s,
            u"cpu_utilization_percent"_s,
            u"gpu_utilization_percent"_s,
            u"ram_utilization_percent"_s,
            u"ram_used_gb"_s,
            u"on_cloud"_s,
            u"pue"_s,
            u"wue"_s};
}

QStringList extraColumns()
{
    return {u"joulebench_energy_kind"_s, u"joulebench_energy_basis"_s, u"joulebench_experiment"_s,
            u"joulebench_run"_s,         u"joulebench_variant"_s,      u"joulebench_backend"_s,
            u"joulebench_repetition"_s,  u"joulebench_status"_s,       u"joulebench_phases"_s,
            u"joulebench_flags"_s};
}

QString fileHash(const QByteArray &data)
{
    return QString::fromLatin1(QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex());
}

std::optional<QByteArray> exportCsv(const ExperimentDump &dump, const ExportOptions &o,
                                    QString *error)
{
    if (!std::isnan(o.carbonIntensityGPerKWh) &&
        !(o.carbonIntensityGPerKWh >= 0 && o.carbonIntensityGPerKWh < 1e5)) {
        if (error)
            *error = u"the carbon intensity must be a number of g CO2eq per kWh from 0 to "
                     "100000, got %1"_s.arg(o.carbonIntensityGPerKWh);
        return std::nullopt;
    }
    QList<QStringList> rows;
    for (const RunDump &d : dump.runs) {
        if (!o.allRuns && d.run.status != RunStatus::Completed)
            continue;
        const QList<PhaseRecord> phases = workPhases(d);
        if (o.perPhase) {
            for (const PhaseRecord &p : phases)
                rows << exportRow(dump, d, {p}, o);
        } else {
            rows << exportRow(dump, d, phases, o);
        }
    }
    QString text;
    QStringList header = columns() + extraColumns();
    text += header.join(u',') + u'\n';
    for (const QStringList &r : std::as_const(rows)) {
        QStringList cells;
        for (const QString &c : r)
            cells << csvField(c);
        text += cells.join(u',') + u'\n';
    }
    return text.toUtf8();
}

std::optional<CsvTable> parseCsv(const QByteArray &data, const QString &source, QString *error)
{
    QString text = QString::fromUtf8(data);
    if (text.startsWith(QChar(0xFEFF)))
        text.remove(0, 1);
    CsvTable t;
    QList<QStringList> records;
    QList<int> recordLines;
    QStringList fields;
    QString field;
    bool quoted = false, fieldStarted = false;
    int line = 1, recordLine = 1;
    const auto endField = [&] {
        fields << field;
        field.clear();
        fieldStarted = false;
    };
    const auto endRecord = [&] {
        endField();
        if (!(fields.size() == 1 && fields.first().isEmpty())) { // skip blank lines
            records << fields;
            recordLines << recordLine;
        }
        fields.clear();
    };
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar c = text.at(i);
        if (quoted) {
            if (c == u'"') {
                if (i + 1 < text.size() && text.at(i + 1) == u'"') {
                    field += u'"';
                    ++i;
                } else {
                    quoted = false;
                }
            } else {
                if (c == u'\n')
                    ++line;
                field += c;
            }
            continue;
        }
        if (c == u'"' && !fieldStarted) {
            quoted = true;
            fieldStarted = true;
        } else if (c == u',') {
            endField();
        } else if (c == u'\r' && i + 1 < text.size() && text.at(i + 1) == u'\n') {
            continue;
        } else if (c == u'\n') {
            endRecord();
            ++line;
            recordLine = line;
        } else {
            field += c;
            fieldStarted = true;
        }
    }
    if (quoted) {
        if (error)
            *error = u"%1, line %2: a quoted field is not closed; the file is cut short or "
                     "not a CSV file"_s.arg(source)
                         .arg(recordLine);
        return std::nullopt;
    }
    if (!field.isEmpty() || !fields.isEmpty())
        endRecord();
    if (records.isEmpty()) {
        if (error)
            *error = u"%1 is empty: expected a header line and rows"_s.arg(source);
        return std::nullopt;
    }
    t.header = records.takeFirst();
    recordLines.removeFirst();
    QSet<QString> seen;
    for (qsizetype i = 0; i < t.header.size(); ++i) {
        t.header[i] = t.header.at(i).trimmed();
        const QString &h = t.header.at(i);
        if (h.isEmpty() || seen.contains(h)) {
            if (error)
                *error = u"%1, line 1, column %2: %3 column name; fix the header"_s.arg(source)
                             .arg(i + 1)
                             .arg(h.isEmpty() ? u"empty"_s : u"duplicate '%1'"_s.arg(h));
            return std::nullopt;
        }
        seen.insert(h);
    }
    for (qsizetype r = 0; r < records.size(); ++r) {
        if (records.at(r).size() != t.header.size()) {
            if (error)
                *error = u"%1, line %2: %3 field(s), but the header has %4 columns"_s.arg(source)
                             .arg(recordLines.at(r))
                             .arg(records.at(r).size())
                             .arg(t.header.size());
            return std::nullopt;
        }
    }
    t.rows = records;
    t.lines = recordLines;
    return t;
}

std::optional<ExperimentDump> importCsv(const QByteArray &data, const QString &source,
                                        const ImportOptions &options, QString *error)
{
    const std::optional<CsvTable> table = parseCsv(data, source, error);
    if (!table)
        return std::nullopt;
    Errors errors;
    QHash<QString, int> col;
    for (qsizetype i = 0; i < table->header.size(); ++i)
        col.insert(table->header.at(i), int(i));
    for (const char *required : {"timestamp", "duration", "energy_consumed"})
        if (!col.contains(QString::fromLatin1(required)))
            errors.add(u"%1, line 1: column '%2' is missing; a CodeCarbon emissions.csv has it "
                       "(columns found: %3)"_s.arg(source, QString::fromLatin1(required),
                                                   table->header.join(u", "_s)));
    if (table->rows.isEmpty())
        errors.add(u"%1 has a header but no rows: nothing to import"_s.arg(source));
    if (options.phase.isEmpty())
        errors.add(u"the phase name for the imported energy is empty"_s);
    if (errors.total > 0) {
        if (error)
            *error = errors.list.join(u'\n');
        return std::nullopt;
    }

    const QString hash = fileHash(data);
    const QString absPath = QFileInfo(source).absoluteFilePath();
    ExperimentDump dump;
    dump.experiment.name = options.experimentName.isEmpty()
                               ? u"codecarbon "_s + QFileInfo(source).fileName()
                               : options.experimentName;
    dump.experiment.planHash = u"codecarbon-"_s + hash.left(32);
    dump.experiment.planJson = QJsonDocument(QJsonObject{{u"source"_s, Source},
                                                         {u"file"_s, absPath},
                                                         {u"fileSha256"_s, hash},
                                                         {u"name"_s, dump.experiment.name},
                                                         {u"phase"_s, options.phase}})
                                   .toJson(QJsonDocument::Compact);
    dump.experiment.created = QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs);

    QHash<QString, int> repetitions;
    QHash<QString, QSet<QString>> experimentsOfProject;
    for (const QStringList &row : table->rows)
        experimentsOfProject[col.contains(u"project_name"_s) ? row.at(col.value(u"project_name"_s))
                                                             : QString()]
            .insert(col.contains(u"experiment_id"_s) ? row.at(col.value(u"experiment_id"_s))
                                                     : QString());

    for (qsizetype r = 0; r < table->rows.size(); ++r) {
        const QStringList &row = table->rows.at(r);
        const int line = table->lines.at(r);
        const auto cell = [&](const QString &c) {
            return col.contains(c) ? row.at(col.value(c)).trimmed() : QString();
        };
        // A number: NoValue when empty (or "nan", as pandas may write); required ones error.
        const auto number = [&](const QString &c, bool required) -> double {
            const QString s = cell(c);
            if (s.isEmpty() || s.compare(u"nan"_s, Qt::CaseInsensitive) == 0) {
                if (required)
                    errors.add(u"%1, line %2, column '%3': empty; a number is needed"_s.arg(
                        source, QString::number(line), c));
                return NoValue;
            }
            bool ok = false;
            const double v = s.toDouble(&ok);
            if (!ok || !std::isfinite(v) || v < 0) {
                errors.add(u"%1, line %2, column '%3': '%4' is not a non-negative number"_s.arg(
                    source, QString::number(line), c, s));
                return NoValue;
            }
            return v;
        };
        const QDateTime ts = parseTimestamp(cell(u"timestamp"_s));
        if (!ts.isValid())
            errors.add(
                u"%1, line %2, column 'timestamp': '%3' is not a date and time like "
                "2025-06-12T16:36:57"_s.arg(source, QString::number(line), cell(u"timestamp"_s)));
        const double duration = number(u"duration"_s, true);
        const double totalKWh = number(u"energy_consumed"_s, true);
        const double cpuKWh = number(u"cpu_energy"_s, false);
        const double gpuKWh = number(u"gpu_energy"_s, false);
        const double ramKWh = number(u"ram_energy"_s, false);
        const double emissions = number(u"emissions"_s, false);
        if (errors.total > 0)
            continue;

        RunDump d;
        const QString project = cell(u"project_name"_s);
        const QString experimentId = cell(u"experiment_id"_s);
        QString label = project.isEmpty() ? u"codecarbon"_s : project;
        if (experimentsOfProject.value(project).size() > 1 && !experimentId.isEmpty())
            label += u" ["_s + experimentId.left(8) + u']';
        const QString groupKey = project + u'\n' + experimentId;
        RunRecord &run = d.run;
        run.id = r + 1;
        run.key.variant = label;
        run.key.chainJson = QByteArrayLiteral("[]");
        run.key.backend = Source;
        run.key.repetition = repetitions[groupKey]++;
        run.key.configKey =
            QString::fromLatin1(QCryptographicHash::hash((u"codecarbon\n"_s + groupKey).toUtf8(),
                                                         QCryptographicHash::Sha256)
                                    .toHex()
                                    .left(16));
        QJsonObject raw;
        for (qsizetype i = 0; i < table->header.size(); ++i)
            raw.insert(table->header.at(i), row.at(i));
        run.configJson = QJsonDocument(QJsonObject{{u"source"_s, Source},
                                                   {u"file"_s, absPath},
                                                   {u"fileSha256"_s, hash},
                                                   {u"line"_s, line},
                                                   {u"phase"_s, options.phase},
                                                   {u"codecarbon"_s, raw}})
                             .toJson(QJsonDocument::Compact);
        QJsonObject cpu;
        if (!cell(u"cpu_model"_s).isEmpty())
            cpu.insert(u"model"_s, cell(u"cpu_model"_s));
        bool countOk = false;
        const double cpus = cell(u"cpu_count"_s).toDouble(&countOk);
        if (countOk)
            cpu.insert(u"logicalCpus"_s, cpus);
        run.envJson =
            QJsonDocument(QJsonObject{{u"source"_s, Source},
                                      {u"host"_s, QString()},
                                      {u"os"_s, cell(u"os"_s)},
                                      {u"cpu"_s, cpu},
                                      {u"software"_s,
                                       QJsonObject{{u"codecarbon"_s, cell(u"codecarbon_version"_s)},
                                                   {u"python"_s, cell(u"python_version"_s)}}}})
                .toJson(QJsonDocument::Compact);
        run.status = RunStatus::Completed;
        run.flags = QStringList{u"estimate"_s, u"imported"_s, u"no-idle-baseline"_s};
        run.ended = ts.toString(Qt::ISODateWithMs);
        run.started =
            ts.addMSecs(-qint64(std::llround(duration * 1000.0))).toString(Qt::ISODateWithMs);

        PhaseRecord phase;
        phase.name = options.phase;
        phase.ordinal = 0;
        phase.duration = duration;
        const auto addDomain = [&](const QString &part, double kWh) {
            if (!std::isfinite(kWh))
                return;
            const QString name = u"codecarbon:"_s + part;
            const double j = kWh * JoulesPerKWh;
            const double w = duration > 0 ? j / duration : NoValue;
            d.domains.append({0, name, ValueKind::Estimate, Source});
            phase.energy.append({name, j, j, ValueKind::Estimate, std::isfinite(w) ? w : 0.0});
            d.totals.append({name, ValueKind::Estimate, Source, 0, j, duration, w, NoValue});
        };
        addDomain(u"cpu"_s, cpuKWh);
        addDomain(u"gpu"_s, gpuKWh);
        addDomain(u"ram"_s, ramKWh);
        addDomain(u"total"_s, totalKWh);
        d.phases.append(phase);
        if (std::isfinite(emissions))
            d.metrics.append(
                {QString(), u"codecarbon_emissions_kg"_s, emissions, u"kg"_s, ValueKind::Estimate});
        dump.runs.append(d);
    }
    if (errors.total > 0) {
        QString text = errors.list.join(u'\n');
        if (errors.total > errors.list.size())
            text += u"\n... and %1 more error(s)"_s.arg(errors.total - errors.list.size());
        if (error)
            *error = text + u"\nnothing was imported"_s;
        return std::nullopt;
    }
    return dump;
}

} // namespace jb::db::codecarbon
