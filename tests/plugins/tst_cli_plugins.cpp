// SPDX-License-Identifier: GPL-3.0-or-later
// `joulebench-cli plugins`: the built-in template plugin next to the executable, the refused
// test plugins of a --plugin-dir with their reasons, text and JSON; `plugins new` (the files it
// writes and the errors it gives) and `plugins check` (passes the template, fails the broken
// test plugins with the fix). Building a generated plugin out of tree: tst_plugin_sdk.
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

using namespace Qt::StringLiterals;

class TestCliPlugins : public QObject
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
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove(u"JOULEBENCH_PLUGIN_PATH"_s);
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(JB_CLI_PATH), QStringList{u"plugins"_s} + args);
        if (!p.waitForFinished(60000))
            return {};
        return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()),
                QString::fromUtf8(p.readAllStandardError())};
    }
    static QJsonObject byKey(const QJsonArray &array, const QString &key, const QString &value)
    {
        for (const QJsonValue &v : array) {
            if (v.toObject().value(key).toString().contains(value))
                return v.toObject();
        }
        return {};
    }

private Q_SLOTS:
    void listsTheBuiltInTemplate()
    {
        const Result r = cli({});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains(u"template.weight_noise  other  1.0.0  Weight noise (template)"_s),
                 qPrintable(r.out));
        QVERIFY2(r.out.contains(u"relative_std"_s) && r.out.contains(u"default 0.01"_s) &&
                     r.out.contains(u"0.0 to 10.0"_s),
                 qPrintable(r.out));
        QVERIFY(r.out.contains(u"(built-in)"_s));
    }

    void jsonListsPluginsAndRefusedOnes()
    {
        const Result r = cli({u"--json"_s, u"--plugin-dir"_s, QStringLiteral(JB_TEST_PLUGIN_DIR)});
        QCOMPARE(r.code, 0);
        QJsonParseError pe;
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8(), &pe).object();
        QVERIFY2(pe.error == QJsonParseError::NoError, qPrintable(pe.errorString()));

        const QJsonObject tmpl =
            byKey(o.value(u"plugins"_s).toArray(), u"id"_s, u"template.weight_noise"_s);
        QCOMPARE(tmpl.value(u"family"_s).toString(), u"other"_s);
        QCOMPARE(tmpl.value(u"origin"_s).toString(), u"built-in"_s);
        const QJsonObject relStd =
            byKey(tmpl.value(u"parameters"_s).toArray(), u"name"_s, u"relative_std"_s);
        QCOMPARE(relStd.value(u"default"_s).toDouble(), 0.01);
        QCOMPARE(relStd.value(u"max"_s).toDouble(), 10.0);
        QVERIFY(!byKey(o.value(u"plugins"_s).toArray(), u"id"_s, u"test.valid"_s).isEmpty());

        const QJsonArray rejected = o.value(u"rejected"_s).toArray();
        const QList<QPair<QString, QString>> expected{
            {u"wrong_iid"_s, u"wrong-iid"_s},      {u"wrong_api"_s, u"wrong-api-version"_s},
            {u"malformed"_s, u"bad-metadata"_s},   {u"missing_family"_s, u"bad-metadata"_s},
            {u"bad_json"_s, u"not-a-plugin"_s},    {u"not_a_plugin"_s, u"not-a-plugin"_s},
            {u"duplicate_b"_s, u"duplicate-id"_s}, {u"missing_symbol"_s, u"load-failed"_s},
            {u"no_factory"_s, u"no-factory"_s}};
        for (const auto &[name, reason] : expected) {
            const QJsonObject entry =
                byKey(rejected, u"file"_s, u"libjb_test_plugin_"_s + name + u"."_s);
            QVERIFY2(!entry.isEmpty(), qPrintable(name));
            QCOMPARE(entry.value(u"reason"_s).toString(), reason);
            QCOMPARE(entry.value(u"origin"_s).toString(), u"command line"_s);
        }
        const QJsonArray paths = o.value(u"searchPaths"_s).toArray();
        QCOMPARE(paths.first().toObject().value(u"origin"_s).toString(), u"built-in"_s);
        QCOMPARE(paths.last().toObject().value(u"origin"_s).toString(), u"command line"_s);
    }

    void textNamesRefusedFilesAndStrictFails()
    {
        const Result r =
            cli({u"--strict"_s, u"--plugin-dir"_s, QStringLiteral(JB_TEST_PLUGIN_DIR)});
        QCOMPARE(r.code, 1);
        QVERIFY2(
            r.out.contains(
                u"[wrong-api-version] "_s JB_TEST_PLUGIN_DIR u"/libjb_test_plugin_wrong_api"_s),
            qPrintable(r.out));
        QVERIFY(r.out.contains(u"Refused:"_s));
    }

    void describeShowsHelpTexts()
    {
        const Result r = cli({u"--describe"_s, u"template.weight_noise"_s});
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains(u"Noise standard deviation as a fraction"_s), qPrintable(r.out));
        const Result bad = cli({u"--describe"_s, u"template.weight_nose"_s});
        QCOMPARE(bad.code, 1);
        QVERIFY2(bad.err.contains(u"did you mean \"template.weight_noise\""_s),
                 qPrintable(bad.err));
    }

    void checkPassesTheTemplate()
    {
        const Result r = cli({u"check"_s, QStringLiteral(JB_TEMPLATE_PLUGIN_FILE)});
        QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
        for (const QString &check :
             {u"PASS  interface id: org.joulebench.Technique/1.0"_s, u"PASS  apiVersion: 1"_s,
              u"PASS  metadata: template.weight_noise \"Weight noise (template)\", family other"_s,
              u"PASS  parameter schema: 4 parameter(s): relative_std, layers, include_biases, "
              "seed_offset"_s,
              u"PASS  load and configure"_s, u"PASS  tiny model: zoo 'mlp'"_s,
              u"PASS  checkSupported"_s, u"phases: prepare:noise; metrics: noised_values"_s,
              u"PASS  result model"_s, u"PASS  cancel: stops when cancelled: cancelled"_s,
              u"template.weight_noise: all checks passed"_s})
            QVERIFY2(r.out.contains(check), qPrintable(check + u"\n"_s + r.out));
        QVERIFY(!r.out.contains(u"FAIL"_s));
    }

    void checkReportsParamsAndConfigureErrors()
    {
        const Result bad = cli({u"check"_s, QStringLiteral(JB_TEMPLATE_PLUGIN_FILE), u"--params"_s,
                                uR"({"relative_std": 11})"_s});
        QCOMPARE(bad.code, 1);
        QVERIFY2(bad.out.contains(u"FAIL  parameter schema: params.relative_std: 11"_s),
                 qPrintable(bad.out));
        const Result combo = cli({u"check"_s, QStringLiteral(JB_TEMPLATE_PLUGIN_FILE),
                                  u"--params"_s, uR"({"layers": "conv", "include_biases": true})"_s});
        QCOMPARE(combo.code, 1);
        QVERIFY2(combo.out.contains(u"FAIL  load and configure:"_s) &&
                     combo.out.contains(u"params.include_biases"_s),
                 qPrintable(combo.out));
        const Result notJson =
            cli({u"check"_s, QStringLiteral(JB_TEMPLATE_PLUGIN_FILE), u"--params"_s, u"[1]"_s});
        QCOMPARE(notJson.code, 2);
        QVERIFY(notJson.err.contains(u"--params '[1]' is not a JSON object"_s));
    }

    void checkFailsBrokenPluginsWithTheFix_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("failure");
        QTest::addColumn<QString>("fix");
        QTest::newRow("wrong iid") << u"wrong_iid"_s
                                   << u"FAIL  interface id: 'org.joulebench.Technique/0.9'"_s
                                   << u"Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID"_s;
        QTest::newRow("wrong api") << u"wrong_api"_s << u"FAIL  apiVersion:"_s
                                   << u"\"apiVersion\": 1"_s;
        QTest::newRow("missing family") << u"missing_family"_s << u"FAIL  metadata: family"_s
                                        << u"docs/plugins.md"_s;
        QTest::newRow("bad json") << u"bad_json"_s << u"FAIL  Qt plugin metadata: none"_s
                                  << u"valid object"_s;
        QTest::newRow("missing symbol") << u"missing_symbol"_s << u"FAIL  load and configure:"_s
                                        << u"missing symbol"_s;
        QTest::newRow("no factory") << u"no_factory"_s << u"FAIL  load and configure:"_s
                                    << u"configure() failure"_s;
    }

    void checkFailsBrokenPluginsWithTheFix()
    {
        QFETCH(QString, name);
        QFETCH(QString, failure);
        QFETCH(QString, fix);
        const QDir dir(QStringLiteral(JB_TEST_PLUGIN_DIR));
        const QStringList files = dir.entryList({u"libjb_test_plugin_"_s + name + u".*"_s});
        QCOMPARE(files.size(), 1);
        const Result r = cli({u"check"_s, dir.filePath(files.first())});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.out.contains(failure), qPrintable(r.out));
        QVERIFY2(r.out.contains(u"      fix: "_s) && r.out.contains(fix), qPrintable(r.out));
    }

    void checkNeedsALibrary()
    {
        const Result r = cli({u"check"_s, u"/nonexistent/libx.so"_s});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.out.contains(u"FAIL  file: '/nonexistent/libx.so' is missing"_s),
                 qPrintable(r.out));
        QCOMPARE(cli({u"check"_s}).code, 2);
    }

    void newWritesARenamedCopyOfTheTemplate()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const Result r = cli({u"new"_s, u"prune.my_method"_s, u"--family"_s, u"pruning"_s,
                              u"--out"_s, tmp.path()});
        QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
        const QDir dir(tmp.filePath(u"prune_my_method"_s));
        QCOMPARE(dir.entryList(QDir::Files, QDir::Name),
                 (QStringList{u"CMakeLists.txt"_s, u"README.md"_s, u"example-plan.json"_s,
                              u"prune_my_method.cpp"_s,
                              u"prune_my_method.json"_s, u"tests.cmake"_s,
                              u"tst_prune_my_method.cpp"_s}));
        auto read = [&](const QString &file) {
            QFile f(dir.filePath(file));
            return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
        };
        const QString json = read(u"prune_my_method.json"_s);
        QVERIFY2(json.contains(u"\"id\": \"prune.my_method\""_s), qPrintable(json));
        QVERIFY(json.contains(u"\"name\": \"Prune my method\""_s));
        QVERIFY(json.contains(u"\"family\": \"pruning\""_s));
        QVERIFY(json.contains(u"\"version\": \"0.1.0\""_s));
        const QString cpp = read(u"prune_my_method.cpp"_s);
        QVERIFY(cpp.contains(u"class PruneMyMethodPlugin"_s));
        QVERIFY(cpp.contains(u"FILE \"prune_my_method.json\""_s));
        QVERIFY(cpp.contains(u"#include \"prune_my_method.moc\""_s));
        const QString cmake = read(u"CMakeLists.txt"_s);
        QVERIFY(cmake.contains(u"joulebench_add_technique_plugin(jb_technique_prune_my_method"_s));
        QVERIFY(cmake.contains(u"CLASS_NAME PruneMyMethodPlugin"_s));
        QVERIFY(cmake.contains(u"find_package(JouleBench 0.1 REQUIRED)"_s));
        QVERIFY(read(u"tests.cmake"_s).contains(u"PLUGIN jb_technique_prune_my_method"_s));
        const QString test = read(u"tst_prune_my_method.cpp"_s);
        QVERIFY(test.contains(u"kId = u\"prune.my_method\"_s"_s));
        QVERIFY(test.contains(u"kFamily = u\"pruning\"_s"_s));
        QVERIFY(read(u"example-plan.json"_s).contains(u"\"plugin\": \"prune.my_method\""_s));
        // Nothing of the template's names is left.
        for (const QString &file : dir.entryList(QDir::Files)) {
            const QString text = read(file);
            for (const QString &old : {u"weight_noise"_s, u"WeightNoise"_s,
                                       u"jb_technique_template"_s})
                QVERIFY2(!text.contains(old), qPrintable(file + u": "_s + old));
        }

        // Never overwrites.
        const Result again = cli({u"new"_s, u"prune.my_method"_s, u"--out"_s, tmp.path()});
        QCOMPARE(again.code, 1);
        QVERIFY2(again.err.contains(u"already exists; nothing was written"_s),
                 qPrintable(again.err));
    }

    void newRefusesBadIdsAndFamilies()
    {
        QTemporaryDir tmp;
        for (const QString &id : {u"Demo.Noise"_s, u"noise"_s, u"demo.2x"_s, u"demo-x.noise"_s,
                                  u"demo..noise"_s}) {
            const Result r = cli({u"new"_s, id, u"--out"_s, tmp.path()});
            QCOMPARE(r.code, 2);
            QVERIFY2(r.err.contains(u"id \"%1\" is not valid: use lower-case words"_s.arg(id)),
                     qPrintable(r.err));
        }
        const Result family =
            cli({u"new"_s, u"demo.noise"_s, u"--family"_s, u"prunning"_s, u"--out"_s, tmp.path()});
        QCOMPARE(family.code, 2);
        QVERIFY2(family.err.contains(u"--family \"prunning\" is not a technique family; use one "
                                     "of: pruning, quantization"_s),
                 qPrintable(family.err));
        const Result out = cli({u"new"_s, u"demo.noise"_s, u"--out"_s, tmp.filePath(u"no"_s)});
        QCOMPARE(out.code, 2);
        QVERIFY(out.err.contains(u"no such folder"_s));
        QVERIFY(QDir(tmp.path()).isEmpty());
    }

    void missingPluginDirIsAUsageError()
    {
        const Result r = cli({u"--plugin-dir"_s, u"/nonexistent/jb-plugins"_s});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains(u"--plugin-dir '/nonexistent/jb-plugins': no such folder"_s));
    }
};

QTEST_GUILESS_MAIN(TestCliPlugins)
#include "tst_cli_plugins.moc"
