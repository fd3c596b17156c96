// SPDX-License-Identifier: GPL-3.0-or-later
// The plugin author's path end to end, as docs/plugin-authoring.md describes it: install the
// SDK from this build into a temporary prefix (cmake --install --component sdk), generate a
// plugin with the installed `joulebench-cli plugins new`, configure and build it out of tree
// against the prefix (find_package(JouleBench), Ninja, Release) with its tests, which pass (the
// generated Qt test and its `plugins check` test); `plugins check` passes on the built library
// and `plugins --plugin-dir` lists it. Slow by nature (two torch-parsing compiles, ~20 s of CPU):
// the timings of each step are printed.
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

using namespace Qt::StringLiterals;

class TestPluginSdk : public QObject
{
    Q_OBJECT

private:
    struct Result
    {
        int code = -1;
        QString out;
    };
    /// Runs a program to its end (stdout and stderr merged), printing how long it took.
    static Result run(const QString &program, const QStringList &args, int timeoutS = 600)
    {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove(u"JOULEBENCH_PLUGIN_PATH"_s);
        p.setProcessEnvironment(env);
        p.setProcessChannelMode(QProcess::MergedChannels);
        QElapsedTimer timer;
        timer.start();
        p.start(program, args);
        if (!p.waitForFinished(timeoutS * 1000)) {
            p.kill();
            p.waitForFinished();
            return {-1, u"timed out or did not start: "_s + p.errorString()};
        }
        qInfo("%.1f s: %s %s", double(timer.elapsed()) / 1000, qPrintable(program),
              qPrintable(args.join(u' ')));
        return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
                QString::fromUtf8(p.readAll())};
    }

    QTemporaryDir m_tmp;
    QString m_prefix;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        m_prefix = m_tmp.filePath(u"sdk"_s);
    }

    void installsTheSdk()
    {
        const Result r = run(QStringLiteral(JB_CMAKE), {u"--install"_s, QStringLiteral(JB_BUILD_DIR),
                                                       u"--prefix"_s, m_prefix, u"--component"_s,
                                                       u"sdk"_s});
        QVERIFY2(r.code == 0, qPrintable(r.out));
        for (const QString &file :
             {u"bin/joulebench-cli"_s, u"lib/libjb_engine.so"_s, u"lib/libjb_measurement.so"_s,
              u"lib/libjb_database.so"_s, u"include/joulebench/engine/technique.h"_s,
              u"include/joulebench/engine/trainer.h"_s, u"include/joulebench/measurement/meter.h"_s,
              u"include/joulebench/testing/plugin_test_support.h"_s,
              u"lib/cmake/JouleBench/JouleBenchConfig.cmake"_s,
              u"lib/cmake/JouleBench/JouleBenchConfigVersion.cmake"_s,
              u"lib/cmake/JouleBench/JouleBenchTargets.cmake"_s,
              u"lib/cmake/JouleBench/JouleBenchPlugin.cmake"_s})
            QVERIFY2(QFileInfo::exists(m_prefix + u'/' + file), qPrintable(file));
        // The installed CLI runs from the prefix (its RPATH finds the installed libraries).
        const Result version = run(m_prefix + u"/bin/joulebench-cli"_s, {u"--version"_s});
        QVERIFY2(version.code == 0, qPrintable(version.out));
    }

    void generatedPluginBuildsOutOfTreeAndPassesTheCheck()
    {
        const QString cli = m_prefix + u"/bin/joulebench-cli"_s;
        if (!QFileInfo::exists(cli))
            QSKIP("the SDK was not installed (installsTheSdk failed)");
        const Result created = run(cli, {u"plugins"_s, u"new"_s, u"demo.noise"_s, u"--out"_s,
                                         m_tmp.path()});
        QVERIFY2(created.code == 0, qPrintable(created.out));
        // Run from an installed prefix, it prints the commands with the real prefix.
        QVERIFY2(created.out.contains(u"-DCMAKE_PREFIX_PATH="_s + m_prefix), qPrintable(created.out));
        const QString src = m_tmp.filePath(u"demo_noise"_s);
        const QString build = src + u"/build"_s;

        const Result configured = run(
            QStringLiteral(JB_CMAKE),
            {u"-S"_s, src, u"-B"_s, build, u"-G"_s, u"Ninja"_s,
             u"-DCMAKE_MAKE_PROGRAM="_s + QStringLiteral(JB_MAKE_PROGRAM),
             u"-DCMAKE_BUILD_TYPE=Release"_s, u"-DCMAKE_PREFIX_PATH="_s + m_prefix});
        QVERIFY2(configured.code == 0, qPrintable(configured.out));
        const Result built = run(QStringLiteral(JB_CMAKE), {u"--build"_s, build});
        QVERIFY2(built.code == 0, qPrintable(built.out));
        QVERIFY2(!built.out.contains(u"warning"_s), qPrintable(built.out));
        const QString library = build + u"/plugins/libjb_technique_demo_noise.so"_s;
        QVERIFY(QFileInfo::exists(library));
        const Result tested = run(QStringLiteral(JB_CTEST), {u"--test-dir"_s, build,
                                                            u"--output-on-failure"_s});
        QVERIFY2(tested.code == 0, qPrintable(tested.out));
        QVERIFY2(tested.out.contains(u"tst_demo_noise ."_s) &&
                     tested.out.contains(u"tst_demo_noise_check ."_s) &&
                     tested.out.contains(u"100% tests passed, 0 tests failed out of 2"_s),
                 qPrintable(tested.out));

        const Result checked = run(cli, {u"plugins"_s, u"check"_s, library});
        QVERIFY2(checked.code == 0, qPrintable(checked.out));
        QVERIFY2(checked.out.contains(u"PASS  metadata: demo.noise \"Demo noise\", family other, "
                                      "version 0.1.0"_s),
                 qPrintable(checked.out));
        QVERIFY(checked.out.contains(u"demo.noise: all checks passed"_s));

        const Result listed =
            run(cli, {u"plugins"_s, u"--json"_s, u"--plugin-dir"_s, build + u"/plugins"_s});
        QCOMPARE(listed.code, 0);
        const QJsonObject o = QJsonDocument::fromJson(listed.out.toUtf8()).object();
        QJsonObject demo;
        for (const QJsonValue &v : o.value(u"plugins"_s).toArray()) {
            if (v.toObject().value(u"id"_s).toString() == u"demo.noise"_s)
                demo = v.toObject();
        }
        QVERIFY2(!demo.isEmpty(), qPrintable(listed.out));
        QCOMPARE(demo.value(u"origin"_s).toString(), u"command line"_s);
        QCOMPARE(demo.value(u"file"_s).toString(), QFileInfo(library).canonicalFilePath());
        QVERIFY2(o.value(u"rejected"_s).toArray().isEmpty(), qPrintable(listed.out));
    }
};

QTEST_GUILESS_MAIN(TestPluginSdk)
#include "tst_plugin_sdk.moc"
