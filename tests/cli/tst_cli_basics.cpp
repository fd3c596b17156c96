// SPDX-License-Identifier: GPL-3.0-or-later
// The command line a user meets first: --help, --version, unknown commands.
#include <QProcess>
#include <QtTest>

class TestCliBasics : public QObject
{
    Q_OBJECT

private:
    struct Result
    {
        int code = -1;
        QString out;
        QString err;
    };
    static Result cli(const QStringList &args)
    {
        QProcess p;
        p.start(QStringLiteral(JB_CLI_PATH), args);
        if (!p.waitForFinished(60000))
            return {};
        return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()),
                QString::fromUtf8(p.readAllStandardError())};
    }

private Q_SLOTS:
    void helpListsCommands()
    {
        const Result r = cli({QStringLiteral("--help")});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains(QStringLiteral("Usage: joulebench-cli <command>")));
        QVERIFY(r.out.contains(QStringLiteral("Commands:")));
    }
    void versionPrintsProjectVersion()
    {
        const Result r = cli({QStringLiteral("--version")});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.startsWith(QStringLiteral("joulebench-cli " JOULEBENCH_VERSION)),
                 qPrintable(r.out));
        QVERIFY(r.out.contains(QStringLiteral("revision")));
    }
    void unknownCommandIsAUsageError()
    {
        const Result r = cli({QStringLiteral("frobnicate")});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains(QStringLiteral("unknown command 'frobnicate'")));
    }
    void noArgumentsShowsUsageAndFails()
    {
        const Result r = cli({});
        QCOMPARE(r.code, 2);
        QVERIFY(r.out.contains(QStringLiteral("Usage:")));
    }
};

QTEST_GUILESS_MAIN(TestCliBasics)
#include "tst_cli_basics.moc"
