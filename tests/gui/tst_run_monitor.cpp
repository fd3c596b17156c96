// SPDX-License-Identifier: GPL-3.0-or-later
// RunMonitor: consumes a recorded JSONL stream (tests/data/gui/run_stream.jsonl) through the
// same parsing path as the worker's stdout, shows the right phases, keeps the event loop
// responsive at a high replay rate, and reports worker crashes and forced kills.
#include "gui/live_power_chart.h"
#include "gui/loop_probe.h"
#include "gui/run_monitor.h"
#include "gui_fixtures.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTimer>

#include "gui/qcp.h"

using namespace jb;
using namespace jb::gui;

namespace {
QByteArray fixture()
{
    QFile f(test::dataPath(QStringLiteral("run_stream.jsonl")));
    if (!f.open(QIODevice::ReadOnly))
        qFatal("run_stream.jsonl missing");
    return f.readAll();
}

QString script(const QTemporaryDir &dir, const QByteArray &body)
{
    const QString path = dir.filePath(QStringLiteral("fake-cli.sh"));
    QFile f(path);
    f.open(QIODevice::WriteOnly);
    f.write("#!/bin/sh\n" + body);
    f.close();
    f.setPermissions(f.permissions() | QFileDevice::ExeOwner);
    return path;
}
} // namespace

class TestRunMonitor : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void showsThePhasesOfTheRecording()
    {
        RunMonitor m;
        const QByteArray bytes = fixture();
        // Arbitrary chunk boundaries, as a pipe delivers them.
        for (qsizetype i = 0; i < bytes.size(); i += 777)
            m.feed(bytes.mid(i, 777));
        m.finishStream();
        QCOMPARE(m.badLines(), 0);
        QCOMPARE(m.eventsHandled(), int(bytes.count('\n')) + (bytes.endsWith('\n') ? 0 : 1));
        const QStringList one{QStringLiteral("idle"), QStringLiteral("train"), QStringLiteral("evaluate"),
                              QStringLiteral("inference:b1"), QStringLiteral("inference:b64")};
        QCOMPARE(m.phasesSeen(), one + one);
        QCOMPARE(m.experimentStatus(), QStringLiteral("completed"));
        QCOMPARE(m.overallProgress(), 1.0);
        QCOMPARE(m.domains().size(), 2);
        m.chart()->flush();
        QCOMPARE(m.chart()->plot()->graphCount(), 2);
        QCOMPARE(m.chart()->phaseMarks(), 2 * 5 + 2); // phases + run starts
        QCOMPARE(m.chart()->plot()->graph(0)->dataCount(), 2 * int(12.5 * 20));
    }

    void eventLoopStaysResponsiveAtHighRate()
    {
        RunMonitor m;
        m.show();
        QByteArray bytes;
        const QByteArray one = fixture();
        const int copies = 40; // ~23k events, ~20k samples x 2 domains
        for (int i = 0; i < copies; ++i)
            bytes += one;
        LoopProbe probe;
        probe.start();
        QElapsedTimer clock;
        clock.start();
        qsizetype pos = 0;
        QTimer feeder;
        feeder.setInterval(1);
        const qsizetype chunk = 16 * 1024; // what a pipe read returns at most, roughly
        connect(&feeder, &QTimer::timeout, &m, [&] {
            m.feed(bytes.mid(pos, chunk));
            pos += chunk;
            if (pos >= bytes.size())
                feeder.stop();
        });
        feeder.start();
        QTRY_VERIFY_WITH_TIMEOUT(!feeder.isActive(), 60000);
        m.finishStream();
        QTest::qWait(200); // let the chart and log timers draw the rest
        probe.stop();
        const double seconds = clock.elapsed() / 1000.0;
        qInfo("replayed %d events in %.2f s (%.0f events/s); worst event-loop gap %.1f ms; %d replots",
              m.eventsHandled(), seconds, m.eventsHandled() / seconds, probe.maxGapMs(),
              m.chart()->replots());
        QCOMPARE(m.badLines(), 0);
        QCOMPARE(m.eventsHandled(), copies * int(one.count('\n')));
        QVERIFY2(probe.maxGapMs() < 100.0, qPrintable(QString::number(probe.maxGapMs())));
        // Batched: far fewer replots than samples.
        QVERIFY(m.chart()->replots() < m.eventsHandled() / 20);
    }

    void crashIsReported()
    {
        QTemporaryDir dir;
        const QByteArray head = fixture().left(fixture().indexOf("\"event\":\"sample\"") - 1);
        QFile h(dir.filePath(QStringLiteral("head.jsonl")));
        h.open(QIODevice::WriteOnly);
        h.write(head);
        h.close();
        const QString cli = script(dir, "cat '" + h.fileName().toUtf8() + "'\nkill -SEGV $$\n");
        RunMonitor m;
        QSignalSpy done(&m, &RunMonitor::finished);
        QString error;
        QVERIFY2(m.start(cli, QStringLiteral("plan.json"), dir.filePath(QStringLiteral("x.sqlite")), &error),
                 qPrintable(error));
        QVERIFY(done.wait(10000));
        QCOMPARE(done.first().at(0).toBool(), false);
        const QString msg = done.first().at(1).toString();
        QVERIFY2(msg.contains(QStringLiteral("crashed")) && msg.contains(QStringLiteral("interrupted")),
                 qPrintable(msg));
        QVERIFY(m.phasesSeen().contains(QStringLiteral("idle")));
    }

    void cancelKillsAWorkerThatIgnoresSigterm()
    {
        QTemporaryDir dir;
        const QString cli = script(dir, "trap '' TERM\necho '{\"event\":\"log\",\"t\":0,\"level\":\"info\",\"message\":\"hi\"}'\nwhile true; do sleep 0.05; done\n");
        RunMonitor m;
        m.setKillTimeoutMs(300);
        QSignalSpy done(&m, &RunMonitor::finished);
        QString error;
        QVERIFY(m.start(cli, QStringLiteral("plan.json"), dir.filePath(QStringLiteral("x.sqlite")), &error));
        QTRY_COMPARE(m.eventsHandled(), 1);
        m.cancel();
        QVERIFY(done.wait(10000));
        QVERIFY2(done.first().at(1).toString().contains(QStringLiteral("killed")),
                 qPrintable(done.first().at(1).toString()));
        QVERIFY(!m.isRunning());
    }
};

QTEST_MAIN(TestRunMonitor)
#include "tst_run_monitor.moc"
