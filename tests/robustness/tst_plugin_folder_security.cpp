// SPDX-License-Identifier: GPL-3.0-or-later
// Plugin folders and files another user could change are refused before any code is loaded,
// with a message naming the path and the fix: writable by a group that is not the owner's
// private group (chmod go-w), owned by another user (chown), and world-writable with such a
// group (chmod go-w). A folder writable by the owner's private group is fine. On the command
// line the refusal is listed, and --plugin-dir must name an existing folder.
// Changing owners needs root; those cases are skipped (with the reason) otherwise.
#include "plugin_test_support.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <optional>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

QByteArray native(const QString &path)
{
    return QFile::encodeName(path);
}

/// A group other than the private group of the file's owner (root) that this process may
/// give files to: any group as root, otherwise one of its supplementary groups.
std::optional<gid_t> foreignGroup()
{
    const passwd *me = ::getpwuid(::geteuid());
    auto isPrivate = [&](const group *g) {
        return me && std::strcmp(g->gr_name, me->pw_name) == 0 && (!g->gr_mem || !g->gr_mem[0]);
    };
    if (::geteuid() == 0) {
        for (const char *name : {"users", "staff", "adm", "daemon", "nogroup"})
            if (const group *g = ::getgrnam(name); g && !isPrivate(g))
                return g->gr_gid;
        return std::nullopt;
    }
    gid_t groups[64];
    const int n = ::getgroups(64, groups);
    for (int i = 0; i < n; ++i)
        if (const group *g = ::getgrgid(groups[i]); g && !isPrivate(g))
            return groups[i];
    return std::nullopt;
}

} // namespace

class TestPluginFolderSecurity : public QObject
{
    Q_OBJECT

private:
    /// A private folder holding a copy of the template plugin; returns the plugin's path.
    static QString pluginIn(const QTemporaryDir &dir)
    {
        return test::copyPlugin(QStringLiteral(JB_TEMPLATE_PLUGIN_FILE), dir.path());
    }

    static void expectRefused(const TechniqueRegistry &registry, const QString &path,
                              const QStringList &parts)
    {
        QVERIFY(registry.ids().isEmpty());
        const QList<RejectedPlugin> rejected = registry.rejected();
        QCOMPARE(rejected.size(), 1);
        QCOMPARE(rejected[0].reason, PluginRejection::InsecurePermissions);
        qInfo().noquote() << "message:" << rejected[0].message;
        QVERIFY2(rejected[0].message.contains(u"'"_s + QFileInfo(path).canonicalFilePath() + u"'"_s),
                 qPrintable(rejected[0].message));
        for (const QString &p : parts)
            QVERIFY2(rejected[0].message.contains(p), qPrintable(rejected[0].message));
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(QFileInfo::exists(QStringLiteral(JB_TEMPLATE_PLUGIN_FILE))); }

    void privateFolderIsAccepted()
    {
        QTemporaryDir dir;
        QVERIFY(!pluginIn(dir).isEmpty());
        QCOMPARE(::chmod(native(dir.path()).constData(), 0755), 0);
        auto registry = test::scannedRegistry({dir.path()});
        QCOMPARE(registry->ids(), QStringList{u"template.weight_noise"_s});
    }

    // Debian's user-private groups: write access for the owner's own group is no risk.
    void writableByTheOwnersPrivateGroupIsAccepted()
    {
        QTemporaryDir dir;
        QVERIFY(!pluginIn(dir).isEmpty());
        struct stat st
        {
        };
        QCOMPARE(::stat(native(dir.path()).constData(), &st), 0);
        const group *g = ::getgrgid(st.st_gid);
        const passwd *owner = ::getpwuid(st.st_uid);
        if (!g || !owner || std::strcmp(g->gr_name, owner->pw_name) != 0 || (g->gr_mem && g->gr_mem[0]))
            QSKIP("the temporary folder's group is not its owner's private group here");
        QCOMPARE(::chmod(native(dir.path()).constData(), 0775), 0);
        auto registry = test::scannedRegistry({dir.path()});
        QCOMPARE(registry->ids(), QStringList{u"template.weight_noise"_s});
    }

    void groupWritableFolderIsRefused()
    {
        const std::optional<gid_t> gid = foreignGroup();
        if (!gid)
            QSKIP("no group other than the user's private group to test with");
        QTemporaryDir dir;
        QVERIFY(!pluginIn(dir).isEmpty());
        QCOMPARE(::chown(native(dir.path()).constData(), static_cast<uid_t>(-1), *gid), 0);
        QCOMPARE(::chmod(native(dir.path()).constData(), 0775), 0);
        auto registry = test::scannedRegistry({dir.path()});
        expectRefused(*registry, dir.path(),
                      {u"folder '"_s, u"is writable by group '"_s + QString::fromLocal8Bit(::getgrgid(*gid)->gr_name) +
                           u"' (mode 0775)"_s,
                       u"Fix: chmod go-w '"_s + QFileInfo(dir.path()).canonicalFilePath() + u"'"_s});
    }

