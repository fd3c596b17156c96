// SPDX-License-Identifier: GPL-3.0-or-later
// The technique plugin registry against deliberately broken plugins (built in tests/plugins from
// broken/): each is refused with its exact reason and never runs, valid ones still load; search
// folders, permissions, duplicate ids, parameter checks in create(), lazy loading from several
// threads at once, and the plan-validation lookups.
#include "plugin_test_support.h"

#include "engine/plan.h"
#include "engine/technique.h"
#include "engine/technique_registry.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtConcurrent>
#include <QtTest>

#include <sys/stat.h>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

QString testPluginFile(const QString &name)
{
    return QStringLiteral(JB_TEST_PLUGIN_DIR) + u"/libjb_test_plugin_"_s + name +
           QStringLiteral(JB_TEST_PLUGIN_SUFFIX);
}

bool loaded(const QString &name)
{
    return qEnvironmentVariableIsSet(("JB_TEST_LOADED_" + name).toUtf8().constData());
}

bool instantiated(const QString &name)
{
    return qEnvironmentVariableIsSet(("JB_TEST_INSTANTIATED_" + name).toUtf8().constData());
}

const RejectedPlugin *findRejected(const QList<RejectedPlugin> &list, const QString &fileEnd)
{
    for (const RejectedPlugin &r : list) {
        if (r.file.endsWith(fileEnd))
            return &r;
    }
    return nullptr;
}

QString describe(const QList<RejectedPlugin> &list)
{
    QStringList lines;
    for (const RejectedPlugin &r : list)
        lines.append(pluginRejectionName(r.reason) + u" "_s + r.message);
    return lines.join(u'\n');
}

} // namespace

