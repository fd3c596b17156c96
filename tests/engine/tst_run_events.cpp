// SPDX-License-Identifier: GPL-3.0-or-later
// The JSONL event stream the GUI reads: every event survives writing and parsing, malformed
// lines get messages that name the field, and no input crashes the parser.
#include "engine/run_events.h"

#include <QBuffer>
#include <QtTest>

#include <cmath>
#include <limits>
#include <random>

using namespace Qt::StringLiterals;
using jb::EventEnergy;
using jb::MeterKind;
using jb::RunEvent;
using jb::RunEventType;

namespace {

QList<RunEvent> oneOfEach()
{
    QList<RunEvent> events;
    RunEvent e;
    e.type = RunEventType::ExperimentStarted;
    e.t = 0.001;
    e.experimentId = 3;
    e.name = u"tiny \"quoted\" ü"_s;
    e.planHash = u"ab12"_s;
    e.database = u"/tmp/x.sqlite"_s;
    e.shard = u"1/4"_s;
    e.resumed = true;
    e.runsTotal = 12;
    e.runsToRun = 7;
    e.runsSkipped = 5;
    e.estimateOnly = false;
    e.domains = {{u"rapl-powercap"_s, u"package-0"_s, MeterKind::Measured, u"counter"_s, {}},
                 {u"estimate"_s, u"cpu"_s, MeterKind::Estimate, u"cpu-time-x-tdp"_s, {}},
                 {u"rapl-powercap"_s, u"package-0/core"_s, MeterKind::Measured, u"counter"_s,
                  u"package-0"_s}};
    e.warnings = {u"no NVML"_s};
    events.append(e);

    e = {};
    e.type = RunEventType::RunStarted;
    e.t = 1.5;
    e.experimentId = 3;
    e.runId = 41;
    e.position = 2;
    e.runsToRun = 7;
    e.gridIndex = 6;
    e.variant = u"pruned-50"_s;
    e.backend = u"cpu:2"_s;
    e.repetition = 1;
    e.configKey = u"0123456789abcdef"_s;
    e.baseline = false;
    events.append(e);

    e = {};
    e.type = RunEventType::Phase;
    e.t = 2;
    e.runId = 41;
    e.phase = u"train"_s;
    e.state = u"begin"_s;
    e.runT = 0.2;
    events.append(e);

    e.state = u"end"_s;
    e.runT = 3.25;
    e.durationS = 3.05;
    e.reused = true;
    e.energy = {{u"package-0"_s, MeterKind::Measured, 91.5, 30.5, 30.0},
                {u"cpu"_s, MeterKind::Estimate, 10.0, std::numeric_limits<double>::quiet_NaN(),
                 3.3}};
    events.append(e);

    e = {};
    e.type = RunEventType::Sample;
    e.t = 2.5;
    e.runId = 41;
    e.runT = 1.0;
    e.energy = {{u"package-0"_s, MeterKind::Measured, 25.0,
                 std::numeric_limits<double>::quiet_NaN(), 24.9}};
    events.append(e);

    e = {};
    e.type = RunEventType::Progress;
    e.t = 2.6;
    e.runId = 41;
    e.phase = u"train"_s;
    e.fraction = 0.5;
    e.overall = 0.2;
    e.what = u"training: epoch 1/2"_s;
    events.append(e);

    e = {};
    e.type = RunEventType::Log;
    e.t = 2.7;
    e.level = u"warning"_s;
    e.message = u"line\nwith newline"_s;
    events.append(e);
    e.runId = 41;
    events.append(e);

    e = {};
    e.type = RunEventType::RunFinished;
    e.t = 9;
    e.runId = 41;
    e.status = u"failed"_s;
    e.flags = {u"short-phase"_s, u"estimate"_s};
    e.error = u"prepare (x): boom"_s;
    e.durationS = 7.5;
    events.append(e);

    e = {};
    e.type = RunEventType::ExperimentFinished;
    e.t = 10;
    e.experimentId = 3;
    e.status = u"failed"_s;
    e.completed = 5;
    e.failed = 1;
    e.cancelled = 1;
    e.runsSkipped = 5;
    e.durationS = 10;
    events.append(e);
    return events;
}

QString parseError(const QByteArray &line)
{
    QString error;
    const auto e = jb::parseRunEvent(line, &error);
    return e ? u"(parsed)"_s : error;
}

} // namespace