    void groupWritableFileIsRefused()
    {
        const std::optional<gid_t> gid = foreignGroup();
        if (!gid)
            QSKIP("no group other than the user's private group to test with");
        QTemporaryDir dir;
        const QString file = pluginIn(dir);
        QCOMPARE(::chown(native(file).constData(), static_cast<uid_t>(-1), *gid), 0);
        QCOMPARE(::chmod(native(file).constData(), 0775), 0);
        auto registry = test::scannedRegistry({dir.path()});
        expectRefused(*registry, file, {u"file '"_s, u"(mode 0775)"_s, u"Fix: chmod go-w"_s});
    }

    void worldWritableWithAForeignGroupNeedsGoW()
    {
        const std::optional<gid_t> gid = foreignGroup();
        if (!gid)
            QSKIP("no group other than the user's private group to test with");
        QTemporaryDir dir;
        QVERIFY(!pluginIn(dir).isEmpty());
        QCOMPARE(::chown(native(dir.path()).constData(), static_cast<uid_t>(-1), *gid), 0);
        QCOMPARE(::chmod(native(dir.path()).constData(), 0777), 0);
        auto registry = test::scannedRegistry({dir.path()});
        expectRefused(*registry, dir.path(),
                      {u"writable by every user (mode 0777)"_s, u"Fix: chmod go-w"_s});
        ::chmod(native(dir.path()).constData(), 0700);
    }

    void fileOwnedByAnotherUserIsRefused()
    {
        if (::geteuid() != 0)
            QSKIP("giving a file to another user needs root");
        const passwd *nobody = ::getpwnam("nobody");
        if (!nobody)
            QSKIP("no user 'nobody' on this system");
        QTemporaryDir dir;
        const QString file = pluginIn(dir);
        QCOMPARE(::chown(native(file).constData(), nobody->pw_uid, static_cast<gid_t>(-1)), 0);
        auto registry = test::scannedRegistry({dir.path()});
        expectRefused(*registry, file,
                      {u"is owned by user 'nobody', neither you"_s, u"nor root"_s,
                       u"Fix: chown "_s});
    }

    void folderOwnedByAnotherUserIsRefused()
    {
        if (::geteuid() != 0)
            QSKIP("giving a folder to another user needs root");
        const passwd *nobody = ::getpwnam("nobody");
        if (!nobody)
            QSKIP("no user 'nobody' on this system");
        QTemporaryDir dir;
        QVERIFY(!pluginIn(dir).isEmpty());
        QCOMPARE(::chown(native(dir.path()).constData(), nobody->pw_uid, static_cast<gid_t>(-1)), 0);
        auto registry = test::scannedRegistry({dir.path()});
        expectRefused(*registry, dir.path(), {u"folder '"_s, u"is owned by user 'nobody'"_s});
    }

    // What a user of the command line sees.
    void cliListsTheRefusalAndNeedsAnExistingFolder()
    {
        const std::optional<gid_t> gid = foreignGroup();
        if (!gid)
            QSKIP("no group other than the user's private group to test with");
        QTemporaryDir dir;
        QVERIFY(!pluginIn(dir).isEmpty());
        QCOMPARE(::chown(native(dir.path()).constData(), static_cast<uid_t>(-1), *gid), 0);
        QCOMPARE(::chmod(native(dir.path()).constData(), 0775), 0);
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(u"JOULEBENCH_PLUGIN_PATH"_s, QString());
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(JB_CLI_PATH), {u"plugins"_s, u"--plugin-dir"_s, dir.path()});
        QVERIFY(p.waitForFinished(60000));
        const QString out = QString::fromUtf8(p.readAllStandardOutput() + p.readAllStandardError());
        const QString canonical = QFileInfo(dir.path()).canonicalFilePath();
        QVERIFY2(out.contains(u"[insecure-permissions] "_s + canonical) &&
                     out.contains(u"Fix: chmod go-w '"_s + canonical + u"'"_s),
                 qPrintable(out));
        QVERIFY2(out.contains(canonical + u" (command line)"_s), qPrintable(out));

        p.start(QStringLiteral(JB_CLI_PATH),
                {u"run"_s, u"--plan"_s, u"x.json"_s, u"--db"_s, u"x.sqlite"_s, u"--plugin-dir"_s,
                 dir.filePath(u"missing"_s)});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 2);
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QVERIFY2(err.contains(u"--plugin-dir '"_s + dir.filePath(u"missing"_s) + u"': no such folder"_s),
                 qPrintable(err));
    }
};

QTEST_GUILESS_MAIN(TestPluginFolderSecurity)
#include "tst_plugin_folder_security.moc"