class TestRegistry : public QObject
{
    Q_OBJECT

private:
    // The scan of the real test-plugin folder, shared by the tests that only read it.
    std::unique_ptr<TechniqueRegistry> m_broken;
    QList<RejectedPlugin> m_rejectedAfterScan;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(QFileInfo::exists(testPluginFile(u"valid"_s)), JB_TEST_PLUGIN_DIR);
        m_broken = test::scannedRegistry({QStringLiteral(JB_TEST_PLUGIN_DIR)});
        m_rejectedAfterScan = m_broken->rejected();
        // The registry's scan ran no plugin code at all.
        for (const char *name :
             {"valid", "duplicate_a", "duplicate_b", "wrong_iid", "wrong_api", "missing_family",
              "malformed", "bad_json", "missing_symbol", "no_factory"}) {
            QVERIFY2(!loaded(QString::fromLatin1(name)), name);
        }
    }

    void scanAcceptsValidPluginsOnly()
    {
        // Before loading: metadata alone decides. missing_symbol and no_factory have valid
        // metadata; what is wrong with them shows only when the library is loaded.
        QCOMPARE(m_broken->ids(), (QStringList{u"test.duplicate"_s, u"test.missing_symbol"_s,
                                               u"test.no_factory"_s, u"test.valid"_s}));
        const auto dup = m_broken->plugin(u"test.duplicate"_s);
        QVERIFY(dup);
        QVERIFY(dup->file.endsWith(u"libjb_test_plugin_duplicate_a"_s JB_TEST_PLUGIN_SUFFIX));
        QCOMPARE(dup->origin, u"test"_s);
        const auto valid = m_broken->plugin(u"test.valid"_s);
        QVERIFY(valid);
        QCOMPARE(valid->metadata.family, u"other"_s);
        QCOMPARE(valid->metadata.version, u"0.1.0"_s);
        QCOMPARE(valid->metadata.parameters.names(),
                 (QStringList{u"level"_s, u"fail_configure"_s}));
    }

    void eachBrokenPluginIsRejectedWithItsReason_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("reason");
        QTest::addColumn<QStringList>("phrases");
        QTest::newRow("bad JSON") << u"bad_json"_s << u"not-a-plugin"_s
                                  << QStringList{u"not a Qt plugin"_s, u"not a valid JSON"_s};
        QTest::newRow("not a plugin")
            << u"not_a_plugin"_s << u"not-a-plugin"_s << QStringList{u"no plugin metadata"_s};
        QTest::newRow("wrong IID")
            << u"wrong_iid"_s << u"wrong-iid"_s
            << QStringList{u"interface id \"org.joulebench.Technique/0.9\""_s,
                           u"expected \"org.joulebench.Technique/1.0\""_s};
        QTest::newRow("wrong apiVersion")
            << u"wrong_api"_s << u"wrong-api-version"_s
            << QStringList{u"apiVersion: 2"_s, u"API version 1 only"_s};
        QTest::newRow("missing field")
            << u"missing_family"_s << u"bad-metadata"_s << QStringList{u"family: missing"_s};
        QTest::newRow("malformed")
            << u"malformed"_s << u"bad-metadata"_s
            << QStringList{u"id: \"Test Malformed!\" is not valid"_s, u"family: \"magic\""_s,
                           u"version: \"one\" is not valid"_s, u"parameters[0].type"_s,
                           u"familly: unknown key"_s};
        QTest::newRow("duplicate id")
            << u"duplicate_b"_s << u"duplicate-id"_s
            << QStringList{u"duplicate id \"test.duplicate\""_s,
                           u"already provided by "_s + testPluginFile(u"duplicate_a"_s)};
    }

    void eachBrokenPluginIsRejectedWithItsReason()
    {
        QFETCH(QString, name);
        QFETCH(QString, reason);
        QFETCH(QStringList, phrases);
        const QString file = testPluginFile(name);
        const RejectedPlugin *r = findRejected(m_rejectedAfterScan, file);
        QVERIFY2(r,
                 qPrintable(u"not rejected: "_s + file + u"\n"_s + describe(m_rejectedAfterScan)));
        QCOMPARE(pluginRejectionName(r->reason), reason);
        QVERIFY2(r->message.startsWith(file + u": "_s), qPrintable(r->message));
        for (const QString &phrase : phrases)
            QVERIFY2(r->message.contains(phrase), qPrintable(r->message + u"\nlacks: "_s + phrase));
        QCOMPARE(r->origin, u"test"_s);
        QVERIFY(!loaded(name));
    }

    void scanRejectsNothingElse() { QCOMPARE(m_rejectedAfterScan.size(), 7); }

    void malformedMetadataListsEveryProblem()
    {
        const RejectedPlugin *r = findRejected(m_rejectedAfterScan, testPluginFile(u"malformed"_s));
        QVERIFY(r);
        // id, family, version, parameters[0].type, familly: five problems, one message.
        QCOMPARE(r->message.count(u"; "_s), 4);
    }

    void loadingRevealsMissingSymbolAndMissingFactory()
    {
        // A registry of its own: loading changes the lists.
        auto registry = test::scannedRegistry({QStringLiteral(JB_TEST_PLUGIN_DIR)});
        QVERIFY(!registry->loadAll());
        QCOMPARE(registry->ids(), (QStringList{u"test.duplicate"_s, u"test.valid"_s}));
        const QList<RejectedPlugin> rejected = registry->rejected();
        QCOMPARE(rejected.size(), 9);

        const RejectedPlugin *missing = findRejected(rejected, testPluginFile(u"missing_symbol"_s));
        QVERIFY(missing);
        QCOMPARE(missing->reason, PluginRejection::LoadFailed);
        QCOMPARE(missing->id, u"test.missing_symbol"_s);
        QVERIFY2(missing->message.contains(u"cannot load the library"_s),
                 qPrintable(missing->message));
        QVERIFY2(missing->message.contains(u"jb_test_symbol_that_does_not_exist"_s),
                 qPrintable(missing->message));
        QVERIFY(!instantiated(u"missing_symbol"_s));

        const RejectedPlugin *noFactory = findRejected(rejected, testPluginFile(u"no_factory"_s));
        QVERIFY(noFactory);
        QCOMPARE(noFactory->reason, PluginRejection::NoFactory);
        QVERIFY2(noFactory->message.contains(u"TestPlugin_no_factory does not implement "
                                             "jb::TechniqueFactory"_s),
                 qPrintable(noFactory->message));

        // Valid ones still load and work; rejected ones never ran.
        QString error;
        QVERIFY2(registry->create(u"test.valid"_s, {}, &error), qPrintable(error));
        QVERIFY2(registry->create(u"test.duplicate"_s, {}, &error), qPrintable(error));
        QVERIFY(instantiated(u"valid"_s));
        QVERIFY(instantiated(u"duplicate_a"_s));
        for (const char *name : {"duplicate_b", "wrong_iid", "wrong_api", "missing_family",
                                 "malformed", "bad_json", "missing_symbol"}) {
            QVERIFY2(!instantiated(QString::fromLatin1(name)), name);
            QVERIFY2(!loaded(QString::fromLatin1(name)), name);
        }

        // A failed plugin stays failed, and says why.
        QVERIFY(!registry->create(u"test.missing_symbol"_s, {}, &error));
        QVERIFY2(error.contains(u"not usable"_s) && error.contains(u"cannot load"_s),
                 qPrintable(error));
    }

    void createValidatesParamsBeforeLoading()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QVERIFY(!test::copyPlugin(testPluginFile(u"missing_symbol"_s), dir.path()).isEmpty());
        auto registry = test::scannedRegistry({dir.path()});
        QString error;
        QVERIFY(!registry->create(u"test.missing_symbol"_s, {{u"level"_s, 42}}, &error));
        QVERIFY2(error.contains(u"params.level"_s) && error.contains(u"42"_s), qPrintable(error));
        QVERIFY2(!error.contains(u"cannot load"_s), qPrintable(error));
        // Not loaded by the parameter check: still listed.
        QCOMPARE(registry->ids(), QStringList{u"test.missing_symbol"_s});
        QVERIFY(registry->rejected().isEmpty());
    }

    void createFillsDefaultsAndReportsErrors()
    {
        QString error;
        QJsonObject filled;
        auto technique = m_broken->create(u"test.valid"_s, {{u"level"_s, 5}}, &error, &filled);
        QVERIFY2(technique, qPrintable(error));
        QCOMPARE(filled, (QJsonObject{{u"level"_s, 5}, {u"fail_configure"_s, false}}));

        // A fresh instance per run.
        auto second = m_broken->create(u"test.valid"_s, {}, &error);
        QVERIFY(second);
        QVERIFY(second.get() != technique.get());

        QVERIFY(!m_broken->create(u"test.valid"_s, {{u"levle"_s, 5}}, &error));
        QVERIFY2(error.startsWith(u"technique plugin \"test.valid\" ("_s) &&
                     error.contains(u"params.levle: unknown parameter"_s) &&
                     error.contains(u"known: level, fail_configure"_s),
                 qPrintable(error));
        QVERIFY(!m_broken->create(u"test.valid"_s, {{u"level"_s, u"high"_s}}, &error));
        QVERIFY2(error.contains(u"params.level"_s), qPrintable(error));
        QVERIFY(!m_broken->create(u"test.valid"_s, {{u"fail_configure"_s, true}}, &error));
        QVERIFY2(error.contains(u"configure: params.fail_configure: asked to fail"_s),
                 qPrintable(error));

        QVERIFY(!m_broken->create(u"test.vaild"_s, {}, &error));
        QVERIFY2(error.contains(u"unknown technique plugin \"test.vaild\""_s) &&
                     error.contains(u"did you mean \"test.valid\""_s),
                 qPrintable(error));
        // A refused plugin is not unknown: the error says why it was refused.
        QVERIFY(!m_broken->create(u"test.wrong_api"_s, {}, &error));
        QVERIFY2(error.startsWith(u"technique plugin \"test.wrong_api\" was refused "
                                  "(wrong-api-version): "_s +
                                  testPluginFile(u"wrong_api"_s)),
                 qPrintable(error));
    }

    void firstCreateFromManyThreadsLoadsOnce()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QVERIFY(!test::copyPlugin(QStringLiteral(JB_TEMPLATE_PLUGIN_FILE), dir.path()).isEmpty());
        auto registry = test::scannedRegistry({dir.path()});
        QCOMPARE(registry->ids(), QStringList{u"template.weight_noise"_s});
        const QList<int> runs{0, 1, 2, 3, 4, 5, 6, 7};
        const QList<QString> errors = QtConcurrent::blockingMapped(runs, [&](int i) {
            QString error;
            auto t = registry->create(u"template.weight_noise"_s,
                                      {{u"relative_std"_s, 0.01 * (i + 1)}}, &error);
            return t ? QString() : (error.isEmpty() ? u"no error text"_s : error);
        });
        for (const QString &e : errors)
            QVERIFY2(e.isEmpty(), qPrintable(e));
        QVERIFY(registry->rejected().isEmpty());
    }

    void duplicateAcrossFoldersFirstFolderWins()
    {
        QTemporaryDir a, b;
        QVERIFY(a.isValid() && b.isValid());
        const QString fa = test::copyPlugin(QStringLiteral(JB_TEMPLATE_PLUGIN_FILE), a.path());
        const QString fb = test::copyPlugin(QStringLiteral(JB_TEMPLATE_PLUGIN_FILE), b.path());
        auto registry = test::scannedRegistry({b.path(), a.path()});
        QCOMPARE(registry->plugin(u"template.weight_noise"_s)->file,
                 QFileInfo(fb).canonicalFilePath());
        const QList<RejectedPlugin> rejected = registry->rejected();
        QCOMPARE(rejected.size(), 1);
        QCOMPARE(rejected[0].reason, PluginRejection::DuplicateId);
        QCOMPARE(rejected[0].file, QFileInfo(fa).canonicalFilePath());
    }

    void sameFolderTwiceIsSearchedOnceAndOtherFilesAreIgnored()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QVERIFY(!test::copyPlugin(QStringLiteral(JB_TEMPLATE_PLUGIN_FILE), dir.path()).isEmpty());
        QFile readme(dir.filePath(u"README.txt"_s));
        QVERIFY(readme.open(QIODevice::WriteOnly));
        readme.write("not a library\n");
        readme.close();
        auto registry = test::scannedRegistry(
            {dir.path(), dir.path() + u"/."_s, dir.filePath(u"does-not-exist"_s)});
        QCOMPARE(registry->ids(), QStringList{u"template.weight_noise"_s});
        QVERIFY2(registry->rejected().isEmpty(), qPrintable(describe(registry->rejected())));
    }

    void worldWritableFolderIsRefused()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QVERIFY(!test::copyPlugin(QStringLiteral(JB_TEMPLATE_PLUGIN_FILE), dir.path()).isEmpty());
        QCOMPARE(::chmod(QFile::encodeName(dir.path()).constData(), 0777), 0);
        auto registry = test::scannedRegistry({dir.path()});
        QVERIFY(registry->ids().isEmpty());
        const QList<RejectedPlugin> rejected = registry->rejected();
        QCOMPARE(rejected.size(), 1);
        QCOMPARE(rejected[0].reason, PluginRejection::InsecurePermissions);
        QCOMPARE(rejected[0].file, QFileInfo(dir.path()).canonicalFilePath());
        QVERIFY2(rejected[0].message.contains(u"writable by every user (mode 0777)"_s) &&
                     rejected[0].message.contains(u"chmod o-w"_s),
                 qPrintable(rejected[0].message));
        ::chmod(QFile::encodeName(dir.path()).constData(), 0700);
    }

    void worldWritableFileIsRefused()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString file = test::copyPlugin(QStringLiteral(JB_TEMPLATE_PLUGIN_FILE), dir.path());
        QCOMPARE(::chmod(QFile::encodeName(file).constData(), 0666), 0);
        auto registry = test::scannedRegistry({dir.path()});
        QVERIFY(registry->ids().isEmpty());
        const QList<RejectedPlugin> rejected = registry->rejected();
        QCOMPARE(rejected.size(), 1);
        QCOMPARE(rejected[0].reason, PluginRejection::InsecurePermissions);
        QVERIFY2(rejected[0].message.contains(u"file '"_s + QFileInfo(file).canonicalFilePath() +
                                              u"' is writable by every user (mode 0666)"_s),
                 qPrintable(rejected[0].message));
    }

    void symlinkIntoWorldWritableFolderIsRefused()
    {
        QTemporaryDir safe, open;
        QVERIFY(safe.isValid() && open.isValid());
        const QString target =
            test::copyPlugin(QStringLiteral(JB_TEMPLATE_PLUGIN_FILE), open.path());
        QCOMPARE(::chmod(QFile::encodeName(open.path()).constData(), 0777), 0);
        QVERIFY(QFile::link(target, safe.filePath(QFileInfo(target).fileName())));
        auto registry = test::scannedRegistry({safe.path()});
        QVERIFY(registry->ids().isEmpty());
        QCOMPARE(registry->rejected().size(), 1);
        QCOMPARE(registry->rejected()[0].reason, PluginRejection::InsecurePermissions);
        ::chmod(QFile::encodeName(open.path()).constData(), 0700);
    }

    void standardSearchPathsAreTheDocumentedOnes()
    {
        qputenv("JOULEBENCH_PLUGIN_PATH", "/opt/jb-a:/opt/jb-b");
        const QList<PluginSearchPath> paths =
            TechniqueRegistry::searchPathsWith({u"/tmp/cmdline-plugins"_s});
        qunsetenv("JOULEBENCH_PLUGIN_PATH");
        const QList<PluginSearchPath> expected{
            {QDir::cleanPath(QCoreApplication::applicationDirPath() +
                             u"/../lib/joulebench/plugins"_s),
             u"built-in"_s},
            {TechniqueRegistry::userPluginDir(), u"user"_s},
            {u"/opt/jb-a"_s, u"environment"_s},
            {u"/opt/jb-b"_s, u"environment"_s},
            {u"/tmp/cmdline-plugins"_s, u"command line"_s}};
        QCOMPARE(paths, expected);
        QVERIFY(TechniqueRegistry::userPluginDir().endsWith(u"/joulebench/plugins"_s));
        // The build puts the plugins where the first one points, for every executable in bin/.
        QVERIFY(QFileInfo(QStringLiteral(JB_TEMPLATE_PLUGIN_FILE)).absolutePath() ==
                QFileInfo(paths[0].dir).absoluteFilePath());
    }

    void planContextChecksPluginIdsAndParams()
    {
        const PlanContext context = m_broken->planContext();
        QCOMPARE(context.pluginIds, m_broken->ids());
        QVERIFY(context.schemaFor(u"test.valid"_s));
        QVERIFY(!context.schemaFor(u"test.wrong_api"_s));

        auto plan = [&](const QString &step) -> QString {
            return u"{\"version\": 1, \"name\": \"p\", \"dataset\": {\"name\": \"mnist\"}, "
                   "\"model\": {\"zoo\": \"mlp\"}, \"variants\": [{\"label\": \"v\", "
                   "\"chain\": ["_s +
                   step + u"]}]}"_s;
        };
        QStringList errors;
        auto ok = Plan::fromJsonText(
            plan(u"{\"plugin\": \"test.valid\", \"params\": {\"level\": 2}}"_s).toUtf8(), &errors,
            context);
        QVERIFY2(ok, qPrintable(errors.join(u'\n')));
        const PlanVariant &v =
            ok->variants.last().isBaseline() ? ok->variants.first() : ok->variants.last();
        QCOMPARE(v.chain.value(0).params.value(u"fail_configure"_s), QJsonValue(false));

        errors.clear();
        QVERIFY(!Plan::fromJsonText(plan(u"{\"plugin\": \"test.vallid\"}"_s).toUtf8(), &errors,
                                    context));
        QVERIFY2(errors.join(u'\n').contains(u"did you mean \"test.valid\""_s),
                 qPrintable(errors.join(u'\n')));
        errors.clear();
        QVERIFY(!Plan::fromJsonText(
            plan(u"{\"plugin\": \"test.valid\", \"params\": {\"level\": 10}}"_s).toUtf8(), &errors,
            context));
        QVERIFY2(errors.join(u'\n').contains(u"params.level"_s), qPrintable(errors.join(u'\n')));
    }
};

QTEST_GUILESS_MAIN(TestRegistry)
#include "tst_registry.moc"