class TestRunEvents : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void everyEventRoundTrips()
    {
        for (const RunEvent &e : oneOfEach()) {
            const QByteArray line = jb::runEventToJson(e);
            QVERIFY2(!line.contains('\n'), line.constData()); // one event, one line
            QString error;
            const std::optional<RunEvent> back = jb::parseRunEvent(QByteArray(line + '\n'), &error);
            QVERIFY2(back, qPrintable(error + u": "_s + QString::fromUtf8(line)));
            QCOMPARE(back->type, e.type);
            QVERIFY2(*back == e, line.constData());
        }
    }

    void fieldsAreReadBack()
    {
        const QList<RunEvent> events = oneOfEach();
        const auto started = jb::parseRunEvent(jb::runEventToJson(events.at(0)), nullptr);
        QVERIFY(started);
        QCOMPARE(started->name, u"tiny \"quoted\" ü"_s);
        QCOMPARE(started->domains.size(), 3);
        QCOMPARE(started->domains.at(1).kind, MeterKind::Estimate);
        QCOMPARE(started->domains.at(2).partOf, u"package-0"_s);
        QCOMPARE(started->runsSkipped, 5);
        QVERIFY(started->resumed);

        const auto end = jb::parseRunEvent(jb::runEventToJson(events.at(3)), nullptr);
        QVERIFY(end);
        QCOMPARE(end->state, u"end"_s);
        QVERIFY(end->reused);
        QCOMPARE(end->energy.size(), 2);
        QCOMPARE(end->energy.at(0).grossJ, 91.5);
        QCOMPARE(end->energy.at(0).netJ, 30.5);
        QCOMPARE(end->energy.at(1).kind, MeterKind::Estimate);
        QVERIFY(std::isnan(end->energy.at(1).netJ)); // written as null, read as NaN
        QVERIFY(jb::runEventToJson(events.at(3)).contains("\"net_j\":null"));

        const auto log = jb::parseRunEvent(jb::runEventToJson(events.at(6)), nullptr);
        QVERIFY(log);
        QCOMPARE(log->runId, 0); // optional run absent
        QCOMPARE(log->message, u"line\nwith newline"_s);
        const auto finished = jb::parseRunEvent(jb::runEventToJson(events.at(8)), nullptr);
        QVERIFY(finished);
        QCOMPARE(finished->flags, (QStringList{u"short-phase"_s, u"estimate"_s}));
    }

    void malformedLinesAreNamed_data()
    {
        QTest::addColumn<QByteArray>("line");
        QTest::addColumn<QString>("expected");
        QTest::newRow("empty") << QByteArray("\n") << u"empty line"_s;
        QTest::newRow("not json") << QByteArray("{\"event\": ") << u"invalid JSON"_s;
        QTest::newRow("array") << QByteArray("[1,2]") << u"expected a JSON object"_s;
        QTest::newRow("no event") << QByteArray("{\"t\": 1}") << u"event: missing"_s;
        QTest::newRow("unknown event") << QByteArray(R"({"event": "explode", "t": 1})")
                                       << u"event: \"explode\" is not a known event"_s;
        QTest::newRow("no t") << QByteArray(R"({"event": "log", "level": "info", "message": "x"})")
                              << u"log event: t: missing, expected a number"_s;
        QTest::newRow("wrong type")
            << QByteArray(R"({"event": "progress", "t": 1, "run": "7", "phase": "train",
                              "fraction": 0.5, "overall": 0.1, "what": ""})")
            << u"progress event: run: expected an integer"_s;
        QTest::newRow("fractional id")
            << QByteArray(R"({"event": "run-finished", "t": 1, "run": 7.5, "status": "completed",
                              "flags": [], "error": "", "duration_s": 1})")
            << u"run: expected an integer"_s;
        QTest::newRow("bad state")
            << QByteArray(R"({"event": "phase", "t": 1, "run": 7, "phase": "train",
                              "state": "middle", "run_t": 0})")
            << u"state: \"middle\" is not a phase state"_s;
        QTest::newRow("nested kind")
            << QByteArray(R"({"event": "sample", "t": 1, "run": 7, "run_t": 0.5, "energy": [
                              {"domain": "package-0", "kind": "measured", "energy_j": 1,
                               "power_w": 2},
                              {"domain": "cpu", "kind": "guess", "energy_j": 1, "power_w": 2}]})")
            << u"sample event: energy[1].kind: \"guess\" is not a kind"_s;
        QTest::newRow("flag not string")
            << QByteArray(R"({"event": "run-finished", "t": 1, "run": 7, "status": "completed",
                              "flags": ["a", 3], "error": "", "duration_s": 1})")
            << u"flags[1]: expected a string"_s;
    }
    void malformedLinesAreNamed()
    {
        QFETCH(QByteArray, line);
        QFETCH(QString, expected);
        const QString error = parseError(line);
        QVERIFY2(error.contains(expected), qPrintable(error));
    }

    void unknownFieldsAreIgnored()
    {
        QString error;
        const auto e = jb::parseRunEvent(
            R"({"event": "log", "t": 1, "level": "info", "message": "m", "future": {"x": 1}})",
            &error);
        QVERIFY2(e, qPrintable(error));
        QCOMPARE(e->message, u"m"_s);
    }

    void readerSplitsChunksIntoLines()
    {
        QByteArray stream;
        for (const RunEvent &e : oneOfEach())
            stream += jb::runEventToJson(e) + '\n';
        stream += "garbage line\n";
        stream += jb::runEventToJson(oneOfEach().first()); // no final newline
        jb::RunEventReader reader;
        QList<RunEvent> got;
        for (qsizetype i = 0; i < stream.size(); i += 7) // arbitrary chunk boundaries
            got += reader.feed(QByteArrayView(stream).sliced(i, std::min<qsizetype>(7, stream.size() - i)));
        got += reader.finish();
        QCOMPARE(got.size(), oneOfEach().size() + 1);
        QCOMPARE(reader.badLines(), 1);
        QVERIFY(reader.errors().value(0).startsWith(u"line 11: invalid JSON"_s));
        QCOMPARE(got.first().type, RunEventType::ExperimentStarted);
        QCOMPARE(got.at(1).type, RunEventType::RunStarted);
    }

    void writerWritesOneLinePerEvent()
    {
        QBuffer buffer;
        QVERIFY(buffer.open(QIODevice::WriteOnly));
        jb::JsonlEventWriter writer(&buffer);
        for (const RunEvent &e : oneOfEach())
            writer.event(e);
        QVERIFY(writer.ok());
        const QList<QByteArray> lines = buffer.data().split('\n');
        QCOMPARE(lines.size(), oneOfEach().size() + 1); // trailing newline
        QVERIFY(lines.last().isEmpty());
    }

    // Mutated and random lines never crash the parser and always either parse or explain.
    void parserSurvivesMutations()
    {
        std::mt19937_64 rng(7);
        QList<QByteArray> seeds;
        for (const RunEvent &e : oneOfEach())
            seeds.append(jb::runEventToJson(e));
        int parsed = 0;
        for (int i = 0; i < 20000; ++i) {
            QByteArray line = seeds.at(static_cast<qsizetype>(rng() % seeds.size()));
            const int edits = 1 + static_cast<int>(rng() % 4);
            for (int k = 0; k < edits && !line.isEmpty(); ++k) {
                const qsizetype pos = static_cast<qsizetype>(rng() % line.size());
                switch (rng() % 4) {
                case 0: line[pos] = static_cast<char>(rng() % 256); break;
                case 1: line.remove(pos, 1 + static_cast<qsizetype>(rng() % 8)); break;
                case 2: line.insert(pos, static_cast<char>(rng() % 256)); break;
                default: line.truncate(pos); break;
                }
            }
            QString error;
            const auto e = jb::parseRunEvent(line, &error);
            if (e)
                ++parsed;
            else
                QVERIFY2(!error.isEmpty(), line.constData());
        }
        QVERIFY(parsed > 0); // some mutations keep the line valid (e.g. inside strings)
    }
};

QTEST_GUILESS_MAIN(TestRunEvents)
#include "tst_run_events.moc"
