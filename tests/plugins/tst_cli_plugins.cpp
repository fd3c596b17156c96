// SPDX-License-Identifier: GPL-3.0-or-later
// `joulebench-cli plugins`: the built-in template plugin next to the executable, the refused
// test plugins of a --plugin-dir with their reasons, text and JSON.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
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

    void missingPluginDirIsAUsageError()
    {
        const Result r = cli({u"--plugin-dir"_s, u"/nonexistent/jb-plugins"_s});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains(u"--plugin-dir '/nonexistent/jb-plugins': no such folder"_s));
    }
};

QTEST_GUILESS_MAIN(TestCliPlugins)
#include "tst_cli_plugins.moc"
